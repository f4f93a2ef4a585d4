"""Documents added by the admins: safe names, size and count limits, content that matches the name, written atomically."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import puremagic

from index.loaders import SUPPORTED_SUFFIXES
from web.errors import UploadError

TEXT_SUFFIXES = {".txt", ".md", ".html", ".htm", ".csv"}
SNIFF_BYTES = 64 * 1024
FORMAT_NAMES = {
    ".pdf": "PDF",
    ".docx": "Word",
    ".pptx": "PowerPoint",
    ".odt": "OpenDocument texte",
    ".odp": "OpenDocument présentation",
    ".xlsx": "Excel",
    ".ods": "OpenDocument classeur",
    ".epub": "EPUB",
}


def content_problem(path: Path, suffix: str) -> str | None:
    """Why the file's bytes are not what its name says (a French phrase), or None when they are.

    Documents in a binary format must be recognised as that format by puremagic (a maintained
    file-type sniffer that looks inside zip containers: a .docx is not an .odt is not an .epub);
    text documents must be text (no NUL byte) and not a file of another known format.
    """
    try:
        guesses = puremagic.magic_file(str(path))
    except (puremagic.PureError, ValueError):
        guesses = []
    confident = [g for g in guesses if g.confidence >= 0.8]
    if suffix in TEXT_SUFFIXES:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if b"\0" in head:
            return "ce n'est pas un fichier texte (contenu binaire)"
        other = next((g for g in confident if g.extension in FORMAT_NAMES), None)
        if other is not None:
            return f"son contenu est un fichier {FORMAT_NAMES[other.extension]} : nommez-le en {other.extension}"
        return None
    if any(g.extension == suffix for g in confident):
        return None
    found = confident[0].extension if confident else ""
    what = f"son contenu ressemble à un fichier {found}" if found else "son contenu n'est pas reconnu"
    return f"{what}, pas à un fichier {FORMAT_NAMES.get(suffix, suffix)}"


def safe_filename(name: str) -> str:
    """Keep a plain file name: no folders, no leading dots, no odd characters."""
    base = Path(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r"[^\w.\- ()àâäçéèêëîïôöûùüÿœÀÂÄÇÉÈÊËÎÏÔÖÛÙÜŸŒ]", "_", base).strip(" .")
    if not base or base.startswith("."):
        raise UploadError(f"Nom de fichier refusé : « {name} ».")
    return base[:150]


def save_upload(docs_dir: Path, tmp_path: Path, original_name: str, max_mb: float, overwrite: bool = False) -> str:
    """Copy an uploaded file into the documents folder; return its name there.

    The copy goes to a temporary name in the same folder and is renamed over the
    target only when complete: a crash never leaves a half file, and with
    « replace » ticked the original stays until the new one is whole.
    """
    name = safe_filename(original_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"« {original_name} » : format non accepté ({suffix or 'sans extension'}). Formats acceptés : {', '.join(SUPPORTED_SUFFIXES)}."
        )
    size = tmp_path.stat().st_size
    if size > max_mb * 1_000_000:
        raise UploadError(f"« {original_name} » : fichier trop volumineux ({size / 1e6:.1f} Mo, maximum {max_mb:g} Mo).")
    problem = content_problem(tmp_path, suffix)
    if problem is not None:
        raise UploadError(f"« {original_name} » refusé : {problem}. Réenregistrez-le depuis son logiciel.")
    docs = docs_dir.resolve()
    docs.mkdir(parents=True, exist_ok=True)
    target = (docs / name).resolve()
    if target.parent != docs:
        raise UploadError(f"Nom de fichier refusé : « {original_name} ».")
    if target.exists() and not overwrite:
        raise UploadError(f"« {name} » existe déjà dans les documents : cochez « Remplacer » pour le mettre à jour.")
    # a dot-name is skipped by the indexer, so a half-written copy is never indexed
    fd, partial = tempfile.mkstemp(prefix=".upload-", suffix=".partial", dir=docs)
    try:
        with os.fdopen(fd, "wb") as out, tmp_path.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return name

"""One loader per format (a module each): text per page, with sections, and a title.

``load_bytes`` picks the loader by suffix; every failure is a LoadError whose message
says, in French, what the user can do about the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.loaders.base import (
    LoadedDocument,
    LoadError,
    Page,
    Section,
    Unit,
    decode_text,
    guess_title,
    normalize_layout,
    normalize_page,
)
from index.loaders.html import load_html
from index.loaders.office import load_docx
from index.loaders.pdf import load_pdf
from index.loaders.text import load_text

__all__ = [
    "LOADERS",
    "SUPPORTED_SUFFIXES",
    "LoadError",
    "LoadedDocument",
    "Page",
    "Section",
    "Unit",
    "decode_text",
    "guess_title",
    "load_bytes",
    "normalize_layout",
]

LOADERS: dict[str, Callable[[bytes, str], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_text,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}
SUPPORTED_SUFFIXES = tuple(LOADERS)


def load_bytes(data: bytes, name: str) -> LoadedDocument:
    """Turn a file's bytes into a document, or raise LoadError with the reason."""
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise LoadError(
            f"format non pris en charge ({suffix or 'sans extension'}) : formats acceptés {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise LoadError("fichier vide")
    document = loader(data, Path(name).stem)
    # Page texts leave here final: chunks are exact substrings of them, and sections point into them.
    document = LoadedDocument(document.title, tuple(normalize_page(p) for p in document.pages), document.unit)
    if not any(p.text.strip() for p in document.pages):
        raise LoadError("aucun texte dans ce fichier")
    return document

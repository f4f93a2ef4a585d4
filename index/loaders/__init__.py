"""One loader per format (a module each): text per page (slide, sheet), with sections, and a title.

``load_bytes`` picks the loader by suffix; every failure is a LoadError whose message
says, in French, what the user can do about the file. What a file may yield is bounded
(``LoadOptions.max_pages``, ``max_text_chars``, ``max_rows``): past a bound the file is refused as soon as
the loader sees it (see ``index.loaders.budget``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.loaders.archive import ARCHIVE_SUFFIXES, check_archive
from index.loaders.base import (
    LoadedDocument,
    LoadError,
    Page,
    Section,
    SheetRows,
    Unit,
    decode_text,
    guess_title,
    normalize_layout,
    normalize_page,
)
from index.loaders.budget import TextBudget
from index.loaders.epub import load_epub
from index.loaders.html import load_html
from index.loaders.ocr import ocr_pdf
from index.loaders.office import load_docx
from index.loaders.opendocument import load_odp, load_odt
from index.loaders.options import LoadEvent, LoadOptions, OnEvent
from index.loaders.pdf import load_pdf
from index.loaders.slides import load_pptx
from index.loaders.spreadsheets import load_csv, load_ods, load_xlsx
from index.loaders.text import load_text

__all__ = [
    "LOADERS",
    "SUPPORTED_SUFFIXES",
    "LoadError",
    "LoadEvent",
    "LoadOptions",
    "LoadedDocument",
    "Page",
    "Section",
    "SheetRows",
    "TextBudget",
    "Unit",
    "decode_text",
    "guess_title",
    "load_bytes",
    "normalize_layout",
]

LOADERS: dict[str, Callable[[bytes, str, TextBudget | None], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_text,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".odt": load_odt,
    ".pptx": load_pptx,
    ".odp": load_odp,
    ".epub": load_epub,
    ".html": load_html,
    ".htm": load_html,
    ".xlsx": load_xlsx,
    ".ods": load_ods,
    ".csv": load_csv,
}
SUPPORTED_SUFFIXES = tuple(LOADERS)


def load_bytes(data: bytes, name: str, options: LoadOptions | None = None, on_event: OnEvent | None = None) -> LoadedDocument:
    """Turn a file's bytes into a document, or raise LoadError with the reason.

    Run it in a worker process (``index.isolation``) for files nobody vouches for: a
    hostile file is bounded there in time and memory.
    """
    options = options or LoadOptions()
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise LoadError(
            f"format non pris en charge ({suffix or 'sans extension'}) : formats acceptés {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise LoadError("fichier vide")
    if suffix in ARCHIVE_SUFFIXES:
        check_archive(data, options.max_unzipped_bytes)
    budget = TextBudget(options.max_text_chars, options.max_pages, options.max_rows)
    document = loader(data, Path(name).stem, budget)
    if suffix == ".pdf":
        document = ocr_pdf(document, data, options, on_event, budget)
        if document.title == Path(name).stem and any(p.ocr for p in document.pages):
            document = LoadedDocument(guess_title(document.text, document.title), document.pages, document.unit)
    # Page texts leave here final: chunks are exact substrings of them, and sections point into them.
    document = LoadedDocument(document.title, tuple(normalize_page(p) for p in document.pages), document.unit)
    if not any(p.text.strip() for p in document.pages):
        raise LoadError("aucun texte dans ce fichier")
    return document

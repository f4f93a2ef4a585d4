"""How files are read: OCR for pages without a text layer, and the bounds that protect against hostile files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadOptions:
    ocr: bool = True  # read pages without a text layer with Tesseract
    ocr_languages: str = "fra+eng"  # Tesseract language packs, in order of preference
    ocr_dpi: int = 300  # resolution of the page images given to Tesseract
    ocr_page_seconds: float = 60.0  # longest Tesseract may take on one page
    max_unzipped_bytes: int = 500_000_000  # an archive (.docx, .xlsx, .odt, .epub, ...) inflating beyond this is refused
    max_pages: int = 2000  # a PDF with more pages (a deck with more slides) is refused before any is read
    max_text_chars: int = 6_000_000  # a file yielding more text is refused as soon as its text passes this
    max_rows: int = 100_000  # a spreadsheet with more rows holding text (all sheets together) is refused as it passes this


# What a loader reports while it works, e.g. ("ocr", 3, 12) after the third of twelve OCR pages.
LoadEvent = tuple[str, int, int]
OnEvent = Callable[[LoadEvent], None]

"""What every loader returns: pages of text, the sections they hold, a title; and the shared helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from index.errors import IndexingError


class LoadError(IndexingError):
    """A file cannot be turned into text; the message is for the user (French)."""


@dataclass(frozen=True)
class Section:
    """A heading that starts at ``start`` (a character offset in its page's text) and holds until the next one."""

    start: int
    title: str


@dataclass(frozen=True)
class SheetRows:
    """What makes a page a sheet of a spreadsheet: one line of its text per row, under its header lines.

    The chunker cuts such a page between rows only, repeats the header lines at the top of every
    chunk, and names the rows a chunk holds (« Feuille Budget, lignes 2–31 »).
    """

    name: str  # the sheet's name ("" for a CSV file, which has one sheet without a name)
    header: int  # how many lines at the top of the page are its header (0: none)
    rows: tuple[int, ...]  # the row number, as the spreadsheet shows it, of each line after the header

    def location(self, first: int, last: int) -> str:
        rows = f"ligne {first}" if first == last else f"lignes {first}–{last}"
        return f"Feuille {self.name}, {rows}" if self.name else rows[0].upper() + rows[1:]


@dataclass(frozen=True)
class Page:
    number: int | None  # 1-based page (slide, sheet) number for paged formats, None otherwise
    text: str
    sections: tuple[Section, ...] = ()  # headings that begin on this page, in order of their offsets
    ocr: bool = False  # the text was read from an image of the page (OCR), not from a text layer
    sheet: SheetRows | None = None  # the page is a sheet of a spreadsheet: its rows, line by line


Unit = Literal["page", "slide", "sheet"]


@dataclass(frozen=True)
class LoadedDocument:
    title: str
    pages: tuple[Page, ...]
    unit: Unit = "page"  # what a page number counts: a printed page, a slide or a sheet

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


def normalize_layout(text: str) -> str:
    """Drop trailing spaces and runs of blank lines (web exports are full of them), in linear time."""
    lines = [line.rstrip(" \t\u00a0\u202f") for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def normalize_page(page: Page) -> Page:
    """Normalize a page's layout, keeping its sections at the same places in the new text.

    A sheet's text has no blank line and no line of spaces only: it keeps its lines, one per row.
    """
    text = normalize_layout(page.text)
    if not page.sections:
        return Page(page.number, text, (), page.ocr, page.sheet)
    lead = len(page.text) - len(page.text.lstrip())
    sections = []
    for section in page.sections:
        # the prefix before a heading normalizes to the text before it in the normalized page
        prefix = page.text[lead : section.start]
        kept = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip(" \t\u00a0\u202f") for line in prefix.split("\n")))
        sections.append(Section(min(len(kept), len(text)), section.title))
    return Page(page.number, text, tuple(sections), page.ocr, page.sheet)


_BOILERPLATE = re.compile(r"^(top of page|bottom of page|welcome|sommaire|menu)$", re.IGNORECASE)


def guess_title(text: str, fallback: str) -> str:
    """Return the document's own heading: the first meaningful line."""
    for raw in text.splitlines():
        line = re.sub(r"^#+\s*", "", raw).strip(" \t•-–—*")
        line = re.sub(r"^date\s+\d{4}-\d{2}-\d{2}\s+", "", line)
        if len(line) < 8 or len(line.split()) < 3 or _BOILERPLATE.match(line) or not re.search(r"[A-Za-zÀ-ÿ]{3}", line):
            continue
        return line[:160]
    return fallback


def decode_text(data: bytes) -> str:
    """Decode UTF-8 when valid, else detect (Windows-1252, Latin-1, ...)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # French office documents that are not UTF-8 are nearly always Windows-1252; short
        # texts are too ambiguous for statistical detection (é/ŕ of Central European pages).
        return data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("encodage du texte non reconnu (ni UTF-8 ni Windows-1252) : réenregistrez-le en UTF-8")
    return str(best)

"""What one file may cost to read: pages, rows of spreadsheets, and characters of text counted as a loader appends them.

A few hundred kilobytes can hold twenty thousand blank pages (hours of OCR) or a document that
expands to tens of megabytes of text (a day of embedding). A loader asks its budget before it does
the work: the page count as soon as it is known, each block of text as it is appended, so that
extraction stops at the cap instead of building the whole text first.

A file over a cap is **refused**, not truncated: a half-indexed document would answer « not in the
documents » for what its later pages say, and a refused file is read again at the next sync, so
that raising the setting is all it takes to index it whole.
"""

from __future__ import annotations

from index.loaders.base import LoadError

UNITS = {"page": ("page", "pages"), "slide": ("diapositive", "diapositives"), "sheet": ("feuille", "feuilles")}


def french_number(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")  # French thousands separator


def too_many_pages(count: int, limit: int, unit: str = "page") -> str:
    name = UNITS.get(unit, UNITS["page"])[1]
    return (
        f"fichier refusé : {french_number(count)} {name}, plus que la limite de {french_number(limit)} "
        "(fichier piégé ou trop long) : découpez-le ou augmentez ASSISTANT_MAX_PAGES"
    )


def too_much_text(limit: int) -> str:
    return (
        f"fichier refusé : plus de {french_number(limit)} caractères de texte (fichier piégé ou trop long) : "
        "découpez-le ou augmentez ASSISTANT_MAX_TEXT_CHARS"
    )


def too_many_rows(limit: int) -> str:
    return (
        f"fichier refusé : plus de {french_number(limit)} lignes de tableau (fichier piégé ou trop long) : "
        "découpez-le ou augmentez ASSISTANT_MAX_ROWS"
    )


class TextBudget:
    """Pages, rows of tables and characters one file may still yield; raises LoadError (a French reason) past any."""

    def __init__(self, max_chars: int | None = None, max_pages: int | None = None, max_rows: int | None = None) -> None:
        self.max_chars = max_chars
        self.max_pages = max_pages
        self.max_rows = max_rows
        self.used = 0
        self.rows = 0

    def check_pages(self, count: int, unit: str = "page") -> None:
        """Refuse a document of more than ``max_pages`` pages (or slides) before any of them is read."""
        if self.max_pages is not None and count > self.max_pages:
            raise LoadError(too_many_pages(count, self.max_pages, unit))

    def add_row(self) -> None:
        """Count a row of a spreadsheet that is kept (a row with text); refuse past ``max_rows`` in the whole file."""
        self.rows += 1
        if self.max_rows is not None and self.rows > self.max_rows:
            raise LoadError(too_many_rows(self.max_rows))

    def check(self, pending: int) -> None:
        """Refuse when ``pending`` more characters would not fit (without counting them)."""
        if self.max_chars is not None and self.used + pending > self.max_chars:
            raise LoadError(too_much_text(self.max_chars))

    def add(self, text: str) -> None:
        """Count a block of text that is kept; refuse past the cap."""
        self.check(len(text))
        self.used += len(text)

"""A sheet of a spreadsheet as a page: one line per row with text, under the header a person reads at its top.

What every spreadsheet reader (``index.loaders.spreadsheets``) shares: how a cell's value reads
(a date as a date, not 45291.0), which rows are the header (repeated at the top of every chunk by
``index.chunking``), and which rows and columns are left out (those without text).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from index.loaders.base import Page, SheetRows
from index.loaders.blocks import table_row
from index.loaders.budget import TextBudget

MAX_COLUMNS = 16_384  # as many as a sheet of Excel or LibreOffice Calc has: cells beyond are not read
HEADER_ROWS = 4  # the header is looked for among the first rows with text: a title, a subtitle, the column names


@dataclass(frozen=True)
class Cell:
    text: str  # what a person reads in the cell
    label: bool = True  # typed-in text (not a number, a date nor a truth value): what column names are made of


def format_number(value: float, number_format: str = "") -> str:
    """A number as a person reads it: 1200, not 1200.0; 0.15 as 15 % when the cell shows a percentage."""
    if math.isnan(value) or math.isinf(value):
        return ""
    if "%" in number_format:
        return f"{value * 100:.12g} %"
    text = f"{value:.12g}"
    if "€" in number_format or "EUR" in number_format:
        text += " €"
    return text


def format_value(value: object, number_format: str = "") -> Cell:
    """A cell's (cached) value as a person reads it; dates in the French order (31/12/2024)."""
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell("VRAI" if value else "FAUX", label=False)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return Cell(value.strftime("%d/%m/%Y"), label=False)
        return Cell(value.strftime("%d/%m/%Y %H:%M" if value.second == 0 else "%d/%m/%Y %H:%M:%S"), label=False)
    if isinstance(value, dt.date):
        return Cell(value.strftime("%d/%m/%Y"), label=False)
    if isinstance(value, dt.time):
        return Cell(value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S"), label=False)
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        return Cell(f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}", label=False)
    if isinstance(value, int):
        return Cell(format_number(float(value), number_format) if "%" in number_format else str(value), label=False)
    if isinstance(value, float):
        return Cell(format_number(value, number_format), label=False)
    return Cell(str(value))


def _clean(text: str) -> str:
    return " ".join(text.split())


class SheetBuilder:
    """Rows of one sheet, added as they are read; each row with text is counted in ``budget`` (rows and characters)."""

    def __init__(self, name: str, number: int, budget: TextBudget) -> None:
        self.name = " ".join(name.split())[:100]  # a sheet's name on one line: it names chunks
        self.number = number
        self._budget = budget
        self._rows: list[tuple[int, dict[int, Cell]]] = []
        self._columns: set[int] = set()

    def add_row(self, number: int, cells: Mapping[int, Cell]) -> None:
        """Add the row ``number`` (as the sheet shows it), its cells by column index; a row without text is left out."""
        kept = {}
        for column, cell in cells.items():
            text = _clean(cell.text)
            if text and column < MAX_COLUMNS:
                kept[column] = Cell(text, cell.label)
        if not kept:
            return
        self._budget.add_row()
        self._budget.add("".join(cell.text for cell in kept.values()))
        self._rows.append((number, kept))
        self._columns.update(kept)

    def _header(self) -> int:
        """How many of the first rows are the header: title rows, down to the column names (two cells or more).

        Column names hold at least one label (« Poste | 2024 | 2025 »); a row of figures only means
        the data has begun without a header.
        """
        for index, (_, cells) in enumerate(self._rows[:HEADER_ROWS]):
            if not any(cell.label for cell in cells.values()):
                break
            if len(cells) >= 2:
                return index + 1 if index + 1 < len(self._rows) else 0
        first = self._rows[0][1] if self._rows else {}
        return 1 if len(self._rows) > 1 and all(cell.label for cell in first.values()) else 0

    @property
    def title(self) -> str:
        """The sheet's title: a lone label above the column names (« Budget prévisionnel 2025 »), else ""."""
        header = self._header()
        if header >= 2 and len(self._rows[0][1]) == 1:
            return next(iter(self._rows[0][1].values())).text[:160]
        return ""

    def page(self) -> Page | None:
        """The sheet as a page (None without a row of text): its header lines, then one line per row."""
        if not self._rows:
            return None
        columns = sorted(self._columns)  # columns without text anywhere in the sheet are left out
        lines = []
        for _, cells in self._rows:
            texts = [cells[c].text if c in cells else "" for c in columns]
            while not texts[-1]:  # a row ends at its last cell with text
                texts.pop()
            lines.append(table_row(texts))
        header = self._header()
        rows = tuple(number for number, _ in self._rows[header:])
        return Page(self.number, "\n".join(lines), (), False, SheetRows(self.name, header, rows))

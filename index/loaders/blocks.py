"""Assemble a page from blocks of text (paragraphs, table rows, headings) while recording where headings start."""

from __future__ import annotations

import re

from index.loaders.base import Page, Section
from index.loaders.budget import TextBudget

_SPACES = re.compile(r"[^\S\n]+")


def clean_inline(text: str) -> str:
    """One block's text on as few lines as it had, with runs of spaces and tabs made single spaces."""
    return "\n".join(line.strip() for line in _SPACES.sub(" ", text).split("\n")).strip()


def table_row(cells: list[str]) -> str:
    """A table row on one line, so that a figure stays beside its label."""
    return " | ".join(c.replace("\n", " ").strip() for c in cells)


class PageBuilder:
    """Blocks joined by blank lines; a heading block becomes a Section at its offset.

    Each block is counted in ``budget`` as it is added: a document with too much text stops there.
    """

    def __init__(self, budget: TextBudget | None = None) -> None:
        self._budget = budget or TextBudget()
        self._parts: list[str] = []
        self._length = 0
        self._sections: list[Section] = []

    def add(self, text: str, heading: bool = False, section: str = "") -> None:
        """Add a block; a heading starts a section named after it, ``section`` one with that name."""
        text = clean_inline(text)
        if not text:
            return
        self._budget.add(text)
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        if heading or section:
            self._sections.append(Section(self._length, (section or text).replace("\n", " ")[:200]))
        self._parts.append(text)
        self._length += len(text)

    def add_rows(self, rows: list[list[str]]) -> None:
        """A table: one line per row (rows of a table stay together, in one block)."""
        lines = []
        pending = 0
        for row in rows:
            lines.append(table_row(row))
            pending += len(lines[-1])
            self._budget.check(pending)
        self.add("\n".join(line for line in lines if line.strip(" |")))

    @property
    def empty(self) -> bool:
        return not self._parts

    @property
    def first_heading(self) -> str:
        return self._sections[0].title if self._sections else ""

    def page(self, number: int | None = None) -> Page:
        return Page(number, "".join(self._parts), tuple(self._sections))

"""Word documents (.docx): paragraphs and tables in reading order, heading styles as sections."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from index.loaders.base import LoadedDocument, LoadError, guess_title
from index.loaders.blocks import PageBuilder
from index.loaders.budget import TextBudget

# Word's built-in heading styles are stored under their English names ("heading 1"); documents
# made elsewhere sometimes carry the French ones ("Titre 1").
_HEADING_STYLE = re.compile(r"^(heading|titre)\s*[1-9]$", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"^(title|titre)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def style_namer(document: Any) -> Callable[[Any], str]:
    """The name of a paragraph's style, from a table of the document's styles made once.

    python-docx's ``paragraph.style`` looks the default style up among all the styles on every
    paragraph without a style of its own (1 ms each: 80 s for a document of 70,000 paragraphs).
    As there, a style id that is not a paragraph style of the document means the default one.
    """
    from docx.enum.style import WD_STYLE_TYPE

    names: dict[str, str] = {}
    for style in document.styles:
        try:
            if style.type == WD_STYLE_TYPE.PARAGRAPH and style.style_id:
                names[style.style_id] = style.name or ""
        except ValueError:  # a style type python-docx does not know
            continue
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    fallback = (default.name or "") if default is not None else ""

    def name(paragraph: Any) -> str:
        ppr = paragraph._p.pPr
        style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
        return names.get(style_id, fallback) if style_id else fallback

    return name


def _is_heading(paragraph: Any, name: str) -> bool:
    if _HEADING_STYLE.match(name) or _TITLE_STYLE.match(name):
        return True
    # an outline level set on the paragraph itself (w:outlineLvl 0-8) makes it a heading too
    ppr = paragraph._p.pPr  # type: ignore[attr-defined]
    if ppr is None:
        return False
    level = ppr.find(f"{_W}outlineLvl")
    return level is not None and level.get(f"{_W}val", "9") in set("012345678")


def _rows(table: object, budget: TextBudget) -> list[list[str]]:
    rows = []
    pending = 0  # a cell merged down many rows gives its text on each: counted as it is read
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is returned once per grid column it spans
                continue
            previous = cell._tc
            cells.append(cell.text)
            pending += len(cells[-1])
            budget.check(pending)
        rows.append(cells)
    return rows


def load_docx(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    import zipfile

    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError("document Word illisible ou corrompu : réenregistrez-le au format .docx") from exc
    budget = budget or TextBudget()
    builder = PageBuilder(budget)
    style_name = style_namer(document)
    title = ""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            builder.add_rows(_rows(block, budget))
            continue
        style = style_name(block)
        heading = _is_heading(block, style)
        if not title and _TITLE_STYLE.match(style):
            title = block.text.strip()
        builder.add(block.text, heading=heading)
    page = builder.page()
    core_title = (document.core_properties.title or "").strip()
    return LoadedDocument((title or builder.first_heading or core_title)[:160] or guess_title(page.text, name), (page,))

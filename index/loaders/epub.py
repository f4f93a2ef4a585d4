"""E-books (.epub): chapters in reading order (the spine), each chapter's title as its section."""

from __future__ import annotations

import io
import posixpath
from typing import Any

from index.loaders.base import LoadedDocument, LoadError, guess_title
from index.loaders.blocks import PageBuilder
from index.loaders.budget import TextBudget

_BLOCK_TAGS = {
    "p", "div", "section", "article", "aside", "blockquote", "pre", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "figure", "figcaption", "header", "footer", "hr",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3"}


def xhtml_blocks(content: bytes) -> list[tuple[str, bool]]:
    """Blocks of a chapter as (text, is_heading): block elements end lines, table cells are joined by « | »."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fromstring(content)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise LoadError("chapitre illisible dans ce livre numérique : réexportez-le au format EPUB") from exc
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []

    def flush(heading: bool = False) -> None:
        text = "".join(current).strip()
        if text:
            blocks.append((text, heading))
        current.clear()

    # iterwalk: no recursion, however deep the markup
    for action, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if action == "start":
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "br":
                current.append("\n")
            if element.text and isinstance(element.tag, str):
                current.append(element.text)
        else:
            if tag in ("td", "th"):
                current.append(" | ")
            if tag in _BLOCK_TAGS:
                if tag == "tr":
                    text = "".join(current).strip().removesuffix("|").strip()
                    current[:] = [text]
                flush(heading=tag in _HEADINGS)
            if element.tail:
                current.append(element.tail)
    flush()
    return blocks


def _toc_titles(toc: Any) -> dict[str, str]:
    """The table of contents as {chapter file: title}; the first entry pointing into a file names it."""
    titles: dict[str, str] = {}
    stack = [iter(toc)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if isinstance(entry, tuple) and len(entry) == 2:  # (Section, [children])
            section, children = entry
            href = getattr(section, "href", None)
            if href:
                titles.setdefault(href.split("#", 1)[0], section.title)
            stack.append(iter(children))
        elif getattr(entry, "href", None):
            titles.setdefault(entry.href.split("#", 1)[0], entry.title)
    return titles


def load_epub(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    import zipfile

    from ebooklib import ITEM_DOCUMENT, epub

    try:
        book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": False})
    except (epub.EpubException, zipfile.BadZipFile, KeyError, ValueError, IndexError, AttributeError, OSError) as exc:
        raise LoadError("livre numérique (EPUB) illisible ou corrompu : réexportez-le") from exc
    except Exception as exc:  # lxml's XMLSyntaxError and friends, from the package files
        if exc.__class__.__module__.startswith("lxml"):
            raise LoadError("livre numérique (EPUB) illisible : son index interne est abîmé, réexportez-le") from exc
        raise
    toc = _toc_titles(book.toc)
    builder = PageBuilder(budget)
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue  # the navigation page is a table of contents: its titles are already the sections
        blocks = xhtml_blocks(item.get_content())
        if not blocks:
            continue
        chapter = toc.get(item.get_name()) or toc.get(posixpath.basename(item.get_name()))
        headings = [text for text, heading in blocks if heading]
        title = chapter or (headings[0] if headings else "")
        for i, (text, heading) in enumerate(blocks):
            if i == 0 and title:  # the chapter starts here, under its name in the table of contents
                builder.add(text, section=title)
            else:
                builder.add(text, heading=heading and not chapter)
    page = builder.page()
    metadata = book.get_metadata("DC", "title")
    book_title = (metadata[0][0] or "").strip() if metadata else ""
    return LoadedDocument(book_title[:160] or guess_title(page.text, name), (page,))

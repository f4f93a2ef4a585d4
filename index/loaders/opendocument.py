"""OpenDocument text (.odt) and presentations (.odp), read with odfpy.

.odt: paragraphs, lists and tables in reading order, headings (text:h) as sections.
.odp: one page per slide, the title frame as the section, speaker notes included.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from typing import Any

from index.loaders.base import LoadedDocument, LoadError, Page, guess_title
from index.loaders.blocks import PageBuilder
from index.loaders.budget import TextBudget
from index.loaders.slides import NOTES_LABEL

log = logging.getLogger(__name__)

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

# Generated lists (tables of contents, indexes) repeat the headings; tracked changes hold deleted text.
_SKIPPED = {
    (TEXT, name)
    for name in (
        "table-of-content",
        "alphabetical-index",
        "illustration-index",
        "table-index",
        "object-index",
        "user-index",
        "bibliography",
        "tracked-changes",
        "sequence-decls",
        "variable-decls",
        "user-field-decls",
        "note-citation",
    )
} | {(OFFICE, "annotation"), (OFFICE, "forms"), (PRESENTATION, "notes")}
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_ROW = (TABLE, "table-row")
_TITLE_STYLES = {"Title", "Titre"}
_PLACEHOLDERS = {"page-number", "footer", "date-time", "header"}  # slide furniture: "<number>", dates
_CELL = (TABLE, "table-cell")
_BLOCK = {(TEXT, "p"), (TEXT, "h")}


def _element_children(node: Any) -> list[Any]:
    return [child for child in node.childNodes if child.nodeType == child.ELEMENT_NODE]


def inline_text(node: Any) -> str:
    """The text of a paragraph: spaces, tabs and line breaks as ODF encodes them, comments and notes left out."""
    parts: list[str] = []
    stack = [iter(node.childNodes)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if child.nodeType == child.TEXT_NODE:
            parts.append(child.data)
            continue
        if child.nodeType != child.ELEMENT_NODE:
            continue
        qname = child.qname
        if qname == (TEXT, "s"):
            # a run of spaces becomes one space in the end (clean_inline): a hostile count of a
            # billion would build a gigabyte first
            parts.append(" " * min(int(child.getAttrNS(TEXT, "c") or 1), 100))
        elif qname == (TEXT, "tab"):
            parts.append("\t")
        elif qname == (TEXT, "line-break"):
            parts.append("\n")
        elif qname in _SKIPPED or qname == (TEXT, "note"):
            continue
        elif qname in _BLOCK:  # a paragraph inside a frame or a cell ends a line
            parts.append("\n")
            stack.append(iter(child.childNodes))
        else:
            stack.append(iter(child.childNodes))
    return "".join(parts)


def _notes(node: Any) -> Iterator[str]:
    """Footnote and endnote bodies inside a paragraph, read after it."""
    stack = [iter(_element_children(node))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.qname == (TEXT, "note-body"):
            yield inline_text(child)
        elif child.qname not in _SKIPPED:
            stack.append(iter(_element_children(child)))


def _rows(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    stack = [iter(_element_children(table))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.qname == _ROW:
            rows.append([inline_text(cell).strip() for cell in _element_children(child) if cell.qname == _CELL])
        elif child.qname[0] == TABLE and child.qname != (TABLE, "table"):  # header rows, row groups
            stack.append(iter(_element_children(child)))
    return rows


def _title_styles(document: Any) -> set[str]:
    """Paragraph style names that are the document's title: "Title" and the automatic styles derived from it."""
    names = set(_TITLE_STYLES)
    styles = document.automaticstyles
    for style in _element_children(styles) if styles is not None else []:
        if style.getAttrNS(STYLE, "parent-style-name") in _TITLE_STYLES:
            names.add(style.getAttrNS(STYLE, "name"))
    return names


def _add_blocks(builder: PageBuilder, container: Any, titles: frozenset[str] | set[str] = frozenset()) -> str:
    """Walk a body (or a frame, a cell of a slide) in document order, without recursion; return its title paragraph."""
    title = ""
    stack = [iter(_element_children(container))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        qname = child.qname
        if qname in _SKIPPED:
            continue
        if qname in _BLOCK:
            text = inline_text(child)
            is_title = qname == (TEXT, "p") and child.getAttrNS(TEXT, "style-name") in titles
            if is_title and not title:
                title = text.strip()
            builder.add(text, heading=qname == (TEXT, "h") or is_title)
            for note in _notes(child):
                builder.add(note)
        elif qname == (TABLE, "table"):
            builder.add_rows(_rows(child))
        elif child.getAttrNS(PRESENTATION, "class") not in _PLACEHOLDERS:  # lists, sections, frames, text boxes, groups
            stack.append(iter(_element_children(child)))
    return title


def _parse_part(document: Any, name: str, xml: bytes) -> None:
    """Parse one XML part of the package into ``document`` with odfpy's own handler, behind defusedxml."""
    from xml.sax import handler

    from defusedxml.sax import make_parser
    from odf.load import LoadParser

    document._parsing = name  # odfpy's handler reads it (styles.xml is parsed differently)
    parser = make_parser()
    parser.setFeature(handler.feature_namespaces, 1)
    parser.setFeature(handler.feature_external_ges, 0)
    parser.setContentHandler(LoadParser(document))
    parser.setErrorHandler(handler.ErrorHandler())
    printed = io.StringIO()
    # odfpy prints what it cannot build; in the reading worker that is the console: never a document's words
    with contextlib.redirect_stdout(printed):
        parser.parse(io.BytesIO(xml))
    if printed.tell():
        log.debug("odfpy wrote %d characters while reading %s (silenced)", printed.tell(), name)


def _open(data: bytes, label: str) -> Any:
    """The package's meta.xml and content.xml, read into an odfpy document; styles, settings and pictures are not read.

    odfpy's own ``load`` parses styles.xml too, and fails on a styles.xml whose namespace
    declarations sit one per line (pandoc's: its namespace repair then declares them twice),
    printing the whole part; and it takes the body's first child node for the text, which is
    a line break when content.xml is indented (pandoc's again), so that no text came out.
    """
    import zipfile
    from xml.sax import SAXException

    from odf.opendocument import OpenDocument

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
            document = OpenDocument(mimetype or "application/vnd.oasis.opendocument.text", add_generator=False)
            if "meta.xml" in names:
                try:
                    _parse_part(document, "meta.xml", archive.read("meta.xml"))
                except SAXException:
                    log.debug("meta.xml unreadable: the document's title is looked for in its text")
            _parse_part(document, "content.xml", archive.read("content.xml"))
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError, AttributeError, SAXException, OSError) as exc:
        raise LoadError(f"{label} illisible ou corrompu : réenregistrez-le depuis LibreOffice") from exc
    return document


def body_part(document: Any, kind: str) -> Any | None:
    """The body's office:text, office:presentation or office:spreadsheet element, whatever whitespace precedes it."""
    body = document.body
    return next((child for child in _element_children(body) if child.qname == (OFFICE, kind)), None) if body else None


def _meta_title(document: Any) -> str:
    from odf import dc

    titles = document.meta.getElementsByType(dc.Title) if document.meta is not None else []
    return inline_text(titles[0]).strip() if titles else ""


def load_odt(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    document = _open(data, "document OpenDocument (.odt)")
    text = body_part(document, "text")
    if text is None:
        raise LoadError("ce fichier .odt ne contient pas de texte (est-ce un tableur ou une présentation ?)")
    builder = PageBuilder(budget)
    title = _add_blocks(builder, text, _title_styles(document)) or builder.first_heading or _meta_title(document)
    page = builder.page()
    return LoadedDocument(title[:160] or guess_title(page.text, name), (page,))


def _slide_title(slide: Any) -> Any | None:
    for frame in _element_children(slide):
        if frame.qname == (DRAW, "frame") and frame.getAttrNS(PRESENTATION, "class") == "title":
            return frame
    return None


def load_odp(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    document = _open(data, "présentation OpenDocument (.odp)")
    presentation = body_part(document, "presentation")
    if presentation is None:
        raise LoadError("ce fichier .odp ne contient pas de diapositives (est-ce un texte ou un tableur ?)")
    budget = budget or TextBudget()
    pages: list[Page] = []
    slides = [node for node in _element_children(presentation) if node.qname == (DRAW, "page")]
    budget.check_pages(len(slides), "slide")
    for number, slide in enumerate(slides, start=1):
        builder = PageBuilder(budget)
        title = _slide_title(slide)
        if title is not None:
            builder.add(inline_text(title), heading=True)
        for child in _element_children(slide):
            if child is title or child.qname in _SKIPPED or child.getAttrNS(PRESENTATION, "class") in _PLACEHOLDERS:
                continue
            if child.qname in _BLOCK:
                builder.add(inline_text(child))
            else:
                _add_blocks(builder, child)
        notes = [c for c in _element_children(slide) if c.qname == (PRESENTATION, "notes")]
        if notes:
            notes_builder = PageBuilder(budget)  # counted twice (here and in the slide): a bound all the same
            for frame in _element_children(notes[0]):
                if frame.qname == (DRAW, "frame") and frame.getAttrNS(PRESENTATION, "class") == "notes":
                    _add_blocks(notes_builder, frame)
            notes_text = notes_builder.page().text
            if notes_text.strip():
                builder.add(f"{NOTES_LABEL}\n{notes_text}")
        pages.append(builder.page(number))
    first = next((p.sections[0].title for p in pages if p.sections), "")
    text = "\n\n".join(p.text for p in pages)
    return LoadedDocument((first or _meta_title(document))[:160] or guess_title(text, name), tuple(pages), unit="slide")

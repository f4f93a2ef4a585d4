"""Web pages (.html, .htm): the main content as blocks, tables row by row, sections from h1–h3.

Menus, navigation bars, tables of contents, sidebars, headers, footers, forms and scripts are left
out: HTML5 elements and ARIA roles say what they are, and documentation generators (DocBook,
Sphinx, MkDocs, ...) name them in their classes. bench/bench_extraction.py measures this loader
against the former one (all the page's text) and trafilatura (which dropped the headings of the
DocBook manuals, so their sections): see the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from index.loaders.base import LoadedDocument, Page, Section, decode_text, guess_title
from index.loaders.budget import TextBudget

_DROPPED_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "iframe",
    "svg",
    "canvas",
    "object",
    "embed",
    "head",
]
_DROPPED_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "toolbar"}
# class or id words of navigation in generated documentation (DocBook navheader/toc, Sphinx related/sphinxsidebar/headerlink)
_BOILERPLATE = re.compile(
    r"^(?:toc|navheader|navfooter|navbar|navigation|nav|menu|sidebar|sphinxsidebar|sphinxsidebarwrapper|related|breadcrumbs?"
    r"|headerlink|skip-?link|footer|header|site-header|site-footer|cookie.*|share|social)$",
    re.IGNORECASE,
)
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "body",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "address",
    "hr",
    "center",
    "details",
    "summary",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")  # HTML white space (no-break spaces are text)
SECTION_LEVELS = 3  # h1–h3 start sections


@dataclass(frozen=True)
class _Block:
    text: str
    kind: str  # "text", "row" (a table row), "pre", or "h1".."h6"


def load_html(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    _drop_boilerplate(soup)
    root = soup.find("main") or soup.find(True, attrs={"role": "main"}) or soup.body or soup
    blocks = _blocks(root)
    text, sections = _assemble(blocks, budget or TextBudget())
    h1 = next((b.text for b in blocks if b.kind == "h1"), "")
    return LoadedDocument(h1 or page_title or guess_title(text, name), (Page(None, text, tuple(sections)),))


def _is_boilerplate(tag: Any) -> bool:
    attrs = tag.attrs or {}
    if str(attrs.get("role", "")).lower() in _DROPPED_ROLES:
        return True
    words = list(attrs.get("class") or [])
    if attrs.get("id"):
        words.append(str(attrs["id"]))
    return any(_BOILERPLATE.match(word) for word in words)


def _drop_boilerplate(soup: Any) -> None:
    for tag in soup.find_all(_DROPPED_TAGS):
        if tag.decomposed:
            continue
        if tag.name in ("header", "footer") and tag.find_parent(["article", "main"]) is not None:
            continue  # an article's own header holds its title (the site's header is outside it)
        tag.decompose()
    for tag in [t for t in soup.find_all(True) if _is_boilerplate(t)]:
        if not tag.decomposed:
            tag.decompose()


def _blocks(root: Any) -> list[_Block]:
    """Walk the tree in document order (iteratively: deep nesting cannot overflow the stack) into blocks."""
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    blocks: list[_Block] = []
    inline: list[str] = []

    def flush() -> None:
        line = _SPACES.sub(" ", "".join(inline)).strip()
        inline.clear()
        if line:
            blocks.append(_Block(line, "text"))

    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            flush()
            continue
        if isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(node, NavigableString):
            inline.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower()
        if name in _HEADINGS:
            flush()
            title = _SPACES.sub(" ", node.get_text(" ")).strip()
            if title:
                blocks.append(_Block(title, name))
            continue
        if name == "tr":
            flush()
            cells = [_SPACES.sub(" ", c.get_text(" ")).strip() for c in node.find_all(["td", "th"], recursive=False)]
            row = " | ".join(c for c in cells if c)
            if row:
                blocks.append(_Block(row, "row"))
            continue
        if name == "pre":
            flush()
            code = node.get_text().strip("\n")
            if code.strip():
                blocks.append(_Block(code, "pre"))
            continue
        block = name in _BLOCKS
        if block:
            flush()
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    flush()
    return blocks


def _assemble(blocks: list[_Block], budget: TextBudget) -> tuple[str, list[Section]]:
    """Join blocks (rows of one table on consecutive lines, other blocks as paragraphs), placing the sections."""
    parts: list[str] = []
    sections: list[Section] = []
    length = 0
    previous = ""
    for block in blocks:
        if parts:
            separator = "\n" if block.kind == "row" and previous == "row" else "\n\n"
            parts.append(separator)
            length += len(separator)
        if block.kind in _HEADINGS and _HEADINGS[block.kind] <= SECTION_LEVELS:
            sections.append(Section(length, " ".join(block.text.split())))  # no-break spaces too
        budget.add(block.text)
        parts.append(block.text)
        length += len(block.text)
        previous = block.kind
    return "".join(parts), sections

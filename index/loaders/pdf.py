"""PDF: text per page with pypdfium2 (chosen by bench/bench_extraction.py), cleaned, with the outline's sections.

A page without a text layer comes back with empty text (the OCR step of ``load_bytes`` fills it).
Of the pages that show one slide revealed step by step (Beamer's overlays), only the last is kept
(``index.loaders.overlays``); every page keeps its own number.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, replace

from index.loaders.base import LoadedDocument, LoadError, Page, Section, guess_title
from index.loaders.budget import TextBudget
from index.loaders.cleanup import clean_pages
from index.loaders.overlays import kept_page_of, kept_pages

log = logging.getLogger(__name__)

# PDFium is not thread-safe: every call into it, in this module or in index.render, holds this lock.
PDFIUM_LOCK = threading.RLock()

FPDF_ERR_PASSWORD = 4  # PDFium's error codes when a document cannot be opened
FPDF_ERR_SECURITY = 6
MAX_OUTLINE_DEPTH = 2  # chapters, sections, subsections: deeper entries are too fine to cite


@dataclass(frozen=True)
class OutlineEntry:
    page_index: int  # 0-based
    title: str
    level: int


def load_pdf(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    raw_pages, labels, outline, title = _read(data, budget or TextBudget())
    # overlay steps go before the clean-up: a frame's title on two steps in a row would pass for a running header
    kept = kept_pages(raw_pages, labels)
    if len(kept) < len(raw_pages):
        log.debug("%d overlay step(s) left out: the next page holds their text", len(raw_pages) - len(kept))
        holder = kept_page_of(kept, len(raw_pages))
        outline = [replace(entry, page_index=holder[entry.page_index]) for entry in outline]
    texts = clean_pages([raw_pages[i] for i in kept])
    sections = sections_from_outline(texts, outline) if outline else sections_from_headings(texts)
    pages = tuple(Page(kept[i] + 1, text, tuple(sections.get(i, ()))) for i, text in enumerate(texts))
    if not title and outline and outline[0].page_index == 0:
        title = outline[0].title  # the first bookmark, on the first page, is the document's heading
    first = next((p.text for p in pages if p.text.strip()), "")
    return LoadedDocument(title or guess_title(first, name), pages)


def open_pdf(data: bytes):  # type: ignore[no-untyped-def]
    """Open a PDF with PDFium (the caller holds PDFIUM_LOCK), or raise LoadError with the reason in French."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == FPDF_ERR_PASSWORD:
            raise LoadError("PDF protégé par un mot de passe : retirez la protection puis réimportez-le") from exc
        if exc.err_code == FPDF_ERR_SECURITY:
            raise LoadError("PDF chiffré : retirez le mot de passe puis réimportez-le") from exc
        raise LoadError("PDF illisible ou corrompu : réexportez-le depuis le logiciel qui l'a produit") from exc


def _read(data: bytes, budget: TextBudget) -> tuple[list[str], list[str], list[OutlineEntry], str]:
    """Each page's raw text and label ("" without one), the outline's entries, and the title of the metadata."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        document = open_pdf(data)
        try:
            budget.check_pages(len(document))
            pages = []
            for index in range(len(document)):
                page = document[index]
                textpage = page.get_textpage()
                try:
                    budget.check(textpage.count_chars())  # before the page's text is built
                    pages.append(textpage.get_text_range())
                    budget.add(pages[-1])
                finally:
                    textpage.close()
                    page.close()
            labels = _labels(document, len(pages))
            outline = []
            try:
                for item in document.get_toc(max_depth=16):
                    target = _bookmark_page(document, item)
                    if target is not None and 0 <= target < len(pages) and item.level <= MAX_OUTLINE_DEPTH:
                        outline.append(OutlineEntry(target, _one_line(item.get_title()), item.level))
            except (pdfium.PdfiumError, ValueError):
                outline = []  # a broken outline costs the sections, not the text
            title = _one_line(document.get_metadata_value("Title") or "")
        except pdfium.PdfiumError as exc:
            raise LoadError("PDF illisible ou corrompu : réexportez-le depuis le logiciel qui l'a produit") from exc
        finally:
            document.close()
    return pages, labels, [e for e in outline if e.title], title


def _labels(document, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """The pages' labels (/PageLabels: what a viewer shows as the page number, a frame's number in Beamer), or all "" ."""
    import pypdfium2 as pdfium

    try:
        return [document.get_page_label(index) for index in range(count)]
    except (pdfium.PdfiumError, ValueError, UnicodeDecodeError):
        return [""] * count  # broken labels cost the overlay detection its best clue, not the text


def _bookmark_page(document, bookmark) -> int | None:  # type: ignore[no-untyped-def]
    """The page a bookmark leads to: through its destination, or its GoTo action (LaTeX's hyperref)."""
    import pypdfium2.raw as pdfium_c

    dest = bookmark.get_dest()
    if dest is not None:
        return dest.get_index()  # type: ignore[no-any-return]
    action = pdfium_c.FPDFBookmark_GetAction(bookmark)
    if not action:
        return None
    raw_dest = pdfium_c.FPDFAction_GetDest(document, action)
    if not raw_dest:
        return None
    index = pdfium_c.FPDFDest_GetDestPageIndex(document, raw_dest)
    return int(index) if index >= 0 else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


_NUMBER = r"(?:\d+(?:\.\d+)*\.?|[A-Z]\.|[IVXLC]+\.)"


_APOSTROPHES = "'’ʼ‘"


def _word_pattern(word: str) -> str:
    """A word of a bookmark as a pattern: bookmarks often type ' where the page prints ’."""
    return "".join(f"[{_APOSTROPHES}]" if ch in _APOSTROPHES else re.escape(ch) for ch in word)


def find_heading(text: str, title: str, start: int = 0) -> tuple[int, str] | None:
    """Where a heading of the outline is printed on its page (spaces, line breaks, case aside), with its number if printed.

    A match at the start of a line (after an optional section number) is preferred to one inside a sentence.
    """
    words = title.split()
    if not words:
        return None
    body = r"[\s\-]*".join(_word_pattern(w) for w in words)
    at_line = re.compile(rf"^[ \t]*(?P<number>{_NUMBER}[ \t]+)?{body}", re.IGNORECASE | re.MULTILINE)
    match = at_line.search(text, start) or at_line.search(text)
    if match:
        number = (match.group("number") or "").strip()
        if number:
            return match.start("number"), title if title.startswith(number) else f"{number} {title}"
        indent = len(match.group()) - len(match.group().lstrip(" \t"))
        return match.start() + indent, title
    anywhere = re.compile(body, re.IGNORECASE)
    match = anywhere.search(text, start) or anywhere.search(text)
    return (match.start(), title) if match else None


def sections_from_outline(texts: list[str], outline: list[OutlineEntry]) -> dict[int, list[Section]]:
    """Sections of each page from the PDF's bookmarks, placed where their heading is printed."""
    sections: dict[int, list[Section]] = {}
    cursor: dict[int, int] = {}
    for entry in outline:
        text = texts[entry.page_index]
        found = find_heading(text, entry.title, cursor.get(entry.page_index, 0))
        start, title = found if found else (cursor.get(entry.page_index, 0), entry.title)
        cursor[entry.page_index] = start
        sections.setdefault(entry.page_index, []).append(Section(start, title))
    return {page: sorted(found, key=lambda s: s.start) for page, found in sections.items()}


# Without an outline: numbered headings on a line of their own ("2.3 Mettre à jour"), not sentences.
_HEADING_LINE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,2}\.?[ \t]+[A-ZÀ-Ý][^\n]{2,90}?)[ \t]*$", re.MULTILINE)


def sections_from_headings(texts: list[str]) -> dict[int, list[Section]]:
    sections: dict[int, list[Section]] = {}
    for index, text in enumerate(texts):
        for match in _HEADING_LINE.finditer(text):
            line = match.group(1)
            if line.endswith((".", ",", ";", ":")) or len(line.split()) > 14:
                continue
            sections.setdefault(index, []).append(Section(match.start(1), _one_line(line)))
    return sections

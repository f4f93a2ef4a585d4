"""Chunks that follow paragraphs and sentences, with stable ids, character offsets and their section.

A sheet of a spreadsheet is cut between rows only: each chunk is the sheet's header lines, then
whole rows, and its section names the sheet and the rows (« Feuille Budget, lignes 2–31 »).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.loaders import LoadedDocument, Page, normalize_layout, normalize_page

# Paragraphs first, then lines, then French sentence ends (the separator stays with
# the sentence it closes), then clauses, then words.
FRENCH_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?…»])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]

__all__ = ["FRENCH_SEPARATORS", "Chunk", "chunk_id", "make_splitter", "normalize_layout", "split_document"]


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_hash: str
    page: int | None
    start: int  # character offset in the page's text: text == page text[start:end] ...
    end: int  # ... except in a sheet, where text is the sheet's header lines, a line break, then page text[start:end]
    index: int  # position of the chunk in its document
    text: str
    section: str = ""  # the heading in force where the chunk starts ("" when the document has none)
    ocr: bool = False  # read by OCR from an image of the page
    unit: str = "page"  # what ``page`` counts: "page", "slide" or "sheet"


def chunk_id(doc_hash: str, page: int | None, index: int, start: int, end: int) -> str:
    return hashlib.sha256(f"{doc_hash}:{page}:{index}:{start}:{end}".encode()).hexdigest()[:32]


def make_splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        separators=FRENCH_SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",  # pieces are joined back with their own whitespace: chunks stay exact substrings
        strip_whitespace=True,
    )


def split_document(document: LoadedDocument, doc_hash: str, size: int, overlap: int) -> list[Chunk]:
    """Split every page; a chunk never crosses a page, so its page number is exact."""
    splitter = make_splitter(size, overlap)
    chunks: list[Chunk] = []
    section = ""  # a section goes on over the following pages until the next heading
    for page in document.pages:
        page = normalize_page(page)  # a no-op for documents from load_bytes, which normalized them already
        text = page.text
        if page.sheet is not None and _rows_match(page):
            chunks += split_sheet(page, doc_hash, size, len(chunks), document.unit)
            continue
        if not text.strip():
            section = page.sections[-1].title if page.sections else section
            continue
        headings = sorted(page.sections, key=lambda s: s.start)
        cursor = 0
        for body in splitter.split_text(text):
            # chunks come in order: the next one starts after the previous start (repeated
            # text would otherwise map two chunks to one offset)
            start = text.find(body, cursor)
            if start < 0:
                start = text.find(body)
            cursor = start + 1
            end = start + len(body)
            current = section
            for heading in headings:
                if heading.start <= start:
                    current = heading.title
            index = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id(doc_hash, page.number, index, start, end),
                    doc_hash,
                    page.number,
                    start,
                    end,
                    index,
                    body,
                    current,
                    page.ocr,
                    document.unit,
                )
            )
        if headings:
            section = headings[-1].title
    return chunks


def _rows_match(page: Page) -> bool:
    assert page.sheet is not None
    return page.text.count("\n") + 1 == page.sheet.header + len(page.sheet.rows)


def _header_text(lines: list[str], size: int) -> str:
    """The header repeated on every chunk of a sheet, at most half a chunk: the column names first."""
    header = "\n".join(lines)
    if len(header) <= size // 2:
        return header
    return lines[-1][: size // 2] if lines else ""


def split_sheet(page: Page, doc_hash: str, size: int, first_index: int, unit: str) -> list[Chunk]:
    """Cut a sheet between rows into chunks of about ``size`` characters, each under the sheet's header.

    A row longer than a chunk is cut like text, each piece under the header and named by its row.
    """
    sheet = page.sheet
    assert sheet is not None
    lines = page.text.split("\n")
    header = _header_text(lines[: sheet.header], size)
    room = max(size - len(header) - 1, size // 2)  # what a chunk holds beside the header
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    chunks: list[Chunk] = []

    def emit(start: int, end: int, first: int, last: int) -> None:
        body = page.text[start:end]
        index = first_index + len(chunks)
        chunks.append(
            Chunk(
                chunk_id(doc_hash, page.number, index, start, end),
                doc_hash,
                page.number,
                start,
                end,
                index,
                f"{header}\n{body}" if header else body,
                sheet.location(first, last),
                False,
                unit,
            )
        )

    group: list[int] = []  # line indices of the rows gathered for the next chunk

    def flush() -> None:
        if group:
            first, last = group[0], group[-1]
            emit(
                starts[first], starts[last] + len(lines[last]), sheet.rows[first - sheet.header], sheet.rows[last - sheet.header]
            )
            group.clear()

    length = 0
    for line_index in range(sheet.header, len(lines)):
        line_length = len(lines[line_index])
        if group and length + 1 + line_length > room:
            flush()
        if line_length > room:  # one row longer than a chunk: cut like text, each piece named by its row
            row = sheet.rows[line_index - sheet.header]
            cursor = starts[line_index]
            for piece in make_splitter(room, 0).split_text(lines[line_index]):
                start = page.text.find(piece, cursor)
                cursor = start + 1
                emit(start, start + len(piece), row, row)
            continue
        length = line_length if not group else length + 1 + line_length
        group.append(line_index)
    flush()
    return chunks

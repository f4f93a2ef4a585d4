"""Chunks that follow paragraphs and sentences, with stable ids, character offsets and their section."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.loaders import LoadedDocument, normalize_layout, normalize_page

# Paragraphs first, then lines, then French sentence ends (the separator stays with
# the sentence it closes), then clauses, then words.
FRENCH_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?…»])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]

__all__ = ["FRENCH_SEPARATORS", "Chunk", "chunk_id", "make_splitter", "normalize_layout", "split_document"]


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_hash: str
    page: int | None
    start: int  # character offset in the page's text
    end: int
    index: int  # position of the chunk in its document
    text: str
    section: str = ""  # the heading in force where the chunk starts ("" when the document has none)
    ocr: bool = False  # read by OCR from an image of the page
    unit: str = "page"  # what ``page`` counts: "page" or "slide"


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

"""Chunks that follow paragraphs and sentences, with stable ids and character offsets."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.loaders import LoadedDocument

# Paragraphs first, then lines, then French sentence ends (the separator stays with
# the sentence it closes), then clauses, then words.
FRENCH_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?…»])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_hash: str
    page: int | None
    start: int  # character offset in the page's text
    end: int
    index: int  # position of the chunk in its document
    text: str


def normalize_layout(text: str) -> str:
    """Drop trailing spaces and runs of blank lines (web exports are full of them)."""
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


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
    for page in document.pages:
        text = normalize_layout(page.text)
        if not text:
            continue
        cursor = 0
        for body in splitter.split_text(text):
            # chunks come in order: the next one starts after the previous start (repeated
            # text would otherwise map two chunks to one offset)
            start = text.find(body, cursor)
            if start < 0:
                start = text.find(body)
            cursor = start + 1
            end = start + len(body)
            index = len(chunks)
            chunks.append(
                Chunk(chunk_id(doc_hash, page.number, index, start, end), doc_hash, page.number, start, end, index, body)
            )
    return chunks

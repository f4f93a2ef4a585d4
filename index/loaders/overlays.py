"""Slides revealed step by step: of the pages that show one slide growing, only the last (the fullest) is kept.

Beamer typesets each overlay step of a frame (``\\pause``, ``\\only``, ``\\uncover``, ``<+->``) as a
page of its own, each holding the previous step's text and a little more; a frame in five steps
is five pages, and indexing them all puts five near-copies of one slide in the index, where they
crowd other passages out of a search. Beamer also gives every page of a frame the frame's number
as its PDF page label (``\\thispdfpagelabel{\\insertframenumber}``): "7", "7", "7".

A page is an earlier step of the next page when the next page holds all its words in the same
order (numbers aside: a slide counter changes from step to step), and:

- in a PDF with page labels, both pages carry the same label;
- in a PDF without (the fallback, made conservative because nothing but the text says so), the
  page has at least ``MIN_WORDS`` words and at least ``MIN_SHARE`` of the next page's.

A dropped page's text is all on the page kept after it, which keeps its own page number. A
step that replaces text (``\\only<1>{A}\\only<2>{B}``) is not a subset of the next and stays; so do
pages without text (the OCR step reads them) and consecutive pages of an ordinary document,
which share a running header but not their body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_WORDS = 8  # without page labels, a page this short is never taken for a step of the next one
MIN_SHARE = 0.5  # ... nor one holding less than this share of the next page's words

_NUMBER = re.compile(r"\d+")


def _words(text: str) -> list[str]:
    return [_NUMBER.sub("0", word) for word in text.split()]


def _holds(larger: list[str], smaller: list[str]) -> bool:
    """Whether ``smaller`` is a subsequence of ``larger`` (its words found in order), in linear time."""
    remaining = iter(larger)
    return all(word in remaining for word in smaller)


def is_earlier_step(page: str, following: str, same_label: bool | None) -> bool:
    """Whether ``page`` is an overlay step that ``following`` completes (``same_label`` None: the PDF has no labels)."""
    words, next_words = _words(page), _words(following)
    if not words or same_label is False:
        return False
    if same_label is None and (len(words) < MIN_WORDS or len(words) < MIN_SHARE * len(next_words)):
        return False
    return _holds(next_words, words)


def kept_pages(texts: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Indices of the pages to index: all but the overlay steps that the next page completes."""
    labelled = any(label.strip() for label in labels) and len(labels) == len(texts)
    kept = []
    for index in range(len(texts)):
        if index + 1 < len(texts):
            same_label = (labels[index] == labels[index + 1] and bool(labels[index].strip())) if labelled else None
            if is_earlier_step(texts[index], texts[index + 1], same_label):
                continue
        kept.append(index)
    return kept


def kept_page_of(kept: Sequence[int], count: int) -> list[int]:
    """For every page index, the index (in ``kept``'s order) of the page that holds its text: itself, or its run's last step."""
    position = [0] * count
    following = len(kept) - 1
    for index in range(count - 1, -1, -1):
        while following > 0 and kept[following - 1] >= index:
            following -= 1
        position[index] = following
    return position

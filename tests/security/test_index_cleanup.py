"""The clean-up of PDF text is linear: a run of a million letters (a 1.6 KB PDF) no longer takes hours.

Measured before the fix: the hyphenation patterns tried every position of a run of letters and
backtracked through the rest of it, 13 s for a 20,000-letter word, about 4 hours for a million.
"""

from __future__ import annotations

import time

from index.loaders import load_bytes
from index.loaders.cleanup import clean_pages, document_vocabulary, repair_hyphenation
from tests.documents import one_word_pdf

MEGABYTE = 1_000_000


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def test_a_megabyte_long_word_is_cleaned_in_linear_time() -> None:
    word = "a" * MEGABYTE
    cleaned, seconds = timed(clean_pages, [word, word], frozenset({"a"}))
    assert cleaned == [word, word]
    assert seconds < 2, f"{seconds:.1f} s for 2 MB of letters"


def test_runs_of_letters_hyphens_and_spaces_are_cleaned_in_linear_time() -> None:
    pages = [
        "é" * MEGABYTE,  # a run of (non-ASCII) letters
        "mot-" + " \t" * (MEGABYTE // 2),  # a hyphen, then spaces that never reach a line end
        ("a" * 1000 + "-" + " " * 1000) * 500,  # many long words, each cut by a hyphen not at a line end
        "a-" * (MEGABYTE // 2),  # one compound of half a million parts
        ("ab-\n" * (MEGABYTE // 4)),  # a quarter of a million cuts to repair
    ]
    for page in pages:
        _, seconds = timed(clean_pages, [page, page[: len(page) // 2]], frozenset())
        assert seconds < 2, f"{seconds:.1f} s for {page[:12]!r}…"
        _, seconds = timed(document_vocabulary, [page])
        assert seconds < 2
        _, seconds = timed(repair_hyphenation, page, bool)
        assert seconds < 2


def test_a_pdf_of_a_million_letter_word_is_read_in_a_second() -> None:
    pdf = one_word_pdf(MEGABYTE)
    assert len(pdf) < 2000
    document, seconds = timed(load_bytes, pdf, "mot.pdf")
    assert len(document.text) == MEGABYTE
    assert seconds < 3, f"{seconds:.1f} s"


def test_a_line_of_thousands_of_digits_at_a_page_edge_is_no_failure() -> None:
    # int() refuses more than 4,300 digits: the running-line detection must not raise on them
    digits = "7" * 10_000
    words = ["alpha", "bêta", "gamma", "delta"]
    pages = [f"{digits}\nLe paragraphe {word} de la page.\n{i + 1}" for i, word in enumerate(words)]
    cleaned = clean_pages(pages, frozenset())  # raised ValueError: the whole PDF was refused as unreadable
    assert cleaned == [f"{digits}\nLe paragraphe {word} de la page." for word in words]  # page numbers go, the rest stays

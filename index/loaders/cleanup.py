"""Clean-up of text extracted from paged documents, so that passages read like the page a person sees.

- ``normalize_characters``: ligatures and compatibility characters (ﬁ → fi), decomposed accents
  composed (e + ◌́ → é), soft hyphens and the control characters some extractors emit dropped.
- ``remove_running_lines``: running headers and footers (lines at the top or bottom of pages that
  repeat on three pages, or on two pages in a row, once their numbers are masked, page numbers
  alone included).
- ``repair_hyphenation``: a word cut at a line end is joined when the joined word is a word (of
  the word list or of the document itself), and keeps its hyphen otherwise (real compounds).

Every step is linear in the text's length.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# Debian's word lists (wfrench, wamerican): the first that exist are read.
WORD_LISTS = (
    Path("/usr/share/dict/french"),
    Path("/usr/share/dict/american-english"),
    Path("/usr/share/dict/british-english"),
)

# Compatibility characters that extractors pass through from fonts: the alphabetic presentation
# forms (ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ), and space variants that are not the no-break spaces of French typography.
_COMPAT = re.compile("[\ufb00-\ufb06\u2000-\u200a\u2002\u2003]")
_DROP = re.compile("[\u00ad\u200b\ufeff\x00-\x08\x0b\x0c\x0e-\x1f]")  # soft hyphen, zero widths, controls
# PDFium marks a hyphen at a line end (U+FFFE, or 0x02 in older builds) and joins the two lines:
# the line break is put back, so that hyphenation repair decides between a word and a compound.
_LINE_HYPHEN = re.compile("[\x02\ufffe](?:\r?\n)?")


def normalize_characters(text: str) -> str:
    """Ligatures and compatibility characters to plain letters, accents composed, invisible marks dropped."""
    text = _LINE_HYPHEN.sub("-\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _DROP.sub("", text)
    text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    return unicodedata.normalize("NFC", text)


# --- running headers and footers ------------------------------------------------------------

EDGE_LINES = 3  # lines looked at, at the top and at the bottom of each page
MIN_REPEATS = 3  # a line is running when it sits at the edge of at least this many pages
_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"^[ivxlcdm]+$")
_SPACES = re.compile(r"\s+")


def _line_key(line: str, pages: int) -> str:
    """What stays of a line when the numbers that can be page numbers are masked (years and the like stay)."""
    # the length first: int() of a run of thousands of digits raises ValueError (and costs quadratic time)
    key = _DIGITS.sub(
        lambda m: "#" if len(m.group()) <= 18 and int(m.group()) <= pages + 100 else m.group(), line.strip().lower()
    )
    key = _SPACES.sub(" ", key)
    return "#" if _ROMAN.match(key) else key  # roman page numbers of a front matter


def _edges(lines: list[str]) -> list[tuple[int, str]]:
    """(index, side) of the first and last non-blank lines of a page (EDGE_LINES at each end)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return [(i, "top") for i in filled[:EDGE_LINES]] + [(i, "bottom") for i in filled[-EDGE_LINES:]]


def running_keys(pages: list[str]) -> set[tuple[str, str]]:
    """The (side, masked line) pairs that come back at the top, or at the bottom, of several pages."""
    if len(pages) < 2:
        return set()
    counts: Counter[tuple[str, str]] = Counter()
    previous: set[tuple[str, str]] = set()
    on_consecutive_pages: set[tuple[str, str]] = set()
    for page in pages:
        lines = page.split("\n")
        keys = {(side, _line_key(lines[i], len(pages))) for i, side in _edges(lines)}
        counts.update(keys)
        on_consecutive_pages |= keys & previous
        previous = keys
    needed = min(MIN_REPEATS, len(pages))
    # a section's own running header may show on two pages only, but then on two pages in a row
    running = {key for key, n in counts.items() if n >= needed} | on_consecutive_pages
    return {key for key in running if key[1] and len(key[1]) <= 150}


def remove_running_lines(pages: list[str]) -> list[str]:
    """Drop running headers and footers (and lone page numbers) from each page's top and bottom lines."""
    keys = running_keys(pages)
    if not keys:
        return list(pages)
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        drop = {i for i, side in _edges(lines) if (side, _line_key(lines[i], len(pages))) in keys}
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


# --- hyphenation ----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# A word cut at a line end: letters, a hyphen, the line break (spaces around it), letters. Both
# patterns start only where a word starts (the look-behind) and never give letters or spaces back
# (possessive ``++`` / ``*+``): written as ``[^\W\d_]+-`` they tried every position of a run of
# letters and backtracked through the rest of it, quadratic in the run (a 20,000-letter word took
# 5 s, a 1 MB one hours). Giving back can never help them match (a letter is no hyphen, no space,
# no line end), so they match exactly what the plain patterns did.
_CUT = re.compile(r"(?<![^\W\d_])([^\W\d_]++)-[ \t]*+\n[ \t]*+([^\W\d_]++)")
_COMPOUND = re.compile(r"(?<![^\W\d_])[^\W\d_]++(?:-[^\W\d_]++)+")


@functools.cache
def word_list() -> frozenset[str]:
    """The lower-case words of the system's word lists (empty when none is installed)."""
    words: set[str] = set()
    for path in WORD_LISTS:
        try:
            words.update(w.strip().lower() for w in path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError:
            continue
    if not words:
        log.warning("no word list in /usr/share/dict (install wfrench): hyphenation is repaired from each document's own words")
    return frozenset(words)


def document_vocabulary(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """The words and the hyphenated compounds that a document spells in full (not cut at a line end)."""
    words: set[str] = set()
    compounds: set[str] = set()
    for text in texts:
        uncut = _CUT.sub(" ", text)
        words.update(w.lower() for w in _WORD.findall(uncut))
        compounds.update(c.lower() for c in _COMPOUND.findall(uncut))
    return words, compounds


def repair_hyphenation(text: str, is_word: Callable[[str], bool], compounds: set[str] | frozenset[str] = frozenset()) -> str:
    """Join "maxi-\\nmale" into "maximale" when that is a word; keep "franco-\\nchinoises" as "franco-chinoises"."""

    def join(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        joined = left + right
        hyphenated = f"{left}-{right}"
        if hyphenated.lower() in compounds:  # the document spells it with its hyphen elsewhere
            return hyphenated
        if is_word(joined.lower()):
            return joined
        return hyphenated

    return _CUT.sub(join, text)


def repair_document_hyphenation(pages: list[str], words: frozenset[str] | None = None) -> list[str]:
    """Repair line-end hyphenation on every page with the word list and the document's own words."""
    vocabulary, compounds = document_vocabulary(pages)
    known = word_list() if words is None else words

    def is_word(word: str) -> bool:
        return word in vocabulary or word in known

    return [repair_hyphenation(page, is_word, compounds) for page in pages]


def clean_pages(pages: list[str], words: frozenset[str] | None = None) -> list[str]:
    """All clean-up steps for the pages of one document, in order."""
    pages = [normalize_characters(p) for p in pages]
    pages = remove_running_lines(pages)
    return repair_document_hyphenation(pages, words)

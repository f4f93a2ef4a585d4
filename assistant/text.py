"""Text helpers shared by retrieval, citations and evaluation (French-aware)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

from assistant.lexicon import (
    ENGLISH_HINTS,
    FRENCH_HINTS,
    OTHER_ABBREVIATIONS,
    PAGE_ABBREVIATIONS,
    TITLE_ABBREVIATIONS,
    WORD_ELISIONS,
)

T = TypeVar("T")


def text_cache(function: Callable[[str], T], large: int = 8000) -> Callable[[str], T]:
    """Memoize a function of a text: thousands of passage-sized texts, but only a few whole documents.

    Documents can be megabytes long; an ordinary cache of thousands of them would hold gigabytes.
    """
    small_cache = lru_cache(maxsize=4096)(function)
    large_cache = lru_cache(maxsize=8)(function)

    @wraps(function)
    def cached(text: str) -> T:
        return large_cache(text) if len(text) > large else small_cache(text)

    return cached


_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "“": '"', "”": '"', "«": '"', "»": '"', "„": '"'})
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Normalize as the golden-set format says: no accents, lower case, ASCII quotes, one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower().translate(_QUOTES)).strip()


def fold(text: str) -> str:
    """Accent-free lower case, keeping everything else (for matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().translate(_QUOTES)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    import stopwordsiso

    words = set(stopwordsiso.stopwords("fr")) | set(stopwordsiso.stopwords("en"))
    return frozenset(fold(w) for w in words)


_ELISION = re.compile(rf"\b(?:{'|'.join(WORD_ELISIONS)})'", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")


def tokenize(text: str, drop_stopwords: bool = True) -> list[str]:
    """Split into accent-folded words; elisions (l', d', qu') cut off; stop words dropped."""
    folded = _ELISION.sub(" ", fold(text))
    words = _TOKEN.findall(folded)
    if not drop_stopwords:
        return words
    stop = stopwords()
    return [w for w in words if w not in stop and (len(w) > 1 or w.isdigit())]


@text_cache
def _vocabulary(text: str) -> tuple[frozenset[str], dict[str, list[str]]]:
    words = frozenset(tokenize(text))
    by_prefix: dict[str, list[str]] = {}
    for w in words:
        by_prefix.setdefault(w[:4], []).append(w)
    return words, by_prefix


def holds(term: str, text: str) -> bool:
    """The text has the word, or one sharing its stem by prefix ("formés": "formé", "chinois": "Chine")."""
    words, by_prefix = _vocabulary(text)
    if term in words:
        return True
    if len(term) < 4:
        return False
    return any(_shared_prefix(term, w) >= max(4, min(len(term), len(w)) - 3) for w in by_prefix.get(term[:4], []))


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_LINE = re.compile(r"\n+")
_LINE_MARKS = " \t•-–*·▪●"


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    """pySBD's French rules, with the titles and page abbreviations of French and English texts added."""
    import pysbd
    from pysbd.lang.french import French

    class FrenchAndEnglish(French):  # type: ignore[misc]
        class Abbreviation(French.Abbreviation):  # type: ignore[misc]
            titles = list(TITLE_ABBREVIATIONS)
            pages = list(PAGE_ABBREVIATIONS)
            ABBREVIATIONS = sorted({*French.Abbreviation.ABBREVIATIONS, *titles, *pages, *OTHER_ABBREVIATIONS})
            PREPOSITIVE_ABBREVIATIONS = [*titles, "cf"]  # never end a sentence: "Dr. Smith", "M. Angles"
            NUMBER_ABBREVIATIONS = pages  # "p. 3", "n° 72"

    segmenter = pysbd.Segmenter(language="fr", clean=False)
    segmenter.language_module = FrenchAndEnglish  # pySBD reads its rules from this class
    return segmenter


def _segments(line: str) -> list[str]:
    """pySBD's sentences of one line, with a period followed by a letter kept inside its word.

    pySBD ends a sentence at the dot of "~/.dput.cf", "./configure" or ".gitignore": the checker then
    read half a file name, and the answer got its citation marker in the middle of the path
    ("~/ [1]. dput.cf"). A sentence ends at a period only when a space (or the line's end) follows it.
    """
    out: list[str] = []
    position = end = 0
    for part in _segmenter().segment(line):
        start = line.find(part, position)
        if start < 0:  # not the line's own text: leave it as pySBD gave it
            out.append(part)
            continue
        if out and start == end and line[end - 1 : end] == "." and (part[:1].isalnum() or part[:1] in "/\\_~-"):
            out[-1] += part
        else:
            out.append(part)
        position = end = start + len(part)
    return out


@text_cache
def _split_cached(text: str) -> tuple[str, ...]:
    out = []
    for line in _LINE.split(text):  # a line break ends a sentence: list items, slide lines, titles
        if not re.search(r"\w", line):
            continue
        for part in _segments(line):
            part = part.strip().strip(_LINE_MARKS).strip()
            if part and re.search(r"\w", part):
                out.append(part)
    return tuple(out)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with pySBD's rules: "M. Angles", "Dr Gaston", "p. 3", "etc." do not end one."""
    return list(_split_cached(text))


@text_cache
def _spans_cached(text: str) -> tuple[tuple[int, int], ...]:
    spans = []
    position = 0
    for part in _split_cached(text):
        start = text.find(part, position)  # each part is the text's own, in order (pySBD without cleaning)
        if start < 0:
            continue
        spans.append((start, start + len(part)))
        position = start + len(part)
    return tuple(spans)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets in ``text`` of the sentences that ``split_sentences`` gives."""
    return list(_spans_cached(text))


_FRENCH_HINTS = re.compile(rf"\b({'|'.join(FRENCH_HINTS)})\b")
_ENGLISH_HINTS = re.compile(rf"\b({'|'.join(ENGLISH_HINTS)})\b")


def detect_language(text: str) -> str:
    """Return "fr" or "en" (the two languages of this assistant); French when unsure."""
    lowered = text.lower()
    french_bonus = 2 if re.search(r"[àâçéèêëîïôûùüÿœ]", lowered) else 0
    fr = len(_FRENCH_HINTS.findall(lowered)) + french_bonus
    en = len(_ENGLISH_HINTS.findall(lowered))
    if fr == en:
        import py3langid

        lang, _ = py3langid.classify(text)
        return "en" if lang == "en" else "fr"
    return "en" if en > fr else "fr"


# "Combien", "quelle année", "how many"... ask for a figure wherever they stand; "quand" and "when"
# only at the start of the question (or of "Et quand…", "Depuis quand…") or at its end ("…signé
# quand ?"): elsewhere they are conjunctions ("…quand je fais le ménage, quel fichier ?").
_FIGURE_QUESTION = re.compile(
    r"\b(combien|quelle? (?:ann[ée]e|date|[âa]ge|durée|duree|époque|epoque|mois|siècle|siecle)|quel [âa]ge|"
    r"how (?:many|much|long|old)|what (?:year|date|age|month))\b"
    r"|^\W*(?:(?:et|and|mais|but)\s+)?(?:(?:depuis|jusqu'à|jusqu’à|à partir de|since|until)\s+)?(?:quand|when)\b"
    r"|\b(?:quand|when)\s*\?\s*$"
)


def asks_for_figure(question: str) -> bool:
    """Whether the question asks for a number or a date ("Combien…", "Quand…", "Depuis quelle année…", "How many…")."""
    return any(_FIGURE_QUESTION.search(part) for part in re.split(r"(?<=\?)\s+", question.strip().lower()))

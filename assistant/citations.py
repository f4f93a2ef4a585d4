"""Link every answer sentence to the passages that support it, checked in code.

Whatever the model wrote, a sentence is tied to a passage only when the passage
holds the sentence's numbers and proper names and says the same thing (shared
content words, or, across languages, a close embedding). A citation never points
to a passage the model was not given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.retrieval import Passage
from assistant.text import fold, split_sentences, stopwords, tokenize

Similarity = Callable[[str, Sequence[str]], list[float]]  # sentence vs candidates -> cosine each

LEXICAL_SUPPORT = 0.5  # share of a sentence's content words found in the passage
SEMANTIC_SUPPORT = 0.62  # cosine between the sentence and the passage's closest sentence


@dataclass(frozen=True)
class Citation:
    n: int  # the passage number shown to the model and the user
    source: str
    title: str
    page: int | None
    quote: str  # the passage sentence that supports the claim
    chunk_id: str
    passage_text: str
    location: str = ""  # as a person cites it: "p. 42 · 5.3 Mettre à jour"

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "page": self.page,
            "location": self.location,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without the model's [n] markers
    citations: tuple[int, ...]  # passage numbers that support it (verified)
    supported: bool
    claims: bool  # False for sentences with nothing to check ("Voici :")


_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d+)*")


def numbers_in(text: str) -> set[str]:
    """Numbers as digit strings: "1 200" and "1200" match; "6,5" stays "6,5"."""
    out = set()
    for raw in _NUMBER.findall(text):
        compact = re.sub(r"(?<=\d)[ \u00a0\u202f.](?=\d{3}\b)", "", raw)
        compact = compact.replace(".", ",")
        out.add(compact.rstrip(",."))
    return out


def proper_names(sentence: str) -> set[str]:
    """Capitalized words not at the start of the sentence, accent-folded (names, places, acronyms)."""
    words = re.findall(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w’']*", sentence)  # "Asie-Europe" is two names
    out = set()
    for i, word in enumerate(words):
        if i == 0 or not word[0].isupper():
            continue
        folded = fold(word).strip("'’-")
        folded = re.sub(r"^(l|d|qu)'", "", folded)
        if len(folded) > 2 and folded not in stopwords():
            out.add(folded)
    return out


def strip_markers(text: str) -> tuple[str, list[int]]:
    found = [int(n) for group in _MARKER.findall(text) for n in re.split(r"[,;]\s*", group)]
    return _MARKER.sub("", text).strip(), found


def facts_hold(sentence: str, passage_text: str, context: str = "") -> bool:
    """Every number and proper name of the sentence appears in the passage.

    Names and numbers taken from the question (``context``) are not claims of the
    answer: restating them is not checked against the passage.
    """
    if not numbers_in(sentence) - numbers_in(context) <= numbers_in(passage_text):
        return False
    folded = fold(passage_text)
    passage_words = set(re.findall(r"[\w\-]+", folded))
    names = proper_names(sentence) - set(tokenize(context))
    return all(name in passage_words or name in folded for name in names)


def lexical_support(sentence: str, passage_text: str, context: str = "") -> float:
    """Share of the sentence's own words (those not taken from the question) found in the passage."""
    words = set(tokenize(sentence))
    own = words - set(tokenize(context))
    words = own or words
    if not words:
        return 0.0
    return len(words & set(tokenize(passage_text))) / len(words)


def best_quote(sentence: str, passage: Passage, similarity: Similarity | None = None) -> str:
    """Return the passage sentence closest to the claim (shared words, then embeddings)."""
    candidates = split_sentences(passage.text) or [passage.text]
    if len(candidates) == 1:
        return candidates[0]
    claim_numbers = numbers_in(sentence)
    claim_words = set(tokenize(sentence))

    def lexical(c: str) -> float:
        return len(claim_words & set(tokenize(c))) + 2 * len(claim_numbers & numbers_in(c))

    scores = [lexical(c) for c in candidates]
    if max(scores) == 0 and similarity is not None:
        scores = similarity(sentence, candidates)
    return candidates[max(range(len(candidates)), key=lambda i: scores[i])]


def check_sentence(
    sentence: str,
    marked: Sequence[int],
    passages: Sequence[Passage],
    similarity: Similarity | None = None,
    context: str = "",
) -> tuple[list[int], bool, bool]:
    """Return (supporting passage numbers, supported, has claims) for one sentence."""
    if not tokenize(sentence) and not numbers_in(sentence):
        return [], True, False
    given = {p.rank: p for p in passages}
    ordered = [n for n in marked if n in given] + [p.rank for p in passages if p.rank not in marked]

    def lexical(n: int) -> float:
        return lexical_support(sentence, given[n].text, context)

    lexical_ok = [n for n in ordered if facts_hold(sentence, given[n].text, context) and lexical(n) >= LEXICAL_SUPPORT]
    if lexical_ok:
        # keep the model's own choices when they are verified; else the best one
        chosen = [n for n in lexical_ok if n in marked] or [max(lexical_ok, key=lexical)]
        return chosen, True, True
    if similarity is not None:
        factual = [n for n in ordered if facts_hold(sentence, given[n].text, context)]
        if factual:
            scores = {}
            for n in factual:
                parts = split_sentences(given[n].text) or [given[n].text]
                scores[n] = max(similarity(sentence, parts))
            best = max(scores, key=lambda n: scores[n])
            if scores[best] >= SEMANTIC_SUPPORT:
                return [best], True, True
    return [], False, True


def cite(
    answer: str, passages: Sequence[Passage], similarity: Similarity | None = None, question: str = ""
) -> tuple[list[CheckedSentence], list[Citation]]:
    """Check every sentence of an answer against the passages the model was given."""
    checked: list[CheckedSentence] = []
    used: dict[int, str] = {}
    given = {p.rank: p for p in passages}
    for raw in split_sentences(answer):
        text, marked = strip_markers(raw)
        if not text:
            continue
        numbers, supported, claims = check_sentence(text, marked, passages, similarity, question)
        checked.append(CheckedSentence(text, tuple(numbers), supported, claims))
        for n in numbers:
            used.setdefault(n, best_quote(text, given[n], similarity))
    citations = [
        Citation(n, given[n].source, given[n].title, given[n].page, quote, given[n].chunk_id, given[n].text, given[n].location)
        for n, quote in sorted(used.items())
    ]
    return checked, citations


def render(checked: Sequence[CheckedSentence], drop_unsupported: bool, language: str) -> str:
    """Write the answer back with verified [n] markers; flag or drop unsupported sentences."""
    flag = " ⚠ (non vérifié dans les documents)" if language == "fr" else " ⚠ (not found in the documents)"
    parts = []
    for s in checked:
        body = s.text.rstrip()
        end = body[-1] if body and body[-1] in ".!?" else ""
        body = body[:-1] if end else body
        if s.claims and not s.supported:
            if drop_unsupported:
                continue
            parts.append(f"{body}{flag}{end or '.'}")
        elif s.citations:
            parts.append(f"{body} {''.join(f'[{n}]' for n in s.citations)}{end or '.'}")
        else:
            parts.append(s.text)
    return " ".join(parts).strip()

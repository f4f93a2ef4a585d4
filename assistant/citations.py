"""Link every answer sentence to the passages that support it, checked in code.

Whatever the model wrote, a sentence is tied to a passage only when:

- every number and proper name of the sentence is in the passage. Names and numbers
  that the question supplied (its subject and constraints: who, when, where) may
  instead be found elsewhere in the passage's document or its title, but never
  nowhere: restating "le Chili en 2017" is a claim like any other;
- every number the answer brings sits, in the passage, in a sentence that shares the
  claim's other content words (the right figure attached to the wrong fact fails);
- the passage says the same thing (shared content words, or, across languages, a
  close embedding).

A citation never points to a passage the model was not given. The checks of numbers and
names are in ``assistant.facts``; this module decides what supports what.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assistant.facts import Similarity, facts_hold, lowercase_words, numbers_in, numbers_in_context
from assistant.lexicon import YES_NO
from assistant.retrieval import Passage
from assistant.text import detect_language, holds, split_sentences, tokenize

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
    invented: bool = False  # a name or a figure that no passage holds (or holds with another fact)


_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def strip_markers(text: str) -> tuple[str, list[int]]:
    """Return the sentence without its [n] markers, and the passage numbers they give."""
    found = [int(n) for group in _MARKER.findall(text) for n in re.split(r"[,;]\s*", group)]
    return _MARKER.sub("", text).strip(), found


def lexical_support(sentence: str, passage_text: str, context: str = "") -> float:
    """Share of the sentence's own words (those not taken from the question) found in the passage.

    A word is found with light stemming by shared prefix ("service économique" in "services
    économiques") when both are in the same language; figures must be found as written.
    """
    words = set(tokenize(sentence))
    own = words - set(tokenize(context))
    words = own or words
    if not words:
        return 0.0
    found = set(tokenize(passage_text))
    if detect_language(sentence) != detect_language(passage_text):  # stems across languages are false friends
        return len(words & found) / len(words)
    return sum(w in found or (not w[0].isdigit() and holds(w, passage_text)) for w in words) / len(words)


_YES_NO = re.compile(rf"\W*({'|'.join(YES_NO)})\b", re.IGNORECASE)


def restates(sentence: str, question: str) -> bool:
    """The sentence brings nothing the question did not say: no word, no figure of its own, not a yes or a no."""
    own_words = set(tokenize(sentence)) - set(tokenize(question))
    return not own_words and numbers_in(sentence) <= numbers_in(question) and not _YES_NO.match(sentence)


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


def document_of(passage: Passage, documents: Mapping[str, str] | None) -> str:
    """The passage's whole document with its title (the passage alone when the document is unknown)."""
    body = documents.get(passage.source, "") if documents else ""
    return f"{passage.title}\n{body or passage.text}"


def check_sentence(
    sentence: str,
    marked: Sequence[int],
    passages: Sequence[Passage],
    similarity: Similarity | None = None,
    context: str = "",
    documents: Mapping[str, str] | None = None,
    common: set[str] | frozenset[str] = frozenset(),
) -> tuple[list[int], bool, bool, bool]:
    """Return (supporting passage numbers, supported, has claims, invented) for one sentence.

    A sentence that only restates the question (no word, no figure of its own, not a
    yes or a no) claims nothing: it is no answer, whatever it cites.
    """
    if not tokenize(sentence) and not numbers_in(sentence):
        return [], True, False, False
    if context and restates(sentence, context):
        return [], True, False, False
    given = {p.rank: p for p in passages}
    ordered = [n for n in marked if n in given] + [p.rank for p in passages if p.rank not in marked]

    def factual(n: int) -> bool:
        p = given[n]
        return facts_hold(sentence, p.text, context, document_of(p, documents), common, similarity) and numbers_in_context(
            sentence, p.text, context, similarity, p.title
        )

    def lexical(n: int) -> float:
        return lexical_support(sentence, given[n].text, context)

    holding = [n for n in ordered if factual(n)]
    lexical_ok = [n for n in holding if lexical(n) >= LEXICAL_SUPPORT]
    if lexical_ok:
        # keep the model's own choices when they are verified; else the best one
        chosen = [n for n in lexical_ok if n in marked] or [max(lexical_ok, key=lexical)]
        return chosen, True, True, False
    if similarity is not None and holding:
        scores = {}
        for n in holding:
            parts = split_sentences(given[n].text) or [given[n].text]
            scores[n] = max(similarity(sentence, parts))
        best = max(scores, key=lambda n: scores[n])
        if scores[best] >= SEMANTIC_SUPPORT:
            return [best], True, True, False
    return [], False, True, not holding


def cite(
    answer: str,
    passages: Sequence[Passage],
    similarity: Similarity | None = None,
    question: str = "",
    documents: Mapping[str, str] | None = None,
) -> tuple[list[CheckedSentence], list[Citation]]:
    """Check every sentence of an answer against the passages the model was given.

    ``documents`` maps a passage's source to its document's text: where the names and
    numbers that the question supplied may be found when the passage itself lacks them.
    """
    checked: list[CheckedSentence] = []
    used: dict[int, str] = {}
    given = {p.rank: p for p in passages}
    common = lowercase_words(question, answer, *(p.text for p in passages))
    for raw in split_sentences(answer):
        text, marked = strip_markers(raw)
        if not text:
            continue
        numbers, supported, claims, invented = check_sentence(text, marked, passages, similarity, question, documents, common)
        checked.append(CheckedSentence(text, tuple(numbers), supported, claims, invented))
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

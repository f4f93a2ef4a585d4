"""Cut each retrieved passage down to the sentences that matter for the question, with their neighbours.

On a 2-core CPU without AVX-512, llama.cpp reads about 60 prompt tokens per second:
every sentence sent to the model costs time before its first word. The model is
given, from each passage, its best sentences for the question (and the sentence
before and after them, so that "il", "ce projet"... keep their meaning), under a
character budget shared by all passages. Only the prompt is cut: the citation
checker and the sources shown to people keep the whole passages, and passage [n]
keeps its number. Sentences are those of ``assistant.text.split_sentences``, the ones the
citation checker reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.lexicon import FRENCH_MONTHS, REFERS_BACK
from assistant.retrieval import Passage
from assistant.text import sentence_spans, tokenize

STEM = 6  # words sharing their first six letters count as one (coopération, coopérer): a cheap French stemmer
GAP = " … "

# A sentence that opens on these words leans on the one before it ("Ce jour-là", "Il a été...").
_REFERS_BACK = re.compile(rf"(?:{'|'.join(REFERS_BACK)})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Excerpt:
    """What the model reads of one passage."""

    rank: int  # the passage's number [n], as in the sources
    text: str  # the kept sentences in their order, "…" where sentences were left out
    spans: tuple[tuple[int, int], ...]  # the kept ranges of the passage's text


def _stems(text: str) -> set[str]:
    return {w[:STEM] for w in tokenize(text)}


def lexical_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's words (weighted by rarity among these sentences) found in each sentence."""
    wanted = _stems(question)
    bags = [_stems(s) for s in sentences]
    if not wanted or not bags:
        return [0.0] * len(sentences)
    n = len(bags)
    weight = {w: math.log(1 + n / (1 + sum(w in bag for bag in bags))) for w in wanted}
    total = sum(weight.values())
    return [sum(weight[w] for w in wanted & bag) / total for bag in bags]


@dataclass(frozen=True)
class ContextSelector:
    """Choose what the model reads: the best sentences of each passage and their neighbours, within a budget.

    ``budget`` counts characters of passage text over all passages (0: whole passages).
    A passage none of whose sentences comes close to the best match may be left out
    entirely; the others keep their numbers.
    """

    budget: int = 600
    neighbours: int = 1  # sentences kept on each side of a good one when the budget allows
    anchor_share: float = 0.5  # a passage whose best sentence scores below this share of the best one may be left out

    def select(self, question: str, passages: Sequence[Passage], language: str = "fr") -> list[Excerpt]:
        """Return what the model reads of each passage it is given, in the passages' order."""
        spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
        if self.budget <= 0 or not passages:
            return [
                Excerpt(p.rank, _render(p.text, s, set(range(len(s)))), tuple(s)) for p, s in zip(passages, spans, strict=True)
            ]
        flat = [(i, j) for i, s in enumerate(spans) for j in range(len(s))]
        scores = self.scores(question, [passages[i].text[slice(*spans[i][j])] for i, j in flat], language)
        if max(scores) <= 0:
            # nothing of the question is in the passages (an English question over French text):
            # read them in their order, the best passage first, as far as the budget goes
            scores = [1.0 - i / len(passages) for i, _ in flat]
        # a sentence of a better passage comes first: weight by the passage's retrieval score (best = 1)
        top = max(p.score for p in passages) or 1.0
        priority = {(i, j): s * (0.5 + 0.5 * passages[i].score / top) for (i, j), s in zip(flat, scores, strict=True)}
        kept: list[set[int]] = [set() for _ in passages]
        used = 0

        def keep(i: int, j: int, force: bool = False) -> bool:
            nonlocal used
            # best first until the budget is reached: the last sentence may overrun it, so that a
            # long sentence that matters is never passed over for shorter ones that matter less
            if j in kept[i] or not (force or used < self.budget):
                return False
            kept[i].add(j)
            used += spans[i][j][1] - spans[i][j][0]
            return True

        # Each passage's best sentence (the earlier one on ties) is kept whatever the budget when it
        # matches the question nearly as well as the best one (a strong passage). Then, best first
        # while the budget lasts: the sentences around the strong passages' best ones (the answer
        # often follows the sentence that names the topic, and "ce jour-là", "il"... point to the
        # one before), then any other sentence that matches the question, with its neighbours.
        anchors = [max(range(len(s)), key=lambda j, i=i: (priority[(i, j)], -j)) for i, s in enumerate(spans)]  # type: ignore[misc]
        best = max(priority[(i, j)] for i, j in enumerate(anchors))
        # the passage retrieval put first is never left out, even when it words the answer otherwise
        # ("conçue en trois phases" for "en combien d'étapes"): its best sentence and the next one are kept
        first = max(range(len(passages)), key=lambda i: (passages[i].score, -i))
        strong = [i for i, j in enumerate(anchors) if priority[(i, j)] >= self.anchor_share * best or i == first]
        for i in strong:
            keep(i, anchors[i], force=True)
        if priority[(first, anchors[first])] < self.anchor_share * best:
            for n in self._neighbours(passages[first].text, spans[first], anchors[first])[:1]:
                keep(first, n, force=True)
        around = [
            (priority[(i, anchors[i])], k, i, n)
            for i in strong
            for k, n in enumerate(self._neighbours(passages[i].text, spans[i], anchors[i]))
        ]
        for _, _, i, j in sorted(around, key=lambda c: (-c[0], c[1], c[2])):
            keep(i, j)
        for _, i, j in sorted(((s, i, j) for (i, j), s in priority.items() if s > 0), key=lambda c: (-c[0], c[1], c[2])):
            if keep(i, j):
                for n in self._neighbours(passages[i].text, spans[i], j):
                    keep(i, n)
        return [
            Excerpt(p.rank, _render(p.text, spans[i], kept[i]), tuple(spans[i][j] for j in sorted(kept[i])))
            for i, p in enumerate(passages)
            if kept[i]
        ]

    def _neighbours(self, text: str, spans: Sequence[tuple[int, int]], j: int) -> list[int]:
        """The sentences around sentence j, nearest first: the next one, unless j leans on the previous one."""
        out = []
        for d in range(1, self.neighbours + 1):
            out += [n for n in (j + d, j - d) if 0 <= n < len(spans)]
        if _REFERS_BACK.match(text, spans[j][0]) and j > 0:
            out.remove(j - 1)
            out.insert(0, j - 1)
        return out

    def scores(self, question: str, sentences: Sequence[str], language: str) -> list[float]:
        """How well each sentence matches the question: its words, and what it asks for (a number, a date)."""
        scores = lexical_scores(question, sentences)
        wants = _asks_for(question)
        if wants is None:
            return scores
        # a French sentence must also share a word with the question; an English question shares
        # few words with French text, so holding the kind of answer it wants is a clue on its own
        return [
            s + ANSWER_TYPE * bool(wants.search(t)) * (s > 0 or language != "fr") for s, t in zip(scores, sentences, strict=True)
        ]


ANSWER_TYPE = 0.25  # bonus of a sentence holding what the question asks for (a number, a date)
_NUMBER = re.compile(r"\d")
_DATE = re.compile(rf"\b(1[89]\d\d|20\d\d)\b|\b({'|'.join(FRENCH_MONTHS)})\b", re.IGNORECASE)
_ASKS_NUMBER = re.compile(
    r"\b(combien|quel nombre|quelle part|quelle proportion|quel montant|quel [âa]ge|quelle dur[ée]e|"
    r"how many|how much|how long|how old|what share)\b",
    re.I,
)
_ASKS_DATE = re.compile(r"\b(quand|en quelle ann[ée]e|quelle date|depuis quand|when|what year|which year)\b", re.I)


def _asks_for(question: str) -> re.Pattern[str] | None:
    """What the answer must hold: a number (an age, a length of time too), a date, or nothing in particular.

    Digits only: counting written numbers and words like "millions" as well (as the no-figure check
    does) favoured the wrong sentences of English questions on the tuning halves.
    """
    if _ASKS_NUMBER.search(question):
        return _NUMBER
    if _ASKS_DATE.search(question):
        return _DATE
    return None


def _render(text: str, spans: Sequence[tuple[int, int]], kept: set[int]) -> str:
    """Join the kept sentences on one line: runs of neighbours as written, "…" over what was left out."""
    pieces: list[str] = []
    previous = -1
    for j in sorted(kept):
        a, b = spans[j]
        if pieces and j == previous + 1:
            pieces[-1] += text[spans[previous][1] : b]
        else:
            pieces.append(text[a:b])
        previous = j
    out = GAP.join(pieces)
    if kept and min(kept) > 0:
        out = "… " + out
    if kept and max(kept) < len(spans) - 1:
        out += " …"
    return " ".join(out.split())

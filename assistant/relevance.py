"""Does what an answer cites address the question, or just something near it?

A real figure from a real passage is not an answer to a question about something
else ("infirmiers français au Japon" answered with "100 premières mondiales").
The question's focus is its content words, weighted by how rare they are in the
index (IDF), and its names and numbers (who, when, where). The check combines:

- entities: every name and number of the question must be in a cited passage's
  document (with its title);
- lexical coverage: the IDF-weighted share of the focus words found in the cited
  passages (with their titles), light stemming by shared prefix ("chinois": "Chine");
- embedding similarity: the dense cosine between the question and the best cited
  passage (EmbeddingGemma, as retrieval computed it), which carries English
  questions over French passages and paraphrases.

The thresholds are calibrated on the tuning halves of the golden sets (sample corpus and real documents)
(``bench/calibrate_abstention.py``; figures in the README).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from assistant.facts import (
    Similarity,
    acronyms_of,
    holds_name,
    lowercase_words,
    numbers_in,
    proper_names,
    spelled_out,
    translated_name,
)
from assistant.lexicon import QUESTION_FRAME_WORDS
from assistant.retrieval import Passage
from assistant.text import detect_language, fold, holds, tokenize

_FRAME = frozenset(fold(w) for w in QUESTION_FRAME_WORDS)  # words that frame a question, not its subject


@dataclass(frozen=True)
class Relevance:
    """How well the cited passages address the question (all shares in 0..1)."""

    coverage: float  # IDF-weighted share of the question's focus words in the cited passages (with titles)
    document_coverage: float  # the same in the cited passages' whole documents
    similarity: float  # best dense cosine between the question and a cited passage
    missing: tuple[str, ...]  # the question's names and numbers found in no cited document
    cross_language: bool  # question and passages in different languages: words cannot be compared

    def to_json(self) -> dict[str, object]:
        return {
            "coverage": round(self.coverage, 3),
            "document_coverage": round(self.document_coverage, 3),
            "similarity": round(self.similarity, 3),
            "missing": list(self.missing),
            "cross_language": self.cross_language,
        }


@dataclass(frozen=True)
class RelevanceRule:
    """When an answer addresses its question (thresholds calibrated on the tuning half)."""

    min_coverage: float = 0.75  # lexical coverage of the focus in the cited passages...
    min_similarity: float = 0.46  # ...or, failing that, this dense similarity
    min_similarity_across_languages: float = 0.45  # English question, French passages: similarity only

    def addresses(self, r: Relevance) -> bool:
        if r.missing:
            return False
        if r.cross_language:
            return r.similarity >= self.min_similarity_across_languages
        return r.coverage >= self.min_coverage or r.similarity >= self.min_similarity


class Corpus:
    """Word statistics and document texts of the indexed documents (one index generation)."""

    def __init__(self, texts: Iterable[tuple[str, str, str]]) -> None:
        """``texts``: (source, title, chunk text) in document order."""
        self.df: Counter[str] = Counter()
        bodies: dict[str, list[str]] = {}
        titles: dict[str, str] = {}
        self.chunks = 0
        for source, title, text in texts:
            self.chunks += 1
            self.df.update(set(tokenize(text)))
            bodies.setdefault(source, []).append(text)
            titles[source] = title
        self.documents = {s: "\n".join(parts) for s, parts in bodies.items()}
        self.titles = titles

    def idf(self, word: str) -> float:
        """Rare words weigh more; a word the index never uses weighs most."""
        return math.log((self.chunks + 1) / (self.df.get(word, 0) + 0.5))


def question_focus(question: str, corpus: Corpus) -> dict[str, float]:
    """The question's content words (not its frame: combien, quel, année…), each with its IDF."""
    words = [w for w in tokenize(question) if w not in _FRAME and not w[0].isdigit()]
    return {w: corpus.idf(w) for w in dict.fromkeys(words)}


def question_entities(question: str) -> set[str]:
    """The names and numbers of the question: its subject and constraints (who, when, where)."""
    common = lowercase_words(question)
    return proper_names(question, common, acronyms=True) | numbers_in(question)


def _coverage(focus: Mapping[str, float], texts: Sequence[str], acronyms: set[str] | frozenset[str] = frozenset()) -> float:
    """The share of the focus's weight held by the texts; an acronym of the question written out counts."""
    total = sum(focus.values())
    if not total:
        return 1.0  # a question of frame words only: nothing to miss
    held = sum(
        weight
        for term, weight in focus.items()
        if any(holds(term, t) or (term in acronyms and spelled_out(term, t)) for t in texts)
    )
    return held / total


def _entity_in(entity: str, text: str, across_languages: bool) -> bool:
    if entity[0].isdigit():
        return entity in numbers_in(text)
    if entity.isupper() and spelled_out(entity.lower(), text):
        return True  # "CHU" for "centre hospitalier universitaire"
    return holds_name(entity, text, across_languages) or (len(entity) > 4 and holds(entity, text))


def assess(question: str, cited: Sequence[Passage], corpus: Corpus, similarity: Similarity | None = None) -> Relevance:
    """Measure how well the cited passages (and their documents) address the question.

    ``similarity`` (embeddings) lets an English name be the translation of a French one
    of a cited passage or title ("Mekong Health programme": "programme Mékong Santé").
    """
    focus = question_focus(question, corpus)
    passages = [f"{p.title}\n{p.text}" for p in cited]
    documents = [f"{p.title}\n{corpus.documents.get(p.source, p.text)}" for p in cited]
    cross = any(detect_language(question) != detect_language(p.text) for p in cited)

    def found(entity: str) -> bool:
        if any(_entity_in(entity, d, cross) for d in documents):
            return True
        return cross and not entity[0].isdigit() and any(translated_name(entity, p, similarity) for p in passages)

    missing = tuple(sorted(e for e in question_entities(question) if not found(e)))
    acronyms = acronyms_of(question)
    return Relevance(
        coverage=_coverage(focus, passages, acronyms),
        document_coverage=_coverage(focus, documents, acronyms),
        similarity=max((p.dense for p in cited), default=0.0),
        missing=missing,
        cross_language=cross,
    )

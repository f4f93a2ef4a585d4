"""The model's own upper bound: answer from the golden evidence passages (``eval --context gold``).

The evaluation's lost answers split into what the model never saw and what it saw and
lost. Giving it the passages that hold the evidence tells how far the model itself goes:

- ``gold``: the evidence passages only, whole (no excerpt), best matching first;
- ``gold-first``: the evidence passage first, then the usual retrieved passages, read as
  usual (excerpts): what a perfect ranker would give, with the usual distractors.

Everything after retrieval runs as always (the gate, the model, the checks). An unanswerable
question, or one whose evidence no indexed passage holds (a reading loss), gets the usual
passages: abstention is still measured on the ordinary path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from assistant.answer import Answer
from assistant.context import ContextSelector
from assistant.evaluation.evaluate import history_of
from assistant.evaluation.golden import GoldenQuestion, asked_key, supports
from assistant.pipeline import Assistant
from assistant.retrieval import Passage, Retrieval, Retriever

Context = Literal["retrieved", "gold", "gold-first"]
CONTEXTS: tuple[Context, ...] = ("retrieved", "gold", "gold-first")
MAX_CANDIDATES = 50  # passages holding a (short, common) evidence phrase that are embedded to be ordered


class OracleRetriever:
    """A retriever that hands over the passages holding the current question's evidence (see the module)."""

    def __init__(self, base: Retriever, mode: Context) -> None:
        self.base = base
        self.mode = mode
        self.evidence: Sequence[str] = ()  # set before each question
        self.found = 0  # evidence passages given for the current question (0: the usual ones were)

    @property
    def embedder(self) -> Any:
        return self.base.embedder

    def snapshot(self) -> Any:
        return self.base.snapshot()

    def documents(self) -> dict[str, str]:
        return self.base.documents()

    def retrieve(self, query: str, k: int, sources: Sequence[str] | None = None, language: str = "fr") -> Retrieval:
        usual = self.base.retrieve(query, k, sources, language)
        gold = self.gold(query, k) if self.evidence else []
        self.found = len(gold)
        if not gold:
            return usual
        if self.mode == "gold":
            passages = gold
        else:
            others = [p for p in usual.passages if p.chunk_id != gold[0].chunk_id]
            passages = [gold[0], *others][:k]
        passages = [dataclasses.replace(p, rank=i) for i, p in enumerate(passages, start=1)]
        return Retrieval(passages, max(usual.best_dense, max(p.dense for p in gold)), usual.seconds)

    def gold(self, query: str, k: int) -> list[Passage]:
        """The indexed passages holding an evidence phrase, the closest to the question first (at most k)."""
        snap = self.base.snapshot()
        chunks = [c for c in snap.chunks if supports(c.text, self.evidence)][:MAX_CANDIDATES]
        if not chunks:
            return []
        vectors = np.array(self.base.embedder.embed_documents([c.text for c in chunks]), dtype=np.float32)
        similarity = vectors @ np.array(self.base.embedder.embed_query(query), dtype=np.float32)
        order = sorted(range(len(chunks)), key=lambda i: -float(similarity[i]))[:k]
        return [
            Passage(
                rank=0,
                chunk_id=chunks[i].id,
                source=snap.sources.get(chunks[i].doc_hash, ["?"])[0],
                title=snap.titles.get(chunks[i].doc_hash, ""),
                page=chunks[i].page,
                start=chunks[i].start,
                end=chunks[i].end,
                text=chunks[i].text,
                score=1.0,
                dense=round(float(similarity[i]), 4),
                keyword=0.0,
                section=chunks[i].section,
                ocr=chunks[i].ocr,
                unit=chunks[i].unit,
            )
            for i in order
        ]


class OracleAnswerer:
    """Answers each golden question from its evidence passages (an assistant built over an ``OracleRetriever``)."""

    def __init__(self, assistant: Assistant, oracle: OracleRetriever, questions: Sequence[GoldenQuestion]) -> None:
        self.assistant = assistant
        self.oracle = oracle
        self.whole = ContextSelector(0)
        self.usual = assistant.context
        self.evidence = {asked_key(q.question, history_of(q)): q.evidence for q in questions if q.answerable}

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        history = list(history or [])
        evidence = self.evidence.get(asked_key(question, history), ())
        self.oracle.evidence = evidence
        # "gold" reads its passages whole; the usual passages (no passage holds the evidence) are read as usual
        held = bool(evidence) and any(supports(c.text, evidence) for c in self.oracle.snapshot().chunks)
        self.assistant.context = self.whole if self.oracle.mode == "gold" and held else self.usual
        return self.assistant.ask(question, history)

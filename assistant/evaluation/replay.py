"""Replay what a model already wrote, so that checks can be measured without generating again.

Generation is the slow part (15 s a question on 2 cores). The prompt and the model being
the same, a new version of the checks (citations, relevance, refusal) can be scored on the
drafts of an earlier run: ``python -m assistant eval --replay eval-results/x/results.json``.
The rewrite of a follow-up and the draft are replayed through the ordinary pipeline
(retrieval, checks, rendering all run for real); latencies are those of the recorded run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assistant.answer import Answer
from assistant.backends import Message
from assistant.errors import AnsweringError
from assistant.evaluation.golden import asked_key
from assistant.pipeline import Assistant


class ReplayError(AnsweringError, ValueError):
    """A recorded run cannot be replayed (missing file, or a question it did not answer)."""


class ReplayBackend:
    """A chat backend that gives back recorded texts, in order (a real implementation of the interface)."""

    name = "replay"

    def __init__(self, label: str) -> None:
        self.label = label
        self.queue: list[str] = []

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        if self.queue:
            yield self.queue.pop(0)


class ReplayAnswerer:
    """Answers each golden question with the draft its recorded run kept, checked by this version's code."""

    def __init__(self, assistant: Assistant, backend: ReplayBackend, results: Path) -> None:
        try:
            recorded = json.loads(results.read_text(encoding="utf-8"))["questions"]
        except (OSError, ValueError, KeyError) as exc:
            raise ReplayError(f"Impossible de relire {results} : {exc}. Donnez le results.json d'une évaluation.") from exc
        self.assistant = assistant
        self.backend = backend
        self.recorded: dict[str, dict[str, Any]] = {asked_key(r["question"], r.get("history", [])): r for r in recorded}

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        history = list(history or [])
        record = self.recorded.get(asked_key(question, history))
        if record is None or "draft" not in record:
            raise ReplayError(f"La question « {question} » n'a pas de brouillon enregistré dans ce results.json.")
        self.backend.queue = []
        previous = [t["content"] for t in history if t["role"] == "user"]
        if previous:  # the rewrite comes first; a rejected rewrite replays as none (the pipeline falls back)
            standalone = record.get("standalone_question", "")
            suffix = f" ({previous[-1]})"
            self.backend.queue.append(standalone.removesuffix(suffix) if standalone.endswith(suffix) else "")
        weak = record.get("abstention_reason") == "weak-retrieval"
        self.backend.queue.append("" if weak else record["draft"])
        second = record.get("second_draft")
        if second is not None:
            self.backend.queue.append(second)
        # a run that recorded no second draft (none was asked, or an older run) cannot replay a reread
        self.assistant.reread_whole = second is not None
        answer = self.assistant.ask(question, history)
        timings = {**answer.timings, **{k: float(v) for k, v in record.get("timings", {}).items()}}
        return dataclasses.replace(answer, timings=timings)

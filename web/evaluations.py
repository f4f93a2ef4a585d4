"""« Évaluer maintenant »: the curated set and the sample set, evaluated in the background while people chat.

Every question is answered through the assistant's one model queue, like a
colleague's: a question asked in the chat waits for at most the evaluation
question being written, never for the whole run. Each run's figures are kept
(``assistant.evaluation.history``) with the index version and the time; a run
that finds a figure lower than the previous run's, on the questions both share,
says so (the admin page and the log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.answer import Answer
from assistant.evaluation.evaluate import run_questions, score, write_report
from assistant.evaluation.golden import GoldenQuestion, GoldenSetError, load_golden
from assistant.evaluation.history import History, draw_history, drops, outcomes
from assistant.pipeline import Assistant
from index.state import IndexState
from index.sync import SyncReport
from web.errors import EvaluationCancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalSet:
    name: str  # "curated", "sample": the key of its runs in the history
    label: str  # as the admin page names it
    path: Path | None


class _QueuedAnswerer:
    """Answers a golden question as the chat does: through the model queue, stoppable."""

    def __init__(self, assistant: Assistant, cancel: threading.Event) -> None:
        self.assistant = assistant
        self.cancel = cancel

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        final = None
        for item in self.assistant.stream(question, history, None, self.cancel):
            if isinstance(item, Answer):
                final = item
        if final is None:
            raise RuntimeError("the pipeline ended without an answer")
        return final


def _plain_rewrite(question: str, history: list[dict[str, str]]) -> str:
    previous = [t["content"] for t in history if t["role"] == "user"]
    return f"{previous[-1]} {question}" if previous else question


class EvaluationRunner:
    """One evaluation at a time, in a thread; ``status()`` says where it stands."""

    def __init__(
        self, assistant: Assistant, state: IndexState, data_dir: Path, sets: Sequence[EvalSet], tolerance: float = 0.05
    ) -> None:
        self.assistant = assistant
        self.state = state  # which index version each run measured
        self.data_dir = data_dir
        self.sets = list(sets)
        self.tolerance = tolerance
        self.out_dir = data_dir / "evaluations"
        self.history = History(self.out_dir / "history.jsonl")
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._status: dict[str, Any] = {"running": False}
        self._chart: tuple[tuple[int, int], bytes | None] | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {s.name: s.label for s in self.sets}

    def running(self) -> bool:
        with self._lock:
            return bool(self._status.get("running"))

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def _update(self, **fields: Any) -> None:
        with self._lock:
            self._status.update(fields)

    def start(self, trigger: str = "manuel", user: str | None = None) -> bool:
        """Start a run in the background; False when one is already running."""
        with self._lock:
            if self._status.get("running"):
                return False
            self._cancel = threading.Event()
            self._status = {
                "running": True,
                "trigger": trigger,
                "user": user,
                "started": datetime.now().isoformat(timespec="seconds"),
                "set": "",
                "set_label": "",
                "done": 0,
                "total": 0,
                "notes": [],
                "warnings": [],
            }
            self._thread = threading.Thread(target=self._run, args=(trigger, self._cancel), name="evaluation", daemon=True)
            self._thread.start()
            return True

    def cancel(self) -> bool:
        if not self.running():
            return False
        self._cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run to end (tests, shutdown); True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running()

    def chart(self) -> bytes | None:
        """The figures over time as a PNG (None before the first run); drawn again only when the history changed
        (the admin page asks every two seconds while a run is going)."""
        try:
            stat = self.history.path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._chart is not None and self._chart[0] == key:
                return self._chart[1]
        rows = self.history.rows()
        png = draw_history(rows, self.labels) if any(r["type"] == "run" for r in rows) else None
        with self._lock:
            self._chart = (key, png)
        return png

    def record_rebuild(self, report: SyncReport) -> bool:
        """Mark a rebuild that changed the index on the chart; True when it changed something."""
        if not (report.added or report.changed or report.removed):
            return False
        manifest = self.state.manifest()
        self.history.append(
            {
                "type": "rebuild",
                "when": datetime.now().isoformat(timespec="seconds"),
                "index_generation": manifest.generation if manifest else None,
                "documents": len(manifest.documents) if manifest else 0,
                "added": len(report.added),
                "changed": len(report.changed),
                "removed": len(report.removed),
            }
        )
        return True

    def _questions(self, eval_set: EvalSet, notes: list[str]) -> list[GoldenQuestion]:
        if eval_set.path is None:
            return []
        if not eval_set.path.exists():
            notes.append(f"{eval_set.label} : aucune question pour l'instant ({eval_set.path.name} n'existe pas), non évalué.")
            return []
        try:
            return load_golden(eval_set.path)
        except GoldenSetError as exc:
            if exc.questions:
                notes.append(f"{eval_set.label} : {len(exc.problems)} ligne(s) mal formée(s) ignorée(s).")
                return exc.questions
            notes.append(f"{eval_set.label} : aucune question à évaluer.")
            return []

    def _run(self, trigger: str, cancel: threading.Event) -> None:
        notes: list[str] = []
        warnings: list[str] = []
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            manifest = self.state.manifest()
            answerer = _QueuedAnswerer(self.assistant, cancel)
            for eval_set in self.sets:
                questions = self._questions(eval_set, notes)
                if not questions:
                    continue
                self._update(set=eval_set.name, set_label=eval_set.label, done=0, total=len(questions))

                def progress(done: int, total: int) -> None:
                    self._update(done=done, total=total)
                    if cancel.is_set():
                        raise EvaluationCancelled()

                started = time.perf_counter()
                results = run_questions(questions, self.assistant.retriever, answerer, _plain_rewrite, progress)
                metrics = score(results, with_answers=True)
                out = self.out_dir / stamp / eval_set.name
                meta = {
                    "questions_file": eval_set.path.name if eval_set.path else "",
                    "when": time.strftime("%Y-%m-%d %H:%M"),
                    "backend": self.assistant.backend.label,
                    "trigger": trigger,
                    "seconds": round(time.perf_counter() - started, 1),
                }
                write_report(out, metrics, results, None, meta)
                record = {
                    "type": "run",
                    "run_id": stamp,  # the sets of one « Évaluer maintenant » share it
                    "set": eval_set.name,
                    "set_label": eval_set.label,
                    "when": datetime.now().isoformat(timespec="seconds"),
                    "trigger": trigger,
                    "index_generation": manifest.generation if manifest else None,
                    "index_synced_at": manifest.synced_at if manifest else None,
                    "documents": len(manifest.documents) if manifest else 0,
                    "backend": self.assistant.backend.label,
                    "questions": len(questions),
                    "seconds": meta["seconds"],
                    "metrics": metrics,
                    "outcomes": outcomes(results),
                    "report": str(out.relative_to(self.data_dir)),
                }
                previous = self.history.last_run(eval_set.name)
                found = drops(previous, record, self.tolerance) if previous else []
                record["warnings"] = found
                self.history.append(record)
                for w in found:
                    log.warning("evaluation figure dropped: %s", w)
                warnings += found
            if not any(s.path is not None and s.path.exists() for s in self.sets):
                notes.append("Aucun jeu de questions à évaluer : curez d'abord des remontées ci-dessus.")
            self._update(running=False, finished=datetime.now().isoformat(timespec="seconds"), notes=notes, warnings=warnings)
        except EvaluationCancelled:
            self._update(running=False, finished=datetime.now().isoformat(timespec="seconds"), cancelled=True, notes=notes)
        except Exception as exc:  # the admin page says it failed; the details go to the log
            log.exception("evaluation failed")
            self._update(running=False, finished=datetime.now().isoformat(timespec="seconds"), failed=str(exc), notes=notes)

"""Figures over time: each evaluation run of a golden set, and each rebuild of the index, in one JSON Lines file.

A run keeps its metrics (as ``score`` computes them), the index version it was
measured on and, per question, the few outcomes needed to compare two runs on
the questions they share (a set that grew by its hardest questions has not
regressed). ``drops`` says which figures fell between two runs; ``draw_history``
draws the metrics over time with the rebuilds marked.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.evaluation.evaluate import QuestionResult
from assistant.evaluation.golden import answer_matches

# figures compared between runs, and drawn: (key, French label, higher is better)
FIGURES: list[tuple[str, str, bool]] = [
    ("answer_accuracy", "exactitude des réponses", True),
    ("abstention_recall", "abstentions justes", True),
    ("hit@5", "passage justificatif dans les 5 premiers", True),
    ("false_abstention_rate", "abstentions à tort", False),
]


def outcomes(results: Sequence[QuestionResult]) -> dict[str, dict[str, Any]]:
    """Per question: answerable, rank of the first supporting passage, correct, abstained, error."""
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        q, a = r.question, r.answer
        out[q.id] = {
            "answerable": q.answerable,
            "rank": r.first_support,
            "abstained": bool(a is not None and a.abstained),
            "correct": bool(a is not None and q.answerable and not a.abstained and answer_matches(a.text, q.answer_patterns)),
            "error": bool(r.error),
        }
    return out


def figures(per_question: Mapping[str, Mapping[str, Any]], ids: Sequence[str] | None = None) -> dict[str, float | None]:
    """The compared figures over some questions (all by default); None when no question counts for one."""
    rows = [per_question[i] for i in (ids if ids is not None else list(per_question)) if i in per_question]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def share(items: list[Mapping[str, Any]], test: Any) -> float | None:
        return sum(1 for r in items if test(r)) / len(items) if items else None

    return {
        "answer_accuracy": share(answerable, lambda r: r["correct"]),
        "abstention_recall": share(unanswerable, lambda r: r["abstained"]),
        "hit@5": share(answerable, lambda r: r["rank"] is not None and r["rank"] <= 5),
        "false_abstention_rate": share(answerable, lambda r: r["abstained"]),
    }


def drops(previous: Mapping[str, Any], current: Mapping[str, Any], tolerance: float) -> list[str]:
    """One French sentence per figure that got worse by more than ``tolerance``, on the questions both runs share."""
    before = previous.get("outcomes") or {}
    after = current.get("outcomes") or {}
    common = sorted(set(before) & set(after))
    if not common:
        return []
    old, new = figures(before, common), figures(after, common)
    out = []
    for key, label, higher_is_better in FIGURES:
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            continue
        worse = (a - b) if higher_is_better else (b - a)
        if worse > tolerance:
            out.append(
                f"{label} ({current.get('set_label', current.get('set', ''))}) : {a:.2f} → {b:.2f} "
                f"sur les {len(common)} questions des deux évaluations"
            )
    return out


class History:
    """``runs.jsonl``: rows of type "run" (an evaluation of one set) and "rebuild" (the index changed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, row: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(row), ensure_ascii=False) + "\n")

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("type") in ("run", "rebuild"):
                out.append(row)
        return out

    def runs(self, set_name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.rows() if r["type"] == "run" and (set_name is None or r.get("set") == set_name)]

    def last_run(self, set_name: str) -> dict[str, Any] | None:
        runs = self.runs(set_name)
        return runs[-1] if runs else None


def _when(row: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(row.get("when", "")))
    except ValueError:
        return None


def draw_history(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> bytes:
    """A PNG of the figures of each set over time (one panel a set), rebuilds as dotted vertical lines."""
    # the object API, not pyplot: it keeps no global state, so the web server's threads may draw at once
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    sets = [s for s in labels if any(r["type"] == "run" and r.get("set") == s for r in rows)] or list(labels)[:1]
    rebuilds = [w for r in rows if r["type"] == "rebuild" and (w := _when(r)) is not None]
    fig = Figure(figsize=(9, 3.2 * len(sets)))
    axes = fig.subplots(len(sets), 1, squeeze=False, sharex=True)
    styles = {"answer_accuracy": "-o", "abstention_recall": "-s", "hit@5": "-^", "false_abstention_rate": "--x"}
    for ax, set_name in zip(axes[:, 0], sets, strict=True):
        runs = [(w, r) for r in rows if r["type"] == "run" and r.get("set") == set_name and (w := _when(r)) is not None]
        for key, label, _ in FIGURES:
            points = [(w, r["metrics"][key]) for w, r in runs if isinstance(r.get("metrics", {}).get(key), int | float)]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], styles[key], label=label, markersize=5)
        for i, when in enumerate(rebuilds):
            ax.axvline(when, color="#888", linestyle=":", linewidth=1.2, label="reconstruction de l'index" if i == 0 else None)
        sizes = sorted({int(r.get("questions", 0)) for _, r in runs})
        count = f" — {sizes[-1]} questions" if sizes else " — aucune évaluation"
        ax.set_title(f"{labels.get(set_name, set_name)}{count}", fontsize=10)
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    axes[-1][0].xaxis.set_major_formatter(mdates.DateFormatter("%d/%m %H:%M"))
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()

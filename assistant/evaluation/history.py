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
from index.jsonl import read_objects

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
        return [row for row in read_objects(self.path) if row.get("type") in ("run", "rebuild")]

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


def run_figures(run: Mapping[str, Any]) -> dict[str, float | None]:
    """The compared figures of a run over all its questions; None where no question counts (no unanswerable one…)."""
    if run.get("outcomes"):
        return figures(run["outcomes"])
    metrics = run.get("metrics") or {}
    return {key: metrics.get(key) for key, _, _ in FIGURES}


def draw_history(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> bytes:
    """A PNG of the figures of each set, one evaluation after the other (one panel a set); each rebuild of the
    index is a dotted line between the evaluations before and after it.

    Evaluations are evenly spaced, labelled with their date: several on one afternoon and one a month later
    are all readable.
    """
    # the object API, not pyplot: it keeps no global state, so the web server's threads may draw at once
    from matplotlib.figure import Figure

    runs = [(w, r) for r in rows if r["type"] == "run" and (w := _when(r)) is not None]
    rounds: list[str] = []  # one evaluation (« Évaluer maintenant ») measures each set once
    started: dict[str, datetime] = {}
    for w, r in runs:
        key = str(r.get("run_id") or r.get("when"))
        if key not in started:
            rounds.append(key)
            started[key] = w
    sets = [s for s in labels if any(r.get("set") == s for _, r in runs)] or list(labels)[:1]
    rebuilds = [w for r in rows if r["type"] == "rebuild" and (w := _when(r)) is not None]
    fig = Figure(figsize=(10, 3.4 * len(sets)))
    axes = fig.subplots(len(sets), 1, squeeze=False, sharex=True)
    styles = {"answer_accuracy": "-o", "abstention_recall": "-s", "hit@5": "-^", "false_abstention_rate": "--x"}
    for ax, set_name in zip(axes[:, 0], sets, strict=True):
        mine = [(rounds.index(str(r.get("run_id") or r.get("when"))), r) for _, r in runs if r.get("set") == set_name]
        for key, label, higher in FIGURES:
            points = [(x, v) for x, r in mine if isinstance(v := run_figures(r).get(key), int | float)]
            if not points:
                continue
            line = ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                styles[key],
                markersize=6,
                label=label + ("" if higher else " (plus bas = mieux)"),
            )[0]
            ax.annotate(
                f"{points[-1][1]:.2f}", points[-1], textcoords="offset points", xytext=(6, 4), fontsize=8, color=line.get_color()
            )
        for i, when in enumerate(rebuilds):
            after = next((n for n, key in enumerate(rounds) if started[key] >= when), len(rounds))
            ax.axvline(
                after - 0.5, color="#777", linestyle=":", linewidth=1.4, label="reconstruction de l'index" if i == 0 else None
            )
        sizes = [int(r.get("questions", 0)) for _, r in mine]
        count = (
            f" — {sizes[-1]} question{'s' if sizes[-1] > 1 else ''} à la dernière évaluation" if sizes else " — aucune évaluation"
        )
        ax.set_title(f"{labels.get(set_name, set_name)}{count}", fontsize=10, loc="left")
        ax.set_ylim(-0.05, 1.1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    bottom = axes[-1][0]
    step = max(1, len(rounds) // 10)
    ticks = list(range(0, len(rounds), step))
    bottom.set_xticks(ticks, [started[rounds[i]].strftime("%d/%m\n%H:%M") for i in ticks], fontsize=8)
    bottom.set_xlim(-0.7, max(len(rounds) - 1, 0) + 0.7)
    bottom.set_xlabel("évaluations, de la plus ancienne à la plus récente", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()

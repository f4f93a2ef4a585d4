"""Calibrate the relevance check on the model's drafts for the TUNING halves of the golden sets.

Generation is the slow part, so the model runs once per set (``python -m assistant eval
--split tune --backend llamacpp``), and this script replays every check on the drafts it
kept (results.json: draft, standalone question), offline, for a grid of thresholds. Each
``--set`` is a golden set, the results.json of its tuning-half run and the index it was
run on; the sample corpus and the real documents are pooled, so that a threshold is
never chosen on one corpus alone:

    python bench/calibrate_abstention.py \
        --set tests/golden/golden.jsonl eval-results/tune/results.json DATA_DIR \
        --set tests/golden/real-docs.jsonl eval-results/real-tune/results.json REAL_DATA_DIR

It reports, for each rule, abstention recall, false abstention rate and answer accuracy
on the pooled tuning halves (and on each set), picks the rule with the best abstention
recall that costs no correct answer and adds at most 0.05 to the false abstentions of the
citation checks, and writes everything to bench/results/calibration.json. The
test halves are never read.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

from common import cpu_info, summarize, write_results

from assistant.answer import Verdict
from assistant.config import Settings
from assistant.evaluation.golden import answer_matches, load_golden, split_golden
from assistant.relevance import Relevance, RelevanceRule
from coop_assistant.wiring import build_answering

COVERAGES = [0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 1.01]
SIMILARITIES = [0.0, 0.35, 0.4, 0.42, 0.44, 0.45, 0.46, 0.48, 0.5, 0.55, 0.6, 0.65, 0.7, 1.01]
# The relevance check may add at most this share of false abstentions to those of the citation
# checks (which refuse wrong drafts too), and must not cost a single correct answer.
MAX_ADDED_FALSE_ABSTENTION = 0.05
seconds: list[float] = []  # time of each replayed check (the work added after generation)


class _NoModel:
    """Replays drafts: the checks never ask a model anything."""

    name = "replay"
    label = "brouillons rejoués"

    def stream(self, messages: Any, max_tokens: int) -> Any:
        return iter(())


class _Always(RelevanceRule):
    def addresses(self, r: Relevance) -> bool:
        return True


def replay(questions: Path, results: Path, data: Path) -> list[dict[str, Any]]:
    """Re-run every post-generation check on the kept drafts; keep each answer's relevance figures."""
    settings = Settings(data_dir=data)
    parts = build_answering(settings, chat=_NoModel())
    retriever, assistant = parts.retriever, parts.assistant
    assistant.relevance_rule = _Always()
    tune = {q.id: q for q in split_golden(load_golden(questions), "tune")}
    rows = []
    for item in json.loads(results.read_text(encoding="utf-8"))["questions"]:
        q = tune.get(item["id"])
        if q is None:
            raise SystemExit(f"{item['id']} is not in the tuning half: calibrate on a --split tune run only")
        standalone = item.get("standalone_question") or q.question
        passages = retriever.retrieve(standalone, settings.top_k, None, q.lang).passages
        if item.get("abstention_reason") == "weak-retrieval":
            verdict = Verdict("", [], True, "weak-retrieval")
        else:
            history = [{"role": t.role, "content": t.content} for t in q.history]
            started = time.perf_counter()
            verdict = assistant.verify(item.get("draft", ""), standalone, passages, q.lang, history)
            seconds.append(time.perf_counter() - started)
        rows.append(
            {
                "set": questions.stem,
                "id": q.id,
                "answerable": q.answerable,
                "lang": q.lang,
                "category": q.category,
                "reason": verdict.reason,
                "correct_if_kept": q.answerable and answer_matches(verdict.text, q.answer_patterns),
                # unrounded: a threshold must not be judged on 0.4498 shown as 0.45
                "relevance": dataclasses.asdict(verdict.relevance) if verdict.relevance else None,
                "draft": item.get("draft", ""),
            }
        )
    return rows


def evaluate(rows: list[dict[str, Any]], rule: RelevanceRule) -> dict[str, float]:
    ok = [r for r in rows if r["answerable"]]
    no = [r for r in rows if not r["answerable"]]

    def abstains(r: dict[str, Any]) -> bool:
        if r["reason"]:
            return True
        rel = r["relevance"]
        return not rule.addresses(
            Relevance(rel["coverage"], rel["document_coverage"], rel["similarity"], tuple(rel["missing"]), rel["cross_language"])
        )

    return {
        "abstention_recall": round(sum(abstains(r) for r in no) / max(1, len(no)), 3),
        "false_abstention_rate": round(sum(abstains(r) for r in ok) / max(1, len(ok)), 3),
        "answer_accuracy": round(sum(r["correct_if_kept"] and not abstains(r) for r in ok) / max(1, len(ok)), 3),
        # answerable questions given a wrong answer: what a person would be misled by
        "wrong_answers": round(sum(not r["correct_if_kept"] and not abstains(r) for r in ok) / max(1, len(ok)), 3),
    }


def central(rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Of the rules with the best abstention recall (then the fewest false abstentions), the one in the middle.

    Every rule of that set separates the tuning questions equally well; the middle one keeps
    the widest margin on both sides, so a question slightly off the tuning ones does not flip.
    """
    if not rules:
        return None
    best_recall = max(r["abstention_recall"] for r in rules)
    top = [r for r in rules if r["abstention_recall"] == best_recall]
    fewest = min(r["false_abstention_rate"] for r in top)
    top = [r for r in top if r["false_abstention_rate"] == fewest]
    keys = ("min_coverage", "min_similarity", "min_similarity_english")
    middle = {k: statistics.median_low(sorted(r[k] for r in top)) for k in keys}
    return min(top, key=lambda r: sum(abs(r[k] - middle[k]) for k in keys))


def ranges(rules: list[dict[str, Any]], chosen: dict[str, Any] | None) -> dict[str, list[float]]:
    """The span of each threshold over the rules as good as the chosen one (the margin it has)."""
    if chosen is None:
        return {}
    same = [
        r
        for r in rules
        if r["abstention_recall"] == chosen["abstention_recall"] and r["false_abstention_rate"] == chosen["false_abstention_rate"]
    ]
    keys = ("min_coverage", "min_similarity", "min_similarity_english")
    return {k: [min(r[k] for r in same), max(r[k] for r in same)] for k in keys}


def _thresholds(rule: dict[str, Any]) -> tuple[float, float, float]:
    return rule["min_coverage"], rule["min_similarity"], rule["min_similarity_english"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--set",
        nargs=3,
        action="append",
        required=True,
        metavar=("QUESTIONS", "RESULTS", "DATA"),
        help="a golden set, the results.json of its eval --split tune run, and the index it ran on (repeatable)",
    )
    args = parser.parse_args()
    seconds.clear()
    rows = [row for questions, results, data in args.set for row in replay(Path(questions), Path(results), Path(data))]
    off = RelevanceRule(0.0, 0.0, 0.0)
    baseline = evaluate([{**r, "relevance": r["relevance"] and {**r["relevance"], "missing": []}} for r in rows], off)
    grid = []
    for cov, sim, sim_en in itertools.product(COVERAGES, SIMILARITIES, SIMILARITIES):
        rule = RelevanceRule(cov, sim, sim_en)
        grid.append({"min_coverage": cov, "min_similarity": sim, "min_similarity_english": sim_en, **evaluate(rows, rule)})
    sets = sorted({r["set"] for r in rows})
    eligible = [
        g
        for g in grid
        if g["false_abstention_rate"] <= baseline["false_abstention_rate"] + MAX_ADDED_FALSE_ABSTENTION
        and g["answer_accuracy"] >= baseline["answer_accuracy"]
    ]
    chosen = central(eligible)
    summary = {
        "cpu": cpu_info(),
        "sets": {
            name: {
                "questions": sum(r["set"] == name for r in rows),
                "unanswerable": sum(r["set"] == name and not r["answerable"] for r in rows),
            }
            for name in sets
        },
        "questions": len(rows),
        "unanswerable": sum(not r["answerable"] for r in rows),
        "without_relevance_check": baseline,
        "chosen": chosen,
        "chosen_per_set": {
            name: evaluate([r for r in rows if r["set"] == name], RelevanceRule(*_thresholds(chosen))) for name in sets
        }
        if chosen
        else {},
        "eligible_rules": len(eligible),
        "check_seconds": summarize(seconds),
        "equally_good_ranges": ranges(eligible, chosen),
    }
    path = write_results("calibration", summary)
    # the per-question figures and the whole grid go beside it, not to the terminal
    detail = json.loads(path.read_text(encoding="utf-8")) | {"per_question": rows, "grid": grid}
    path.write_text(json.dumps(detail, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Golden-set evaluation, scored exactly as ``docs/evaluation.md`` says.

Writes results.json (every metric and every question's details), report.md and
metrics.png into the output folder.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.answer import Answer
from assistant.evaluation.attribution import Loss, attribute, loss_counts, losses_markdown
from assistant.evaluation.golden import (
    GoldenQuestion,
    answer_matches,
    first_support_rank,
    retrieval_metrics,
    supports,
)
from assistant.retrieval import EmptyIndexError, Retrieval
from assistant.text import detect_language

log = logging.getLogger(__name__)

RETRIEVAL_K = 10  # passages scored for hit@k and mrr@10


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Searcher(Protocol):
    def retrieve(self, query: str, k: int, sources: Sequence[str] | None = None, language: str = "fr") -> Retrieval: ...


class Answerer(Protocol):
    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer: ...


def history_of(q: GoldenQuestion) -> list[dict[str, str]]:
    return [{"role": t.role, "content": t.content} for t in q.history]


@dataclass
class QuestionResult:
    question: GoldenQuestion
    retrieved: list[dict[str, Any]]
    first_support: int | None
    answer: Answer | None = None
    error: str = ""

    @property
    def loss(self) -> Loss | None:
        """The stage that lost this question (None: answered right, or retrieval only)."""
        return attribute(self.question, self.first_support, self.answer, self.error)

    def to_json(self) -> dict[str, Any]:
        q = self.question
        out: dict[str, Any] = {
            "id": q.id,
            "lang": q.lang,
            "answerable": q.answerable,
            "question": q.question,
            "history": history_of(q),
            "retrieved": self.retrieved,
            "first_supporting_rank": self.first_support,
        }
        if self.answer is not None:
            a = self.answer
            cited = [c.to_json() | {"supports": supports(c.passage_text, q.evidence)} for c in a.citations]
            out.update(
                answer=a.text,
                draft=a.draft,
                second_draft=a.second_draft,
                abstained=a.abstained,
                abstention_reason=a.reason,
                answer_language=detect_language(a.text),
                correct=q.answerable and not a.abstained and answer_matches(a.text, q.answer_patterns),
                citations=cited,
                standalone_question=a.standalone_question,
                relevance=a.relevance.to_json() if a.relevance else None,
                passages=[p.rank for p in a.passages],
                timings={k: round(v, 3) for k, v in a.timings.items()},
                prompt_tokens=a.prompt_tokens,
                read=[{"rank": e.rank, "text": e.text, "supports": supports(e.text, q.evidence)} for e in a.read],
            )
        if self.error:
            out.update(error=self.error, correct=False, abstained=False)
        if self.answer is not None or self.error:
            loss = self.loss
            out["loss"] = loss.to_json() if loss is not None else None
        return out


def score(results: Sequence[QuestionResult], with_answers: bool) -> dict[str, Any]:
    """Compute every metric of docs/evaluation.md from per-question results.

    A question whose answering raised an error is not left out: it counts as a wrong
    answer, not abstained, without a citation, in the wrong language.
    """
    answerable = [r for r in results if r.question.answerable]
    metrics: dict[str, Any] = {"questions": len(results), "answerable": len(answerable)}
    metrics.update(retrieval_metrics([r.first_support for r in answerable]))
    metrics["errors"] = sum(1 for r in results if r.error)
    if not with_answers:
        return metrics
    unanswerable = [r for r in results if not r.question.answerable]

    def abstained(r: QuestionResult) -> bool:
        return r.answer is not None and r.answer.abstained

    def correct(r: QuestionResult) -> bool:
        a = r.answer
        return a is not None and not a.abstained and answer_matches(a.text, r.question.answer_patterns)

    def cited_support(r: QuestionResult) -> bool:
        return r.answer is not None and any(supports(c.passage_text, r.question.evidence) for c in r.answer.citations)

    n_ok = len(answerable) or 1
    metrics["answer_accuracy"] = sum(1 for r in answerable if correct(r)) / n_ok
    citations = [(r.question, c) for r in results if r.answer is not None and not r.answer.abstained for c in r.answer.citations]
    metrics["citation_precision"] = (
        sum(1 for q, c in citations if supports(c.passage_text, q.evidence)) / len(citations) if citations else 0.0
    )
    answered_ok = [r for r in answerable if not abstained(r)]  # an error is an answer without a citation
    metrics["citation_recall"] = sum(1 for r in answered_ok if cited_support(r)) / len(answered_ok) if answered_ok else 0.0
    metrics["abstention_recall"] = sum(1 for r in unanswerable if abstained(r)) / len(unanswerable) if unanswerable else 0.0
    metrics["false_abstention_rate"] = sum(1 for r in answerable if abstained(r)) / n_ok
    metrics["language_match"] = (
        sum(1 for r in results if r.answer is not None and detect_language(r.answer.text) == r.question.lang) / len(results)
        if results
        else 0.0
    )
    timed = [r.answer for r in results if r.answer is not None]
    first = [a.timings.get("first_token", 0.0) for a in timed]
    total = [a.timings.get("total", 0.0) for a in timed]
    metrics["latency_first_token_p50"] = percentile(first, 0.5)
    metrics["latency_first_token_p95"] = percentile(first, 0.95)
    metrics["latency_total_p50"] = percentile(total, 0.5)
    metrics["latency_total_p95"] = percentile(total, 0.95)
    metrics["losses"] = loss_counts([(r.question, r.loss) for r in results])
    return metrics


def run_questions(
    questions: Sequence[GoldenQuestion],
    retriever: Searcher,
    assistant: Answerer | None,
    rewrite: Callable[[str, list[dict[str, str]]], str],
    progress: Callable[[int, int], None] | None = None,
) -> list[QuestionResult]:
    """Retrieve (and answer, when an assistant is given) every question."""
    results = []
    for i, q in enumerate(questions, start=1):
        history = history_of(q)
        answer, error = None, ""
        if assistant is not None:
            try:
                answer = assistant.ask(q.question, history)
            except Exception as exc:  # one failing question must not lose the run
                log.exception("question %s failed", q.id)
                error = f"{exc.__class__.__name__}: {exc}"
        # score the ranking the pipeline itself used (same rewritten question), deeper than top_k
        standalone = answer.standalone_question if answer is not None else rewrite(q.question, history)
        try:
            passages = retriever.retrieve(standalone, RETRIEVAL_K, None, detect_language(q.question)).passages
        except EmptyIndexError:
            raise  # no index at all: the whole run is meaningless, the command says how to build one
        except Exception as exc:  # counted as a miss and an error, not left out
            log.exception("retrieval for %s failed", q.id)
            error = error or f"{exc.__class__.__name__}: {exc}"
            passages = []
        retrieved = [
            {
                "rank": p.rank,
                "source": p.source,
                "title": p.title,
                "location": p.location,
                "page": p.page,
                "score": p.score,
                "dense": p.dense,
                "keyword": p.keyword,
                "supports": supports(p.text, q.evidence),
                "text": p.text,
            }
            for p in passages
        ]
        result = QuestionResult(q, retrieved, first_support_rank([p.text for p in passages], q.evidence), answer, error)
        results.append(result)
        if progress:
            progress(i, len(questions))
    return results


METRIC_LABELS = [
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR@10"),
    ("answer_accuracy", "exactitude des réponses"),
    ("citation_precision", "précision des citations"),
    ("citation_recall", "rappel des citations"),
    ("abstention_recall", "abstentions justes"),
    ("false_abstention_rate", "abstentions à tort (plus bas = mieux)"),
    ("language_match", "bonne langue"),
    ("errors", "questions en erreur (comptées fausses)"),
    ("latency_first_token_p50", "1er mot p50 (s)"),
    ("latency_first_token_p95", "1er mot p95 (s)"),
    ("latency_total_p50", "réponse p50 (s)"),
    ("latency_total_p95", "réponse p95 (s)"),
]


COUNTS = {"errors"}


def metrics_table(columns: dict[str, dict[str, Any]]) -> str:
    names = list(columns)
    lines = ["| métrique | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, label in METRIC_LABELS:
        if not any(key in m for m in columns.values()):
            continue
        cells = []
        for name in names:
            value = columns[name].get(key)
            if value is None:
                cells.append("—")
            elif key in COUNTS:
                cells.append(str(value))
            else:
                cells.append(f"{value:.2f}" if "latency" in key else f"{value:.3f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    out_dir: Path,
    metrics: dict[str, Any],
    results: Sequence[QuestionResult],
    baseline: dict[str, Any] | None,
    meta: dict[str, Any],
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "metrics": metrics, "baseline": baseline, "questions": [r.to_json() for r in results]}
    (out_dir / "results.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    columns = {"ce projet": metrics}
    if baseline:
        columns["référence naïve"] = baseline["metrics"]
    lines = [
        f"# Évaluation : {meta.get('questions_file', '')}",
        "",
        f"{meta.get('when', '')} — backend : {meta.get('backend', '')} — {metrics['questions']} questions "
        f"({metrics['answerable']} avec réponse).",
        "",
        metrics_table(columns),
        "",
    ]
    if "losses" in metrics:
        lines += [
            "## Où les réponses se perdent",
            "",
            losses_markdown(metrics["losses"], metrics["answerable"], metrics["questions"] - metrics["answerable"]),
            "",
        ]
    lines += [
        "## Échecs",
        "",
    ]
    failures = 0
    for r in results:
        q = r.question
        problems = []
        if q.answerable and (r.first_support is None or r.first_support > 5):
            problems.append(f"aucun passage justificatif dans le top 5 (rang {r.first_support})")
        a = r.answer
        if a is not None:
            if q.answerable and a.abstained:
                problems.append(f"abstention à tort ({a.reason})")
            elif q.answerable and not answer_matches(a.text, q.answer_patterns):
                problems.append("réponse fausse")
            if not q.answerable and not a.abstained:
                problems.append("a répondu au lieu de s'abstenir")
            if detect_language(a.text) != q.lang:
                problems.append("mauvaise langue")
        if r.error:
            problems.append(f"erreur : {r.error}")
        if problems and r.loss is not None:
            problems.append(f"perdue à l'étape **{r.loss.stage}** : {r.loss.detail}")
        if not problems:
            continue
        failures += 1
        lines += [f"### {q.id} — {q.question}", "", "- " + "\n- ".join(problems)]
        if q.evidence:
            lines.append(f"- preuve attendue : « {q.evidence[0]} »")
        if a is not None:
            lines.append(f"- réponse : {a.text}")
            if a.draft and a.draft != a.text:
                lines.append(f"- brouillon du modèle : {a.draft}")
            if a.second_draft is not None:
                lines.append(f"- second brouillon (passages entiers) : {a.second_draft}")
            if a.relevance is not None:
                rel = a.relevance
                missing = f", absents : {', '.join(rel.missing)}" if rel.missing else ""
                lines.append(
                    f"- pertinence : couverture {rel.coverage:.2f} (document {rel.document_coverage:.2f}), "
                    f"similarité {rel.similarity:.2f}{missing}{' (autre langue)' if rel.cross_language else ''}"
                )
        for p in r.retrieved[:5]:
            mark = "✔" if p["supports"] else "·"
            lines.append(f"  - {mark} [{p['rank']}] {p['source']} ({p['location']}, score {p['score']}) : {p['text'][:140]!r}")
        lines.append("")
    if failures == 0:
        lines.append("Aucun échec.")
    (out_dir / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    draw_chart(out_dir / "metrics.png", columns)


def draw_chart(path: Path, columns: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quality = [
        (k, label)
        for k, label in METRIC_LABELS
        if "latency" not in k and k not in COUNTS and any(k in m for m in columns.values())
    ]
    latency = [(k, label) for k, label in METRIC_LABELS if "latency" in k and any(k in m for m in columns.values())]
    fig, axes = plt.subplots(1, 2 if latency else 1, figsize=(13 if latency else 8, 5), squeeze=False)
    width = 0.8 / max(1, len(columns))
    for i, (name, metrics) in enumerate(columns.items()):
        xs = [j + i * width for j in range(len(quality))]
        axes[0][0].bar(xs, [metrics.get(k, 0) or 0 for k, _ in quality], width, label=name)
        if latency:
            xs = [j + i * width for j in range(len(latency))]
            axes[0][1].bar(xs, [metrics.get(k, 0) or 0 for k, _ in latency], width, label=name)
    axes[0][0].set_xticks(
        [j + width * (len(columns) - 1) / 2 for j in range(len(quality))],
        [label for _, label in quality],
        rotation=45,
        ha="right",
    )
    axes[0][0].set_ylim(0, 1.05)
    axes[0][0].set_title("Qualité")
    axes[0][0].legend()
    if latency:
        axes[0][1].set_xticks(
            [j + width * (len(columns) - 1) / 2 for j in range(len(latency))],
            [label for _, label in latency],
            rotation=45,
            ha="right",
        )
        axes[0][1].set_title("Latence (secondes)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


LOWER_IS_BETTER = {"false_abstention_rate", "errors"}  # their --fail-under value is a maximum


def check_thresholds(metrics: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Return one sentence per missed --fail-under threshold."""
    missed = []
    for name, minimum in thresholds.items():
        value = metrics.get(name)
        if value is None:
            missed.append(f"{name} : métrique non calculée dans ce mode")
        elif name in LOWER_IS_BETTER or name.startswith("latency"):
            if value > minimum:
                missed.append(f"{name} = {value:.3f} > {minimum}" if name not in COUNTS else f"{name} = {value} > {minimum:g}")
        elif value < minimum:
            missed.append(f"{name} = {value:.3f} < {minimum}")
    return missed


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")

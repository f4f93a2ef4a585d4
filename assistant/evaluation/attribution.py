"""Where each answer was lost: the one stage of the pipeline that let a golden question down.

An answerable question that is not answered right is lost at the first stage, in the
pipeline's order, that did not pass the evidence on:

- ``retrieval``: no passage holding an evidence phrase among the passages retrieved (top 10);
- ``ranking``: found, but not among the passages the model reads (``top_k``);
- ``checks`` (``weak-retrieval``): the model was not asked, the best similarity being under the gate;
- ``excerpt``: a passage the model reads holds the evidence, the sentences it was given of it do not;
- ``generation``: the model read the evidence and wrote something wrong, empty or a refusal;
- ``checks``: a draft matches the expected answer and a check refused it (the detail says which);
- ``error``: the question raised an error (a failure, never left out).

An unanswerable question that got an answer is attributed to the check that let the invented
answer through: ``relevance`` (every claim is in the passages, which do not answer the question:
a near miss) or ``support`` (its first claim passed the citation check, a later one is flagged).

Evidence is found as docs/evaluation.md says (the normalized phrase in the normalized text), in the
passages and in the excerpts alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assistant.answer import Answer
from assistant.evaluation.golden import GoldenQuestion, answer_matches, supports
from assistant.refusals import opens_with_refusal

Stage = Literal["retrieval", "ranking", "excerpt", "generation", "checks", "error", "relevance", "support"]

# the stages in the pipeline's order, as the report shows them
ANSWERABLE_STAGES: tuple[Stage, ...] = ("retrieval", "ranking", "excerpt", "generation", "checks", "error")
UNANSWERABLE_STAGES: tuple[Stage, ...] = ("relevance", "support", "error")

LABELS: dict[str, str] = {
    "retrieval": "recherche (aucun passage justificatif dans le top 10)",
    "ranking": "classement (trouvé, mais pas parmi les passages lus par le modèle)",
    "excerpt": "extrait (passage lu, mais les phrases données au modèle n'ont pas la preuve)",
    "generation": "rédaction (le modèle avait la preuve ; brouillon faux, vide ou refus)",
    "checks": "vérifications (brouillon juste refusé, ou modèle non interrogé)",
    "error": "erreur",
    "relevance": "pertinence (tout est dans les passages, qui ne répondent pas à la question)",
    "support": "citations (première affirmation étayée, une suivante signalée ⚠)",
}


@dataclass(frozen=True)
class Loss:
    """The stage that lost a question, and what happened there (a check's name, a rank, a score)."""

    stage: Stage
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"stage": self.stage, "detail": self.detail}


def _drafts(answer: Answer) -> list[str]:
    return [d for d in (answer.draft, answer.second_draft) if d]


def attribute(q: GoldenQuestion, first_support: int | None, answer: Answer | None, error: str = "") -> Loss | None:
    """The stage that lost this question; None when it was answered right (or only retrieval was run)."""
    if error:
        return Loss("error", error[:200])
    if answer is None:
        return None
    if not q.answerable:
        return None if answer.abstained else _let_through(answer)
    if not answer.abstained and answer_matches(answer.text, q.answer_patterns):
        return None
    given = [p for p in answer.passages if supports(p.text, q.evidence)]
    if not given:
        if first_support is None:
            return Loss("retrieval", "aucun passage justificatif parmi les 10 premiers")
        return Loss("ranking", f"premier passage justificatif au rang {first_support}, le modèle en lit {len(answer.passages)}")
    if answer.reason == "weak-retrieval":
        best = max((p.dense for p in answer.passages), default=0.0)
        return Loss("checks", f"weak-retrieval : meilleure similarité {best:.2f}, modèle non interrogé")
    ranks = {p.rank for p in given}
    if not any(e.rank in ranks and supports(e.text, q.evidence) for e in answer.read):
        return Loss("excerpt", f"passage(s) {', '.join(f'[{r}]' for r in sorted(ranks))} lu(s) sans la phrase de la preuve")
    right = [d for d in _drafts(answer) if not opens_with_refusal(d) and answer_matches(d, q.answer_patterns)]
    if not right:
        drafts = _drafts(answer)
        if not drafts:
            return Loss("generation", "brouillon vide")
        if all(opens_with_refusal(d) for d in drafts):
            return Loss("generation", "model-refusal : le modèle dit ne pas trouver")
        return Loss("generation", "brouillon faux")
    first_right = answer.draft in right
    if answer.second_draft is not None and first_right and answer.second_draft not in right:
        # the right first draft was refused, the model reread the whole passages and wrote a wrong one
        return Loss("checks", "unsupported : premier brouillon juste refusé, le second (passages entiers) est faux")
    if answer.abstained:
        return Loss("checks", answer.reason + ("" if first_right else " (second brouillon)"))
    return Loss("checks", "rendu : le texte affiché a perdu la réponse du brouillon")


def _let_through(answer: Answer) -> Loss:
    claims = [s for s in answer.sentences if s.claims]
    flagged = [s for s in claims if not s.supported]
    if flagged:
        return Loss("support", f"{len(flagged)} phrase(s) sur {len(claims)} non étayée(s), affichée(s) avec ⚠")
    rel = answer.relevance
    detail = f"couverture {rel.coverage:.2f}, similarité {rel.similarity:.2f}" if rel is not None else ""
    return Loss("relevance", detail)


def loss_counts(losses: Sequence[tuple[GoldenQuestion, Loss | None]]) -> dict[str, Any]:
    """How many questions each stage lost, answerable and unanswerable apart, with the checks by name."""
    answerable = Counter(loss.stage for q, loss in losses if q.answerable and loss is not None)
    invented = Counter(loss.stage for q, loss in losses if not q.answerable and loss is not None)
    checks = Counter(
        loss.detail.split(" ", 1)[0] for q, loss in losses if q.answerable and loss is not None and loss.stage == "checks"
    )
    return {
        "answerable": {s: answerable.get(s, 0) for s in ANSWERABLE_STAGES},
        "right": sum(1 for q, loss in losses if q.answerable and loss is None),
        "checks": dict(sorted(checks.items())),
        "unanswerable": {s: invented.get(s, 0) for s in UNANSWERABLE_STAGES},
    }


def losses_markdown(counts: dict[str, Any], answerable: int, unanswerable: int) -> str:
    """The table of report.md: for each stage, how many questions it lost."""
    n = answerable or 1
    lines = [
        f"Questions avec réponse ({answerable}) : {counts['right']} justes ({counts['right'] / n:.0%}).",
        "",
        "| étape où la réponse s'est perdue | questions | part des questions avec réponse |",
        "|---|---:|---:|",
    ]
    lines += [f"| {LABELS[s]} | {c} | {c / n:.0%} |" for s, c in counts["answerable"].items()]
    if counts["checks"]:
        lines += ["", "Vérifications qui ont refusé : " + ", ".join(f"{k} × {v}" for k, v in counts["checks"].items()) + "."]
    invented = sum(counts["unanswerable"].values())
    lines += ["", f"Questions sans réponse ({unanswerable}) : {invented} réponse(s) inventée(s)."]
    if invented:
        lines += ["", "| ce qui a laissé passer la réponse inventée | questions |", "|---|---:|"]
        lines += [f"| {LABELS[s]} | {c} |" for s, c in counts["unanswerable"].items()]
    return "\n".join(lines)

"""The curation loop (admins): remontées turned into golden questions, evaluations in the background, their API."""

from __future__ import annotations

from typing import Any

import gradio as gr

from web.curation import propose_pattern
from web.handlers.common import admin_only, error, inform, user_errors, username, warn
from web.handlers.panel import examples_update
from web.render import (
    chart_html,
    curated_markdown,
    evaluation_markdown,
    passage_choices_of,
    plain_markdown,
    problem_choices,
    problem_detail_markdown,
)
from web.service import WebService

CurationView = tuple[Any, str, str, str]


def _curation_view(service: WebService, selected: str | None = None) -> CurationView:
    """The rows to curate (picker), the curated set, the evaluation status and the chart."""
    curated = service.curated.by_feedback()
    rows = service.problems(200)
    choices = problem_choices(rows, curated)
    ids = {value for _, value in choices}
    picker = gr.update(choices=choices, value=selected if selected in ids else None)
    return picker, curated_markdown(service.curated.entries(), service.curated.path.name), *_evaluation_view(service)


def _evaluation_view(service: WebService) -> tuple[str, str]:
    runner = service.evaluations
    last = [r for name in runner.labels if (r := runner.history.last_run(name)) is not None]
    auto = (
        "Une reconstruction qui change l'index lance cette évaluation d'elle-même (ASSISTANT_EVAL_AFTER_REBUILD)."
        if service.settings.eval_after_rebuild
        else "Pour qu'une reconstruction lance cette évaluation d'elle-même : ASSISTANT_EVAL_AFTER_REBUILD=true."
    )
    return evaluation_markdown(runner.status(), last, auto), chart_html(runner.chart())


@admin_only
def curation_refresh(service: WebService, request: gr.Request) -> CurationView:
    return _curation_view(service)


def _row(service: WebService, row_id: str | None) -> dict[str, Any]:
    row = service.feedback.get(str(row_id)) if row_id else None
    if row is None:
        raise error("Choisissez d'abord une remontée dans la liste.")
    return row


@admin_only
def curation_open(service: WebService, row_id: str | None, request: gr.Request) -> tuple[str, Any, str, str, str, str]:
    """Show one abstention or thumbs-down with what the admin needs to curate it."""
    if not row_id:
        return "", gr.update(choices=[], value=None), "", "", "", ""
    row = _row(service, row_id)
    curated = service.curated.by_feedback().get(row["id"])
    return (
        problem_detail_markdown(row, curated),
        gr.update(choices=passage_choices_of(row), value=None),
        row["question"],
        "",
        "",
        "",
    )


@admin_only
def curation_passage(service: WebService, row_id: str | None, rank: int | None, request: gr.Request) -> tuple[str, str, str]:
    """The chosen passage's text, to select the words that answer in it."""
    if rank is None:
        return "", "", ""
    row = _row(service, row_id)
    passage = next((p for p in row["passages"] if p.get("rank") == rank), None)
    return (str(passage.get("text") or "") if passage else ""), "", ""


@admin_only
def curation_words_selected(service: WebService, evt: gr.SelectData, request: gr.Request) -> tuple[str, str]:
    """The words selected in the passage, and the answer pattern proposed from them."""
    words = str(evt.value or "") if evt.selected is not False else ""
    return words, propose_pattern(words)


@admin_only
def curation_propose(service: WebService, words: str, request: gr.Request) -> str:
    return propose_pattern(words or "")


@user_errors
def _curate(service: WebService, row_id: str | None, request: gr.Request, answerable: bool, *args: Any) -> dict[str, Any]:
    row = _row(service, row_id)
    if answerable:
        question, rank, words, pattern = args
        return service.curated.add_answerable(row, question, rank, words, pattern, username(request))
    return service.curated.add_unanswerable(row, args[0], username(request))


def _saved_message(entry: dict[str, Any]) -> str:
    kind = "avec réponse" if entry["answerable"] else "sans réponse dans les documents"
    return f"✔ Ajoutée au jeu curé : **{plain_markdown(entry['id'])}** ({kind}) — « {plain_markdown(entry['question'])} »."


@admin_only
def curate_unanswerable(
    service: WebService, row_id: str | None, question: str, request: gr.Request
) -> tuple[str, Any, str, str, str]:
    """« Les documents ne contiennent pas cette information » → an unanswerable golden question."""
    entry = _curate(service, row_id, request, False, question)
    return _saved_message(entry), *_curation_view(service)  # the form is cleared for the next one


@admin_only
def curate_answerable(
    service: WebService,
    row_id: str | None,
    question: str,
    rank: int | None,
    words: str,
    pattern: str,
    request: gr.Request,
) -> tuple[str, Any, str, str, str]:
    """The chosen passage and words answer it → an answerable golden question with evidence and an answer pattern."""
    entry = _curate(service, row_id, request, True, question, rank, words, pattern)
    return _saved_message(entry), *_curation_view(service)


@admin_only
@user_errors
def curation_remove(service: WebService, question_id: str, request: gr.Request) -> tuple[str, Any, str, str, str]:
    entry = service.curated.remove(" ".join(str(question_id or "").split()))
    return f"Retirée du jeu curé : {plain_markdown(str(entry.get('id')))}.", *_curation_view(service)


@admin_only
def evaluate_now(service: WebService, request: gr.Request) -> tuple[str, str, Any]:
    """Start the evaluation in the background; the page follows it (timer)."""
    if not service.evaluations.start("manuel", username(request)):
        warn("Une évaluation est déjà en cours : son avancement s'affiche ci-dessous.")
    return *_evaluation_view(service), gr.update(active=True)


@admin_only
def evaluation_poll(service: WebService, request: gr.Request) -> tuple[str, str, Any]:
    text, chart = _evaluation_view(service)
    return text, chart, gr.update(active=service.evaluations.running())


@admin_only
def evaluation_stop(service: WebService, request: gr.Request) -> str:
    if not service.evaluations.cancel():
        inform("Aucune évaluation en cours.")
    return _evaluation_view(service)[0]


# curation through the HTTP API (admins only, as on the page)


@admin_only
def problems_api(service: WebService, request: gr.Request | None = None) -> list[dict[str, Any]]:
    """Abstentions, thumbs-down and comments, newest first, with their answer and passages."""
    curated = service.curated.by_feedback()
    return [{**r, "curated_as": curated.get(r["id"])} for r in service.problems(200)]


@admin_only
@user_errors
def curate_api(
    service: WebService,
    feedback_id: str,
    answerable: bool,
    question: str = "",
    passage: int | None = None,
    words: str = "",
    pattern: str = "",
    request: gr.Request | None = None,
) -> dict[str, Any]:
    """Turn a remontée into a golden question: unanswerable, or answered by ``words`` of ``passage``."""
    row = service.feedback.get(str(feedback_id))
    if row is None:
        raise error("Aucune remontée n'a cet identifiant : relisez la liste (problems).")
    asked = question or row["question"]
    if answerable:
        return service.curated.add_answerable(row, asked, passage, words, pattern, username(request))
    return service.curated.add_unanswerable(row, asked, username(request))


@admin_only
def evaluate_api(service: WebService, request: gr.Request | None = None) -> dict[str, Any]:
    """Start « Évaluer maintenant »; ``started`` is false when one was already running."""
    started = service.evaluations.start("manuel", username(request))
    return {"started": started, "status": service.evaluations.status()}


@admin_only
def evaluation_api(service: WebService, request: gr.Request | None = None) -> dict[str, Any]:
    """Where the evaluation stands, and every run's figures (with the index version and the time)."""
    runs = [{k: v for k, v in r.items() if k != "outcomes"} for r in service.evaluations.history.rows()]
    return {"status": service.evaluations.status(), "history": runs}


@admin_only
def after_rebuild(service: WebService, request: gr.Request) -> tuple[Any, ...]:
    """After a rebuild: examples from the new titles, and the curation view (a rebuild may have started an evaluation)."""
    return *examples_update(service.example_questions()), *_curation_view(service)

"""Feedback and abstentions in the database (SQLite and PostgreSQL): what the answer showed is kept, each row has a stable id."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from database import Database
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.fakes import HashEmbedder, ScriptedBackend
from web import handlers as h
from web.feedback import FeedbackLog
from web.render.admin import problem_detail_markdown
from web.service import WebService

QUESTION = "En quelle année l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?"
ANSWER = "Selon Gilles Angles, l'Accord intergouvernemental a été signé en 1993 [1]."
PASSAGE_KEYS = {"rank", "source", "title", "page", "location", "text"}


@pytest.fixture()
def service(docs: Path, tmp_path: Path, state: IndexState) -> WebService:
    embedder = HashEmbedder()
    store = Store.open(tmp_path / "data")
    indexer = Indexer(docs, state, store, embedder)
    indexer.sync()
    retriever = Retriever(store, embedder, state, candidates=20, dense_weight=0.5)
    assistant = Assistant(retriever, ScriptedBackend(fn=lambda m: ANSWER), "test", abstain_below=0.05)
    return WebService(Settings(docs_dir=docs, data_dir=tmp_path / "data"), assistant, indexer)


def request(name: str, session: str = "page-1") -> gr.Request:
    return gr.Request(username=name, session_hash=session)


def test_a_thumbs_down_keeps_the_answer_its_passages_and_citations(service: WebService) -> None:
    *_, (history, *_, conv) = h.respond(service, QUESTION, [], None, None, request("bob"))
    answer_index = len(history) - 1
    h.on_like(
        service,
        gr.LikeData(None, {"index": answer_index, "value": history[-1]["content"], "liked": False}),
        history,
        conv,
        request("bob"),
    )
    [row] = service.problems()
    assert row["kind"] == "avis négatif" and row["liked"] is False and row["user"] == "bob"
    assert row["question"] == QUESTION and row["standalone"] == QUESTION
    assert "1993" in row["answer"]
    assert row["passages"] and all(set(p) == PASSAGE_KEYS for p in row["passages"])
    assert [p["rank"] for p in row["passages"]] == list(range(1, len(row["passages"]) + 1))
    assert row["citations"] and row["citations"][0]["n"] == 1 and row["citations"][0]["source"] == row["passages"][0]["source"]
    assert isinstance(row["id"], str) and row["id"]
    assert service.feedback.get(row["id"]) == row, "get(id) returns the same row"
    assert service.feedback.get("inconnu") is None


def test_a_thumb_on_another_page_s_answer_keeps_the_text_only(service: WebService) -> None:
    history = list(h.respond(service, QUESTION, [], None, None, request("bob", "page-1")))[-1][0]
    h.on_like(  # another page: its own (empty) conversation state
        service,
        gr.LikeData(None, {"index": len(history) - 1, "value": "", "liked": False}),
        history,
        None,
        request("bob", "page-2"),
    )
    [row] = service.problems()
    assert row["passages"] == [] and "1993" in row["answer"], "no passages made up from another page's answers"


def test_abstentions_and_comments_are_problems_newest_first_and_likes_are_not(service: WebService) -> None:
    now = [1000.0]
    service.feedback.clock = lambda: now[0]
    list(h.respond(service, "Quelle est la capitale de l'Australie ?", [], None, None, request("alice")))
    now[0] += 10
    *_, (history, *_, conv) = h.respond(service, QUESTION, [], None, None, request("bob"))
    now[0] += 10
    h.on_like(service, gr.LikeData(None, {"index": len(history) - 1, "value": "", "liked": True}), history, conv, request("bob"))
    now[0] += 10
    h.on_comment(service, "<b>Il manque la date de signature</b>", history, conv, request("bob"))
    rows = service.problems()
    assert [r["kind"] for r in rows] == ["commentaire", "abstention"], "the like is kept but is not a problem"
    comment, abstention = rows
    assert comment["comment"] == "<b>Il manque la date de signature</b>" and comment["liked"] is None
    assert comment["passages"], "a comment on the last answer keeps its passages"
    assert abstention["reason"] and abstention["question"] == "Quelle est la capitale de l'Australie ?"
    assert abstention["passages"] and all(set(p) == PASSAGE_KEYS for p in abstention["passages"])
    assert abstention["user"] == "alice" and len({r["id"] for r in rows}) == 2
    assert abstention["diagnosis"].startswith(("Recherche :", "Rédaction :", "Vérification")), abstention["diagnosis"]
    assert f"**Où la question s'est perdue** : {abstention['diagnosis'].split(' ')[0]}" in problem_detail_markdown(abstention)
    assert not comment["diagnosis"], "only an abstention says where it was lost"
    assert service.problems(limit=1) == rows[:1]


def test_two_copies_of_the_app_see_the_same_records(service: WebService) -> None:
    url = service.db.engine.url.render_as_string(hide_password=False)
    other = Database.open(url)
    try:
        row_id = FeedbackLog(other).record_feedback("q", "r", False, "vu sur la copie 2", "carol")
        assert service.feedback.get(row_id)["comment"] == "vu sur la copie 2"  # type: ignore[index]
        assert [r["id"] for r in service.problems()] == [row_id]
    finally:
        other.dispose()

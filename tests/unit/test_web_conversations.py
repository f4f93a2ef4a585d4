"""Saved conversations: each person's own (store and handlers), follow-ups that read them, the browser without login,
sharing an answer with its sources, the document filter after a rebuild, examples from the titles."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest

from assistant.answer import Answer
from database import Database
from tests.fakes import ScriptedBackend
from tests.unit.test_web_handlers import HOSTILE, QUESTION, build_service, request
from web import handlers as h
from web.conversations import ConversationNotFound, ConversationStore, title_from
from web.render import markdown_text
from web.service import WebService

FOLLOW_UP = "Et qui l'a souligné ?"


def turn(question: str, answer: str = "Réponse [1].") -> dict:
    return {"question": question, "answer": answer, "abstained": False, "language": "fr", "citations": [], "passages": []}


def test_the_store_keeps_each_persons_conversations_apart(database_url: str) -> None:
    """On SQLite and PostgreSQL, in the tables the migrations build."""
    first_db = Database.open(database_url)
    store = ConversationStore(first_db)
    first = store.add_turn("alice", None, turn("Quand l'accord Vietnam–France a-t-il été signé ?"))
    store.add_turn("alice", first, turn("Et par qui ?"))
    second = store.add_turn("alice", None, turn("Combien d'entreprises la FHAC fédère-t-elle ?"))
    theirs = store.add_turn("bob", None, turn("Question de Bob"))
    listed = store.list("alice")
    assert [c["id"] for c in listed] == [second, first], "the most recently used first"
    assert listed[1]["title"] == "Quand l'accord Vietnam–France a-t-il été signé ?" and listed[1]["turns"] == 2
    assert [c["id"] for c in store.list("bob")] == [theirs]
    for attempt in (
        lambda: store.get("bob", first),
        lambda: store.rename("bob", first, "volé"),
        lambda: store.delete("bob", first),
        lambda: store.add_turn("bob", first, turn("intrus")),
    ):
        with pytest.raises(ConversationNotFound, match="introuvable"):
            attempt()
    assert [t["question"] for t in store.get("alice", first)["turns"]] == [
        "Quand l'accord Vietnam–France a-t-il été signé ?",
        "Et par qui ?",
    ], "nothing of Bob's attempts reached Alice's conversation"
    store.add_turn("alice", first, turn("Une troisième"))
    assert store.list("alice")[0]["id"] == first, "asking again brings it to the top"
    store.rename("alice", first, "  Accord   de 1993 ")
    assert store.get("alice", first)["title"] == "Accord de 1993"
    store.delete("alice", first)
    assert [c["id"] for c in store.list("alice")] == [second]
    with pytest.raises(ConversationNotFound):
        store.get("alice", first)
    # a restart: a new connection to the same database finds everything
    first_db.dispose()
    restarted = Database.open(database_url)
    again = ConversationStore(restarted)
    assert [c["id"] for c in again.list("alice")] == [second] and again.get("bob", theirs)["turns"][0][
        "question"
    ] == "Question de Bob"
    restarted.dispose()


def test_titles_come_from_the_first_question_cut_on_a_word() -> None:
    long = (
        "Quels sont les engagements pris par les hôpitaux de Hanoï et de Clermont-Ferrand lors de la signature des conventions ?"
    )
    title = title_from(long)
    assert title.endswith("…") and len(title) <= 81 and long.startswith(title[:-1])
    assert title_from("  Une   question\ncourte ? ") == "Une question courte ?"


@pytest.fixture()
def service(tmp_path: Path, docs: Path) -> WebService:
    return build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: HOSTILE))


def ask(service: WebService, question: str, history: list, conv: dict | None, who: str) -> tuple[list, Answer, dict]:
    *_, last = h.respond(service, question, history, None, conv, request(who))
    messages, _, _, answer, _, conv = last
    assert isinstance(answer, Answer), messages[-1]
    return messages, answer, conv


def test_answers_are_saved_and_a_follow_up_reads_the_saved_turns(tmp_path: Path, docs: Path) -> None:
    backend = ScriptedBackend(fn=lambda m: "Selon Gilles Angles, l’Accord intergouvernemental a été signé en 1993 [1].")
    service = build_service(tmp_path, docs, backend)
    _, _, conv = ask(service, QUESTION, [], None, "bob")
    assert conv["id"] and len(conv["turns"]) == 1
    saved = h.conversations_api(service, request("bob"))
    assert [(c["id"], c["title"], c["turns"]) for c in saved] == [(conv["id"], title_from(QUESTION), 1)]
    # another page (a reload): the conversation is opened from the list, then followed up
    shown, kept, opened, title, *_ = h.open_conversation(service, conv["id"], None, request("bob"))
    assert kept == shown, "the page's messages are kept on the server"
    assert title == title_from(QUESTION) and [m["role"] for m in shown] == ["user", "assistant", "assistant"]
    assert shown[1]["metadata"]["title"] == "Sources" and "1993" in shown[2]["content"]
    backend.calls.clear()
    _, _, after = ask(service, FOLLOW_UP, shown, opened, "bob")
    assert after["id"] == conv["id"] and [t["question"] for t in after["turns"]] == [QUESTION, FOLLOW_UP]
    rewrite = backend.calls[0][-1]["content"]
    assert QUESTION in rewrite, "the follow-up is rewritten from the saved question, as it was written"
    assert [t["question"] for t in h.conversation_api(service, conv["id"], request("bob"))["turns"]] == [QUESTION, FOLLOW_UP]
    # nobody else reads, renames or deletes it
    assert h.conversations_api(service, request("alice")) == []
    for call in (
        lambda: h.conversation_api(service, conv["id"], request("alice")),
        lambda: h.open_conversation(service, conv["id"], None, request("alice")),
        lambda: h.rename_conversation_api(service, conv["id"], "pris", request("alice")),
        lambda: h.delete_conversation_api(service, conv["id"], request("alice")),
        lambda: h.rename_conversation(service, {"id": conv["id"], "turns": []}, "pris", None, request("alice")),
        lambda: h.delete_conversation(service, {"id": conv["id"], "turns": []}, None, request("alice")),
    ):
        with pytest.raises(gr.Error, match="introuvable"):
            call()
    assert h.conversation_api(service, conv["id"], request("bob"))["title"] == title_from(QUESTION)


def test_a_new_conversation_keeps_the_list_and_starts_a_second_one(service: WebService) -> None:
    _, _, first = ask(service, QUESTION, [], None, "bob")
    cleared = h.new_conversation(service, None, request("bob"))
    chat, kept, conv, listing = cleared[0], cleared[1], cleared[6], cleared[7]
    assert chat == [] == kept and conv == h.empty_conversation()
    assert [value for _, value in listing["choices"]] == [first["id"]] and listing["value"] is None
    _, _, second = ask(service, "Combien d'entreprises françaises la FHAC fédère-t-elle ?", [], conv, "bob")
    assert second["id"] != first["id"]
    assert [c["id"] for c in h.conversations_api(service, request("bob"))] == [second["id"], first["id"]]
    # rename and delete from the panel
    conv, _, listing = h.rename_conversation(service, second, "FHAC", None, request("bob"))
    assert ("FHAC · " in listing["choices"][0][0]) and conv["title"] == "FHAC"
    result = h.delete_conversation(service, second, None, request("bob"))
    assert result[0] == [] == result[1] and [v for _, v in result[5]["choices"]] == [first["id"]]


def test_without_login_conversations_live_in_the_browser(tmp_path: Path, docs: Path) -> None:
    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: HOSTILE), users=False)
    _, _, conv = ask(service, QUESTION, [], None, None)  # type: ignore[arg-type]
    assert conv["id"] is None, "nothing is saved on the server"
    conv, browser, listing, title, *_ = h.after_answer(service, conv, {}, None, request(None))
    assert title == title_from(QUESTION)
    assert conv["id"] and browser["conversations"][0]["turns"][0]["question"] == QUESTION
    assert [v for _, v in listing["choices"]] == [conv["id"]]
    assert "navigateur" in h.refresh_page(service, browser, request(None))[2], "the page says where they are kept"
    with pytest.raises(gr.Error, match="navigateur"):
        h.conversations_api(service, request(None))
    shown, _, opened, *_ = h.open_conversation(service, conv["id"], browser, request(None))
    assert opened["turns"][0]["question"] == QUESTION and len(shown) == 3
    # what a browser sends back is not trusted: a malformed value is an empty list, not a crash
    assert h.refresh_page(service, {"conversations": [{"id": 3}, "x"]}, request(None))[0]["choices"] == []
    _, browser, _ = h.rename_conversation(service, opened, "Renommée", browser, request(None))
    assert browser["conversations"][0]["title"] == "Renommée"
    result = h.delete_conversation(service, opened, browser, request(None))
    assert result[4] == {"conversations": []}


def test_an_answer_is_shared_with_its_sources_as_inert_markdown(service: WebService) -> None:
    _, answer, conv = ask(service, QUESTION, [], None, "bob")
    pick, text, answer_file, conversation_file = h.share_updates(service, conv, None)
    assert pick["value"] == 0 and pick["choices"][0][1] == 0
    assert text.startswith("# En quelle année") and "1993" in text
    cited = answer.citations[0]
    assert cited.source in text and f"« {' '.join(cited.quote.split())}" in text.replace("\\", ""), "document and quote"
    assert not re.search(r"(?<!\\)<|(?<!\\)\[(?!\d)|(?<!\\)\]\s*[(:]", text), "no tag, link, image or reference"
    assert "\\<img" in text, "what the model wrote stays readable, escaped"
    answer_path, whole_path = Path(answer_file["value"]), Path(conversation_file["value"])
    assert answer_path.suffix == whole_path.suffix == ".md" and answer_path.read_text(encoding="utf-8") == text
    whole = whole_path.read_text(encoding="utf-8")
    assert whole.startswith("# En quelle ann") and "Exporté le" in whole and cited.source in whole


def test_markdown_text_makes_any_markup_inert() -> None:
    text = markdown_text("# titre\n- liste\n> cite <b>x</b> ![i](https://e/x.png) [l](https://e) [2] [1]: https://e\n1. un")
    assert text.startswith("\\# titre\n\\- liste\n\\> cite \\<b>x\\</b>")
    assert "[2]" in text and "!\\[i\\](https://e/x.png)" in text and text.endswith("\n\\1. un")
    assert not re.search(r"(?<!\\)\]\s*[(:]", text), "no link, image or reference definition"
    assert markdown_text("fichier_du_2021 *important*") == "fichier_du_2021 *important*", "readable as plain text"


def test_choosing_only_removed_documents_says_so_instead_of_searching_everything(tmp_path: Path, docs: Path) -> None:
    backend = ScriptedBackend(fn=lambda m: "réponse")
    service = build_service(tmp_path, docs, backend)
    updates = list(h.respond(service, QUESTION, [], ["retire.txt"], None, request("bob")))
    shown = updates[-1][0][-1]["content"]
    assert "ne sont plus dans l'index" in shown and "retire.txt" in shown and backend.calls == []
    # the choices offered follow the index (another admin's rebuild), keeping what is still there
    kept = sorted(service.sources())[0]
    assert h.refresh_documents(service, [kept, "retire.txt"]) == {
        "__type__": "update",
        "choices": service.sources(),
        "value": [kept],
    }


def test_examples_are_drawn_from_the_indexed_titles(service: WebService) -> None:
    examples = service.example_questions()
    titles = [d for d in service.status()["sources"].values()]
    assert examples and len(examples) <= 4
    assert all(any(f"« {t.strip()[:30]}" in q for t in titles) for q in examples), examples
    assert not any("Australie" in q for q in examples)

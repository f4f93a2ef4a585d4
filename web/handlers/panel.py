"""The conversations panel: the list, open, new, rename, delete; what follows an answer (saving it, the lists)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from web.conversations import (
    BrowserBook,
    ConversationBook,
    title_from,
)
from web.errors import AccessDenied
from web.handlers.common import Conversation, empty_conversation, error, inform, read_conversation, user_errors, username
from web.handlers.sharing import share_updates
from web.render import (
    conversation_choices,
    conversation_messages,
)
from web.service import WebService

PanelUpdate = Any


def _list_update(service: WebService, book: ConversationBook, selected: str | None) -> PanelUpdate:
    choices = conversation_choices(book.list())
    ids = {value for _, value in choices}
    return gr.update(choices=choices, value=selected if selected in ids else None)


def _book(service: WebService, request: gr.Request | None, browser: Any) -> ConversationBook:
    try:
        return service.book(username(request), browser)
    except AccessDenied as exc:
        raise error(str(exc)) from exc


def after_answer(
    service: WebService, conv: Conversation | None, browser: Any, filters: list[str] | None, request: gr.Request
) -> tuple[Conversation, Any, PanelUpdate, str, Any, Any, Any, Any, Any]:
    """After an answer: keep it (in the browser without login), refresh the list, the sharing tools and the document list."""
    conv = read_conversation(conv)
    book = _book(service, request, browser)
    browser_value = gr.update()
    if isinstance(book, BrowserBook) and conv["turns"]:
        conv["id"] = book.save(conv["id"], conv["turns"])
        conv["title"] = conv["title"] or title_from(conv["turns"][0]["question"])
        browser_value = book.value()
    sources = service.sources()
    filter_update = gr.update(choices=sources, value=[s for s in filters or [] if s in sources])
    return (
        conv,
        browser_value,
        _list_update(service, book, conv["id"]),
        conv["title"],
        *share_updates(service, conv, None),
        filter_update,
    )


def refresh_page(service: WebService, browser: Any, request: gr.Request) -> tuple[Any, ...]:
    """On page load: this person's conversations, the documents of the index now, examples from their titles."""
    book = _book(service, request, browser)
    return (
        _list_update(service, book, None),
        gr.update(choices=service.sources()),
        conversations_note(service),
        *examples_update(service.example_questions()),
    )


EXAMPLES = 4  # example buttons on the page


def pad_examples(questions: list[str]) -> list[str | None]:
    return [*questions[:EXAMPLES], *[None] * (EXAMPLES - len(questions[:EXAMPLES]))]


def examples_update(questions: list[str]) -> list[Any]:
    """The examples' title, then each button: its question, hidden when there are fewer questions."""
    drawn = pad_examples(questions)
    return [gr.update(visible=bool(questions))] + [gr.update(value=q or "", visible=bool(q)) for q in drawn]


def conversations_note(service: WebService) -> str:
    if service.login_required:
        return "Enregistrées sur le serveur pour vous seul ; les plus récentes d'abord."
    return (
        "**Sans connexion, vos conversations restent dans ce navigateur** (sur cette machine seulement ; "
        "effacer les données du navigateur les efface)."
    )


def refresh_documents(service: WebService, filters: list[str] | None) -> Any:
    """The filter's choices as the index is now (after someone's rebuild), keeping what is still there."""
    sources = service.sources()
    return gr.update(choices=sources, value=[s for s in filters or [] if s in sources])


def use_example(service: WebService, question: str | None) -> str:
    return str(question or "")


@user_errors
def open_conversation(
    service: WebService, conversation_id: str | None, browser: Any, request: gr.Request
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Conversation, str, Any, str, Any, Any, Any, Any, Any]:
    """Show a saved conversation; the next question follows on from it."""
    if not conversation_id:
        return (
            [],
            [],
            empty_conversation(),
            "",
            gr.update(choices=[], value=None),
            "",
            *share_updates(service, empty_conversation(), None),
            gr.update(visible=False),
        )
    saved = _book(service, request, browser).get(str(conversation_id))
    conv = {"id": saved["id"], "title": saved["title"], "turns": saved["turns"]}
    messages = conversation_messages(conv["turns"])
    return (
        messages,
        messages,
        conv,
        saved["title"],
        gr.update(choices=[], value=None),
        "",
        *share_updates(service, conv, None),
        gr.update(visible=False),
    )


def new_conversation(
    service: WebService, browser: Any, request: gr.Request
) -> tuple[list[Any], list[Any], str, None, Any, str, Conversation, PanelUpdate, str, Any, Any, Any, Any]:
    """An empty chat; the list of conversations stays (nothing selected)."""
    book = _book(service, request, browser)
    conv = empty_conversation()
    return (
        [],
        [],
        "",
        None,
        gr.update(choices=[], value=None),
        "",
        conv,
        _list_update(service, book, None),
        "",
        *share_updates(service, conv, None),
    )


@user_errors
def rename_conversation(
    service: WebService, conv: Conversation | None, title: str, browser: Any, request: gr.Request
) -> tuple[Conversation, Any, PanelUpdate]:
    conv = read_conversation(conv)
    if not conv["id"]:
        raise error("Ouvrez ou commencez d'abord une conversation à renommer.")
    book = _book(service, request, browser)
    book.rename(conv["id"], title)
    conv["title"] = " ".join(title.split())
    inform("Conversation renommée.")
    return conv, book.value() if isinstance(book, BrowserBook) else gr.update(), _list_update(service, book, conv["id"])


def ask_delete(service: WebService, conv: Conversation | None) -> Any:
    """The first click on « Supprimer » only shows the confirmation."""
    if not read_conversation(conv)["id"]:
        raise error("Ouvrez d'abord la conversation à supprimer.")
    return gr.update(visible=True)


@user_errors
def delete_conversation(
    service: WebService, conv: Conversation | None, browser: Any, request: gr.Request
) -> tuple[list[Any], list[Any], Conversation, str, Any, PanelUpdate, Any, Any, Any, Any, Any]:
    conv = read_conversation(conv)
    if not conv["id"]:
        raise error("Ouvrez d'abord la conversation à supprimer.")
    book = _book(service, request, browser)
    book.delete(conv["id"])
    inform("Conversation supprimée.")
    empty = empty_conversation()
    return (
        [],
        [],
        empty,
        "",
        book.value() if isinstance(book, BrowserBook) else gr.update(),
        _list_update(service, book, None),
        gr.update(visible=False),
        *share_updates(service, empty, None),
    )

"""The HTTP API for scripts: ask with an explicit history, the person's own conversations, feedback."""

from __future__ import annotations

from typing import Any

import gradio as gr

from web.handlers.chat import conversation
from web.handlers.common import error, user_errors, username
from web.messages import user_message
from web.service import Recorded, WebService


def api_error(exc: Exception, admin: bool = False) -> gr.Error:
    return error(user_message(exc, admin))


def ask_api(
    service: WebService, question: str, history: list[dict[str, str]] | None = None, request: gr.Request | None = None
) -> dict[str, Any]:
    """Answer one question with an explicit history (for scripts); returns the answer as JSON."""
    turns = conversation(history if isinstance(history, list) else [])
    final = None
    try:
        for item in service.stream(question, turns, session=getattr(request, "session_hash", None), user=username(request)):
            if isinstance(item, Recorded):
                final = item.answer
    except Exception as exc:
        raise api_error(exc, service.is_admin(username(request))) from exc
    if final is None:
        raise error(user_message(RuntimeError("stream ended without an answer")))
    return final.to_json()


@user_errors
def conversations_api(service: WebService, request: gr.Request | None = None) -> list[dict[str, Any]]:
    """The logged-in person's conversations, the most recent first: id, title, created, updated, turns."""
    return service.server_book(username(request)).list()


@user_errors
def conversation_api(service: WebService, conversation_id: str, request: gr.Request | None = None) -> dict[str, Any]:
    """One of the logged-in person's conversations with its turns (question, answer, citations, passages)."""
    return service.server_book(username(request)).get(str(conversation_id))


@user_errors
def rename_conversation_api(
    service: WebService, conversation_id: str, title: str, request: gr.Request | None = None
) -> dict[str, Any]:
    book = service.server_book(username(request))
    book.rename(str(conversation_id), title)
    return book.get(str(conversation_id))


@user_errors
def delete_conversation_api(service: WebService, conversation_id: str, request: gr.Request | None = None) -> bool:
    service.server_book(username(request)).delete(str(conversation_id))
    return True


@user_errors
def feedback_api(
    service: WebService,
    conversation_id: str,
    turn: int,
    liked: bool | None = None,
    comment: str = "",
    request: gr.Request | None = None,
) -> str:
    """A thumb or a comment on one answer of one of your conversations; returns the id admins see it under."""
    saved = service.server_book(username(request)).get(str(conversation_id))
    turns = saved["turns"]
    if not isinstance(turn, int) or not 0 <= turn < len(turns):
        raise error(f"Cette conversation a {len(turns)} réponse(s) : donnez un numéro de 0 à {len(turns) - 1}.")
    if liked is None and not (comment or "").strip():
        raise error("Donnez un avis (liked: true ou false) ou un commentaire.")
    t = turns[turn]
    return service.record_feedback(
        str(t.get("question", "")), str(t.get("answer", "")), liked, comment or "", username(request), t
    )

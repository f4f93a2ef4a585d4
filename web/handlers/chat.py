"""The chat: a question answered with its sources first, the place in the queue, the stop button."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from assistant.answer import Answer, Rereading, Retrieved
from assistant.model_queue import GenerationCancelled, Waiting
from web.conversations import (
    history_of,
)
from web.handlers.common import Conversation, empty_conversation, read_conversation, username, warn
from web.messages import user_message
from web.render import (
    answer_markdown,
    passages_markdown,
    plain_markdown,
    source_choices,
    turn_sources_markdown,
    waiting_markdown,
)
from web.service import Recorded, WebService

log = logging.getLogger(__name__)


def content_text(content: Any) -> str:
    """Text of a chat message: Gradio gives a string, or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def conversation(history: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The turns the pipeline sees: user questions and answers, without the Sources blocks and notes."""
    turns = []
    for m in history or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        text = content_text(m.get("content")).strip()
        if m.get("metadata") or not text or text.startswith(("⚠", "⏳")):
            continue
        turns.append({"role": str(m["role"]), "content": text})
    return turns


SEARCHING = "⏳ Recherche dans les documents…"
STOPPED = "\n\n_⏹ Réponse arrêtée._"
ChatUpdate = tuple[list[dict[str, Any]], list[dict[str, Any]], str, Answer | None, Any, Conversation]
REREADING = {
    "fr": "🔎 Ce brouillon n'est pas étayé par les extraits lus : le modèle relit les passages entiers…",
    "en": "🔎 That draft is not supported by the excerpts read: the model is reading the whole passages…",
}


def _snapshot(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of the messages as they are now (the handler keeps editing its own)."""
    return [{**m, "metadata": dict(m["metadata"])} if m.get("metadata") else dict(m) for m in history]


def _chat_update(
    history: list[dict[str, Any]], conv: Conversation, final: Answer | None = None, choices: Any = None
) -> ChatUpdate:
    """The chat's outputs: the messages (to the page, and kept on the server), the emptied box, the answer, the sources."""
    shown = _snapshot(history)
    return shown, shown, "", final, gr.update() if choices is None else choices, conv


def sources_gone_message(gone: Sequence[str]) -> str:
    names = ", ".join(f"« {plain_markdown(s)} »" for s in gone)
    return (
        f"⚠ Les documents choisis ne sont plus dans l'index ({names}) : choisissez-en d'autres dans "
        "« Limiter la recherche à certains documents », ou videz ce filtre pour chercher dans tous les documents."
    )


def respond(
    service: WebService,
    message: str,
    history: list[dict[str, Any]] | None,
    filters: list[str] | None,
    conv: Conversation | None,
    request: gr.Request,
) -> Iterator[ChatUpdate]:
    """Answer in the chat: the sources as soon as they are found, the place in the queue, then the answer under them.

    A follow-up reads the open conversation's own turns (as they were written, not as
    shown); the answer is added to it (saved on the server when people log in).
    """
    history = list(history or [])
    conv = read_conversation(conv) if history else empty_conversation()  # an empty chat is a new conversation
    turns = history_of(conv["turns"]) if conv["turns"] else conversation(history)
    history.append({"role": "user", "content": plain_markdown(message or "")})
    answer_msg: dict[str, Any] = {"role": "assistant", "content": SEARCHING}
    history.append(answer_msg)
    yield _chat_update(history, conv)
    kept, gone = service.split_sources(filters)
    if gone and not kept:  # never fall back silently to every document
        answer_msg["content"] = sources_gone_message(gone)
        yield _chat_update(history, conv)
        return
    if gone:
        warn(f"{', '.join(gone)} n'est plus dans l'index : la recherche se limite aux autres documents choisis.")
    sources_msg: dict[str, Any] | None = None
    language, raw = "fr", ""
    final: Answer | None = None
    recorded: Recorded | None = None
    user = username(request)
    try:
        session = getattr(request, "session_hash", None)
        for item in service.stream(message or "", turns, kept or None, session=session, user=user, conversation=conv):
            if isinstance(item, Retrieved):
                language = item.language
                sources_msg = {
                    "role": "assistant",
                    "content": passages_markdown(item.passages),
                    "metadata": {"title": "Sources trouvées" if language == "fr" else "Sources found", "status": "pending"},
                }
                history.insert(len(history) - 1, sources_msg)  # the answer comes under its sources
                answer_msg["content"] = "⏳ …"
            elif isinstance(item, Waiting):
                answer_msg["content"] = waiting_markdown(item.position, language)
            elif isinstance(item, Rereading):  # the draft shown so far is not the answer: clear it
                raw = ""
                answer_msg["content"] = REREADING.get(language, REREADING["fr"])
            elif isinstance(item, Recorded):
                final, recorded = item.answer, item
                continue
            else:
                raw += item
                answer_msg["content"] = plain_markdown(raw)
            yield _chat_update(history, conv)
    except GenerationCancelled:
        answer_msg["content"] = (plain_markdown(raw) if raw else "") + STOPPED
        if sources_msg is not None:
            sources_msg["metadata"] = {**sources_msg["metadata"], "status": "done"}
        yield _chat_update(history, conv)
        return
    except Exception as exc:  # every failure reaches the user as a sentence, never a traceback
        answer_msg["content"] = f"⚠ {user_message(exc, service.is_admin(user))}"
        if sources_msg is not None:
            sources_msg["metadata"] = {**sources_msg["metadata"], "status": "done"}
        yield _chat_update(history, conv)
        return
    if final is None or recorded is None:  # the pipeline always ends with an Answer; say so rather than hang if not
        answer_msg["content"] = f"⚠ {user_message(RuntimeError('stream ended without an answer'))}"
        yield _chat_update(history, conv)
        return
    turn = recorded.turn
    title = "Sources" if final.citations else "Passages les plus proches"
    block = {"role": "assistant", "content": turn_sources_markdown(turn), "metadata": {"title": title, "status": "done"}}
    if sources_msg is not None:
        sources_msg.clear()
        sources_msg.update(block)
    else:
        history.insert(len(history) - 1, block)
    answer_msg["content"] = answer_markdown(final.text, final.abstained, final.language)
    if not recorded.saved:
        warn("La réponse n'a pas pu être enregistrée dans vos conversations (détails dans le journal du serveur).")
    conv = recorded.conversation or conv
    yield _chat_update(history, conv, final, gr.update(choices=source_choices(final), value=None))


def stop_answer(service: WebService, request: gr.Request) -> None:
    """Stop the answer being written in this page; the model goes to the next question at once."""
    service.cancel(getattr(request, "session_hash", None))

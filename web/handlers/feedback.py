"""Feedback on an answer: thumbs and comments."""

from __future__ import annotations

from typing import Any

import gradio as gr

from web.handlers.chat import content_text, conversation
from web.handlers.common import Conversation, inform, read_conversation, username, warn
from web.render import (
    answer_markdown,
)
from web.service import WebService


def _turn_shown_as(conv: Conversation | None, shown: str) -> dict[str, Any] | None:
    """The turn whose answer is this chat message (the most recent one if two are alike)."""
    for turn in reversed(read_conversation(conv)["turns"]):
        rendered = answer_markdown(str(turn.get("answer", "")), bool(turn.get("abstained")), str(turn.get("language", "fr")))
        if rendered.strip() == shown.strip():
            return turn
    return None


def on_like(
    service: WebService, data: gr.LikeData, history: list[dict[str, Any]], conv: Conversation | None, request: gr.Request
) -> None:
    """A thumb on an answer. Gradio gives the index of the first message of the bubble (the sources block above
    the answer): the answer is the first message under it that is not such a block."""
    index = data.index if isinstance(data.index, int) else data.index[0]
    i = index
    while 0 <= i < len(history) and history[i].get("role") == "assistant" and history[i].get("metadata"):
        i += 1
    if 0 <= i < len(history) and history[i].get("role") == "assistant":
        shown = content_text(history[i]["content"])
    else:
        shown = str(data.value[-1] if isinstance(data.value, list) and data.value else data.value)
    turn = _turn_shown_as(conv, shown)
    if turn is not None:
        question, answer = str(turn.get("question", "")), str(turn.get("answer", ""))
    else:  # an answer that was not kept (stopped, an error): what the page shows
        question = next((content_text(m["content"]) for m in reversed(history[: max(i, 0)]) if m["role"] == "user"), "")
        answer = shown
    service.record_feedback(question, answer, bool(data.liked), user=username(request), turn=turn)
    inform("Merci pour votre avis.")


def on_comment(
    service: WebService, text: str, history: list[dict[str, Any]], conv: Conversation | None, request: gr.Request
) -> str:
    if not (text or "").strip():
        warn("Le commentaire est vide.")
        return text
    turns = read_conversation(conv)["turns"]
    if turns:
        turn: dict[str, Any] | None = turns[-1]
        question, answer = str(turns[-1].get("question", "")), str(turns[-1].get("answer", ""))
    else:
        said = conversation(history)
        turn = None
        question = next((t["content"] for t in reversed(said) if t["role"] == "user"), "")
        answer = next((t["content"] for t in reversed(said) if t["role"] == "assistant"), "")
    service.record_feedback(question, answer, None, text, username(request), turn)
    inform("Commentaire enregistré, merci.")
    return ""

"""Sharing: one answer or the whole conversation as Markdown to copy or download; a source shown in its document."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answer import Answer
from assistant.text import normalize
from index.render import PageText, RenderedPage, RenderError
from web.conversations import (
    title_from,
)
from web.handlers.common import Conversation, read_conversation
from web.render import (
    conversation_export_markdown,
    document_url,
    share_choices,
    turn_export_markdown,
    viewer_html,
)
from web.service import WebService


def _export_file(name: str, text: str) -> str:
    """Write an export where Gradio takes it from (it serves it as an attachment); old ones are removed."""
    root = Path(tempfile.gettempdir()) / "coop-assistant-exports"
    root.mkdir(mode=0o700, exist_ok=True)
    cutoff = time.time() - 3600
    for old in root.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    folder = Path(tempfile.mkdtemp(dir=root))
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _slug(text: str) -> str:
    ascii_text = normalize(text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:40] or "conversation"


def share_updates(service: WebService, conv: Conversation | None, pick: int | None) -> tuple[Any, str, Any, Any]:
    """The answer picker, the chosen answer with its sources as Markdown (to copy), and the two downloads."""
    conv = read_conversation(conv)
    turns = conv["turns"]
    if not turns:
        off = gr.update(value=None, interactive=False)
        return gr.update(choices=[], value=None), "", off, off
    index = pick if isinstance(pick, int) and 0 <= pick < len(turns) else len(turns) - 1
    title = conv["title"] or title_from(turns[0]["question"])
    stamp = time.strftime("%Y-%m-%d")
    answer_md = turn_export_markdown(turns[index], "#") + "\n"
    whole = conversation_export_markdown(title, turns, time.strftime("%d/%m/%Y à %H:%M"))
    return (
        gr.update(choices=share_choices(turns), value=index),
        answer_md,
        gr.update(value=_export_file(f"reponse-{stamp}-{_slug(turns[index]['question'])}.md", answer_md), interactive=True),
        gr.update(value=_export_file(f"conversation-{stamp}-{_slug(title)}.md", whole), interactive=True),
    )


def pick_shared(service: WebService, conv: Conversation | None, pick: int | None) -> tuple[str, Any]:
    _, text, answer_file, _ = share_updates(service, conv, pick)
    return text, answer_file


def show_source(service: WebService, choice: str | None, answer: Answer | None) -> str:
    """The chosen source in its document (escaped HTML), with a link to download the original."""
    if not choice or answer is None or "]" not in choice:
        return ""
    try:
        n = int(choice[1 : choice.index("]")])
    except ValueError:
        return ""
    passage = next((p for p in answer.passages if p.rank == n), None)
    if passage is None:
        return ""
    quote = next((c.quote for c in answer.citations if c.n == n), "")
    before, after = service.assistant.retriever.neighbours(passage)
    path = service.document_path(passage.source)
    link = document_url(service.settings.root_path, passage.source) if path else None
    image: RenderedPage | PageText | str | None = None
    if path is not None and path.suffix.lower() == ".pdf" and passage.page and passage.unit == "page":
        try:
            image = service.page_image(passage.source, passage.page, quote or passage.text[:200])
        except RenderError as exc:  # the text view stays; say why the page is not drawn
            image = str(exc)
    return viewer_html(passage, before, after, quote, link, image)

"""Gradio handlers: module-level functions that take the service first.

``bind`` gives Gradio a function without that first parameter (keeping the
annotations Gradio reads to pass ``gr.Request`` and ``gr.Progress``);
``admin_only`` is the one guard of every admin handler. Roles, escaping and
messages are unit-tested by calling these functions directly.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import re
import shutil
import tempfile
import time
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AnsweringError
from assistant.model_queue import GenerationCancelled, Waiting
from assistant.pipeline import Answer, Rereading, Retrieved
from assistant.text import normalize
from index.errors import IndexingError
from index.render import PageText, RenderedPage, RenderError
from web.conversations import (
    BrowserBook,
    ConversationBook,
    ConversationNotFound,
    history_of,
    title_from,
    turn_from_answer,
)
from web.curation import propose_pattern
from web.errors import AccessDenied, UploadError, WebError
from web.messages import user_message
from web.render import (
    answer_markdown,
    chart_html,
    conversation_choices,
    conversation_export_markdown,
    conversation_messages,
    curated_markdown,
    document_url,
    evaluation_markdown,
    passage_choices_of,
    passages_markdown,
    plain_markdown,
    problem_choices,
    problem_detail_markdown,
    problems_markdown,
    report_markdown,
    share_choices,
    source_choices,
    status_markdown,
    turn_export_markdown,
    turn_sources_markdown,
    viewer_html,
    waiting_markdown,
)
from web.service import WebService


def _toast(message: str) -> str:
    """Gradio shows toasts as (sanitised) HTML: a file name or a title in a message must stay text."""
    return html.escape(message, quote=False)


def _error(message: str) -> gr.Error:
    return gr.Error(_toast(message), print_exception=False)


def _warning(message: str) -> None:
    gr.Warning(_toast(message))


def _info(message: str) -> None:
    gr.Info(_toast(message))


log = logging.getLogger(__name__)

F = typing.TypeVar("F", bound=Callable[..., Any])


def bind(fn: Callable[..., Any], service: WebService) -> Callable[..., Any]:
    """Return ``fn`` with ``service`` as its first argument, as a plain function Gradio can inspect."""
    hints = typing.get_type_hints(fn)
    signature = inspect.signature(fn)
    first, *rest = signature.parameters.values()
    if inspect.isgeneratorfunction(fn):

        def bound(*args: Any, **kwargs: Any) -> Any:
            yield from fn(service, *args, **kwargs)

    else:

        def bound(*args: Any, **kwargs: Any) -> Any:
            return fn(service, *args, **kwargs)

    bound.__name__ = getattr(fn, "__name__", "handler")
    bound.__qualname__ = bound.__name__
    bound.__doc__ = fn.__doc__
    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in rest]
    )
    bound.__annotations__ = {k: v for k, v in hints.items() if k != first.name}
    return bound


def username(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


def admin_only(fn: F) -> F:
    """Refuse the handler to anyone who is not an admin, on the server, on every call (HTTP API included)."""
    signature = inspect.signature(fn)

    def check(service: WebService, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        request = signature.bind_partial(service, *args, **kwargs).arguments.get("request")
        try:
            service.require_admin(username(request))
        except AccessDenied as exc:
            raise _error(str(exc)) from exc

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def guarded_gen(service: WebService, *args: Any, **kwargs: Any) -> Any:
            check(service, args, kwargs)
            yield from fn(service, *args, **kwargs)

        return typing.cast(F, guarded_gen)

    @functools.wraps(fn)
    def guarded(service: WebService, *args: Any, **kwargs: Any) -> Any:
        check(service, args, kwargs)
        return fn(service, *args, **kwargs)

    return typing.cast(F, guarded)


# -- chat ----------------------------------------------------------------------


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
REREADING = {
    "fr": "🔎 Ce brouillon n'est pas étayé par les extraits lus : le modèle relit les passages entiers…",
    "en": "🔎 That draft is not supported by the excerpts read: the model is reading the whole passages…",
}

Conversation = dict[str, Any]  # the page's open conversation: {"id": str | None, "title": str, "turns": [turn, ...]}
ChatUpdate = tuple[list[dict[str, Any]], list[dict[str, Any]], str, Answer | None, Any, Conversation]


def empty_conversation() -> Conversation:
    return {"id": None, "title": "", "turns": []}


def _open(conv: Conversation | None) -> Conversation:
    """The page's conversation state, read defensively (it comes back from the page)."""
    if not isinstance(conv, dict) or not isinstance(conv.get("turns"), list):
        return empty_conversation()
    return {
        "id": conv.get("id") if isinstance(conv.get("id"), str) else None,
        "title": str(conv.get("title") or ""),
        "turns": list(conv["turns"]),
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
    conv = _open(conv) if history else empty_conversation()  # an empty chat is a new conversation
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
        _warning(f"{', '.join(gone)} n'est plus dans l'index : la recherche se limite aux autres documents choisis.")
    sources_msg: dict[str, Any] | None = None
    language, raw = "fr", ""
    final: Answer | None = None
    user = username(request)
    try:
        for item in service.stream(message or "", turns, kept or None, session=getattr(request, "session_hash", None), user=user):
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
            elif isinstance(item, Answer):
                final = item
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
    if final is None:  # the pipeline always ends with an Answer; say so rather than hang if not
        answer_msg["content"] = f"⚠ {user_message(RuntimeError('stream ended without an answer'))}"
        yield _chat_update(history, conv)
        return
    turn = turn_from_answer(final)
    title = "Sources" if final.citations else "Passages les plus proches"
    block = {"role": "assistant", "content": turn_sources_markdown(turn), "metadata": {"title": title, "status": "done"}}
    if sources_msg is not None:
        sources_msg.clear()
        sources_msg.update(block)
    else:
        history.insert(len(history) - 1, block)
    answer_msg["content"] = answer_markdown(final.text, final.abstained, final.language)
    conv["turns"].append(turn)
    if service.login_required and user:
        conv = _save_turn(service, user, conv, turn)
    yield _chat_update(history, conv, final, gr.update(choices=source_choices(final), value=None))


def _save_turn(service: WebService, user: str, conv: Conversation, turn: dict[str, Any]) -> Conversation:
    """Add the turn to the person's conversation on the server (a new one when it was deleted meanwhile)."""
    book = service.book(user)
    try:
        conv["id"] = book.add_turn(conv["id"], turn)
    except ConversationNotFound:  # deleted from another page: what was asked here starts a new one
        conv["id"] = None
        for t in conv["turns"]:
            conv["id"] = book.add_turn(conv["id"], t)
    except Exception:
        log.exception("could not save the conversation of %s", user)
        _warning("La réponse n'a pas pu être enregistrée dans vos conversations (détails dans le journal du serveur).")
        return conv
    if not conv["title"]:
        conv["title"] = title_from(conv["turns"][0]["question"])
    return conv


def stop_answer(service: WebService, request: gr.Request) -> None:
    """Stop the answer being written in this page; the model goes to the next question at once."""
    service.cancel(getattr(request, "session_hash", None))


# -- conversation panel --------------------------------------------------------

PanelUpdate = Any


def _list_update(service: WebService, book: ConversationBook, selected: str | None) -> PanelUpdate:
    choices = conversation_choices(book.list())
    ids = {value for _, value in choices}
    return gr.update(choices=choices, value=selected if selected in ids else None)


def _book(service: WebService, request: gr.Request | None, browser: Any) -> ConversationBook:
    try:
        return service.book(username(request), browser)
    except AccessDenied as exc:
        raise _error(str(exc)) from exc


def after_answer(
    service: WebService, conv: Conversation | None, browser: Any, filters: list[str] | None, request: gr.Request
) -> tuple[Conversation, Any, PanelUpdate, str, Any, Any, Any, Any, Any]:
    """After an answer: keep it (in the browser without login), refresh the list, the sharing tools and the document list."""
    conv = _open(conv)
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
    try:
        saved = _book(service, request, browser).get(str(conversation_id))
    except ConversationNotFound as exc:
        raise _error(str(exc)) from exc
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


def rename_conversation(
    service: WebService, conv: Conversation | None, title: str, browser: Any, request: gr.Request
) -> tuple[Conversation, Any, PanelUpdate]:
    conv = _open(conv)
    if not conv["id"]:
        raise _error("Ouvrez ou commencez d'abord une conversation à renommer.")
    book = _book(service, request, browser)
    try:
        book.rename(conv["id"], title)
    except WebError as exc:
        raise _error(str(exc)) from exc
    conv["title"] = " ".join(title.split())
    _info("Conversation renommée.")
    return conv, book.value() if isinstance(book, BrowserBook) else gr.update(), _list_update(service, book, conv["id"])


def ask_delete(service: WebService, conv: Conversation | None) -> Any:
    """The first click on « Supprimer » only shows the confirmation."""
    if not _open(conv)["id"]:
        raise _error("Ouvrez d'abord la conversation à supprimer.")
    return gr.update(visible=True)


def delete_conversation(
    service: WebService, conv: Conversation | None, browser: Any, request: gr.Request
) -> tuple[list[Any], list[Any], Conversation, str, Any, PanelUpdate, Any, Any, Any, Any, Any]:
    conv = _open(conv)
    if not conv["id"]:
        raise _error("Ouvrez d'abord la conversation à supprimer.")
    book = _book(service, request, browser)
    try:
        book.delete(conv["id"])
    except ConversationNotFound as exc:
        raise _error(str(exc)) from exc
    _info("Conversation supprimée.")
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


# -- sharing: copy one answer with its sources, download an answer or the conversation --------


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
    conv = _open(conv)
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


# -- feedback ------------------------------------------------------------------


def _turn_shown_as(conv: Conversation | None, shown: str) -> dict[str, Any] | None:
    """The turn whose answer is this chat message (the most recent one if two are alike)."""
    for turn in reversed(_open(conv)["turns"]):
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
    _info("Merci pour votre avis.")


def on_comment(
    service: WebService, text: str, history: list[dict[str, Any]], conv: Conversation | None, request: gr.Request
) -> str:
    if not (text or "").strip():
        _warning("Le commentaire est vide.")
        return text
    turns = _open(conv)["turns"]
    if turns:
        turn: dict[str, Any] | None = turns[-1]
        question, answer = str(turns[-1].get("question", "")), str(turns[-1].get("answer", ""))
    else:
        said = conversation(history)
        turn = None
        question = next((t["content"] for t in reversed(said) if t["role"] == "user"), "")
        answer = next((t["content"] for t in reversed(said) if t["role"] == "assistant"), "")
    service.record_feedback(question, answer, None, text, username(request), turn)
    _info("Commentaire enregistré, merci.")
    return ""


# -- HTTP API ------------------------------------------------------------------


def _api_error(exc: Exception, admin: bool = False) -> gr.Error:
    return _error(user_message(exc, admin))


def ask_api(
    service: WebService, question: str, history: list[dict[str, str]] | None = None, request: gr.Request | None = None
) -> dict[str, Any]:
    """Answer one question with an explicit history (for scripts); returns the answer as JSON."""
    turns = conversation(history if isinstance(history, list) else [])
    final = None
    try:
        for item in service.stream(question, turns, session=getattr(request, "session_hash", None), user=username(request)):
            if isinstance(item, Answer):
                final = item
    except Exception as exc:
        raise _api_error(exc, service.is_admin(username(request))) from exc
    if final is None:
        raise _error(user_message(RuntimeError("stream ended without an answer")))
    return final.to_json()


def conversations_api(service: WebService, request: gr.Request | None = None) -> list[dict[str, Any]]:
    """The logged-in person's conversations, the most recent first: id, title, created, updated, turns."""
    try:
        return service.server_book(username(request)).list()
    except WebError as exc:
        raise _api_error(exc) from exc


def conversation_api(service: WebService, conversation_id: str, request: gr.Request | None = None) -> dict[str, Any]:
    """One of the logged-in person's conversations with its turns (question, answer, citations, passages)."""
    try:
        return service.server_book(username(request)).get(str(conversation_id))
    except WebError as exc:
        raise _api_error(exc) from exc


def rename_conversation_api(
    service: WebService, conversation_id: str, title: str, request: gr.Request | None = None
) -> dict[str, Any]:
    try:
        book = service.server_book(username(request))
        book.rename(str(conversation_id), title)
        return book.get(str(conversation_id))
    except WebError as exc:
        raise _api_error(exc) from exc


def delete_conversation_api(service: WebService, conversation_id: str, request: gr.Request | None = None) -> bool:
    try:
        service.server_book(username(request)).delete(str(conversation_id))
    except WebError as exc:
        raise _api_error(exc) from exc
    return True


def feedback_api(
    service: WebService,
    conversation_id: str,
    turn: int,
    liked: bool | None = None,
    comment: str = "",
    request: gr.Request | None = None,
) -> str:
    """A thumb or a comment on one answer of one of your conversations; returns the id admins see it under."""
    try:
        saved = service.server_book(username(request)).get(str(conversation_id))
    except WebError as exc:
        raise _api_error(exc) from exc
    turns = saved["turns"]
    if not isinstance(turn, int) or not 0 <= turn < len(turns):
        raise _error(f"Cette conversation a {len(turns)} réponse(s) : donnez un numéro de 0 à {len(turns) - 1}.")
    if liked is None and not (comment or "").strip():
        raise _error("Donnez un avis (liked: true ou false) ou un commentaire.")
    t = turns[turn]
    return service.record_feedback(
        str(t.get("question", "")), str(t.get("answer", "")), liked, comment or "", username(request), t
    )


# -- admin ---------------------------------------------------------------------


def show_admin(service: WebService, request: gr.Request) -> Any:
    """Show the Admin tab to admins only (the handlers check again on every call)."""
    return gr.update(visible=service.is_admin(username(request)))


@admin_only
def admin_refresh(service: WebService, request: gr.Request) -> tuple[str, str]:
    return status_markdown(service.status()), problems_markdown(service.problems())


@admin_only
def add_documents(service: WebService, files: list[Any] | None, replace: bool, request: gr.Request) -> tuple[str, None]:
    if not files:
        raise _error("Choisissez d'abord un ou plusieurs fichiers.")
    paths = [Path(f if isinstance(f, str) else getattr(f, "path", None) or f.name) for f in files]
    try:
        service.check_upload_count(len(files))
        added, refused = [], []
        for f, path in zip(files, paths, strict=True):
            original = getattr(f, "orig_name", None) or path.name
            try:
                added.append(service.save_upload(path, original, overwrite=bool(replace)))
            except UploadError as exc:
                refused.append(str(exc))
    except (AnsweringError, IndexingError, OSError) as exc:
        raise _error(user_message(exc) if not isinstance(exc, OSError) else f"Fichier illisible : {exc.strerror}.") from exc
    finally:
        for path in paths:  # Gradio's copy is not kept: the documents folder has the file now
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove upload %s", path)
    if refused and not added:
        raise _error(" ".join(refused))
    lines = [f"- ajouté : {plain_markdown(name)}" for name in added] + [f"- **refusé** : {plain_markdown(r)}" for r in refused]
    return "\n".join(lines) + "\n\nCliquez « Reconstruire l'index » pour les rendre interrogeables.", None


@admin_only
def rebuild(service: WebService, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any]:  # noqa: B008
    progress(0, desc="Analyse des documents…")

    state = {"done": 0, "total": 0}

    def step(done: int, total: int, _doc: str) -> None:
        state.update(done=done, total=total)
        progress((done, total), desc="Calcul des passages", unit="passages")

    def notice(text: str) -> None:  # a slow step (OCR of a scan, page by page) says what it is doing
        progress((state["done"], state["total"]) if state["total"] else None, desc=text)

    try:
        report = service.rebuild(step, notice)
    except Exception as exc:
        raise _error(user_message(exc)) from exc
    return report_markdown(report.to_json()), status_markdown(service.status()), gr.update(choices=service.sources())


# -- curation loop -------------------------------------------------------------

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
        raise _error("Choisissez d'abord une remontée dans la liste.")
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


def _curate(service: WebService, row_id: str | None, request: gr.Request, answerable: bool, *args: Any) -> dict[str, Any]:
    row = _row(service, row_id)
    try:
        if answerable:
            question, rank, words, pattern = args
            return service.curated.add_answerable(row, question, rank, words, pattern, username(request))
        return service.curated.add_unanswerable(row, args[0], username(request))
    except WebError as exc:
        raise _error(str(exc)) from exc


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
def curation_remove(service: WebService, question_id: str, request: gr.Request) -> tuple[str, Any, str, str, str]:
    try:
        entry = service.curated.remove(" ".join(str(question_id or "").split()))
    except WebError as exc:
        raise _error(str(exc)) from exc
    return f"Retirée du jeu curé : {plain_markdown(str(entry.get('id')))}.", *_curation_view(service)


@admin_only
def evaluate_now(service: WebService, request: gr.Request) -> tuple[str, str, Any]:
    """Start the evaluation in the background; the page follows it (timer)."""
    if not service.evaluations.start("manuel", username(request)):
        _warning("Une évaluation est déjà en cours : son avancement s'affiche ci-dessous.")
    return *_evaluation_view(service), gr.update(active=True)


@admin_only
def evaluation_poll(service: WebService, request: gr.Request) -> tuple[str, str, Any]:
    text, chart = _evaluation_view(service)
    return text, chart, gr.update(active=service.evaluations.running())


@admin_only
def evaluation_stop(service: WebService, request: gr.Request) -> str:
    if not service.evaluations.cancel():
        _info("Aucune évaluation en cours.")
    return _evaluation_view(service)[0]


# curation through the HTTP API (admins only, as on the page)


@admin_only
def problems_api(service: WebService, request: gr.Request | None = None) -> list[dict[str, Any]]:
    """Abstentions, thumbs-down and comments, newest first, with their answer and passages."""
    curated = service.curated.by_feedback()
    return [{**r, "curated_as": curated.get(r["id"])} for r in service.problems(200)]


@admin_only
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
        raise _error("Aucune remontée n'a cet identifiant : relisez la liste (problems).")
    asked = question or row["question"]
    try:
        if answerable:
            return service.curated.add_answerable(row, asked, passage, words, pattern, username(request))
        return service.curated.add_unanswerable(row, asked, username(request))
    except WebError as exc:
        raise _api_error(exc) from exc


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

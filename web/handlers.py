"""Gradio handlers: module-level functions that take the service first.

``bind`` gives Gradio a function without that first parameter (keeping the
annotations Gradio reads to pass ``gr.Request`` and ``gr.Progress``);
``admin_only`` is the one guard of every admin handler. Roles, escaping and
messages are unit-tested by calling these functions directly.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AnsweringError
from assistant.model_queue import GenerationCancelled, Waiting
from assistant.pipeline import Answer, Retrieved
from index.errors import IndexingError
from index.render import RenderedPage, RenderError
from web.errors import AccessDenied, UploadError
from web.messages import user_message
from web.render import (
    answer_markdown,
    document_url,
    passages_markdown,
    plain_markdown,
    problems_markdown,
    report_markdown,
    source_choices,
    sources_markdown,
    status_markdown,
    viewer_html,
    waiting_markdown,
)
from web.service import WebService

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
            raise gr.Error(str(exc), print_exception=False) from exc

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

ChatUpdate = tuple[list[dict[str, Any]], str, Answer | None, Any]


def _snapshot(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of the messages as they are now (the handler keeps editing its own)."""
    return [{**m, "metadata": dict(m["metadata"])} if m.get("metadata") else dict(m) for m in history]


def respond(
    service: WebService, message: str, history: list[dict[str, Any]] | None, filters: list[str] | None, request: gr.Request
) -> Iterator[ChatUpdate]:
    """Answer in the chat: the sources as soon as they are found, the place in the queue, then the answer under them."""
    history = list(history or [])
    turns = conversation(history)
    history.append({"role": "user", "content": plain_markdown(message or "")})
    answer_msg: dict[str, Any] = {"role": "assistant", "content": SEARCHING}
    history.append(answer_msg)
    yield _snapshot(history), "", None, gr.update()
    sources_msg: dict[str, Any] | None = None
    language, raw = "fr", ""
    final: Answer | None = None
    try:
        for item in service.stream(
            message or "", turns, filters, session=getattr(request, "session_hash", None), user=username(request)
        ):
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
            elif isinstance(item, Answer):
                final = item
                continue
            else:
                raw += item
                answer_msg["content"] = plain_markdown(raw)
            yield _snapshot(history), "", None, gr.update()
    except GenerationCancelled:
        answer_msg["content"] = (plain_markdown(raw) if raw else "") + STOPPED
        if sources_msg is not None:
            sources_msg["metadata"] = {**sources_msg["metadata"], "status": "done"}
        yield _snapshot(history), "", None, gr.update()
        return
    except Exception as exc:  # every failure reaches the user as a sentence, never a traceback
        answer_msg["content"] = f"⚠ {user_message(exc)}"
        if sources_msg is not None:
            sources_msg["metadata"] = {**sources_msg["metadata"], "status": "done"}
        yield _snapshot(history), "", None, gr.update()
        return
    if final is None:  # the pipeline always ends with an Answer; say so rather than hang if not
        answer_msg["content"] = f"⚠ {user_message(RuntimeError('stream ended without an answer'))}"
        yield _snapshot(history), "", None, gr.update()
        return
    title = "Sources" if final.citations else "Passages les plus proches"
    block = {"role": "assistant", "content": sources_markdown(final), "metadata": {"title": title, "status": "done"}}
    if sources_msg is not None:
        sources_msg.clear()
        sources_msg.update(block)
    else:
        history.insert(len(history) - 1, block)
    answer_msg["content"] = answer_markdown(final.text, final.abstained, final.language)
    yield _snapshot(history), "", final, gr.update(choices=source_choices(final), value=None)


def stop_answer(service: WebService, request: gr.Request) -> None:
    """Stop the answer being written in this page; the model goes to the next question at once."""
    service.cancel(getattr(request, "session_hash", None))


def new_conversation(service: WebService) -> tuple[list[Any], str, None, Any, str]:
    return [], "", None, gr.update(choices=[], value=None), ""


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
    image: RenderedPage | str | None = None
    if path is not None and path.suffix.lower() == ".pdf" and passage.page and passage.unit == "page":
        try:
            image = service.page_image(passage.source, passage.page, quote or passage.text[:200])
        except RenderError as exc:  # the text view stays; say why the page is not drawn
            image = str(exc)
    return viewer_html(passage, before, after, quote, link, image)


def shown_answer(service: WebService, request: gr.Request | None, text: str) -> Answer | None:
    """The answer this page was shown as ``text`` (kept by the service per page session), None when unknown."""
    wanted = text.strip()
    for answer in reversed(service.recent_answers(getattr(request, "session_hash", None))):
        if answer_markdown(answer.text, answer.abstained, answer.language).strip() == wanted:
            return answer
    return None


def on_like(service: WebService, data: gr.LikeData, history: list[dict[str, Any]], request: gr.Request) -> None:
    index = data.index if isinstance(data.index, int) else data.index[0]
    answer = content_text(history[index]["content"]) if 0 <= index < len(history) else str(data.value)
    question = next((content_text(m["content"]) for m in reversed(history[:index]) if m["role"] == "user"), "")
    shown = shown_answer(service, request, answer)
    service.record_feedback(question, answer, bool(data.liked), user=username(request), shown=shown)
    gr.Info("Merci pour votre avis.")


def on_comment(service: WebService, text: str, history: list[dict[str, Any]], request: gr.Request) -> str:
    if not (text or "").strip():
        gr.Warning("Le commentaire est vide.")
        return text
    turns = conversation(history)
    question = next((t["content"] for t in reversed(turns) if t["role"] == "user"), "")
    answer = next((t["content"] for t in reversed(turns) if t["role"] == "assistant"), "")
    shown = shown_answer(service, request, answer)
    service.record_feedback(question, answer, None, text, username(request), shown=shown)
    gr.Info("Commentaire enregistré, merci.")
    return ""


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
        raise gr.Error(user_message(exc), print_exception=False) from exc
    if final is None:
        raise gr.Error(user_message(RuntimeError("stream ended without an answer")))
    return final.to_json()


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
        raise gr.Error("Choisissez d'abord un ou plusieurs fichiers.", print_exception=False)
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
        raise gr.Error(user_message(exc) if not isinstance(exc, OSError) else f"Fichier illisible : {exc.strerror}.") from exc
    finally:
        for path in paths:  # Gradio's copy is not kept: the documents folder has the file now
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove upload %s", path)
    if refused and not added:
        raise gr.Error(" ".join(refused), print_exception=False)
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
        raise gr.Error(user_message(exc), print_exception=False) from exc
    return report_markdown(report.to_json()), status_markdown(service.status()), gr.update(choices=service.sources())

"""What every screen's handlers share: ``bind``, the ``admin_only`` guard, error toasts, the open conversation's state."""

from __future__ import annotations

import functools
import html
import inspect
import logging
import typing
from collections.abc import Callable
from typing import Any

import gradio as gr

from web.errors import AccessDenied, WebError
from web.service import WebService


def toast_text(message: str) -> str:
    """Gradio shows toasts as (sanitised) HTML: a file name or a title in a message must stay text."""
    return html.escape(message, quote=False)


def error(message: str) -> gr.Error:
    return gr.Error(toast_text(message), print_exception=False)


def warn(message: str) -> None:
    gr.Warning(toast_text(message))


def inform(message: str) -> None:
    gr.Info(toast_text(message))


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
            raise error(str(exc)) from exc

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


Conversation = dict[str, Any]  # the page's open conversation: {"id": str | None, "title": str, "turns": [turn, ...]}


def empty_conversation() -> Conversation:
    return {"id": None, "title": "", "turns": []}


def read_conversation(conv: Conversation | None) -> Conversation:
    """The page's conversation state, read defensively (it comes back from the page)."""
    if not isinstance(conv, dict) or not isinstance(conv.get("turns"), list):
        return empty_conversation()
    return {
        "id": conv.get("id") if isinstance(conv.get("id"), str) else None,
        "title": str(conv.get("title") or ""),
        "turns": list(conv["turns"]),
    }


def user_errors(fn: F) -> F:
    """Show the web layer's errors raised by ``fn`` as the page's error message (their text is the user's sentence)."""

    @functools.wraps(fn)
    def shown(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WebError as exc:
            raise error(str(exc)) from exc

    return typing.cast(F, shown)

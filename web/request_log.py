"""One log line per request, and the log set-up of the web process (text or JSON lines).

``RequestLog`` wraps the whole application (outside ``web.middleware.SecurityMiddleware``,
which puts the logged-in person's name in the scope). A line holds the method, the path,
the status, the duration and the user: never the query string (Gradio's session ids), never
a body (questions, passwords), and the ids in a path (a Gradio session, an event) as ``…``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("web.requests")

USER_KEY = "coop.user"  # set in the scope by SecurityMiddleware once the session is checked
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_IDS = re.compile(r"(/gradio_api/heartbeat/|/gradio_api/call/(?:v2/)?[^/]+/)[^/]+")
_PATH_CHARS = 200


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Send every logger's lines to stderr, as text or as one JSON object per line."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def loggable_path(path: str) -> str:
    """The path as it may be logged: ids out, at most 200 characters, no control characters (no forged lines)."""
    path = _IDS.sub(r"\1…", path[: _PATH_CHARS * 2])[:_PATH_CHARS]
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in path)


class RequestLog:
    """Logs each HTTP request once it is answered (or broken off)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = status or 500
            raise
        finally:
            method = str(scope.get("method", "?"))[:10]
            path = loggable_path(str(scope.get("path", "")))
            user = str(scope.get(USER_KEY) or "-")
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "%s %s %d %.1fms %s",
                method,
                path,
                status,
                duration_ms,
                user,
                extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms, "user": user},
            )

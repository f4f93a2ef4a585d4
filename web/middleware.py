"""The one door of every request: the route list, body limits, login, roles, sessions, security headers.

``SecurityMiddleware`` wraps the whole application (our routes and the mounted Gradio app):

- a path that ``web.access.ROUTES`` does not list is 404, whatever Gradio would do with it;
- a body larger than its route allows is 413 before anything parses it (login included);
- without accounts, only requests addressed to this machine and not passed on by a proxy are
  served (the app is bound to 127.0.0.1; a web page elsewhere cannot reach it through DNS
  rebinding, and nginx in front of it cannot open it to the network), unless the admin says the
  app is open to all (``ASSISTANT_OPEN_WITHOUT_LOGIN``);
- with accounts, every path but the login page needs a valid session; admin routes need an admin;
  Gradio session hashes are bound to the person (``web.access.SessionScope``);
- ``/gradio_api/file=`` never fetches a URL (Gradio would, for the page, defeating the CSP);
- every response gets a Content-Security-Policy (scripts from this app only, the page's inline
  scripts by hash, no inline handlers; no outside image, font, form, frame or connection),
  ``nosniff``, no framing, no referrer.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse

from web.access import SessionScope, body_limit, find_route, forwarded, refuse_file
from web.errors import WebError
from web.request_log import USER_KEY
from web.service import WebService

log = logging.getLogger(__name__)

SESSION_COOKIE = "coop_session"
BROWSER_STORAGE_BYTES = 8 * 1024 * 1024  # more than a browser's local storage holds for one site
SESSION_CHECK_THREADS = 8
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)

NO_LOGIN_LOCAL_ONLY = (
    "Sans comptes configurés, l'assistant ne répond qu'aux adresses de cette machine (localhost), sans proxy. "
    "Créez des comptes (python -m assistant add-user NOM --admin) pour l'ouvrir au réseau."
)


def content_security_policy(script_hashes: list[str] | None = None) -> str:
    scripts = " ".join(f"'sha256-{h}'" for h in script_hashes or [])
    return "; ".join(
        [
            "default-src 'self'",
            # 'unsafe-eval': Gradio's gr.HTML renders its template with the Function constructor.
            # No 'unsafe-inline': the page's own inline scripts are allowed by hash, nothing injected runs.
            f"script-src 'self' 'unsafe-eval' {scripts}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "frame-src 'none'",
            "child-src 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
        ]
    )


def script_hashes(body: bytes) -> list[str]:
    """SHA-256 of each inline script of a page, for its CSP (no 'unsafe-inline')."""
    return [base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() for m in _INLINE_SCRIPT.finditer(body)]


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


def _path(scope: Scope) -> str:
    return str(scope.get("path", "/"))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _cookie(scope: Scope, name: str) -> str | None:
    for part in _header(scope, b"cookie").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _origin_is_local(origin: str) -> bool:
    if not origin:
        return True  # page loads and same-origin GETs send none
    if origin == "null":
        return False
    return _host_name(origin.split("://", 1)[-1].split("/", 1)[0]) in LOCAL_HOSTS


class BodyTooLarge(WebError):
    """The request's body goes over its route's limit."""


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"Requête trop volumineuse (plus de {limit // 1024 or 1} Ko) : raccourcissez-la ou envoyez moins à la fois."},
        status_code=413,
    )


class SecurityMiddleware:
    """Access rules, limits and security headers for every request (see the module's docstring)."""

    def __init__(self, app: ASGIApp, service: WebService, root_path: str = "") -> None:
        self.app = app
        self.service = service
        self.root_path = root_path.rstrip("/")
        self.sessions = SessionScope(secrets.token_bytes(32))
        settings = service.settings
        self.json_bytes = int(settings.max_request_kb * 1024)
        if not service.login_required:  # the page sends the conversations the browser keeps (localStorage: ~5 MB)
            self.json_bytes = max(self.json_bytes, BROWSER_STORAGE_BYTES)
        # the admins' form sends up to max_upload_files files of max_upload_mb each, plus the multipart framing
        self.upload_bytes = int(settings.max_upload_mb * 1_000_000 * settings.max_upload_files) + 64 * 1024
        self._limiter: anyio.CapacityLimiter | None = None  # our own threads: never waiting behind Gradio's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # the page needs no websocket: Gradio's queue speaks server-sent events
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        refusal, user = await self._check(scope)
        if user is not None:
            scope[USER_KEY] = user  # for the request log, outside this middleware (same scope object)
        if refusal is not None:
            await self._send_with_headers(refusal, scope, receive, send)
            return
        route = find_route(_path(scope))
        assert route is not None  # _check refused every unlisted path
        limit = body_limit(route, self.json_bytes, self.upload_bytes)
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await self._send_with_headers(too_large(limit), scope, receive, send)
            return
        if user is not None and route.session in ("query", "path"):
            scope = dict(scope)
            if route.session == "query":
                scope["query_string"] = self.sessions.in_query(user, scope.get("query_string", b""))
            else:
                path = _path(scope)
                match = route.pattern.match(path)
                if match is not None:
                    scope["path"] = self.sessions.in_path(user, path, match)
                    scope["raw_path"] = scope["path"].encode()
        if route.body in ("json", "form"):  # small bodies: read here, whole and bounded, before anything parses them
            try:
                body = await self._read_body(receive, limit)
            except BodyTooLarge:
                await self._send_with_headers(too_large(limit), scope, receive, send)
                return
            if user is not None and route.session == "body":
                body = self.sessions.in_body(user, body)
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"] + [
                (b"content-length", str(len(body)).encode())
            ]
            receive = _replay(body, receive)
        else:  # uploads stream through, stopped at the limit (a body without Content-Length, or longer than it said)
            receive = _counted(receive, limit)
        try:
            await self._send_with_headers(self.app, scope, receive, send, limit)
        except BodyTooLarge:  # the response had started: the connection ends there
            log.warning("body over %d bytes refused on %s", limit, _path(scope))

    async def _check(self, scope: Scope) -> tuple[ASGIApp | None, str | None]:
        # the session is checked in the database (at most once a second per token): off the event loop
        if self.service.login_required:
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(SESSION_CHECK_THREADS)
            return await anyio.to_thread.run_sync(self.refuse, scope, limiter=self._limiter)
        return self.refuse(scope)

    def refuse(self, scope: Scope) -> tuple[ASGIApp | None, str | None]:
        """The response that refuses this request (or None to let it through), and the logged-in user's name."""
        path = _path(scope)
        method = str(scope.get("method", "GET"))
        route = find_route(path)
        if route is None:
            log.info("unlisted route refused: %s %s", method, path[:200])
            return JSONResponse({"detail": "Introuvable."}, status_code=404), None
        if not route.allows(method):
            return JSONResponse({"detail": "Méthode non autorisée."}, status_code=405), None
        if route.pattern.pattern.startswith("/gradio_api/file=") and refuse_file(path):
            log.warning("refused a file= request naming a URL: %s", path[:200])
            return JSONResponse({"detail": "Seuls les fichiers de l'application sont servis."}, status_code=403), None
        service = self.service
        if not service.login_required:
            if _host_name(_header(scope, b"host")) not in LOCAL_HOSTS and not service.settings.open_without_login:
                return PlainTextResponse(NO_LOGIN_LOCAL_ONLY, status_code=403), None
            if not service.settings.open_without_login and (
                forwarded(scope.get("headers", []), str(scope.get("http_version", "1.1")))
                or not _origin_is_local(_header(scope, b"origin"))
            ):
                log.warning("request passed on by a proxy refused: no accounts, the app is for this machine only")
                return PlainTextResponse(NO_LOGIN_LOCAL_ONLY, status_code=403), None
            return None, None
        if route.public:
            return None, None
        user = service.sessions.user(_cookie(scope, SESSION_COOKIE))
        if user is None:
            accept = _header(scope, b"accept")
            if method == "GET" and "text/html" in accept:
                return RedirectResponse(f"{self.root_path}/login", status_code=303), None
            return JSONResponse({"detail": "Connectez-vous d'abord."}, status_code=401), None
        if route.admin and not user.admin:
            log.warning("admin route %s refused to %s", path, user.name)
            return JSONResponse({"detail": "L'envoi de fichiers est réservé aux administrateurs."}, status_code=403), None
        return None, user.name

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _send_with_headers(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int = 0) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                message = {**message, "headers": headers}
                content_type = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # held until the whole page is read, to hash its inline scripts
                    return
                message["headers"] = (
                    headers + SECURITY_HEADERS + [(b"content-security-policy", content_security_policy().encode())]
                )
                await send(message)
                return
            if start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                csp = content_security_policy(script_hashes(body)).encode()
                await send({**start, "headers": list(start["headers"]) + SECURITY_HEADERS + [(b"content-security-policy", csp)]})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        except BodyTooLarge:
            if started:
                raise
            log.warning("request body over %d bytes refused on %s", limit, _path(scope))
            await too_large(limit)(scope, receive, send_wrapper)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then waits for the client as the original would."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _counted(receive: Receive, limit: int) -> Receive:
    """A receive that stops a body sent without Content-Length (or longer than it said) at the route's limit."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge
        return message

    return counted

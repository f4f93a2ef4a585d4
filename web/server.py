"""The HTTP application around the Gradio page: login, document downloads, security headers, the server.

Gradio is mounted inside a FastAPI app of our own, so that every request goes
through ``SecurityMiddleware`` first:

- with users: every path but the login page needs a valid session (Gradio's own
  routes included: config, queue, upload, cancel, files…); Gradio's upload route
  is for admins only;
- without users: only requests addressed to this machine (Host localhost) are
  served — the app is bound to 127.0.0.1 and a web page elsewhere cannot reach
  it through DNS rebinding;
- on every response: a Content-Security-Policy (scripts from this app only, the
  page's inline scripts by hash, no inline handlers; no outside image, font, form,
  frame or connection), ``nosniff``, no framing, no referrer.

Documents leave the server only through ``/document/…``: files of the index, as
downloads (``Content-Disposition: attachment``), never rendered in the app's origin.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from database import DatabaseError
from web.errors import BadCredentials, LockedOut, LoginRefused
from web.favicon import favicon_ico, favicon_png
from web.service import WebService
from web.ui import CSS, THEME, build_app

log = logging.getLogger(__name__)

SESSION_COOKIE = "coop_session"
SESSION_CHECK_THREADS = 8
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
PUBLIC_PATHS = {"/login", "/login/", "/logout", "/logout/", "/favicon.ico", "/favicon.png", "/robots.txt"}
# relative to the page's <base>: right under a reverse proxy's path prefix too
ICON_LINK = "<link rel='icon' type='image/png' sizes='64x64' href='favicon.png'>"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


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


class SecurityMiddleware:
    """Access rules and security headers for every request (see the module's docstring)."""

    def __init__(self, app: ASGIApp, service: WebService, root_path: str = "") -> None:
        self.app = app
        self.service = service
        self.root_path = root_path.rstrip("/")
        self._limiter: anyio.CapacityLimiter | None = None  # our own threads: never waiting behind Gradio's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # the session is checked in the database (at most once a second per token): off the event loop
        if self.service.login_required:
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(SESSION_CHECK_THREADS)
            refusal = await anyio.to_thread.run_sync(self.refuse, scope, limiter=self._limiter)
        else:
            refusal = self.refuse(scope)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self._send_with_headers(refusal, scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._send_with_headers(self.app, scope, receive, send)

    def refuse(self, scope: Scope) -> ASGIApp | None:
        """The response that refuses this request, or None to let it through."""
        path = _path(scope)
        service = self.service
        if not service.login_required:
            if _host_name(_header(scope, b"host")) not in LOCAL_HOSTS:
                return PlainTextResponse(
                    "Sans comptes configurés, l'assistant ne répond qu'aux adresses de cette machine (localhost). "
                    "Créez des comptes (python -m assistant add-user NOM --admin) pour l'ouvrir au réseau.",
                    status_code=403,
                )
            return None
        if path in PUBLIC_PATHS:
            return None
        user = service.sessions.user(_cookie(scope, SESSION_COOKIE))
        if user is None:
            accept = _header(scope, b"accept")
            if scope.get("method") == "GET" and "text/html" in accept:
                return RedirectResponse(f"{self.root_path}/login", status_code=303)
            return JSONResponse({"detail": "Connectez-vous d'abord."}, status_code=401)
        if path.rstrip("/").endswith("/gradio_api/upload") and not user.admin:
            log.warning("upload refused to %s", user.name)
            return JSONResponse({"detail": "L'envoi de fichiers est réservé aux administrateurs."}, status_code=403)
        return None

    async def _send_with_headers(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_wrapper(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
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

        await app(scope, receive, send_wrapper)


LOGIN_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connexion · Assistant documentaire · coopération santé</title>
<link rel="icon" type="image/png" sizes="64x64" href="favicon.png">
<style>
body {{ font-family: system-ui, sans-serif; background: #f7f7f4; display: flex; justify-content: center; padding-top: 10vh; }}
form {{ background: white; padding: 2em; border-radius: 8px; box-shadow: 0 1px 4px #0002; width: 22em; }}
label {{ display: block; margin-top: 1em; }} input {{ width: 100%; padding: .5em; box-sizing: border-box; }}
button {{ margin-top: 1.5em; padding: .6em 1.2em; }} .error {{ color: #a40000; }}
</style></head>
<body><form method="post" action="login" id="login-form">
<h1>Assistant documentaire</h1><p>Connectez-vous avec votre compte de l'équipe.</p>
{message}
<label for="username">Nom d'utilisateur</label><input id="username" name="username" autocomplete="username" required value="{name}">
<label for="password">Mot de passe</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Se connecter</button>
</form></body></html>"""


def login_page(message: str = "", name: str = "", status_code: int = 200) -> HTMLResponse:
    note = f"<p class='error' role='alert' id='login-error'>{html.escape(message)}</p>" if message else ""
    return HTMLResponse(LOGIN_PAGE.format(message=note, name=html.escape(name, quote=True)), status_code=status_code)


def add_routes(app: FastAPI, service: WebService, root_path: str) -> None:
    """Login, logout and document downloads: ours, before Gradio's routes."""
    root = root_path.rstrip("/")

    def wants_html(request: Request) -> bool:
        return "text/html" in request.headers.get("accept", "")

    @app.get("/login")
    @app.get("/login/")
    def login_form(request: Request) -> Response:
        if not service.login_required:
            return RedirectResponse(f"{root}/", status_code=303)
        return login_page()

    @app.post("/login")
    @app.post("/login/")
    async def login(request: Request) -> Response:
        if not service.login_required:
            return RedirectResponse(f"{root}/", status_code=303)
        form = await request.form()
        name = str(form.get("username", "")).strip()[:64]
        password = str(form.get("password", ""))[:1024]
        address = request.client.host if request.client else "?"
        try:
            # the lockout counts are in the database, and Argon2 is slow on purpose: both in a worker
            # thread, never on the event loop
            await anyio.to_thread.run_sync(service.throttle.check, name, address)
            user = await anyio.to_thread.run_sync(service.users.verify, name, password)
        except DatabaseError as exc:  # nobody can be checked while the database is away: say so
            log.error("login impossible: %s", exc)
            if wants_html(request):
                return login_page(str(exc), name, 503)
            return JSONResponse({"detail": str(exc)}, status_code=503)
        except LoginRefused as exc:
            if isinstance(exc, BadCredentials):
                await anyio.to_thread.run_sync(service.throttle.failed, name, address)
                log.warning("failed login for %r from %s", name, address)
            status = 429 if isinstance(exc, LockedOut) else 401
            if wants_html(request):
                return login_page(str(exc), name, status)
            return JSONResponse({"detail": str(exc)}, status_code=status)
        try:
            await anyio.to_thread.run_sync(service.throttle.succeeded, name)
            token = await anyio.to_thread.run_sync(service.sessions.open, user)
        except DatabaseError as exc:
            log.error("session not opened: %s", exc)
            return login_page(str(exc), name, 503) if wants_html(request) else JSONResponse({"detail": str(exc)}, status_code=503)
        response: Response = (
            RedirectResponse(f"{root}/", status_code=303) if wants_html(request) else JSONResponse({"success": True})
        )
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(service.sessions.max_age),
            path=f"{root}/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",  # behind an HTTPS proxy (X-Forwarded-Proto from a trusted address)
        )
        return response

    @app.get("/logout")
    @app.get("/logout/")
    def logout(request: Request) -> Response:
        service.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(f"{root}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=f"{root}/")
        return response

    @app.get("/favicon.ico")
    def icon() -> Response:
        return Response(favicon_ico(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.png")
    def icon_png() -> Response:
        return Response(favicon_png(64), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/document/{source:path}")
    def document(source: str) -> Response:
        """An indexed document as a download; anything else is 404."""
        path = service.document_path(source)
        if path is None:
            return PlainTextResponse("Document introuvable dans l'index.", status_code=404)
        name = path.name
        ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
                "Cache-Control": "private, no-store",
            },
        )


def create_app(service: WebService, blocks: gr.Blocks | None = None) -> FastAPI:
    """The whole web application: our routes and rules, with the Gradio page mounted inside."""
    settings = service.settings
    root = settings.root_path.rstrip("/")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_routes(app, service, root)
    demo = blocks or build_app(service)

    def current_user(request: Request) -> str | None:
        user = service.sessions.user(request.cookies.get(SESSION_COOKIE))
        return user.name if user else None

    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=[],
        run_history=False,  # Gradio would keep past questions in the browser and offer to upload them elsewhere
        auth_dependency=current_user if service.login_required else None,
        root_path=root or None,
        max_file_size=f"{settings.max_upload_mb:g}mb",
        show_error=False,
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        pwa=False,
        theme=THEME,
        css=CSS,
        head=ICON_LINK,
    )
    app.add_middleware(SecurityMiddleware, service=service, root_path=root)
    return app


@dataclass
class RunningServer:
    """A server started in a thread (tests, benchmarks); ``stop()`` ends it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def server_config(app: FastAPI, host: str, port: int, trusted_proxies: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=True,  # X-Forwarded-For/-Proto, believed from trusted_proxies only
        forwarded_allow_ips=trusted_proxies,
        server_header=False,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )


def start_in_thread(app: FastAPI, host: str, port: int, trusted_proxies: str = "127.0.0.1") -> RunningServer:
    server = uvicorn.Server(server_config(app, host, port, trusted_proxies))
    thread = threading.Thread(target=server.run, name="web-server", daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started and time.time() < deadline and thread.is_alive():
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError(f"the web server did not start on {host}:{port}")
    return RunningServer(f"http://{host}:{port}/", server, thread)


def serve(app: FastAPI, host: str, port: int, trusted_proxies: str = "127.0.0.1") -> None:
    uvicorn.Server(server_config(app, host, port, trusted_proxies)).run()

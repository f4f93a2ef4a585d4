"""The HTTP application around the Gradio page: login, document downloads, the server.

Gradio is mounted inside a FastAPI app of our own, so that every request goes
through ``web.middleware.SecurityMiddleware`` first (the routes served, body limits,
login, roles, session binding, security headers: see there).

Documents leave the server only through ``/document/…``: files of the index, as
downloads (``Content-Disposition: attachment``), never rendered in the app's origin.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import anyio
import gradio as gr
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from database import DatabaseError
from web.errors import BadCredentials, LockedOut, LoginRefused
from web.favicon import favicon_ico, favicon_png
from web.health import Readiness
from web.messages import DATABASE_TROUBLE
from web.middleware import SESSION_COOKIE, SecurityMiddleware
from web.request_log import RequestLog
from web.service import WebService
from web.ui import CSS, THEME, build_app

log = logging.getLogger(__name__)

# relative to the page's <base>: right under a reverse proxy's path prefix too
ICON_LINK = "<link rel='icon' type='image/png' sizes='64x64' href='favicon.png'>"


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
    """Login, logout, the icon and document downloads: ours, before Gradio's routes."""
    add_login_routes(app, service, root_path.rstrip("/"))
    add_file_routes(app, service)
    add_health_routes(app, Readiness(service))


def add_health_routes(app: FastAPI, readiness: Readiness) -> None:
    """``/healthz`` (the process answers) and ``/readyz`` (it can answer questions): no login, no internal detail."""
    no_store = {"Cache-Control": "no-store"}

    @app.get("/healthz")
    def healthz() -> Response:
        return JSONResponse({"status": "ok"}, headers=no_store)

    @app.get("/readyz")
    async def readyz() -> Response:
        ready, body = await anyio.to_thread.run_sync(readiness.report)
        return JSONResponse(body, status_code=200 if ready else 503, headers=no_store)


def add_login_routes(app: FastAPI, service: WebService, root: str) -> None:
    """The login form, its POST (throttled, counted before the password is checked) and the logout."""

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
            await anyio.to_thread.run_sync(service.throttle.attempt, name, address)  # counted before the check
            user = await anyio.to_thread.run_sync(service.users.verify, name, password)
        except DatabaseError as exc:  # nobody can be checked while the database is away: say so, without its address
            log.error("login impossible: %s", exc)
            if wants_html(request):
                return login_page(DATABASE_TROUBLE, name, 503)
            return JSONResponse({"detail": DATABASE_TROUBLE}, status_code=503)
        except LoginRefused as exc:
            if isinstance(exc, BadCredentials):
                log.warning("failed login for %r from %s", name, address)
            status = 429 if isinstance(exc, LockedOut) else 401
            if wants_html(request):
                return login_page(str(exc), name, status)
            return JSONResponse({"detail": str(exc)}, status_code=status)
        try:
            await anyio.to_thread.run_sync(service.throttle.succeeded, name, address)
            token = await anyio.to_thread.run_sync(service.sessions.open, user)
        except DatabaseError as exc:
            log.error("session not opened: %s", exc)
            return (
                login_page(DATABASE_TROUBLE, name, 503)
                if wants_html(request)
                else JSONResponse({"detail": DATABASE_TROUBLE}, status_code=503)
            )
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


def add_file_routes(app: FastAPI, service: WebService) -> None:
    """The icon, and the indexed documents as downloads (never rendered in the app's origin)."""

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
        # Gradio serves nothing of the index's own folders, whatever a request names
        blocked_paths=[str(settings.data_dir.resolve()), str(settings.docs_dir.resolve())],
    )
    # Mounted, Gradio never marks the page as launched, and then skips its own check of the file paths
    # that a request's data may name (processing_utils._check_allowed): a chat history holding
    # {"path": "/etc/passwd"} came back as a link to a copy. Launched, only its own uploads pass.
    demo.has_launched = True
    app.add_middleware(SecurityMiddleware, service=service, root_path=root)
    app.add_middleware(RequestLog)  # added last: outermost, it sees every answer, refusals included
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

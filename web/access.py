"""Which requests reach the app, how much they may send, and whose Gradio session they name.

Gradio mounts many routes that this app never uses (``component_server``, ``process_recording``,
``stream``, ``proxy=``, run history, monitoring, vibe editing…), some of which take a body from
anyone logged in. Here is the one list of the routes the page, the HTTP API and the login need;
any other path is answered 404 before Gradio sees it, whatever its method.

Each route says what body it may carry (none, the login form, JSON, the admins' uploads) and the
limit is applied to every request before anything parses it, login included: a ``Content-Length``
over the limit is refused at once (413), and a body sent without one is counted as it arrives.

Gradio keys everything of a page (its ``gr.State`` values, running answers, the stop button, the
heartbeat that frees them) by a ``session_hash`` that the browser draws and sends in clear (URLs,
proxy logs). With login, every session hash a request carries is replaced by a keyed hash of the
user's name and that value (``scope_session``): two people who send the same value reach two
different sessions, so nobody can read, stop or close someone else's page by copying its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode

BodyKind = Literal["none", "form", "json", "upload"]
SessionPlace = Literal["", "body", "query", "path"]

LOGIN_FORM_BYTES = 16 * 1024  # a name and a password
SMALL_JSON_BYTES = 16 * 1024  # cancel, reset


@dataclass(frozen=True)
class Route:
    """One route the app serves: methods, path (after the root path), body, who may call it."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    body: BodyKind = "none"
    public: bool = False  # reachable before login
    admin: bool = False  # admins only (Gradio has no roles: checked here, and again by the handlers)
    session: SessionPlace = ""  # where the request names a Gradio session
    max_body: int | None = None  # a smaller limit than the kind's

    def allows(self, method: str) -> bool:
        return method in self.methods or (method == "HEAD" and "GET" in self.methods)


def _route(methods: str, path: str, **kwargs: object) -> Route:
    return Route(frozenset(methods.split()), re.compile(path + r"/?\Z"), **kwargs)  # type: ignore[arg-type]


_API = "/gradio_api"
_NAME = r"[A-Za-z0-9_\-]{1,100}"
_ID = r"[A-Za-z0-9_\-]{1,100}"

ROUTES: tuple[Route, ...] = (
    # ours (web.server)
    _route("GET POST", "/login", body="form", public=True, max_body=LOGIN_FORM_BYTES),
    _route("GET", "/logout", public=True),
    _route("GET", "/favicon.ico", public=True),
    _route("GET", "/favicon.png", public=True),
    _route("GET", "/robots.txt", public=True),
    _route("GET", "/healthz", public=True),  # process up (web.health)
    _route("GET", "/readyz", public=True),  # database, index and model reachable; one word each
    _route("GET", r"/document/.+"),
    # the page and what it loads
    _route("GET", "/?"),
    _route("GET", "/config"),
    _route("GET", "/theme.css"),
    _route("GET", f"{_API}/theme.css"),
    _route("GET", r"/(assets|static|svelte)/[^\0]+"),
    _route("GET", f"{_API}/info"),
    _route("GET", f"{_API}/startup-events"),
    # answers and every other event of the page: the queue
    _route("POST", f"{_API}/queue/join", body="json", session="body"),
    _route("GET", f"{_API}/queue/data", session="query"),
    _route("GET", f"{_API}/heartbeat/(?P<session>{_ID})", session="path"),
    _route("POST", f"{_API}/cancel", body="json", session="body", max_body=SMALL_JSON_BYTES),
    _route("POST", f"{_API}/reset", body="json", max_body=SMALL_JSON_BYTES),
    # the HTTP API (gradio_client and scripts)
    _route("POST", f"{_API}/call/(v2/)?{_NAME}", body="json", session="body"),
    _route("GET", f"{_API}/call/(v2/)?{_NAME}/{_ID}"),
    # files: the admins' uploads, and what Gradio serves from its own cache (never a URL: see refuse_file)
    _route("POST", f"{_API}/upload", body="upload", admin=True),
    _route("GET", f"{_API}/upload_progress", admin=True),
    _route("GET", f"{_API}/file=.+"),
)


def find_route(path: str) -> Route | None:
    """The route this path belongs to (any method), or None: then it is not served."""
    for route in ROUTES:
        if route.pattern.match(path):
            return route
    return None


def body_limit(route: Route, json_bytes: int, upload_bytes: int) -> int:
    """The most bytes a request to this route may send."""
    if route.max_body is not None:
        return route.max_body
    return {"none": 0, "form": LOGIN_FORM_BYTES, "json": json_bytes, "upload": upload_bytes}[route.body]


_URL_LIKE = re.compile(r"\A\s*([a-z][a-z0-9+.\-]*:|[/\\]{2})", re.I)


def refuse_file(path: str) -> bool:
    """A ``/gradio_api/file=…`` request that names a URL or another host (Gradio would fetch it for the page)."""
    target = path.split("/file=", 1)[1] if "/file=" in path else ""
    return bool(_URL_LIKE.match(target))


# -- Gradio sessions bound to their person ------------------------------------------------------


class SessionScope:
    """Replace the session hashes a request carries by a keyed hash of (user, value)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def scoped(self, user: str, session_hash: str) -> str:
        digest = hmac.new(self._secret, f"{user}\0{session_hash}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def in_body(self, user: str, body: bytes) -> bytes:
        """The JSON body with its ``session_hash`` scoped; other bodies unchanged (Gradio refuses them)."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        if not isinstance(data, dict) or not isinstance(data.get("session_hash"), str):
            return body
        data["session_hash"] = self.scoped(user, data["session_hash"])
        return json.dumps(data).encode()

    def in_query(self, user: str, query: bytes) -> bytes:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        return urlencode([(k, self.scoped(user, v) if k == "session_hash" else v) for k, v in pairs]).encode("latin-1")

    def in_path(self, user: str, path: str, match: re.Match[str]) -> str:
        start, end = match.span("session")
        return path[:start] + self.scoped(user, match.group("session")) + path[end:]


# -- requests forwarded by a proxy ---------------------------------------------------------------

FORWARDING_HEADERS = (b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-real-ip", b"forwarded", b"via")


def forwarded(headers: Iterable[tuple[bytes, bytes]], http_version: str) -> bool:
    """True when a proxy passed this request on: its forwarding headers, or HTTP/1.0 (nginx's default
    ``proxy_pass`` speaks HTTP/1.0 and sends none of those headers; browsers speak 1.1 or 2)."""
    return http_version == "1.0" or any(key.lower() in FORWARDING_HEADERS for key, _ in headers)

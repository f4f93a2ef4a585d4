"""What a load balancer and an operator see: /healthz, /readyz and one log line per request.

Real uvicorn, Gradio and Chroma with fast fakes (bag-of-words embedder, scripted model), as
tests/unit/test_web_http.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from assistant.backends import BackendUnavailable
from tests.e2e.conftest import RunningApp, login, start_app
from tests.fakes import HashEmbedder, ScriptedBackend
from web.health import Readiness
from web.request_log import configure_logging, loggable_path


class ServerBackend(ScriptedBackend):
    """A scripted model that, like a model server, can be up or down (``check``)."""

    def __init__(self) -> None:
        super().__init__(fn=lambda messages: "Réponse scriptée.")
        self.down = False
        self.checks = 0

    def check(self, timeout: float = 3.0) -> None:
        self.checks += 1
        if self.down:
            raise BackendUnavailable("Le serveur http://10.1.2.3:8000 (clé sk-secret) ne répond pas.")


@pytest.fixture(scope="module")
def app_with_accounts(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    yield from start_app(tmp_path_factory.mktemp("ops"), HashEmbedder(), ServerBackend(), users=True)


def test_health_and_readiness_answer_without_login_and_without_internals(app_with_accounts: RunningApp) -> None:
    anonymous = httpx.Client(base_url=app_with_accounts.url, timeout=30)
    health = anonymous.get("healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert health.headers["cache-control"] == "no-store"
    ready = anonymous.get("readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "index": "ok", "model": "ok"}}
    assert anonymous.post("readyz").status_code == 405, "no body is taken"
    assert anonymous.get("").status_code in (303, 401), "everything else still needs a login"


def test_readiness_names_the_part_that_is_down_and_nothing_of_it(app_with_accounts: RunningApp) -> None:
    service = app_with_accounts.service
    backend = service.assistant.backend
    assert isinstance(backend, ServerBackend)
    readiness = Readiness(service, cache_seconds=0)
    backend.down = True
    try:
        ready, body = readiness.report()
    finally:
        backend.down = False
    assert not ready and body["checks"]["model"] == "unavailable"
    assert "10.1.2.3" not in json.dumps(body) and "sk-secret" not in json.dumps(body)
    assert readiness.report()[0], "ready again once the server is back"


def test_readiness_is_checked_at_most_once_per_period(app_with_accounts: RunningApp) -> None:
    backend = app_with_accounts.service.assistant.backend
    assert isinstance(backend, ServerBackend)
    readiness = Readiness(app_with_accounts.service, cache_seconds=60)
    before = backend.checks
    for _ in range(20):
        assert readiness.report()[0]
    assert backend.checks == before + 1, "twenty requests, one check of the model server"


def test_an_empty_index_is_not_ready(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    for app in start_app(tmp_path_factory.mktemp("ops-empty"), HashEmbedder(), ServerBackend(), users=True):
        for source in list((app.docs).iterdir()):
            source.unlink()
        app.service.indexer.sync()
        ready, body = Readiness(app.service, cache_seconds=0).report()
        assert not ready and body["checks"]["index"] == "empty"
        response = httpx.get(f"{app.url}readyz", timeout=30)
        assert response.status_code == 503 and response.json()["ready"] is False


def test_each_request_is_logged_once_with_its_user_and_no_secret(
    app_with_accounts: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    bob = login(app_with_accounts.url, "bob")
    with caplog.at_level(logging.INFO, logger="web.requests"):
        bob.get("document/000_1bb8a8b098313e5b.txt?token=sk-dans-la-requete")
        httpx.get(f"{app_with_accounts.url}nulle-part", timeout=30)
    lines = [r for r in caplog.records if r.name == "web.requests"]
    download = next(r for r in lines if getattr(r, "path", "").startswith("/document/"))
    assert (download.method, download.status, download.user) == ("GET", 200, "bob")  # type: ignore[attr-defined]
    assert download.duration_ms >= 0  # type: ignore[attr-defined]
    refused = next(r for r in lines if getattr(r, "path", "") == "/nulle-part")
    assert (refused.status, refused.user) == (404, "-")  # type: ignore[attr-defined]
    text = "\n".join(r.getMessage() for r in lines)
    assert "sk-dans-la-requete" not in text, "never the query string"
    assert "bob" in text and len([r for r in lines if getattr(r, "path", "") == "/nulle-part"]) == 1


def test_a_logged_path_cannot_forge_a_line() -> None:
    assert loggable_path("/a\nINFO faux: admin connecté") == "/a\\x0aINFO faux: admin connecté"
    assert len(loggable_path("/x" * 500)) == 200
    assert loggable_path("/gradio_api/call/v2/ask/ev3nt1d") == "/gradio_api/call/v2/ask/…"


def test_json_log_lines_are_one_object_each(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("json", "INFO")
        logging.getLogger("web.requests").info(
            "GET / 200 1.0ms bob", extra={"method": "GET", "path": "/", "status": 200, "duration_ms": 1.0, "user": "bob"}
        )
        logging.getLogger("ailleurs").debug("sous le niveau")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO" and record["logger"] == "web.requests"
    assert (record["status"], record["user"], record["path"]) == (200, "bob", "/")

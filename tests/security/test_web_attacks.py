"""Attacks on the running web app over HTTP, as a colleague with a staff account (or nobody) would try them.

Real uvicorn, Gradio, Chroma and database; the models are the fast fakes of tests/fakes.py (what is
attacked here is the web layer, not the answers). Each test names the hole it closes (issue: "Closed to
everyone who should not get in").
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import re
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.e2e.conftest import USERS, RunningApp, login, start_app
from tests.fakes import HashEmbedder, ScriptedBackend
from tests.security.gradio_http import call, components, events, file_payload

pytestmark = pytest.mark.timeout(180)  # an attack that works often hangs instead of failing

QUESTION = "Combien d'entreprises françaises la French Healthcare Alliance China fédère-t-elle ?"
MARK = "French Healthcare Alliance China"  # the admin's question, as her page shows and shares it
SECRET_MARK = "ceci-est-un-secret-du-serveur"


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "La FHAC fédère 135 entreprises [1].")
    yield from start_app(tmp_path_factory.mktemp("attacks"), HashEmbedder(), backend, users=True)


@pytest.fixture(scope="module")
def local_app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "Réponse scriptée.")
    yield from start_app(tmp_path_factory.mktemp("attacks-local"), HashEmbedder(), backend)


def _outside_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"  # outside Gradio's upload folder, like /etc/passwd or the database
    secret.write_text(SECRET_MARK)
    return secret


def _poisoned(component: dict[str, Any], path: str) -> Any:
    """A value for this input that names a server file wherever Gradio would look for one."""
    file = file_payload(path)
    if component.get("type") in ("chatbot", "state"):
        return [
            {"role": "user", "content": [{"type": "file", "file": file}]},
            {"role": "assistant", "content": {"path": path, "meta": file["meta"]}},
        ]
    return file


def _gradio_files_holding(marker: str, since: float) -> list[Path]:
    root = Path(os.environ.get("GRADIO_TEMP_DIR") or Path("/tmp") / "gradio")
    found = []
    for path in root.rglob("*") if root.exists() else []:
        try:
            if path.is_file() and path.stat().st_mtime >= since and marker.encode() in path.read_bytes()[:4096]:
                found.append(path)
        except OSError:
            continue
    return found


# -- 1. no server file through the data of a request ------------------------------------------


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_no_event_of_the_page_serves_a_server_file_named_in_its_data(app: RunningApp, tmp_path: Path, who: str) -> None:
    client = login(app.url, "bob" if who == "staff" else "alice")
    secret = _outside_file(tmp_path)
    started = time.time() - 1
    parts = components(client)
    tried = 0
    for event in events(client):
        for target in (str(secret), "/etc/passwd", "/proc/self/environ", str(app.service.settings.data_dir / "assistant.db")):
            data = [_poisoned(parts.get(i, {}), target) for i in event.inputs]
            result = call(client, event.fn_index, data, timeout=30)
            tried += 1
            text = result.text
            assert SECRET_MARK not in text and "root:x:0:0" not in text, (event, target)
            for link in re.findall(r"gradio_api/file=[^\"\\]+", text):
                served = client.get(link)
                assert SECRET_MARK not in served.text and "root:" not in served.text, (event, link)
    assert tried > 40, "every event of the page was tried"
    assert not _gradio_files_holding(SECRET_MARK, started), "no copy of the file in Gradio's cache"
    assert not _gradio_files_holding("root:x:0:0", started)


def test_the_chat_history_a_client_sends_is_never_read(app: RunningApp, tmp_path: Path) -> None:
    bob = login(app.url, "bob")
    secret = _outside_file(tmp_path)
    started = time.time() - 1
    history = _poisoned({"type": "chatbot"}, str(secret))
    job = bob.post("gradio_api/call/chat", json={"data": [QUESTION, history, [], None]})
    assert job.status_code == 200
    stream = bob.get(f"gradio_api/call/chat/{job.json()['event_id']}")
    assert SECRET_MARK not in stream.text and "file=" not in stream.text
    assert not _gradio_files_holding(SECRET_MARK, started), "no copy of the file in Gradio's cache"
    nobody = httpx.Client(base_url=app.url, timeout=30)
    assert nobody.post("gradio_api/call/chat", json={"data": [QUESTION, history, [], None]}).status_code == 401


# -- 5. sessions bound to their person ------------------------------------------------------


def _event_with(client: httpx.Client, input_id: str, output_id: str) -> int:
    parts = components(client)
    ids = {c["props"].get("elem_id"): i for i, c in parts.items()}
    return next(e.fn_index for e in events(client) if ids[input_id] in e.inputs and ids[output_id] in e.outputs)


def test_a_session_hash_opens_nothing_of_someone_else(app: RunningApp) -> None:
    alice, bob = login(app.url, "alice"), login(app.url, "bob")
    chat = next(e for e in events(alice) if e.api_name == "chat")
    pick = _event_with(alice, "share-pick", "share-text")
    session = "c0ffee-admin-page"
    answered = call(alice, chat.fn_index, [QUESTION, None, [], None], session)
    assert answered.output is not None, answered.text
    own = call(alice, pick, [None, None], session)
    assert own.output is not None and MARK in str(own.output[0]), "the admin's own page shares her answer"
    stolen = call(bob, pick, [None, None], session)
    assert stolen.output is not None and MARK not in stolen.text and stolen.output[0] == "", stolen.text
    # the admin's page is intact after that
    again = call(alice, pick, [None, None], session)
    assert again.output is not None and MARK in str(again.output[0])


def test_a_session_hash_in_the_query_or_path_is_bound_too(app: RunningApp) -> None:
    bob = login(app.url, "bob")
    alice = login(app.url, "alice")
    chat = next(e for e in events(alice) if e.api_name == "chat")
    session = "c0ffee-admin-stream"
    joined = alice.post(
        "gradio_api/queue/join", json={"data": [QUESTION, None, [], None], "fn_index": chat.fn_index, "session_hash": session}
    )
    assert joined.status_code == 200
    # bob listens on the admin's session: nothing of hers comes to him (his own session has no event)
    with bob.stream("GET", "gradio_api/queue/data", params={"session_hash": session}, timeout=10) as stream:
        first = next((line for line in stream.iter_lines() if line.startswith("data:")), "")
    assert MARK not in first and "process_completed" not in first
    with alice.stream("GET", "gradio_api/queue/data", params={"session_hash": session}, timeout=30) as stream:
        mine = "".join(line for line in stream.iter_lines() if "process_completed" in line)
    assert MARK in mine, "the admin still gets her own answer"


# -- 6. login throttling -----------------------------------------------------------------------


def _login(url: str, name: str, password: str, address: str) -> int:
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.post(
            "login", data={"username": name, "password": password}, headers={"x-forwarded-for": address}
        ).status_code


def test_parallel_guesses_are_checked_a_few_times_and_never_lock_the_admin_out(app: RunningApp) -> None:
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(lambda i: _login(app.url, "alice", f"devine-{i}", "10.0.0.66"), range(30)))
    elapsed = time.monotonic() - started
    # three free tries, then one more each time the doubling wait (1 s, 2 s, 4 s…) runs out meanwhile
    checked = 3 + math.ceil(math.log2(elapsed + 1))
    assert codes.count(401) <= checked, f"each try is counted before its check: {codes} in {elapsed:.1f} s"
    assert codes.count(429) >= 30 - checked
    assert 429 in [_login(app.url, "alice", f"encore-{i}", "10.0.0.66") for i in range(3)], "the guesser waits"
    assert _login(app.url, "alice", USERS["alice"][0], "10.0.0.1") == 200, "the admin, from her own address, is not locked out"
    assert app.service.throttle.unlock("alice") >= 1, "an admin clears the delays"
    assert _login(app.url, "alice", "devine-apres", "10.0.0.66") == 401, "checked again at once"


def test_forwarded_addresses_are_believed_only_from_the_configured_proxy(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "Réponse scriptée.")
    started = start_app(
        tmp_path_factory.mktemp("untrusted-proxy"), HashEmbedder(), backend, users=True, trusted_proxies="10.9.9.9"
    )
    running = next(started)
    try:
        codes = [_login(running.url, f"nom{i}", "x", f"10.1.{i}.{i}") for i in range(21)]
        assert codes[:20] == [401] * 20
        assert codes[20] == 429, "a made-up X-Forwarded-For does not give a fresh address"
    finally:
        next(started, None)


def test_the_unlock_command_clears_a_name(app: RunningApp) -> None:
    from typer.testing import CliRunner

    from coop_assistant.cli import app as cli

    assert 429 in [_login(app.url, "bob", f"faux-{i}", "10.0.0.77") for i in range(6)]
    data = app.service.settings.data_dir
    result = CliRunner().invoke(cli, ["unlock", "bob", "--data", str(data)])
    assert result.exit_code == 0 and "tout de suite" in result.output, result.output
    assert _login(app.url, "bob", USERS["bob"][0], "10.0.0.77") == 200


# -- 7, 8. routes, bodies, outside URLs -----------------------------------------------------------


def test_the_file_route_never_fetches_an_outside_url(app: RunningApp) -> None:
    bob = login(app.url, "bob")
    for target in ("https://example.org/x.png", "http://127.0.0.1:1/x", "//example.org/x", "HTTPS://example.org/"):
        response = bob.get(f"gradio_api/file={target}")
        # refused by the app's own gate, before Gradio (which fetches public URLs for the page, defeating its CSP)
        assert response.status_code == 403 and "fichiers de l'application" in response.text, target


def test_routes_nobody_uses_are_not_served(app: RunningApp) -> None:
    alice = login(app.url, "alice")
    for method, path in [
        ("POST", "gradio_api/component_server"),
        ("POST", "gradio_api/component_server/"),
        ("POST", "gradio_api/process_recording"),
        ("POST", "gradio_api/stream/abc"),
        ("GET", "gradio_api/proxy=http://example.org/"),
        ("GET", "gradio_api/runs"),
        ("GET", "monitoring"),
        ("POST", "gradio_api/vibe-edit"),
        ("GET", "gradio_api/openapi.json"),
        ("GET", "gradio_api/mcp/sse"),
        ("POST", "gradio_api/run/chat"),
    ]:
        response = alice.request(method, path, files={"files": ("a.bin", b"x" * (2 << 20))} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.status_code)


def test_bodies_over_their_limit_are_refused_before_they_are_read(app: RunningApp) -> None:
    bob = login(app.url, "bob")
    big = b'{"data": ["' + b"x" * (31 << 20) + b'"]}'
    started = time.monotonic()
    assert bob.post("gradio_api/call/chat", content=big, headers={"content-type": "application/json"}).status_code == 413
    nobody = httpx.Client(base_url=app.url, timeout=60)
    assert nobody.post("login", content=b"username=a&password=" + b"x" * (30 << 20)).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * (1 << 20)

    refused = nobody.post("login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 413
    assert time.monotonic() - started < 30
    assert bob.post("gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 403, "uploads are for admins"


# -- 12. no login: this machine only ----------------------------------------------------------------


def test_without_accounts_requests_passed_on_by_a_proxy_are_refused(local_app: RunningApp) -> None:
    url = local_app.url
    assert httpx.get(url, timeout=10).status_code == 200
    for headers in ({"x-forwarded-for": "203.0.113.5"}, {"forwarded": "for=203.0.113.5"}, {"x-real-ip": "203.0.113.5"}):
        response = httpx.get(url, headers=headers, timeout=10)
        assert response.status_code == 403 and "localhost" in response.text, headers
    assert httpx.get(f"{url}config", headers={"origin": "http://intranet.example"}, timeout=10).status_code == 403

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives, without accounts too
        for _ in range(10):
            yield b"x" * (1 << 20)

    big = httpx.post(f"{url}gradio_api/queue/join", content=chunks(), headers={"content-type": "application/json"}, timeout=60)
    assert big.status_code == 413
    # nginx's plain « proxy_pass http://127.0.0.1:PORT » keeps a local Host and speaks HTTP/1.0
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as raw:
        raw.sendall(f"GET / HTTP/1.0\r\nHost: 127.0.0.1:{parsed.port}\r\n\r\n".encode())
        reply = raw.recv(200).decode("latin-1")
    assert " 403 " in reply.split("\r\n", 1)[0], reply


def test_without_accounts_the_admin_may_open_the_app_on_purpose(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "Réponse scriptée.")
    started = start_app(tmp_path_factory.mktemp("open"), HashEmbedder(), backend, open_without_login=True)
    running = next(started)
    try:
        assert httpx.get(running.url, headers={"x-forwarded-for": "203.0.113.5"}, timeout=10).status_code == 200
    finally:
        next(started, None)


# -- 13. internal details for admins only ----------------------------------------------------------


def test_staff_see_no_model_server_or_database_details(app: RunningApp, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.backends import BackendUnavailable
    from web.messages import user_message

    error = BackendUnavailable("Le serveur de modèles ne répond pas à http://10.2.3.4:8000/v1. Démarrez-le.")
    assert "10.2.3.4" not in user_message(error, admin=False)
    assert "10.2.3.4" in user_message(error, admin=True)
    bob = login(app.url, "bob")
    config = bob.get("config").text
    assert app.service.assistant.backend_note not in config, "the model line is on the admin page only"

    from database import DatabaseUnavailable

    def down(*args: Any) -> None:
        raise DatabaseUnavailable("Base de données injoignable : /srv/secret/assistant.db (postgres://u@db.interne:5432).")

    monkeypatch.setattr(app.service.throttle, "attempt", down)
    page = httpx.post(f"{app.url}login", data={"username": "bob", "password": "x"}, headers={"accept": "text/html"})
    assert page.status_code == 503 and "base de données" in page.text
    assert "/srv/secret" not in page.text and "db.interne" not in page.text


# -- 14. files ---------------------------------------------------------------------------------------


def test_the_data_folder_and_database_are_private(app: RunningApp) -> None:
    data = app.service.settings.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "assistant.db").stat().st_mode) == 0o600


def test_uploads_are_checked_by_content_not_by_name(app: RunningApp, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    fake = tmp_path / "rapport.pdf"
    fake.write_bytes(b"<!doctype html><html><body><p>Pas un PDF</p><script>alert(1)</script></body></html>")
    alice = Client(app.url, auth=("alice", USERS["alice"][0]), verbose=False)
    with pytest.raises(Exception, match=r"rapport\.pdf.*refusé.*pas à un fichier PDF"):
        alice.predict([handle_file(str(fake))], False, api_name="/upload")
    assert not (app.docs / "rapport.pdf").exists()
    real = tmp_path / "note.txt"
    real.write_text("Une note de coopération, en texte.")
    report, _ = alice.predict([handle_file(str(real))], False, api_name="/upload")
    assert (app.docs / "note.txt").exists(), report

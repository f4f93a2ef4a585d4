"""Shared fixtures. Unit tests use the fakes in tests/fakes.py; integration tests the real parts."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "documents"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
GOLDEN = ROOT / "tests" / "golden" / "golden.jsonl"
ARTIFACTS = ROOT / "test-artifacts"


# What a test needs beyond Python, found from the fixtures it asks for: ``pytest -m "not models and not browser"``
# runs what needs neither the models nor Chromium (each marker is registered in pyproject.toml).
NEEDS = {
    "postgres": {"postgres_server"},
    "models": {"real_embedder", "sample_index", "small_llm"},
    "browser": {"browser", "session", "page"},
    "chroma_server": {"chroma_server"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for marker, needs in NEEDS.items():
            if fixtures & needs or (marker == "postgres" and "postgresql" in item.name):
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(autouse=True)
def _no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``ASSISTANT_*`` variable nor ``.env`` file of the developer's reaches a test: each sets what it needs."""
    from assistant.config import Settings
    from index.config import IndexSettings

    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    for cls in (IndexSettings, Settings):
        monkeypatch.setitem(cls.model_config, "env_file", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    """A copy of the sample corpus that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(DOCUMENTS, target)
    return target


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    from index.config import IndexSettings
    from index.embeddings import SentenceTransformerEmbedder

    s = IndexSettings()
    embedder = SentenceTransformerEmbedder(s.embedding_model, s.model_cache_dir, s.embedding_dtype)
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, real_embedder):  # type: ignore[no-untyped-def]
    """The sample corpus indexed once with the real embedding model, in embedded Chroma."""
    from index.state import IndexState
    from index.store import Store
    from index.sync import Indexer

    data = tmp_path_factory.mktemp("index")
    store = Store.open(data)
    state = IndexState.open(data)
    report = Indexer(DOCUMENTS, state, store, real_embedder).sync()
    assert not report.failed
    return state, store


@pytest.fixture(scope="session")
def small_llm():  # type: ignore[no-untyped-def]
    """The 0.5B embedded model: weaker than the users' 1.5B but fast enough for tests."""
    from assistant.backends import LlamaCppBackend
    from index.models import default_cache_dir

    backend = LlamaCppBackend("qwen2.5-coder-0.5b-instruct", default_cache_dir(), n_ctx=4096, temperature=0.0)
    backend.load()
    return backend


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real `chroma run` server on a free loopback port, stopped after the session."""
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    exe = Path(sys.executable).with_name("chroma")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


# -- databases: every database-touching test runs on SQLite and on a real PostgreSQL -----------------


def postgres_bindir() -> Path | None:
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<version>/bin (not on PATH)."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if found:
        return max(found, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    exe = shutil.which("initdb")
    return Path(exe).parent if exe else None


@dataclass
class PostgresServer:
    """A PostgreSQL server of the test session: its own folder, loopback only, a password."""

    host: str
    port: int
    user: str
    password: str

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """initdb + pg_ctl in a temporary folder (as the unprivileged `postgres` user when run as root), stopped after."""
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (Debian package postgresql): run bash scripts/setup-test.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="coop-pg-"))
    as_user: dict[str, int] = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        account = pwd.getpwnam("postgres") if _has_user("postgres") else pwd.getpwnam("nobody")
        as_user = {"user": account.pw_uid, "group": account.pw_gid}
        os.chown(base, account.pw_uid, account.pw_gid)
    password = secrets.token_hex(16)
    pwfile = base / "password"
    pwfile.write_text(password + "\n")
    if as_user:
        os.chown(pwfile, as_user["user"], as_user["group"])
    data = base / "data"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "assistant", "--pwfile", str(pwfile), "--auth=scram-sha-256",
         "-E", "UTF8", "--no-locale", "--no-instructions"],
        check=True, capture_output=True, cwd=base, env=env, **as_user,
    )  # fmt: skip
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
        "-c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"  # a test server: speed
    )
    subprocess.run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o", options, "start"],
        check=True, capture_output=True, cwd=base, env=env, **as_user,
    )  # fmt: skip
    try:
        yield PostgresServer("127.0.0.1", port, "assistant", password)
    finally:
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True, cwd=base, env=env, **as_user,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database for this test: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assistant.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{secrets.token_hex(6)}"
    server.admin(f"CREATE DATABASE {name}")
    yield server.url(name)
    server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture()
def db(database_url: str):  # type: ignore[no-untyped-def]
    """The test's database, migrated; its connections closed after."""
    from database import Database

    database = Database.open(database_url)
    yield database
    database.dispose()


@pytest.fixture()
def state(db):  # type: ignore[no-untyped-def]
    from index.state import IndexState

    return IndexState(db)


@pytest.fixture()
def sqlite_state(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The index state in a SQLite file only: for tests whose subject is not the database (formats, bad files)."""
    from database import Database
    from index.state import IndexState

    database = Database.open(f"sqlite:///{tmp_path / 'assistant.db'}")
    yield IndexState(database)
    database.dispose()

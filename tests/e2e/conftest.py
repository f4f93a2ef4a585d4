"""The web chat served by uvicorn in-process on a free loopback port, over a fresh index of the sample corpus."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.conftest import ARTIFACTS, DOCUMENTS, free_port
from web.server import RunningServer, create_app, start_in_thread
from web.service import WebService
from web.users import write_user

USERS = {"alice": ("motdepasse-alice", True), "bob": ("motdepasse-bob", False)}


@dataclass
class RunningApp:
    url: str
    service: WebService
    docs: Path
    server: RunningServer


def start_app(
    tmp: Path,
    embedder: Any,
    llm: Any,
    users: bool = False,
    extra_docs: dict[str, str] | None = None,
    root_path: str = "",
    top_k: int = 3,
    prepare: Callable[[Path], None] | None = None,
    **settings: Any,
) -> Iterator[RunningApp]:
    docs, data = tmp / "docs", tmp / "data"
    shutil.copytree(DOCUMENTS, docs)
    for name, text in (extra_docs or {}).items():
        (docs / name).write_text(text, encoding="utf-8")
    if prepare is not None:
        prepare(docs)
    state = IndexState.open(data)
    if users:
        for name, (password, admin) in USERS.items():
            write_user(state.db, name, password, admin)
    config = Settings(docs_dir=docs, data_dir=data, **{"max_upload_mb": 1, "root_path": root_path, **settings})
    store = Store.open(data)
    indexer = Indexer(docs, state, store, embedder, chunk_size=config.chunk_size, chunk_overlap=config.chunk_overlap)
    report = indexer.sync()
    assert not report.failed, report.failed
    retriever = Retriever.from_settings(config, state, store, embedder)
    assistant = Assistant(retriever, llm, "Réponses du modèle de test", top_k=top_k, abstain_below=config.abstain_below)
    service = WebService(config, assistant, indexer)
    server = start_in_thread(create_app(service), "127.0.0.1", free_port(), config.trusted_proxies)
    url = server.url
    assert httpx.get(url + ("login" if users else ""), timeout=10).status_code == 200
    yield RunningApp(url, service, docs, server)
    server.stop()


@pytest.fixture(scope="module")
def web_app(tmp_path_factory, real_embedder, small_llm) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    yield from start_app(tmp_path_factory.mktemp("web"), real_embedder, small_llm)


@pytest.fixture(scope="module")
def web_app_login(tmp_path_factory, real_embedder, small_llm) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    yield from start_app(tmp_path_factory.mktemp("weblogin"), real_embedder, small_llm, users=True)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def login(url: str, name: str) -> httpx.Client:
    """An HTTP client with a session (the login form's own POST)."""
    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("login", data={"username": name, "password": USERS[name][0]})
    assert response.status_code == 200, response.text
    return client


# -- the browser (Debian's Chromium driven by Playwright), for the browser tests --------------

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


class Page:
    """A fresh browser context and page that records every request leaving for another host."""

    def __init__(self, browser, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR", accept_downloads=True)
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _route(self, route) -> None:  # type: ignore[no-untyped-def]
        host = urlparse(route.request.url).hostname or ""
        if host not in ("127.0.0.1", "localhost") and not route.request.url.startswith(("data:", "blob:")):
            self.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()


@pytest.fixture()
def session(browser, artifacts: Path) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    p = Page(browser, artifacts)
    yield p
    p.context.close()


@pytest.fixture()
def page(session: Page):  # type: ignore[no-untyped-def]
    return session.page

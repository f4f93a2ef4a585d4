"""The web chat started in-process on a free loopback port, over a fresh index of the sample corpus."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from assistant.service import Service, hash_password
from index.store import Store
from index.sync import Indexer
from tests.conftest import ARTIFACTS, DOCUMENTS, free_port

USERS = {"alice": ("motdepasse-alice", True), "bob": ("motdepasse-bob", False)}


@dataclass
class RunningApp:
    url: str
    service: Service
    docs: Path


def start_app(tmp: Path, embedder, llm, users: bool = False) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    import app as web

    docs, data = tmp / "docs", tmp / "data"
    shutil.copytree(DOCUMENTS, docs)
    users_file = None
    if users:
        users_file = tmp / "users.json"
        users_file.write_text(
            json.dumps({n: {"password_sha256": hash_password(p, n), "admin": a} for n, (p, a) in USERS.items()})
        )
    settings = Settings(docs_dir=docs, data_dir=data, users_file=users_file, max_upload_mb=1)
    store = Store.open(data)
    indexer = Indexer(docs, data, store, embedder, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
    indexer.sync()
    retriever = Retriever.from_settings(settings, store, embedder)
    assistant = Assistant(
        retriever, llm, "Réponses du modèle intégré de test (0.5B)", top_k=3, abstain_below=settings.abstain_below
    )
    service = Service(settings, assistant, indexer)
    demo = web.build_app(service)
    demo.queue(default_concurrency_limit=1)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        auth=(lambda u, p: web.service_check(service, u, p)) if users else None,
        max_file_size="1mb",
        allowed_paths=[str(docs.resolve())],
        css=web.CSS,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield RunningApp(url, service, docs)
    demo.close()


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

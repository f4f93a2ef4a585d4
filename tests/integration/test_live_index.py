"""A sync run from the command line is seen by a running chat without restart: same database, same `chroma run` server."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.backends import ExtractiveBackend
from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.conftest import DOCUMENTS, ROOT, free_port
from web.server import create_app, start_in_thread
from web.service import WebService

NEW_FACT = "Le programme Lotus a formé 314 sages-femmes à Da Nang en 2025, avec l'appui de l'hôpital de Hué."
QUESTION = "Combien de sages-femmes le programme Lotus a-t-il formées à Da Nang ?"


def test_a_command_line_sync_is_seen_by_the_running_chat(
    chroma_server: str,
    database_url: str,
    real_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("003_3e44cb0d4884cc0f.txt", "004_2f689f248befe050.txt"):
        shutil.copy(DOCUMENTS / name, docs / name)
    prefix = f"live{secrets.token_hex(3)}"  # this test's own collection on the shared server
    settings = Settings(
        docs_dir=docs,
        data_dir=tmp_path / "chat-data",
        chroma_url=chroma_server,
        database_url=database_url,
        collection_prefix=prefix,
    )  # type: ignore[arg-type]
    state = IndexState.from_settings(settings)
    store = Store.open(settings.data_dir, chroma_server)
    indexer = Indexer.from_settings(settings, state, store, real_embedder)
    indexer.sync()
    retriever = Retriever.from_settings(settings, state, store, real_embedder)
    service = WebService(settings, Assistant.from_settings(settings, retriever, ExtractiveBackend()), indexer)
    service.start_refresher(every=0.5)
    server = start_in_thread(create_app(service), "127.0.0.1", free_port())
    try:
        assert "Lotus" not in str(service.assistant.ask(QUESTION).passages[:1])
        generation = state.generation()

        (docs / "lotus.txt").write_text(f"Programme Lotus\n\n{NEW_FACT}\n", encoding="utf-8")
        env = {
            **os.environ,
            "ASSISTANT_CHROMA_URL": chroma_server,
            "ASSISTANT_DATABASE_URL": database_url,
            "ASSISTANT_COLLECTION_PREFIX": prefix,
        }
        cli = subprocess.run(
            [sys.executable, "-m", "index", "sync", "--docs", str(docs), "--data", str(tmp_path / "cli-data")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert cli.returncode == 0, cli.stderr
        assert "ajouté    lotus.txt" in cli.stdout

        committed = time.monotonic()
        while time.monotonic() - committed < 10:  # the refresher loads the new generation by itself
            snapshot = retriever._snapshot
            if snapshot is not None and snapshot.generation > generation:
                break
            time.sleep(0.1)
        seen_after = time.monotonic() - committed
        assert snapshot is not None and snapshot.generation == generation + 1, "loaded before anyone asked"
        assert seen_after < 5, f"seen {seen_after:.1f} s after the commit"
        assert "lotus.txt" in service.sources() and "lotus.txt" in service.status()["sources"]

        with httpx.Client(base_url=server.url, timeout=60) as client:  # a person asking the running chat
            from gradio_client import Client

            answer = Client(server.url, verbose=False).predict(QUESTION, [], api_name="/ask")
            assert client.get("document/lotus.txt").status_code == 200, "the new document can be downloaded"
        why = {k: answer.get(k) for k in ("abstention_reason", "draft", "relevance")} | {
            "passages": [(p["source"], p["score"]) for p in answer.get("passages", [])],
            "new chunks in the chat's snapshot": sum("Lotus" in c.text for c in retriever.snapshot().chunks),
        }
        assert "314" in answer["answer"] and answer["citations"][0]["source"] == "lotus.txt", why
    finally:
        server.stop()
        service.close()
        state.db.dispose()

"""The web service follows index versions committed elsewhere (another copy, the command line) without restart."""

from __future__ import annotations

import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from database import Database
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.fakes import HashEmbedder, ScriptedBackend
from web.service import WebService


def test_a_generation_committed_by_another_process_is_loaded_in_the_background(
    docs: Path, tmp_path: Path, state: IndexState
) -> None:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    store = Store.open(data)
    indexer = Indexer(docs, state, store, embedder)
    indexer.sync()
    retriever = Retriever(store, embedder, state, candidates=20, dense_weight=0.5)
    service = WebService(Settings(docs_dir=docs, data_dir=data), Assistant(retriever, ScriptedBackend(["x"]), "test"), indexer)
    retriever.snapshot()
    service.start_refresher(every=0.2)
    other_db = Database.open(state.db.engine.url.render_as_string(hide_password=False))
    try:
        (docs / "nouveau.txt").write_text("Le centre de Hué accueille 27 internes de pédiatrie en 2026.", encoding="utf-8")
        other = Indexer(docs, IndexState(other_db), store, embedder)  # another process's sync, the same database
        report = other.sync()
        assert report.added == ["nouveau.txt"]
        committed = time.monotonic()
        while time.monotonic() - committed < 5 and retriever._snapshot.generation != 2:  # type: ignore[union-attr]
            time.sleep(0.05)
        assert retriever._snapshot.generation == 2, "loaded before anyone asked"  # type: ignore[union-attr]
        assert "nouveau.txt" in service.sources() and "nouveau.txt" in service.status()["sources"]
        assert service.status()["last_sync"]["added"] == ["nouveau.txt"], "the last report is the other process's"
        assert any("27 internes" in p.text for p in retriever.retrieve("internes de pédiatrie à Hué en 2026", 3).passages)
    finally:
        service.close()
        other_db.dispose()

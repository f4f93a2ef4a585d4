"""The source viewer of a page that would take hours to draw: its text, at the deadline, and the others still drawn."""

from __future__ import annotations

import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.render import PageText, RenderedPage
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.documents import make_pdf, xobject_bomb_pdf
from tests.fakes import HashEmbedder, ScriptedBackend
from web.service import WebService

SECONDS = 2.0
CAPTION = "Convention de jumelage hospitalier entre Hue et Lyon"


def test_a_page_too_costly_to_draw_is_shown_as_its_text(tmp_path: Path) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    # 10^6 strokes: read in a second, drawn in minutes
    (docs / "piege.pdf").write_bytes(xobject_bomb_pdf(levels=6, fanout=10, caption=CAPTION))
    (docs / "sage.pdf").write_bytes(make_pdf([["Le budget atteint 2,4 millions d'euros."]]))
    settings = Settings(docs_dir=docs, data_dir=data, render_timeout_seconds=SECONDS)
    embedder, store, state = HashEmbedder(), Store.open(data), IndexState.open(data)
    indexer = Indexer(docs, state, store, embedder)
    started = time.monotonic()
    report = indexer.sync()
    assert not report.failed and time.monotonic() - started < 30, "it indexes quickly: only drawing it is costly"
    assistant = Assistant(Retriever(store, embedder, state), ScriptedBackend(["-"]), "test")
    service = WebService(settings, assistant, indexer)
    try:
        started = time.monotonic()
        shown = service.page_image("piege.pdf", 1)
        assert time.monotonic() - started < SECONDS + 8
        assert isinstance(shown, PageText) and CAPTION in shown.text and "ASSISTANT_RENDER_TIMEOUT_SECONDS" in shown.why
        drawn = service.page_image("sage.pdf", 1, "Le budget atteint")
        assert isinstance(drawn, RenderedPage) and drawn.found, "the next page is drawn as usual"
    finally:
        service.close()

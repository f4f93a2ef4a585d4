"""A document committed a moment ago is retrieved even when the vector index has not caught up with its records."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.retrieval import Retriever
from index.state import IndexState
from index.store import Store, StoredChunk
from index.sync import Indexer
from tests.fakes import HashEmbedder

FACT = "Le programme Lotus a formé 314 sages-femmes à Da Nang en 2025."


class LaggingStore(Store):
    """A real store whose vector search leaves out one document's chunks for its first `lag` searches.

    That is what a server shows between a commit and the moment its vector index holds the new
    vectors: the records (``chunks``) already have them, the nearest-neighbour search not yet.
    """

    def __init__(self, inner: Store, hidden_source_hash: str, lag: int) -> None:
        self.__dict__.update(inner.__dict__)
        self.hidden = hidden_source_hash
        self.lag = lag
        self.searches = 0

    def query(self, name: str, embedding: Sequence[float], n: int, doc_hashes: Sequence[str] | None = None) -> list[StoredChunk]:
        self.searches += 1
        hits = super().query(name, embedding, n, doc_hashes)
        if self.searches <= self.lag:
            return [h for h in hits if h.doc_hash != self.hidden]
        return hits


def _index(tmp_path: Path, state: IndexState) -> tuple[Store, str]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "autre.txt").write_text("Le jumelage hospitalier entre Lyon et Hanoï date de 2019.\n", encoding="utf-8")
    (docs / "lotus.txt").write_text(f"Programme Lotus\n\n{FACT}\n", encoding="utf-8")
    store = Store.open(tmp_path / "data")
    Indexer(docs, state, store, HashEmbedder()).sync()
    manifest = state.manifest()
    assert manifest is not None
    return store, manifest.documents["lotus.txt"].hash


@pytest.mark.parametrize("lag", [1, 3])
def test_the_newest_document_is_found_once_the_vector_index_catches_up(
    tmp_path: Path, sqlite_state: IndexState, lag: int
) -> None:
    store, lotus = _index(tmp_path, sqlite_state)
    lagging = LaggingStore(store, lotus, lag)
    retriever = Retriever(lagging, HashEmbedder(), sqlite_state, candidates=20, dense_weight=0.8)
    passages = retriever.retrieve("Combien de sages-femmes le programme Lotus a-t-il formées ?", k=2).passages
    assert passages[0].source == "lotus.txt" and passages[0].dense > 0, [(p.source, p.dense) for p in passages]
    assert lagging.searches == lag + 1  # asked again until every live chunk could be returned, no more


def test_a_vector_index_that_stays_behind_still_answers_and_says_so(
    tmp_path: Path, sqlite_state: IndexState, caplog: pytest.LogCaptureFixture
) -> None:
    store, lotus = _index(tmp_path, sqlite_state)
    lagging = LaggingStore(store, lotus, lag=1000)
    retriever = Retriever(lagging, HashEmbedder(), sqlite_state, candidates=20, dense_weight=0.8)
    with caplog.at_level(logging.WARNING, logger="assistant.retrieval"):
        passages = retriever.retrieve("Combien de sages-femmes le programme Lotus a-t-il formées ?", k=2).passages
    assert lagging.searches == 6  # the first search and five more, then the answer goes on
    assert "vector index behind its records" in caplog.text
    # keyword search still has the newest document: it is not lost, only ranked without its vector
    assert "lotus.txt" in [p.source for p in passages]
    assert next(p for p in passages if p.source == "lotus.txt").dense == 0


def test_an_up_to_date_index_is_searched_once(tmp_path: Path, sqlite_state: IndexState) -> None:
    store, lotus = _index(tmp_path, sqlite_state)
    lagging = LaggingStore(store, lotus, lag=0)
    retriever = Retriever(lagging, HashEmbedder(), sqlite_state, candidates=20, dense_weight=0.8)
    retriever.retrieve("programme Lotus", k=2)
    retriever.retrieve("jumelage", k=2, sources=["autre.txt"])
    assert lagging.searches == 2

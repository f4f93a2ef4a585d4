"""The real export + verification + cache path, with the real (small) all-MiniLM model and real runtimes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from index.choice import read_choice
from index.embeddings import SentenceTransformerEmbedder, backends_root, choice_path
from index.export import read_export
from index.model_catalog import KNOWN_MODELS
from index.models import default_cache_dir, model_path
from index.prepare import corpus_passages, prepare_choice
from index.state import IndexState
from index.store import Store, StoreError
from index.sync import Indexer
from tests.conftest import DOCUMENTS, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
prepare_script = importlib.import_module("prepare_embeddings")

MINILM = model_path(KNOWN_MODELS["all-minilm-l6-v2"], default_cache_dir())
CANDIDATES = ["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, dict[str, float]]:
    if not MINILM.is_dir():
        pytest.fail("all-MiniLM is not installed: run make setup")
    cache = tmp_path_factory.mktemp("model-cache")
    passages = corpus_passages(DOCUMENTS, 600, 90)
    sets = prepare_script.build_sets(passages)
    assert sets and all(len(s.probes) >= 8 for s in sets), "the golden sets give questions to verify with"
    started = {}
    choice = prepare_choice(str(MINILM), cache, sets, passages, 600, candidates=CANDIDATES, say=lambda _m: None)
    root = backends_root(cache, str(MINILM), SentenceTransformerEmbedder(str(MINILM), cache, backend="torch").cpu)
    for backend in ("onnx", "onnx-int8", "openvino", "openvino-int8"):
        export = read_export(root, backend)
        assert export is not None, f"{backend} exported"
        started[backend] = (export.folder / "export.json").stat().st_mtime
    assert choice.backend in choice.chunks_per_second
    return str(MINILM), cache, started


def test_every_backend_is_timed_and_the_choice_is_verified_and_cached(prepared: tuple[str, Path, dict[str, float]]) -> None:
    name, cache, _ = prepared
    embedder = SentenceTransformerEmbedder(name, cache, backend="torch")
    choice = read_choice(choice_path(cache, name, embedder.cpu))
    assert choice is not None
    assert set(choice.chunks_per_second) | set(choice.failures) == set(CANDIDATES)
    assert choice.verdicts["torch"]["accepted"] and choice.reference_figures["golden-tune"]["hit@5"] > 0.5
    verdict = choice.verdicts[choice.backend]
    assert verdict["accepted"]
    for set_name, figures in choice.reference_figures.items():  # the rule itself, on the recorded figures
        assert all(verdict["figures"][set_name][k] >= v - 0.01 - 1e-9 for k, v in figures.items())
    assert 64 <= choice.max_seq_length <= 512 and choice.longest_chunk_tokens < choice.max_seq_length
    assert not list(backends_root(cache, name, embedder.cpu).glob(".*-partial-*")), "no half-written export left"


def test_float32_exports_give_the_torch_vectors_and_int8_stays_close(prepared: tuple[str, Path, dict[str, float]]) -> None:
    name, cache, _ = prepared
    texts = [p for p in corpus_passages(DOCUMENTS, 600, 90)[:12]]
    reference = SentenceTransformerEmbedder(name, cache, "float32", backend="torch").encode_documents(texts)
    for backend, floor in (("onnx", 0.9999), ("openvino", 0.9999), ("onnx-int8", 0.9), ("openvino-int8", 0.9)):
        vectors = SentenceTransformerEmbedder(name, cache, backend=backend).encode_documents(texts)
        cosines = np.sum(vectors * reference, axis=1)
        assert cosines.min() > floor, f"{backend}: {cosines.min()}"


def test_a_second_preparation_reuses_the_cache(prepared: tuple[str, Path, dict[str, float]]) -> None:
    name, cache, mtimes = prepared
    embedder = SentenceTransformerEmbedder(name, cache, backend="torch")
    root = backends_root(cache, name, embedder.cpu)
    auto = SentenceTransformerEmbedder(name, cache, backend="auto")
    choice = read_choice(choice_path(cache, name, embedder.cpu))
    assert choice is not None and auto.backend == choice.backend, "auto uses what was measured"
    for backend, mtime in mtimes.items():
        assert (root / backend / "export.json").stat().st_mtime == mtime
    info = json.loads((root / "onnx-int8" / "export.json").read_text())
    assert info["versions"]["onnxruntime"], "exports record the library versions they were made with"


def test_changing_to_an_int8_backend_rebuilds_a_new_collection(
    prepared: tuple[str, Path, dict[str, float]], tmp_path: Path
) -> None:
    name, cache, _ = prepared
    data = tmp_path / "data"
    store = Store.open(data)
    state = IndexState.open(data)
    first = Indexer(DOCUMENTS, state, store, SentenceTransformerEmbedder(name, cache, "float32", backend="torch")).sync()
    int8 = SentenceTransformerEmbedder(name, cache, backend="onnx-int8")
    indexer = Indexer(DOCUMENTS, state, store, int8)
    second = indexer.sync()
    assert first.chunks_total == second.chunks_total and second.rebuilt
    assert second.chunks_embedded == second.chunks_total, "every chunk embedded again in the new vector space"
    assert "onnx-int8" in indexer.collection
    question = "Combien d'entreprises françaises la FHAC fédère-t-elle ?"
    torch_collection = Indexer(
        DOCUMENTS, IndexState.open(tmp_path / "x"), store, SentenceTransformerEmbedder(name, cache, "float32", backend="torch")
    ).collection
    assert torch_collection != indexer.collection
    with pytest.raises(StoreError):  # the float32 collection was replaced once the new one was complete
        store.query(torch_collection, int8.embed_query(question), 5)
    int8_hits = {h.id for h in store.query(indexer.collection, int8.embed_query(question), 5)}
    assert len(int8_hits) == 5, "queries use the index's back-end and find passages in its collection"

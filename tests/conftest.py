"""Shared fixtures. Unit tests use the fakes in tests/fakes.py; integration tests the real parts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "documents"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
GOLDEN = ROOT / "tests" / "golden" / "golden.jsonl"
ARTIFACTS = ROOT / "test-artifacts"


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
    from index.store import Store
    from index.sync import Indexer

    data = tmp_path_factory.mktemp("index")
    store = Store.open(data)
    report = Indexer(DOCUMENTS, data, store, real_embedder).sync()
    assert not report.failed
    return data, store


@pytest.fixture(scope="session")
def small_llm():  # type: ignore[no-untyped-def]
    """The 0.5B embedded model: weaker than the users' 1.5B but fast enough for tests."""
    from assistant.llm import LlamaCppBackend
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

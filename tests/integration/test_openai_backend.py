"""The OpenAI-compatible backend against a real server: llama-cpp-python's own ``python -m llama_cpp.server``.

The fixture starts it on a free loopback port with the 0.5B model (found through
the project's model registry), polls it until it lists its model, and stops it
after. The failures a user can meet are played for real: nothing listening, a
model name the server does not serve, a refused API key, a server killed in the
middle of an answer, and an answer the server interrupts for another request.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.backends import BackendUnavailable, GenerationError, OpenAICompatibleBackend, make_backend
from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.models import default_cache_dir, resolve_known
from tests.conftest import free_port

SERVED = "qwen-test"  # the name the server lists (its --model_alias)
KEY = "cle-de-test-7f3a"  # the shared server asks for this key
MESSAGES = [
    {"role": "system", "content": "Tu es un assistant. Réponds en français, en une phrase."},
    {"role": "user", "content": "Quelle est la capitale de la France ?"},
]
LONG = [{"role": "user", "content": "Écris la liste des 40 plus grandes villes de France, une par ligne, avec leur région."}]


@dataclass
class Server:
    url: str  # what ASSISTANT_OPENAI_BASE_URL would hold
    proc: subprocess.Popen[bytes]
    log: Path


def start_server(log: Path, api_key: str | None = None, interrupt_requests: bool = False) -> Server:
    """Start ``python -m llama_cpp.server`` with the 0.5B model on a free loopback port; return once it lists the model."""
    model = resolve_known("qwen2.5-coder-0.5b-instruct", default_cache_dir())
    assert model is not None
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        SERVED,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_batch",
        "512",
        "--n_threads",
        str(os.cpu_count() or 2),
        "--interrupt_requests",
        str(interrupt_requests),
        "--verbose",
        "False",
    ]
    if api_key:
        cmd += ["--api_key", api_key]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/models", headers=headers, timeout=2).status_code == 200:
                return Server(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"llama_cpp.server did not list its model within 120 s:\n{log.read_text(errors='replace')[-2000:]}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared server, as the README advises to run it: an API key, answers never interrupted."""
    running = start_server(tmp_path_factory.mktemp("llama-server") / "server.log", api_key=KEY)
    yield running
    stop(running)


def backend(server: Server, model: str | None = SERVED, key: str | None = KEY, timeout: float = 120.0) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(server.url, model, key, temperature=0.0, timeout=timeout)


def settings(**kw: object) -> Settings:
    """Settings that ignore the developer's own environment for everything these tests depend on."""
    down = f"http://127.0.0.1:{free_port()}"
    base: dict[str, object] = {"ollama_url": down, "llm_model": "/nowhere/model.gguf", "temperature": 0.0}
    return Settings(**(base | kw))  # type: ignore[arg-type]


def test_streams_an_answer_piece_by_piece(server: Server) -> None:
    b = backend(server)
    b.check()
    pieces = list(b.stream(MESSAGES, 60))
    assert len(pieces) > 3, "streamed token by token, not in one block"
    assert "paris" in "".join(pieces).lower()
    short = list(b.stream(LONG, 8))
    assert 0 < len(short) <= 8, "max_tokens is passed on; an answer cut by the token limit is complete, not an error"


def test_pipeline_answers_from_the_sample_index_with_a_citation(server: Server, sample_index, real_embedder) -> None:  # type: ignore[no-untyped-def]
    state, store = sample_index
    chosen, note = make_backend(settings(backend="openai", openai_base_url=server.url, openai_model=SERVED, openai_api_key=KEY))
    assert chosen.name == "openai" and chosen.label == f"Serveur de modèles · {SERVED}"
    assistant = Assistant(Retriever(store, real_embedder, state, candidates=30, dense_weight=0.8), chosen, note, top_k=3)
    answer = assistant.ask(
        "Combien de médecins et personnels de santé vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"
    )
    assert not answer.abstained, answer.draft
    assert "72" in answer.text and answer.language == "fr"
    assert any("72 médecins" in c.quote for c in answer.citations)
    assert answer.backend == "openai" and answer.backend_label == chosen.label


def test_auto_takes_a_configured_server_first(server: Server) -> None:
    chosen, note = make_backend(settings(openai_base_url=server.url, openai_model=SERVED, openai_api_key=KEY), "auto")
    assert chosen.name == "openai" and "ASSISTANT_OPENAI_BASE_URL" in note
    chosen, note = make_backend(settings(), "auto")
    assert chosen.name == "extractive", "not configured: auto does not look for a server"


def test_server_down_says_to_start_it(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    down = OpenAICompatibleBackend(url, SERVED, KEY)
    with pytest.raises(BackendUnavailable, match=re.escape(f"ne répond pas à {url}")) as info:
        down.check(timeout=2)
    assert "Démarrez-le" in str(info.value) and "ASSISTANT_OPENAI_BASE_URL" in str(info.value)
    with pytest.raises(BackendUnavailable, match="ne répond pas"):
        list(down.stream(MESSAGES, 20))
    with pytest.raises(BackendUnavailable, match="ne répond pas"):
        make_backend(settings(backend="openai", openai_base_url=url, openai_model=SERVED))
    with caplog.at_level(logging.WARNING):
        chosen, note = make_backend(settings(openai_base_url=url, openai_model=SERVED, openai_api_key=KEY), "auto")
    assert chosen.name == "extractive"
    assert note.startswith("Serveur de modèles configuré indisponible") and "ne répond pas" in note
    assert KEY not in caplog.text and KEY not in note


def test_model_missing_from_the_server_says_which_it_serves(server: Server) -> None:
    with pytest.raises(BackendUnavailable, match="« mistral-7b » n'est pas servi") as info:
        backend(server, model="mistral-7b").check()
    assert SERVED in str(info.value) and "ASSISTANT_OPENAI_MODEL" in str(info.value)
    with pytest.raises(BackendUnavailable, match=f"ASSISTANT_OPENAI_MODEL.*{SERVED}"):
        backend(server, model=None).check()
    # Why the check at start matters: this server answers with its own model whatever name it is sent.
    assert list(backend(server, model="mistral-7b").stream(MESSAGES, 4))


def test_refused_api_key_says_to_fix_it(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "mauvaise-cle-91b2"
    with pytest.raises(BackendUnavailable, match=r"refuse la clé d'API \(HTTP 401\)") as info:
        backend(server, key=wrong).check()
    assert "ASSISTANT_OPENAI_API_KEY" in str(info.value) and wrong not in str(info.value)
    with pytest.raises(BackendUnavailable, match="refuse la clé"):
        list(backend(server, key=wrong).stream(MESSAGES, 20))
    with pytest.raises(BackendUnavailable, match="demande une clé d'API"):
        backend(server, key=None).check()
    configured = settings(openai_base_url=server.url, openai_model=SERVED, openai_api_key=wrong)
    with caplog.at_level(logging.DEBUG):
        chosen, note = make_backend(configured, "auto")
    assert chosen.name == "extractive" and "refuse la clé" in note
    shown = " ".join([note, caplog.text, repr(configured), str(configured), repr(backend(server, key=wrong))])
    assert wrong not in shown, "the key is a secret: never in a message, a log line or a repr"


def test_answer_interrupted_by_the_server_is_an_error(tmp_path: Path) -> None:
    """llama.cpp's server, by default, ends an answer early when another request arrives: no finish_reason."""
    running = start_server(tmp_path / "server.log", interrupt_requests=True)
    try:
        b = backend(running, key=None)
        received: list[str] = []
        other = threading.Thread(target=lambda: httpx.get(f"{running.url}/models", timeout=60))
        with pytest.raises(GenerationError, match="arrêtée avant la fin"):
            for piece in b.stream(LONG, 300):
                received.append(piece)
                if len(received) == 3:
                    other.start()  # a second user's request, while this answer streams
        other.join()
        assert len(received) >= 3 and len(received) < 300
    finally:
        stop(running)


def test_server_killed_mid_answer(tmp_path: Path) -> None:
    running = start_server(tmp_path / "server.log")
    try:
        b = backend(running, key=None)
        received: list[str] = []
        with pytest.raises(GenerationError, match="coupée pendant la réponse") as info:
            for piece in b.stream(LONG, 300):
                received.append(piece)
                if len(received) == 3:
                    running.proc.kill()
        assert received[:3] and len(received) < 300, "what arrived before the cut was delivered"
        assert "reposez la question" in str(info.value)
    finally:
        stop(running)

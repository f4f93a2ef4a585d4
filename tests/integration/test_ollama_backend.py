"""The Ollama backend against a local stand-in server.

No Ollama server can be installed on these machines, so this small HTTP server
stands in for one: it speaks the documented API that the backend uses
(GET /api/tags, POST /api/chat streaming NDJSON, the 404 "model not found"
error) and can drop the connection mid-answer. Users run the real Ollama.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.backends import BackendUnavailable, GenerationError, OllamaBackend
from tests.conftest import free_port

MESSAGES = [{"role": "system", "content": "Réponds en français."}, {"role": "user", "content": "Bonjour ?"}]


class FakeOllama(BaseHTTPRequestHandler):
    models = ["qwen2.5:7b-instruct"]
    reply = ["L'accord ", "a été signé ", "en 1993 [1]."]
    drop_after: int | None = None
    seen: list[dict] = []  # type: ignore[type-arg]

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass

    def _json(self, status: int, body: dict) -> None:  # type: ignore[type-arg]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": m, "model": m} for m in self.models]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        if self.path != "/api/chat":
            self._json(404, {"error": "not found"})
            return
        if body["model"] not in self.models:
            self._json(404, {"error": f"model '{body['model']}' not found, try pulling it first"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for i, piece in enumerate(self.reply):
            if self.drop_after is not None and i >= self.drop_after:
                self.wfile.flush()
                self.connection.shutdown(2)  # the server goes away mid-answer
                return
            line = {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
        done = {
            "model": body["model"],
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 12,
            "eval_count": 5,
        }
        self.wfile.write((json.dumps(done) + "\n").encode())


@pytest.fixture()
def ollama() -> Iterator[str]:
    FakeOllama.drop_after = None
    FakeOllama.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_streams_an_answer_and_sizes_the_context(ollama: str) -> None:
    backend = OllamaBackend(ollama, "qwen2.5:7b-instruct", num_ctx=8192)
    backend.check()
    long_messages = [{"role": "user", "content": "mot " * 12000}]
    pieces = list(backend.stream(MESSAGES, 100))
    assert "".join(pieces) == "L'accord a été signé en 1993 [1]."
    assert len(pieces) == 3, "streamed piece by piece"
    list(backend.stream(long_messages, 100))
    sent = FakeOllama.seen
    assert sent[0]["stream"] is True and sent[0]["options"]["num_ctx"] == 8192
    assert sent[1]["options"]["num_ctx"] >= 16384, "a long prompt gets a window that holds it, never silently cut"


def test_server_down_says_to_start_ollama() -> None:
    backend = OllamaBackend(f"http://127.0.0.1:{free_port()}", "qwen2.5:7b-instruct")
    with pytest.raises(BackendUnavailable, match="ollama serve"):
        backend.check(timeout=1)


def test_model_not_pulled_says_which_command(ollama: str) -> None:
    backend = OllamaBackend(ollama, "mistral:7b")
    with pytest.raises(BackendUnavailable, match="ollama pull mistral:7b"):
        backend.check()
    with pytest.raises(BackendUnavailable, match="ollama pull mistral:7b"):
        list(backend.stream(MESSAGES, 50))


def test_connection_dropped_mid_answer(ollama: str) -> None:
    FakeOllama.drop_after = 1
    backend = OllamaBackend(ollama, "qwen2.5:7b-instruct")
    received = []
    with pytest.raises(GenerationError, match="coupée"):
        for piece in backend.stream(MESSAGES, 50):
            received.append(piece)
    assert received == ["L'accord "], "what arrived before the cut was delivered"


def test_auto_prefers_a_working_ollama(ollama: str) -> None:
    from assistant.backends import make_backend
    from assistant.config import Settings

    backend, note = make_backend(Settings(ollama_url=ollama, ollama_model="qwen2.5:7b-instruct"), "auto")
    assert backend.name == "ollama" and "Ollama · qwen2.5:7b-instruct" in note
    backend, note = make_backend(Settings(ollama_url=f"http://127.0.0.1:{free_port()}", llm_model="/nowhere/model.gguf"), "auto")
    assert backend.name == "extractive" and "extractives" in note

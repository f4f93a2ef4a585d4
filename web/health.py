"""``/healthz`` and ``/readyz``: is the process up, and can it answer (database, index, model)?

Both are reachable without login (a load balancer or systemd asks them) and say nothing
internal: no address, no message of an exception, only one word per part. What went wrong
is logged on the server. The readiness checks are run at most once per ``CACHE_SECONDS``
whatever the number of requests, one at a time, so that the route cannot be used to load
the database or the model server.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from web.service import WebService

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
MODEL_TIMEOUT = 2.0

State = Literal["ok", "empty", "unavailable", "none"]


class Readiness:
    """The state of the parts an answer needs, checked now and then, never more often than every few seconds."""

    def __init__(self, service: WebService, cache_seconds: float = CACHE_SECONDS) -> None:
        self.service = service
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._checks: dict[str, State] = {}

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(ready, the JSON body): ready when the database and the index answer and the model is not down."""
        with self._lock:  # concurrent requests wait for the one check in progress, then share it
            if time.monotonic() - self._checked_at >= self.cache_seconds:
                self._checks = {"database": self._database(), "index": self._index(), "model": self._model()}
                self._checked_at = time.monotonic()
            checks = dict(self._checks)
        ready = checks["database"] == "ok" and checks["index"] == "ok" and checks["model"] != "unavailable"
        return ready, {"ready": ready, "checks": checks}

    def _database(self) -> State:
        try:
            self.service.state.generation()  # one indexed max(): the cheapest query that reads the database
            return "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is logged
            log.warning("readiness: database unavailable: %s", exc)
            return "unavailable"

    def _index(self) -> State:
        try:
            manifest = self.service.state.manifest()
            if manifest is None or not manifest.documents:
                return "empty"
            if self.service.assistant.retriever.store.count(manifest.collection) == 0:
                log.warning("readiness: the vector store holds nothing of collection %s", manifest.collection)
                return "unavailable"
            return "ok"
        except Exception as exc:
            log.warning("readiness: index unavailable: %s", exc)
            return "unavailable"

    def _model(self) -> State:
        backend = self.service.assistant.backend
        if backend.name == "extractive":
            return "none"  # answers are quoted sentences: degraded, but answering
        check = getattr(backend, "check", None)  # a model server (Ollama, OpenAI-compatible); embedded ones are loaded
        if check is None:
            return "ok"
        try:
            check(timeout=MODEL_TIMEOUT)
            return "ok"
        except Exception as exc:
            log.warning("readiness: model server unavailable: %s", exc)
            return "unavailable"

"""The model queue: first come first served, positions, a slow reader never holds the model, stop frees it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from assistant.backends import GenerationError
from assistant.model_queue import GenerationCancelled, ModelQueue, Waiting


class SlowBackend:
    """Writes its reply word by word, ``delay`` seconds per word; records when each generation ran."""

    name = "slow"
    label = "lent"

    def __init__(self, delay: float = 0.01, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.active = 0
        self.most_active = 0
        self.started: list[str] = []
        self.finished: list[str] = []
        self.tokens = 0
        self._lock = threading.Lock()

    def stream(self, messages: Sequence[dict[str, str]], max_tokens: int) -> Iterator[str]:
        name = messages[-1]["content"]
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            self.started.append(name)
        try:
            for i in range(max_tokens):
                time.sleep(self.delay)
                if self.fail and i == 2:
                    raise GenerationError("le modèle a échoué (test)")
                with self._lock:
                    self.tokens += 1
                yield f"{name}-{i} "
        finally:
            with self._lock:
                self.active -= 1
                self.finished.append(name)


def ask(name: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": name}]


def test_one_caller_gets_every_token_and_no_waiting_event() -> None:
    items = list(ModelQueue().stream(SlowBackend(0), ask("a"), 5))
    assert items == [f"a-{i} " for i in range(5)]


def test_first_come_first_served_with_positions() -> None:
    q, backend = ModelQueue(), SlowBackend(0.02)
    events: dict[str, list[object]] = {}
    first = q.stream(backend, ask("a"), 10)
    events["a"] = [next(first)]  # "a" holds the model now

    def run(name: str) -> None:
        events[name] = list(q.stream(backend, ask(name), 3))

    threads = []
    for name in ("b", "c", "d"):
        t = threading.Thread(target=run, args=(name,))
        t.start()
        threads.append(t)
        deadline = time.time() + 5
        while q.waiting() < len(threads) and time.time() < deadline:  # arrive in this order
            time.sleep(0.005)
    events["a"] += list(first)
    for t in threads:
        t.join(10)
    assert backend.started == ["a", "b", "c", "d"], "served in arrival order"
    assert backend.most_active == 1, "one generation at a time"
    assert events["b"][0] == Waiting(1) and events["c"][0] == Waiting(2) and events["d"][0] == Waiting(3)
    waits_d = [e.position for e in events["d"] if isinstance(e, Waiting)]
    assert waits_d == sorted(waits_d, reverse=True) and waits_d[-1] == 0, "the position only goes down, to its turn"
    for name in "bcd":
        assert [e for e in events[name] if isinstance(e, str)] == [f"{name}-{i} " for i in range(3)]


def test_a_slow_reader_does_not_hold_the_model() -> None:
    q, backend = ModelQueue(), SlowBackend(0.005)
    slow = q.stream(backend, ask("slow"), 20)
    assert next(slow) == "slow-0 "  # then this reader goes quiet
    started = time.perf_counter()
    other = [e for e in q.stream(backend, ask("fast"), 3) if isinstance(e, str)]
    assert other == ["fast-0 ", "fast-1 ", "fast-2 "]
    assert time.perf_counter() - started < 2.0
    assert backend.finished[0] == "slow", "the slow reader's answer was written in full meanwhile"
    assert len([e for e in slow if isinstance(e, str)]) == 19, "and is still there for it to read"


def test_stop_while_generating_frees_the_model() -> None:
    q, backend = ModelQueue(), SlowBackend(0.01)
    cancel = threading.Event()
    answer = q.stream(backend, ask("long"), 10_000, cancel)
    assert next(answer) == "long-0 "
    cancel.set()
    with pytest.raises(GenerationCancelled):
        list(answer)
    deadline = time.time() + 2
    while q.running() and time.time() < deadline:
        time.sleep(0.01)
    assert q.running() == 0 and backend.finished == ["long"]
    assert backend.tokens < 1000, "generation stopped long before its end"


def test_stop_while_waiting_leaves_the_queue() -> None:
    q, backend = ModelQueue(poll_seconds=0.02), SlowBackend(0.01)
    holder = q.stream(backend, ask("a"), 50)
    next(holder)
    cancel = threading.Event()
    waiting = q.stream(backend, ask("b"), 5, cancel)
    assert next(waiting) == Waiting(1)
    cancel.set()
    with pytest.raises(GenerationCancelled):
        next(waiting)
    assert q.waiting() == 0
    list(holder)
    assert "b" not in backend.started


def test_a_reader_that_goes_away_frees_the_model() -> None:
    q, backend = ModelQueue(), SlowBackend(0.01)
    answer = q.stream(backend, ask("gone"), 10_000)
    next(answer)
    answer.close()  # the page was closed: the generator is dropped
    after = [e for e in q.stream(backend, ask("next"), 2) if isinstance(e, str)]
    assert after == ["next-0 ", "next-1 "]
    assert backend.tokens < 1000


def test_a_model_failure_reaches_the_reader_and_frees_the_slot() -> None:
    q = ModelQueue()
    with pytest.raises(GenerationError, match="échoué"):
        list(q.stream(SlowBackend(0, fail=True), ask("x"), 10))
    assert q.running() == 0 and q.waiting() == 0
    assert list(q.stream(SlowBackend(0), ask("y"), 1)) == ["y-0 "]

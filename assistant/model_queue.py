"""One fair queue in front of the language model, for every way to ask.

Every model call of the pipeline (follow-up rewrite, answer) takes a ticket here.
Tickets are served first come, first served; those waiting are told their
position (``Waiting``). When its turn comes, the model writes into a buffer from
its own thread and the slot is released as soon as generation ends, whatever the
reader's pace: a slow or vanished reader never holds the model. A cancel event
(the stop button) frees the model within one token, or leaves the queue at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.backends import ChatBackend, Message
from assistant.errors import AnsweringError

log = logging.getLogger(__name__)


class GenerationCancelled(AnsweringError):
    """The person asking stopped the answer (stop button)."""

    def __init__(self, message: str = "Réponse arrêtée.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Waiting:
    """Where a question stands in the model's queue: ``position`` questions are before it (0: its turn)."""

    position: int


class _Ticket:
    __slots__ = ("cancel",)

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel


_END = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class ModelQueue:
    """Serialise model calls, FIFO, with ``slots`` generations at once (1 for an in-process model)."""

    def __init__(self, slots: int = 1, poll_seconds: float = 0.25) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.poll_seconds = poll_seconds
        self._cond = threading.Condition()
        self._waiting: deque[_Ticket] = deque()
        self._running = 0

    def waiting(self) -> int:
        """How many calls wait for the model now (not counting those generating)."""
        with self._cond:
            return len(self._waiting)

    def running(self) -> int:
        """How many calls hold the model now."""
        with self._cond:
            return self._running

    def _position(self, ticket: _Ticket) -> int:
        # those generating, plus those ahead in the line
        return self._running + self._waiting.index(ticket)

    def _leave(self, ticket: _Ticket) -> None:
        with self._cond:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._cond.notify_all()

    def _release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def stream(
        self,
        backend: ChatBackend,
        messages: Sequence[Message],
        max_tokens: int,
        cancel: threading.Event | None = None,
    ) -> Iterator[Waiting | str]:
        """Wait for the model (yielding ``Waiting`` when someone is ahead), then yield the text deltas.

        Raises ``GenerationCancelled`` when ``cancel`` is set before the answer is complete.
        """
        ticket = _Ticket(cancel or threading.Event())
        waited = False
        with self._cond:
            self._waiting.append(ticket)
        try:
            last = -1
            while True:
                with self._cond:
                    if ticket.cancel.is_set():
                        raise GenerationCancelled()
                    position = self._position(ticket)
                    if position < self.slots and self._waiting[0] is ticket:
                        self._waiting.popleft()
                        self._running += 1
                        self._cond.notify_all()
                        break
                    if position == last:
                        self._cond.wait(self.poll_seconds)
                        continue
                last = position
                waited = True
                yield Waiting(position)  # outside the lock: the reader may take its time
        except BaseException:
            self._leave(ticket)
            raise
        if waited:
            yield Waiting(0)
        yield from self._generate(backend, messages, max_tokens, ticket.cancel)

    def _generate(
        self, backend: ChatBackend, messages: Sequence[Message], max_tokens: int, cancel: threading.Event
    ) -> Iterator[str]:
        buffer: queue.SimpleQueue[object] = queue.SimpleQueue()
        stop = threading.Event()  # the reader left: stop writing

        def produce() -> None:
            try:
                pieces = backend.stream(messages, max_tokens)
                try:
                    for piece in pieces:
                        if cancel.is_set() or stop.is_set():
                            break
                        buffer.put(piece)
                finally:
                    close = getattr(pieces, "close", None)
                    if callable(close):
                        close()  # a generator stops the model there (llama.cpp: no more tokens)
            except BaseException as exc:  # handed to the reader, who raises it in its own thread
                buffer.put(_Failure(exc))
            finally:
                self._release()
                buffer.put(_END)

        worker = threading.Thread(target=produce, name="model-generation", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    item = buffer.get(timeout=self.poll_seconds)
                except queue.Empty:
                    if cancel.is_set():
                        raise GenerationCancelled() from None
                    continue
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    raise item.exc
                if cancel.is_set():
                    raise GenerationCancelled()
                yield str(item)
            if cancel.is_set():
                raise GenerationCancelled()
        finally:
            stop.set()  # a reader that leaves (stop, closed page) stops the model after its current token

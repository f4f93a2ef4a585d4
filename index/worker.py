"""A worker process bounded in time and memory, for the work on files nobody vouches for (reading, drawing).

The parent side (``Worker``) starts ``python -m <module> <address space>``:

- in a session of its own, so that killing it kills what it started too (Tesseract);
- with an environment reduced to what a parser needs (``worker_environment``): no settings of
  the app, no keys, tokens or passwords, no database URL, whatever the parent holds;
- with a private temporary folder (``TMPDIR``), removed once the worker exits or is killed: what
  a killed worker (or its Tesseract) was writing is never left behind.

Each request gets a ``Deadline``; past it the worker is killed and the next request gets a fresh
one. The worker side (``serve``) caps its address space (RLIMIT_AS) and the CPU time of each
request (RLIMIT_CPU, a backstop past the deadline), exits when its parent goes away (removing its
temporary folder and killing what it started), and answers each request with a handler.

Frames on the pipes are 8-byte big-endian lengths followed by a pickle. Only this project's own
worker writes them, so unpickling them is as safe as the worker's code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from index.errors import IndexingError

log = logging.getLogger(__name__)

_HEADER = 8
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_TMP_PREFIX = "coop-worker-"  # the private temporary folders of workers

# What a parser, PDFium and Tesseract need from the environment; anything else stays with the parent.
_KEPT = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "PYTHONIOENCODING", "PYTHONUTF8",
                   "LD_LIBRARY_PATH", "TESSDATA_PREFIX", "OMP_THREAD_LIMIT"})  # fmt: skip
_KEPT_PREFIXES = ("LC_",)
# Never handed on, even under a kept name: the app's settings and anything that looks like a secret.
_SECRET = re.compile(r"^ASSISTANT_|API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DATABASE_URL|_DSN$", re.IGNORECASE)


class WorkerStartError(IndexingError):
    """The worker process cannot start at all (broken installation)."""


class WorkerError(IndexingError):
    """A request the worker did not answer; its caller turns it into its own French message."""


class WorkerTimeout(WorkerError):
    """The request outlived its deadline: the worker was killed."""


class WorkerOutOfMemory(WorkerError):
    """The worker ran out of its address space and exited."""


class WorkerCrashed(WorkerError):
    """The worker died (a signal, a crash in a C library)."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"worker died ({returncode})")
        self.returncode = returncode


class WorkerFailed(WorkerError):
    """The handler refused the request; the message is the French reason."""


class Deadline:
    """When a request must be answered by: ``seconds`` from now, extensible up to ``cap`` seconds from now."""

    def __init__(self, seconds: float, cap: float | None = None) -> None:
        self.started = time.monotonic()
        self.cap = cap
        self._at = self.started + (seconds if cap is None else min(seconds, cap))

    def extend(self, seconds: float) -> None:
        self._at += seconds
        if self.cap is not None:
            self._at = min(self._at, self.started + self.cap)

    @property
    def allowed(self) -> float:
        return self._at - self.started

    @property
    def capped(self) -> bool:
        """Whether the cap is what ends this deadline."""
        return self.cap is not None and self._at >= self.started + self.cap

    def remaining(self) -> float:
        return self._at - time.monotonic()

    def restart(self) -> None:
        """Count from now (the worker is ready: its start is not the request's time)."""
        now = time.monotonic()
        self._at += now - self.started
        self.started = now


def write_frame(stream: IO[bytes], value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(payload).to_bytes(_HEADER, "big") + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any | None:
    """The next value, or None at the end of the stream (the other side exited)."""
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        return None
    size = int.from_bytes(header, "big")
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)


def worker_environment(environ: Mapping[str, str], tmpdir: str) -> dict[str, str]:
    """The environment of a worker: the few variables it needs from ``environ``, none of its secrets."""
    env = {
        name: value
        for name, value in environ.items()
        if (name in _KEPT or name.startswith(_KEPT_PREFIXES)) and not _SECRET.search(name)
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    env["OMP_THREAD_LIMIT"] = "1"  # Tesseract: one thread, the other core embeds
    env["TMPDIR"] = tmpdir  # Python's tempfile (pytesseract's files) and Tesseract write here
    return env


class Worker:
    """One worker process (``python -m module``), started on first use and replaced when it dies or is killed.

    Not thread-safe: one request at a time (callers that share a worker hold a lock).
    """

    def __init__(self, module: str, memory_mb: int, start_seconds: float = 60.0, cpu_seconds: float = 3600.0) -> None:
        self.module = module
        self.memory_mb = memory_mb
        self.start_seconds = start_seconds
        self.cpu_seconds = cpu_seconds  # CPU time a request may use: a backstop past any deadline (see serve)
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None
        self._frames: queue.Queue[Any] = queue.Queue()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before the first request and after a kill)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def tmpdir(self) -> str | None:
        """The running worker's private temporary folder."""
        return self._tmpdir

    def start(self) -> None:
        """Start the worker now (else the first request does)."""
        if self._proc is None or self._proc.poll() is not None:
            self._stop(kill=True)
            self._proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        tmpdir = tempfile.mkdtemp(prefix=_TMP_PREFIX)
        self._tmpdir = tmpdir
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.module, str(self.memory_mb * 1024 * 1024), str(int(self.cpu_seconds) + 1)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=worker_environment(os.environ, tmpdir),
                start_new_session=True,  # its own process group: a kill reaches Tesseract too
            )
        except OSError as exc:
            self._remove_tmpdir()
            raise WorkerStartError(
                f"impossible de lancer le processus de lecture ({exc.strerror}) : réinstallez avec « make setup »"
            ) from exc
        frames: queue.Queue[Any] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=_pump, args=(proc.stdout, frames), daemon=True, name=f"{self.module}-pump").start()
        try:
            ready = frames.get(timeout=self.start_seconds)
        except queue.Empty:
            ready = None
        if ready != ("ready",):
            self._proc = proc
            self._stop(kill=True)
            raise WorkerStartError(
                "le processus de lecture ne démarre pas : réinstallez avec « make setup » (détails dans le journal)"
            )
        self._frames = frames
        return proc

    def call(self, request: object, deadline: Deadline, on_event: Callable[[Any], None] | None = None) -> Any:
        """Send one request and return the worker's answer; raise a WorkerError when there is none.

        ``on_event`` gets what the worker reports meanwhile (it may extend the deadline), which
        counts from when the worker is ready.
        """
        self.start()
        deadline.restart()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            write_frame(proc.stdin, request)
        except OSError:
            self._stop(kill=True)
            raise WorkerCrashed(proc.returncode) from None
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                self._stop(kill=True)
                raise WorkerTimeout(deadline.allowed)
            try:
                frame = self._frames.get(timeout=remaining)
            except queue.Empty:
                continue
            if frame is None:  # the worker died: killed by the kernel, crashed in a C library, ...
                self._stop(kill=True)
                raise WorkerCrashed(proc.returncode)
            kind = frame[0]
            if kind == "event":
                if on_event:
                    on_event(frame[1])
            elif kind == "done":
                return frame[1]
            elif kind == "failed":
                raise WorkerFailed(str(frame[1]))
            elif kind == "memory":  # it exits: the next request gets a fresh worker
                self._stop(kill=False)
                raise WorkerOutOfMemory()

    def close(self) -> None:
        """Let the worker exit (end of its input), kill it if it does not, remove its temporary folder."""
        self._stop(kill=False)

    def _stop(self, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if not kill:
                try:
                    if proc.stdin is not None:
                        proc.stdin.close()  # end of input: the worker exits by itself
                    proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    kill = True
            if kill:  # even when the worker itself is dead: a Tesseract it started may not be
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the worker and what it started (its session)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.error("worker %d did not exit after SIGKILL", proc.pid)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self._remove_tmpdir()

    def _remove_tmpdir(self) -> None:
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _pump(stream: IO[bytes], frames: queue.Queue[Any]) -> None:
    while True:
        try:
            frame = read_frame(stream)
        except (OSError, ValueError, pickle.UnpicklingError, EOFError):
            frame = None
        frames.put(frame)
        if frame is None:
            return


# -- the worker side ------------------------------------------------------------------

# What a handler gets to report progress, and what it returns: ("done", value) or ("failed", French reason).
Emit = Callable[[object], None]
Handler = Callable[[Any, Emit], tuple[str, object]]


def _limit_memory(address_space: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser leaves no core file behind


def _limit_cpu(seconds: int) -> None:
    """Let the next request use ``seconds`` of CPU time at most (SIGXCPU ends the worker past them).

    The parent kills a worker at its deadline, which comes first (one thread: CPU time is at most
    the time elapsed); this ends a worker whose parent is gone while it runs code that holds the
    interpreter (a regular expression, a parser in C), which the parent watch cannot interrupt.
    """
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + 1 + seconds
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _remove_own_tmpdir() -> None:
    """Remove this worker's private temporary folder (its parent cannot any more: it is gone)."""
    tmpdir = os.environ.get("TMPDIR", "")
    if os.path.basename(tmpdir).startswith(_TMP_PREFIX):  # never a folder this worker was not given
        shutil.rmtree(tmpdir, ignore_errors=True)


def _exit_with_parent() -> None:
    """Exit when the parent process goes away (killed while this worker was busy with a hostile file)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                _remove_own_tmpdir()
                os.killpg(0, signal.SIGKILL)  # this worker and what it started (Tesseract)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def serve(handle: Handler, name: str) -> None:
    """Answer requests from stdin on a private copy of stdout until stdin closes (the worker's main)."""
    address_space, cpu_seconds = int(sys.argv[1]), int(sys.argv[2])
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the frames
    inp = sys.stdin.buffer
    logging.basicConfig(level=logging.WARNING, format=f"{name}: %(levelname)s %(message)s")
    _limit_memory(address_space)
    _exit_with_parent()
    write_frame(out, ("ready",))
    while True:
        request = read_frame(inp)
        if request is None:  # closed by its parent, or its parent is gone
            _remove_own_tmpdir()
            return
        _limit_cpu(cpu_seconds)
        try:
            write_frame(out, handle(request, lambda event: write_frame(out, ("event", event))))
        except MemoryError:
            write_frame(out, ("memory",))
            return  # a fresh worker for the next request: this heap may be in pieces

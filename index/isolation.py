"""Read files in a worker process, bounded in time and memory: a hostile file fails alone.

A zip bomb, a PDF whose page tree loops or an endlessly nested web page can make a
parser run for ever, eat all the memory or crash. Read in the indexing process (or the
web process that started a rebuild), such a file would block or kill everything. Here
each file is read by a separate Python process (``python -m index.isolation``) whose
address space is capped (RLIMIT_AS) and which is killed when it takes too long; the
file is then reported as failed with a French reason, and the next file gets a fresh
worker. Any exception a parser raises becomes that file's failure too.

Frames on the pipes are 8-byte big-endian lengths followed by a pickle. Only this
project's own worker writes them, so unpickling them is as safe as the worker's code.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from index.errors import IndexingError
from index.loaders import LoadedDocument, LoadError, LoadEvent, LoadOptions, OnEvent, load_bytes

log = logging.getLogger(__name__)

_HEADER = 8
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


class ReaderStartError(IndexingError):
    """The worker process that reads files cannot start at all (broken installation)."""


@dataclass(frozen=True)
class ReadLimits:
    seconds: float = 120.0  # longest the reading of one file may take, OCR aside
    memory_mb: int = 2048  # address space of the worker process
    start_seconds: float = 60.0  # longest the worker may take to start


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


def timeout_message(seconds: float) -> str:
    return (
        f"lecture abandonnée au bout de {seconds:.0f} s (fichier piégé, abîmé ou trop long à lire) : "
        "vérifiez-le, découpez-le ou augmentez ASSISTANT_PARSE_TIMEOUT_SECONDS"
    )


def memory_message(memory_mb: int) -> str:
    return (
        f"lecture abandonnée : ce fichier demande plus de {memory_mb} Mo de mémoire (fichier piégé ou trop lourd) : "
        "vérifiez-le ou augmentez ASSISTANT_PARSE_MEMORY_MB"
    )


def crash_message(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            how = f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"signal {-returncode}"
    else:
        how = f"code {returncode}"
    return f"la lecture de ce fichier a fait s'arrêter le lecteur ({how}) : fichier piégé ou abîmé, ignoré"


def unexpected_message(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "structure trop profondément imbriquée : fichier piégé ou abîmé, ignoré"
    if isinstance(exc, UnicodeError):
        return f"texte mal encodé dans ce fichier ({exc.__class__.__name__}) : réenregistrez-le (en UTF-8 si c'est du texte)"
    if isinstance(exc, OSError):
        return f"lecture impossible ({exc.strerror or exc.__class__.__name__}) : vérifiez le fichier et ses droits"
    return f"fichier illisible ({exc.__class__.__name__}) : réenregistrez-le depuis son logiciel ou exportez-le en PDF"


class IsolatedReader:
    """Reads one file at a time in a worker process; the worker is replaced when it dies or is killed."""

    def __init__(self, options: LoadOptions | None = None, limits: ReadLimits | None = None) -> None:
        self.options = options or LoadOptions()
        self.limits = limits or ReadLimits()
        self._proc: subprocess.Popen[bytes] | None = None
        self._frames: queue.Queue[Any] = queue.Queue()

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- worker lifecycle ------------------------------------------------------
    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        env["OMP_THREAD_LIMIT"] = "1"  # Tesseract: one thread, the other core embeds
        memory = self.limits.memory_mb * 1024 * 1024
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "index.isolation", str(memory)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise ReaderStartError(
                f"impossible de lancer le lecteur de fichiers ({exc.strerror}) : réinstallez avec « make setup »"
            ) from exc
        frames: queue.Queue[Any] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=self._pump, args=(proc.stdout, frames), daemon=True, name="reader-pump").start()
        try:
            ready = frames.get(timeout=self.limits.start_seconds)
        except queue.Empty:
            ready = None
        if ready != ("ready",):
            self._kill(proc)
            raise ReaderStartError(
                "le lecteur de fichiers ne démarre pas : réinstallez avec « make setup » (détails dans le journal)"
            )
        self._frames = frames
        return proc

    @staticmethod
    def _pump(stream: IO[bytes], frames: queue.Queue[Any]) -> None:
        while True:
            try:
                frame = read_frame(stream)
            except (OSError, ValueError, pickle.UnpicklingError, EOFError):
                frame = None
            frames.put(frame)
            if frame is None:
                return

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.error("reader worker %d did not exit after SIGKILL", proc.pid)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: the worker exits by itself
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill(proc)

    # -- reading ----------------------------------------------------------------
    def read(self, path: Path, name: str | None = None, on_event: OnEvent | None = None) -> LoadedDocument:
        """Read one file in the worker; raise LoadError with a French reason when it cannot be read."""
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self._kill(self._proc)
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None
        try:
            write_frame(proc.stdin, (str(path), name or path.name, self.options))
        except (BrokenPipeError, OSError):
            self._proc = None
            self._kill(proc)
            raise LoadError(crash_message(proc.returncode)) from None
        deadline = time.monotonic() + self.limits.seconds
        allowed = self.limits.seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._proc = None
                self._kill(proc)
                raise LoadError(timeout_message(allowed))
            try:
                frame = self._frames.get(timeout=remaining)
            except queue.Empty:
                continue
            if frame is None:  # the worker died: killed for its memory, crashed in a C library, ...
                self._proc = None
                self._kill(proc)
                raise LoadError(crash_message(proc.returncode))
            kind, payload = frame
            if kind == "event":
                event: LoadEvent = payload
                if event[0] == "ocr" and event[1] == 0:  # OCR starts: each page gets its own time
                    extra = event[2] * self.options.ocr_page_seconds
                    deadline += extra
                    allowed += extra
                if on_event:
                    on_event(event)
            elif kind == "done":
                document: LoadedDocument = payload
                return document
            elif kind == "failed":
                message, worker_exits = payload
                if worker_exits:  # it ran out of memory: let it go, the next file gets a fresh one
                    self.close()
                raise LoadError(str(message))


# -- the worker side ------------------------------------------------------------------
def _limit_memory(address_space: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing parser leaves no core file behind


def serve(address_space: int) -> None:
    """Answer read requests from stdin on a private copy of stdout until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the frames
    inp = sys.stdin.buffer
    logging.basicConfig(level=logging.WARNING, format="reader: %(levelname)s %(message)s")
    _limit_memory(address_space)
    memory_mb = address_space // (1024 * 1024)
    write_frame(out, ("ready",))
    while True:
        request = read_frame(inp)
        if request is None:
            return
        path, name, options = request

        def on_event(event: LoadEvent) -> None:
            write_frame(out, ("event", event))

        try:
            data = Path(path).read_bytes()
            document = load_bytes(data, name, options, on_event)
            del data
            write_frame(out, ("done", document))
        except LoadError as exc:
            write_frame(out, ("failed", (str(exc), False)))
        except MemoryError:
            write_frame(out, ("failed", (memory_message(memory_mb), True)))
            return  # a fresh worker for the next file: this heap may be in pieces
        except Exception as exc:
            log.warning("reading %s failed", name, exc_info=True)
            write_frame(out, ("failed", (unexpected_message(exc), False)))


if __name__ == "__main__":
    serve(int(sys.argv[1]))

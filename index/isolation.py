"""Read files in a worker process, bounded in time and memory: a hostile file fails alone.

A zip bomb, a PDF whose page tree loops or an endlessly nested web page can make a
parser run for ever, eat all the memory or crash. Read in the indexing process (or the
web process that started a rebuild), such a file would block or kill everything. Here
each file is read by a separate Python process (``python -m index.isolation``, see
``index.worker``: capped address space, no secrets in its environment, a private
temporary folder) which is killed when it takes too long; the file is then reported as
failed with a French reason, and the next file gets a fresh worker. Any exception a
parser raises becomes that file's failure too.

Time: ``ReadLimits.seconds`` for the reading, plus ``LoadOptions.ocr_page_seconds`` for
each page sent to OCR, never more than ``ReadLimits.file_seconds`` in all (OCR included).
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.files import NotRegularFileError, read_document
from index.loaders import LoadedDocument, LoadError, LoadEvent, LoadOptions, OnEvent, load_bytes
from index.worker import (
    Deadline,
    Emit,
    Worker,
    WorkerCrashed,
    WorkerFailed,
    WorkerOutOfMemory,
    WorkerStartError,
    WorkerTimeout,
    serve,
)

log = logging.getLogger(__name__)

ReaderStartError = WorkerStartError  # the worker process that reads files cannot start at all


@dataclass(frozen=True)
class ReadLimits:
    seconds: float = 120.0  # longest the reading of one file may take, OCR aside
    memory_mb: int = 2048  # address space of the worker process
    start_seconds: float = 60.0  # longest the worker may take to start
    file_seconds: float = 1800.0  # longest one file may take in all, OCR included


def timeout_message(seconds: float, ocr: bool = False) -> str:
    setting = "ASSISTANT_PARSE_TIMEOUT_SECONDS ou ASSISTANT_OCR_PAGE_SECONDS" if ocr else "ASSISTANT_PARSE_TIMEOUT_SECONDS"
    return (
        f"lecture abandonnée au bout de {seconds:.0f} s (fichier piégé, abîmé ou trop long à lire) : "
        f"vérifiez-le, découpez-le ou augmentez {setting}"
    )


def file_timeout_message(seconds: float) -> str:
    return (
        f"lecture abandonnée au bout de {seconds:.0f} s, la limite d'un fichier, OCR compris "
        "(fichier piégé ou trop long à lire) : découpez-le ou augmentez ASSISTANT_FILE_TIMEOUT_SECONDS"
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
        # no request outlives file_seconds: CPU time past it (plus a margin) ends an orphaned worker
        cpu = self.limits.file_seconds + 60
        self._worker = Worker("index.isolation", self.limits.memory_mb, self.limits.start_seconds, cpu)

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def worker(self) -> Worker:
        return self._worker

    def close(self) -> None:
        self._worker.close()

    def read(
        self, path: Path, name: str | None = None, on_event: OnEvent | None = None, root: Path | None = None
    ) -> LoadedDocument:
        """Read one file in the worker; raise LoadError with a French reason when it cannot be read.

        With ``root`` (the documents folder), the file must be a regular file inside it, reached
        through no link (see ``index.files``); without, the file itself must not be a link.
        """
        deadline = Deadline(self.limits.seconds, self.limits.file_seconds)
        ocr = False

        def on_frame(event: LoadEvent) -> None:
            nonlocal ocr
            if event[0] == "ocr" and event[1] == 0:  # OCR starts: each page gets its own time
                ocr = True
                deadline.extend(event[2] * self.options.ocr_page_seconds)
            if on_event:
                on_event(event)

        request = (str(path), name or path.name, self.options, None if root is None else str(root))
        try:
            document: LoadedDocument = self._worker.call(request, deadline, on_frame)
        except WorkerFailed as exc:
            raise LoadError(str(exc)) from None
        except WorkerTimeout:
            raise LoadError(
                file_timeout_message(deadline.allowed) if deadline.capped else timeout_message(deadline.allowed, ocr)
            ) from None
        except WorkerOutOfMemory:
            raise LoadError(memory_message(self.limits.memory_mb)) from None
        except WorkerCrashed as exc:
            raise LoadError(crash_message(exc.returncode)) from None
        return document


# -- the worker side ------------------------------------------------------------------
def handle(request: Any, emit: Emit) -> tuple[str, object]:
    """Read one file (in the worker): ("done", document) or ("failed", French reason)."""
    path, name, options, root = request
    try:
        data = read_document(Path(path), None if root is None else Path(root))
        document = load_bytes(data, name, options, emit)
        del data
        return ("done", document)
    except LoadError as exc:
        return ("failed", str(exc))
    except NotRegularFileError as exc:
        return ("failed", exc.reason)
    except MemoryError:
        raise
    except Exception as exc:
        log.warning("reading %s failed", name, exc_info=True)
        return ("failed", unexpected_message(exc))


if __name__ == "__main__":
    from index import isolation  # the module's own copy, not __main__'s

    serve(isolation.handle, "reader")

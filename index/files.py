"""Open the files of the documents folder safely: regular files inside the folder only, never what a link points to.

A symbolic link in the documents folder could serve ``/etc/passwd`` as passages to every user; a
named pipe or ``/dev/zero`` would hang whoever reads it. Every byte of a document is read through
``open_document``: each folder on the way is opened without following links (``O_NOFOLLOW``, from
the documents folder down), the file too, without blocking (``O_NONBLOCK``: a pipe opens at once),
and the open file must be a regular one (``fstat``). A file swapped for a link or a pipe between
the listing of the folder and its reading is refused then.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from index.errors import IndexingError

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class NotRegularFileError(IndexingError, OSError):
    """Not a regular file of the documents folder (a link, a pipe, a device, a socket, a path going out)."""

    def __init__(self, reason: str) -> None:
        super().__init__(errno.EPERM, reason)
        self.reason = reason


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in French (None for a regular file or a folder)."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return "lien symbolique"
    if stat.S_ISFIFO(mode):
        return "tube nommé (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "fichier de périphérique"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "fichier spécial"


def refusal(kind: str) -> str:
    """The French reason a non-regular entry of the documents folder is not read."""
    if kind == "lien symbolique":
        return (
            "lien symbolique ignoré : seuls les fichiers ordinaires du dossier de documents sont indexés "
            "(copiez-y le document lui-même)"
        )
    return f"{kind}, pas un fichier ordinaire : ignoré (retirez-le du dossier de documents)"


@contextmanager
def open_document(path: Path, root: Path | None = None) -> Iterator[io.BufferedReader]:
    """Open a regular file for reading, or raise NotRegularFileError (OSError for the usual reasons).

    With ``root``, ``path`` must lie inside it and no folder between them may be a link (``root``
    itself may be: the administrator chose it). Without, only the file itself must not be one.
    """
    if root is None:
        fd = _open_file(str(path), None)
    else:
        try:
            relative = PurePosixPath(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix())
        except ValueError:
            relative = PurePosixPath()
        if not relative.parts:
            raise NotRegularFileError("hors du dossier de documents : ignoré")
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in relative.parts[:-1]:
                try:
                    inner = os.open(part, _DIR_FLAGS, dir_fd=folder)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise NotRegularFileError(refusal("lien symbolique")) from exc
                    raise
                os.close(folder)
                folder = inner
            fd = _open_file(relative.parts[-1], folder)
        finally:
            os.close(folder)
    with os.fdopen(fd, "rb") as handle:
        yield handle


def _open_file(name: str, dir_fd: int | None) -> int:
    try:
        fd = os.open(name, _FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW on a link
            raise NotRegularFileError(refusal("lien symbolique")) from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        kind = "dossier" if stat.S_ISDIR(mode) else kind_of(mode)
    except BaseException:
        os.close(fd)
        raise
    if kind is not None:
        os.close(fd)
        raise NotRegularFileError(refusal(kind))
    return fd


def read_document(path: Path, root: Path | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file (see ``open_document``); at most ``max_bytes`` + 1 of them."""
    with open_document(path, root) as handle:
        return handle.read() if max_bytes is None else handle.read(max_bytes + 1)


def hash_document(path: Path, root: Path | None = None) -> str:
    """SHA-256 of a regular file (see ``open_document``), read in blocks."""
    with open_document(path, root) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

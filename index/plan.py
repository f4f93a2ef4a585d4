"""What a sync will do, found without touching the index: the documents folder scanned (regular files only,
hashed), the plan (added, changed, removed, unchanged, renamed: ``plan_sync`` is pure) and the report."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.files import NotRegularFileError, hash_document, kind_of, refusal
from index.loaders import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScannedFile:
    source: str
    path: Path
    size: int
    hash: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SyncPlan:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    renamed: list[tuple[str, str]]  # (old source, new source): same bytes, nothing to embed

    @property
    def to_index(self) -> list[str]:
        return self.added + self.changed


def plan_sync(previous: dict[str, str], current: dict[str, str], rebuild: bool = False) -> SyncPlan:
    """Compare {source: hash} before and after; decide what each file needs."""
    if rebuild:
        previous = {}
    added = sorted(s for s in current if s not in previous)
    removed = sorted(s for s in previous if s not in current)
    changed = sorted(s for s in current if s in previous and previous[s] != current[s])
    unchanged = sorted(s for s in current if s in previous and previous[s] == current[s])
    removed_by_hash: dict[str, list[str]] = {}
    for source in removed:
        removed_by_hash.setdefault(previous[source], []).append(source)
    renamed = [(removed_by_hash[current[s]][0], s) for s in added if removed_by_hash.get(current[s])]
    return SyncPlan(added, changed, removed, unchanged, renamed)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renamed: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    read_seconds: float = 0.0  # time spent reading files in the worker (it overlaps the embedding)
    embed_seconds: float = 0.0  # time spent embedding and writing chunks
    chunks_total: int = 0
    chunks_embedded: int = 0
    documents_total: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    finished_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "chunks_total": self.chunks_total,
            "seconds": round(self.seconds, 3),
            "renamed": self.renamed,
            "chunks_embedded": self.chunks_embedded,
            "documents_total": self.documents_total,
            "read_seconds": round(self.read_seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "rebuilt": self.rebuilt,
            "finished_at": self.finished_at,
        }


def _entries(docs_dir: Path) -> Iterator[tuple[Path, os.stat_result | None, str | None]]:
    """(path, lstat, error) of every entry below ``docs_dir`` that is not hidden, links never followed."""
    problems: list[OSError] = []
    for folder, dirnames, filenames in os.walk(docs_dir, onerror=problems.append, followlinks=False):
        base = Path(folder)
        for name in list(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
            elif os.path.islink(base / name):  # os.walk lists a link to a folder with the folders, never enters it
                dirnames.remove(name)
                filenames.append(name)
        for name in filenames:
            if name.startswith("."):
                continue
            path = base / name
            try:
                yield path, os.lstat(path), None
            except OSError as exc:
                yield path, None, f"fichier inaccessible ({exc.strerror})"
    for problem in problems:
        if problem.filename is None or Path(problem.filename) == docs_dir:
            raise problem  # the folder itself cannot be listed: no sync may take that for an empty folder
        yield Path(problem.filename), None, f"dossier illisible ({problem.strerror}) : vérifiez ses droits"


def scan_documents(docs_dir: Path, max_bytes: int) -> list[ScannedFile]:
    """List the documents folder (hidden files skipped), hashing each regular file.

    Only regular files inside the folder are read: symbolic links (to a file or a folder, inside
    or outside), named pipes, devices and sockets are reported with a French reason and never
    opened; the hashing itself opens through ``index.files`` (no link followed, no pipe waited on).
    """
    if not docs_dir.is_dir():
        raise FileNotFoundError(f"Le dossier de documents {docs_dir} n'existe pas.")
    out: list[ScannedFile] = []
    for path, info, problem in sorted(_entries(docs_dir), key=lambda entry: entry[0].relative_to(docs_dir).parts):
        rel = path.relative_to(docs_dir)
        source = rel.as_posix()
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 in the name (a file copied from an old system)
            shown = source.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            out.append(
                ScannedFile(shown, path, 0, error="nom de fichier mal encodé (caractères illisibles) : renommez le fichier")
            )
            continue
        if info is None:
            out.append(ScannedFile(source, path, 0, error=problem))
            continue
        kind = kind_of(info.st_mode)
        if kind is not None:  # a link, a pipe, a device, a socket: never opened
            out.append(ScannedFile(source, path, 0, error=refusal(kind)))
            continue
        size = info.st_size
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            out.append(
                ScannedFile(
                    source,
                    path,
                    size,
                    error=f"format non pris en charge ({path.suffix or 'sans extension'}) : ignoré",
                )
            )
        elif size > max_bytes:
            out.append(
                ScannedFile(
                    source,
                    path,
                    size,
                    error=f"fichier trop volumineux ({size / 1e6:.1f} Mo > {max_bytes / 1e6:.1f} Mo) : ignoré",
                )
            )
        else:
            try:
                digest = hash_document(path, docs_dir)
            except NotRegularFileError as exc:  # swapped for a link or a pipe since it was listed
                out.append(ScannedFile(source, path, size, error=exc.reason))
                continue
            except OSError as exc:
                out.append(ScannedFile(source, path, size, error=f"lecture impossible ({exc.strerror}) : vérifiez les droits"))
                continue
            out.append(ScannedFile(source, path, size, hash=digest))
    return out

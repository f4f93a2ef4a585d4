"""The index's state in the database: the manifest (the commit point), the sync journal, the rebuild lock, the reports.

A sync writes its chunks to Chroma first, then commits the new manifest in ONE transaction
(a new row, generation N+1, whose primary key refuses a second N+1), then deletes what the
new manifest no longer names. Readers poll the generation (one indexed ``max()``) and trust
only chunks whose document the current manifest names.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from database import Database, LockBusy, resolve_url
from database.errors import GenerationTaken
from database.imports import rename_imported
from database.index_state import IndexRecords, Journal, LegacyIndex  # Journal: imported from here by index/sync.py
from database.locks import LEASE_SECONDS, Held, hold
from index.config import IndexSettings
from index.errors import LegacyDataError, SyncBusyError
from index.jsonl import read_objects
from index.manifest import Manifest

log = logging.getLogger(__name__)

REBUILD_LOCK = "index-rebuild"
KEEP_GENERATIONS = 10  # committed manifests kept (the current one and a short history)
BUSY_MESSAGE = (
    "Une autre synchronisation de l'index est déjà en cours (ici ou sur une autre copie de l'assistant). "
    "Attendez qu'elle se termine (ou relancez avec --wait 600)."
)
LEGACY_FILES = ("manifest.json", "sync-journal.json", "last-sync.json", "sync-history.jsonl")


def database_from_settings(settings: IndexSettings) -> Database:
    """The database the settings name (ASSISTANT_DATABASE_URL, else SQLite in the data folder), migrated."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return Database.open(resolve_url(url, settings.data_dir))


class IndexState:
    """The index's state in one database, shared by every process and machine that uses it."""

    def __init__(self, db: Database, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.records = IndexRecords(db, KEEP_GENERATIONS)
        self.lease_seconds = lease_seconds
        self._cached: Manifest | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path, url: str | None = None) -> IndexState:
        """Open (and migrate) the database of this data folder or URL; import the folder's old files once."""
        state = cls(Database.open(resolve_url(url, data_dir)))
        state.import_files(data_dir)
        return state

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> IndexState:
        state = cls(database_from_settings(settings))
        state.import_files(settings.data_dir)
        return state

    # -- the manifest ----------------------------------------------------------------
    def generation(self) -> int:
        """The current generation (0: nothing committed yet); cheap enough to ask before every question."""
        return self.records.generation()

    def manifest(self) -> Manifest | None:
        """The current manifest, None before the first sync; read again only when the generation changed."""
        for _ in range(5):  # a generation pruned between the two reads: a newer one exists, look again
            generation = self.generation()
            if generation == 0:
                return None
            with self._lock:
                cached = self._cached
            if cached is not None and cached.generation == generation:
                return cached
            body = self.records.manifest(generation)
            if body is not None:
                manifest = Manifest.from_json(body)
                with self._lock:
                    self._cached = manifest
                return manifest
        raise SyncBusyError("L'index change trop vite pour être lu : réessayez dans un instant.")

    def commit(self, manifest: Manifest, cleanup: Journal, held: Held | None = None) -> None:
        """Make ``manifest`` current, in one transaction with the journal of what is now to delete.

        Refused (SyncBusyError) when another sync committed this generation first, or (LockLost)
        when the rebuild lock was lost meanwhile: nothing is then changed.
        """
        try:
            self.records.commit(manifest.generation, manifest.to_json(), cleanup, held)
        except GenerationTaken as exc:
            raise SyncBusyError(
                "Une autre synchronisation a enregistré l'index pendant celle-ci ; rien n'a été changé : relancez-la."
            ) from exc
        with self._lock:
            self._cached = manifest

    # -- the journal -------------------------------------------------------------------
    def journal(self) -> Journal | None:
        return self.records.journal()

    def begin_journal(self, journal: Journal) -> None:
        """Name what this sync may write, before writing it: a sync killed later is cleaned by the next one."""
        self.records.put_journal(journal)

    def clear_journal(self) -> None:
        self.records.clear_journal()

    # -- the rebuild lock ----------------------------------------------------------------
    @contextmanager
    def rebuild_lock(self, wait_seconds: float = 0) -> Iterator[Held]:
        """Hold the one rebuild lock of this database (all processes and machines); SyncBusyError when taken."""
        with ExitStack() as stack:
            try:
                held = stack.enter_context(hold(self.db, REBUILD_LOCK, wait_seconds, self.lease_seconds))
            except LockBusy as exc:
                raise SyncBusyError(BUSY_MESSAGE) from exc
            yield held

    # -- reports -------------------------------------------------------------------------
    def record_report(self, report: dict[str, Any]) -> None:
        self.records.add_report(report)

    def last_report(self) -> dict[str, Any] | None:
        return self.records.last_report()

    def reports(self, limit: int = 50) -> list[dict[str, Any]]:
        """The sync reports, newest first."""
        return self.records.reports(limit)

    # -- older data folders ------------------------------------------------------------------
    def import_files(self, data_dir: Path) -> bool:
        """Import once what the version before the database kept in files; True when this call imported them.

        The files are then renamed ``*.imported`` (never deleted). When the database already
        holds an index (another copy imported its folder first), this folder's files are left
        untouched and a warning says so.
        """
        present = [data_dir / name for name in LEGACY_FILES if (data_dir / name).is_file()]
        if not present:
            return False
        source = str(data_dir.resolve())
        done = self.records.import_legacy(source, lambda: _read_legacy(data_dir))
        record = self.records.legacy_import()
        if record is None or record["source"] != source:
            log.warning(
                "%s holds index files of an older version, not imported: this database already has the index of %s",
                data_dir,
                record["source"] if record else "?",
            )
            return False
        if done:
            log.warning("index files of %s imported into the database: %s", data_dir, record["detail"])
        for path in present:  # again after a crash between the import and the renaming
            rename_imported(path)
        return done


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _read_legacy(data_dir: Path) -> LegacyIndex:
    """What the older version's files say (called inside the import's transaction: an error rolls it back)."""
    path = data_dir / "manifest.json"
    try:
        raw = _read_json(path)
        manifest = Manifest.from_json(raw) if isinstance(raw, dict) else None
    except (json.JSONDecodeError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise LegacyDataError(
            f"Le fichier {path} (index d'une version précédente) est illisible : déplacez-le hors du dossier puis "
            "relancez ; l'index sera reconstruit à la prochaine synchronisation."
        ) from exc
    committed = manifest if manifest is not None and manifest.generation > 0 else None
    try:
        raw_journal = _read_json(data_dir / "sync-journal.json")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raw_journal = None  # as before: an unreadable journal was ignored
    journal = None
    if isinstance(raw_journal, dict) and raw_journal.get("collection"):
        journal = Journal(str(raw_journal["collection"]), [str(h) for h in raw_journal.get("hashes") or []])
    reports = read_objects(data_dir / "sync-history.jsonl")
    if not reports:
        try:
            last = _read_json(data_dir / "last-sync.json")
        except (json.JSONDecodeError, UnicodeDecodeError):
            last = None
        if isinstance(last, dict):
            reports.append(last)
    return LegacyIndex(
        manifest=committed.to_json() if committed else None,
        generation=committed.generation if committed else 0,
        documents=len(committed.documents) if committed else 0,
        journal=journal,
        reports=reports,
    )

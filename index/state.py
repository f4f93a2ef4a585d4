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
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from database import Database, LockBusy, resolve_url
from database.imports import import_once, imported, rename_imported
from database.locks import LEASE_SECONDS, Held, hold
from database.schema import index_manifests, sync_journal, sync_reports
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


@dataclass(frozen=True)
class Journal:
    """What a sync may have written to Chroma without committing it (or, after a commit, what is left to delete)."""

    collection: str
    hashes: list[str]


def database_from_settings(settings: IndexSettings) -> Database:
    """The database the settings name (ASSISTANT_DATABASE_URL, else SQLite in the data folder), migrated."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return Database.open(resolve_url(url, settings.data_dir))


class IndexState:
    """The index's state in one database, shared by every process and machine that uses it."""

    def __init__(self, db: Database, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
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
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(index_manifests.c.generation))).scalar() or 0)

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
            with self.db.read() as conn:
                body = conn.execute(sa.select(index_manifests.c.body).where(index_manifests.c.generation == generation)).scalar()
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
            with self.db.write() as conn:
                if held is not None:
                    held.check(conn)
                conn.execute(
                    sa.insert(index_manifests).values(
                        generation=manifest.generation, committed_at=time.time(), body=manifest.to_json()
                    )
                )
                self._put_journal(conn, cleanup)
                conn.execute(
                    sa.delete(index_manifests).where(index_manifests.c.generation <= manifest.generation - KEEP_GENERATIONS)
                )
        except sa.exc.IntegrityError as exc:
            raise SyncBusyError(
                "Une autre synchronisation a enregistré l'index pendant celle-ci ; rien n'a été changé : relancez-la."
            ) from exc
        with self._lock:
            self._cached = manifest

    # -- the journal -------------------------------------------------------------------
    def journal(self) -> Journal | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(sync_journal.c.collection, sync_journal.c.hashes)).first()
        return Journal(row.collection, list(row.hashes or [])) if row is not None else None

    def begin_journal(self, journal: Journal) -> None:
        """Name what this sync may write, before writing it: a sync killed later is cleaned by the next one."""
        with self.db.write() as conn:
            self._put_journal(conn, journal)

    def clear_journal(self) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(sync_journal))

    @staticmethod
    def _put_journal(conn: sa.Connection, journal: Journal) -> None:
        conn.execute(sa.delete(sync_journal))
        conn.execute(
            sa.insert(sync_journal).values(
                id=1, collection=journal.collection, hashes=sorted(set(journal.hashes)), started_at=time.time()
            )
        )

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
        with self.db.write() as conn:
            conn.execute(sa.insert(sync_reports).values(finished_at=time.time(), report=report))

    def last_report(self) -> dict[str, Any] | None:
        with self.db.read() as conn:
            report = conn.execute(sa.select(sync_reports.c.report).order_by(sync_reports.c.id.desc()).limit(1)).scalar()
        return dict(report) if report is not None else None

    def reports(self, limit: int = 50) -> list[dict[str, Any]]:
        """The sync reports, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(sync_reports.c.report).order_by(sync_reports.c.id.desc()).limit(limit)).scalars()
            return [dict(r) for r in rows]

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

        def load(conn: sa.Connection) -> dict[str, Any]:
            return _load_legacy(conn, data_dir)

        done = import_once(self.db, "index-files", source, load)
        record = imported(self.db, "index-files")
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


def _load_legacy(conn: sa.Connection, data_dir: Path) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    path = data_dir / "manifest.json"
    try:
        raw = _read_json(path)
        manifest = Manifest.from_json(raw) if isinstance(raw, dict) else None
    except (json.JSONDecodeError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise LegacyDataError(
            f"Le fichier {path} (index d'une version précédente) est illisible : déplacez-le hors du dossier puis "
            "relancez ; l'index sera reconstruit à la prochaine synchronisation."
        ) from exc
    has_index = conn.execute(sa.select(sa.func.count()).select_from(index_manifests)).scalar()
    if manifest is not None and manifest.generation > 0 and not has_index:
        conn.execute(
            sa.insert(index_manifests).values(generation=manifest.generation, committed_at=time.time(), body=manifest.to_json())
        )
        detail["manifest"] = {"generation": manifest.generation, "documents": len(manifest.documents)}
    try:
        journal = _read_json(data_dir / "sync-journal.json")
    except (json.JSONDecodeError, UnicodeDecodeError):
        journal = None  # as before: an unreadable journal was ignored
    if isinstance(journal, dict) and journal.get("collection"):
        IndexState._put_journal(conn, Journal(str(journal["collection"]), [str(h) for h in journal.get("hashes") or []]))
        detail["journal"] = len(journal.get("hashes") or [])
    reports = read_objects(data_dir / "sync-history.jsonl")
    if not reports:
        try:
            last = _read_json(data_dir / "last-sync.json")
        except (json.JSONDecodeError, UnicodeDecodeError):
            last = None
        if isinstance(last, dict):
            reports.append(last)
    for report in reports:
        conn.execute(sa.insert(sync_reports).values(finished_at=time.time(), report=report))
    detail["reports"] = len(reports)
    return detail

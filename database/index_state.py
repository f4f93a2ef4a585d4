"""The index's records (the store of ``index/state.py``): committed manifests, the sync journal, the sync reports.

Manifests are opaque JSON here: ``index`` says what they mean. ``commit`` is the commit point
of a sync, ONE transaction: the rebuild lock still held, the new generation inserted (its
primary key refuses a second one: ``GenerationTaken``), the journal rewritten, old generations
pruned. Every other method runs one transaction of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from database.engine import Database
from database.errors import GenerationTaken
from database.imports import import_once, imported
from database.locks import Held
from database.schema import index_manifests, sync_journal, sync_reports

IMPORT_NAME = "index-files"  # the record of the import of an older data folder's index files


@dataclass(frozen=True)
class Journal:
    """What a sync may have written to Chroma without committing it (or, after a commit, what is left to delete)."""

    collection: str
    hashes: list[str]


@dataclass(frozen=True)
class LegacyIndex:
    """What the index files of an older data folder held, ready to insert."""

    manifest: dict[str, Any] | None  # the manifest's JSON, None when there is no committed one to import
    generation: int
    documents: int  # how many documents the manifest names (remembered in the import's record)
    journal: Journal | None
    reports: list[dict[str, Any]]


class IndexRecords:
    """The index's state in one database, as rows; each method one transaction."""

    def __init__(self, db: Database, keep_generations: int) -> None:
        self.db = db
        self.keep_generations = keep_generations

    # -- manifests -------------------------------------------------------------------
    def generation(self) -> int:
        """The newest committed generation, 0 when there is none (one indexed ``max()``)."""
        with self.db.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(index_manifests.c.generation))).scalar() or 0)

    def manifest(self, generation: int) -> dict[str, Any] | None:
        """The JSON of one committed manifest, None when that generation is not (or no longer) kept."""
        with self.db.read() as conn:
            body: dict[str, Any] | None = conn.execute(
                sa.select(index_manifests.c.body).where(index_manifests.c.generation == generation)
            ).scalar()
        return body

    def commit(self, generation: int, manifest: dict[str, Any], cleanup: Journal, held: Held | None = None) -> None:
        """Insert generation ``generation`` and the journal of what is now to delete, prune the oldest: one transaction.

        Raises ``GenerationTaken`` when that generation was committed first by someone else, or
        ``LockLost`` when ``held`` was lost meanwhile: nothing is then changed.
        """
        try:
            with self.db.write() as conn:
                if held is not None:
                    held.check(conn)
                conn.execute(sa.insert(index_manifests).values(generation=generation, committed_at=time.time(), body=manifest))
                _put_journal(conn, cleanup)
                conn.execute(sa.delete(index_manifests).where(index_manifests.c.generation <= generation - self.keep_generations))
        except sa.exc.IntegrityError as exc:
            raise GenerationTaken(f"La génération {generation} de l'index a déjà été enregistrée.") from exc

    # -- the journal -------------------------------------------------------------------
    def journal(self) -> Journal | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(sync_journal.c.collection, sync_journal.c.hashes)).first()
        return Journal(row.collection, list(row.hashes or [])) if row is not None else None

    def put_journal(self, journal: Journal) -> None:
        """Replace the journal (at most one row)."""
        with self.db.write() as conn:
            _put_journal(conn, journal)

    def clear_journal(self) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(sync_journal))

    # -- reports -------------------------------------------------------------------------
    def add_report(self, report: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(sa.insert(sync_reports).values(finished_at=time.time(), report=report))

    def last_report(self) -> dict[str, Any] | None:
        with self.db.read() as conn:
            report = conn.execute(sa.select(sync_reports.c.report).order_by(sync_reports.c.id.desc()).limit(1)).scalar()
        return dict(report) if report is not None else None

    def reports(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` reports, newest first."""
        with self.db.read() as conn:
            rows = conn.execute(sa.select(sync_reports.c.report).order_by(sync_reports.c.id.desc()).limit(limit)).scalars()
            return [dict(r) for r in rows]

    # -- older data folders ------------------------------------------------------------------
    def import_legacy(self, source: str, read: Callable[[], LegacyIndex]) -> bool:
        """Insert what ``read()`` returns, once per database, in the transaction that records the import; False when done before.

        ``read`` is called inside that transaction (and not at all when the import was done
        before): an error it raises rolls everything back. The manifest is kept only when the
        database holds none yet.
        """
        return import_once(self.db, IMPORT_NAME, source, lambda conn: _insert_legacy(conn, read()))

    def legacy_import(self) -> dict[str, Any] | None:
        """The record of that import (source, when, detail), None when it never happened."""
        return imported(self.db, IMPORT_NAME)


def _put_journal(conn: sa.Connection, journal: Journal) -> None:
    conn.execute(sa.delete(sync_journal))
    conn.execute(
        sa.insert(sync_journal).values(
            id=1, collection=journal.collection, hashes=sorted(set(journal.hashes)), started_at=time.time()
        )
    )


def _insert_legacy(conn: sa.Connection, legacy: LegacyIndex) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    has_index = conn.execute(sa.select(sa.func.count()).select_from(index_manifests)).scalar()
    if legacy.manifest is not None and not has_index:
        conn.execute(
            sa.insert(index_manifests).values(generation=legacy.generation, committed_at=time.time(), body=legacy.manifest)
        )
        detail["manifest"] = {"generation": legacy.generation, "documents": legacy.documents}
    if legacy.journal is not None:
        _put_journal(conn, legacy.journal)
        detail["journal"] = len(legacy.journal.hashes)
    for report in legacy.reports:
        conn.execute(sa.insert(sync_reports).values(finished_at=time.time(), report=report))
    detail["reports"] = len(legacy.reports)
    return detail

"""What was imported from older data folders, so that each import happens once (two processes starting at once included)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from database.engine import Database
from database.schema import imports

log = logging.getLogger(__name__)

IMPORTED_SUFFIX = ".imported"


def import_once(db: Database, name: str, source: str, load: Callable[[Connection], dict[str, Any]]) -> bool:
    """Run ``load(conn)`` in the transaction that records the import ``name``; False when it was done before.

    ``load`` writes the imported rows and returns what to remember of them (counts). The
    record is inserted first: a second process importing at the same moment waits for the
    first's transaction, then finds the import done and writes nothing.
    """
    try:
        with db.write() as conn:
            if conn.execute(sa.select(imports.c.name).where(imports.c.name == name)).first() is not None:
                return False
            conn.execute(sa.insert(imports).values(name=name, source=source, imported_at=time.time(), detail={}))
            detail = load(conn)
            conn.execute(sa.update(imports).where(imports.c.name == name).values(detail=detail))
    except sa.exc.IntegrityError:
        return False  # the other process committed the same import first
    return True


def imported(db: Database, name: str) -> dict[str, Any] | None:
    """The record of an import (source, when, detail), None when it never happened."""
    with db.read() as conn:
        row = conn.execute(sa.select(imports).where(imports.c.name == name)).first()
    return dict(row._mapping) if row is not None else None


def rename_imported(path: Path) -> None:
    """Rename an imported file ``NAME.imported`` (never deleted); nothing reads it any more."""
    if not path.exists():
        return
    target = path.with_name(path.name + IMPORTED_SUFFIX)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{IMPORTED_SUFFIX}.{n}")
    try:
        path.rename(target)
    except OSError:
        log.warning("%s was imported into the database but could not be renamed; it is no longer read", path)

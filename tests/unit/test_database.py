"""The database layer on SQLite and PostgreSQL: migrations, processes starting at once, the rebuild lock across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from database import Database, DatabaseUnavailable, LockBusy, LockLost, resolve_url
from database.engine import alembic_config
from database.locks import hold
from database.schema import lock_leases, metadata
from index.manifest import Manifest
from index.state import IndexState, Journal
from index.sync import SyncBusyError
from tests.conftest import ROOT

PY = sys.executable

HOLDER = """
import sys, time
from database import Database
from database.locks import hold
db = Database.open(sys.argv[1])
with hold(db, "index-rebuild", lease_seconds=float(sys.argv[3])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def start_holder(url: str, seconds: float, lease: float = 30.0) -> subprocess.Popen[str]:
    """Another process that takes the rebuild lock and keeps it ``seconds``."""
    proc = subprocess.Popen(
        [PY, "-c", HOLDER, url, str(seconds), str(lease)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "held", proc.stderr.read() if proc.stderr else line
    return proc


def test_the_migrations_build_exactly_the_schema(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    assert db.revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    with db.read() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == [], "database/schema.py and the migrations disagree: add a migration"


def test_two_processes_starting_at_once_both_migrate_safely(database_url: str) -> None:
    script = "import sys; from database import Database; print(Database.open(sys.argv[1]).revision())"
    procs = [
        subprocess.Popen([PY, "-c", script, database_url], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(err[-3000:] for _, err in outs)
    from alembic.script import ScriptDirectory

    assert {out.strip() for out, _ in outs} == {ScriptDirectory.from_config(alembic_config()).get_current_head()}


def test_the_default_is_a_sqlite_file_in_the_data_folder_in_wal_mode(tmp_path: Path) -> None:
    url = resolve_url(None, tmp_path / "data")
    assert url == f"sqlite:///{(tmp_path / 'data' / 'assistant.db').resolve()}"
    assert resolve_url("postgres://u:p@h/db", tmp_path) == "postgresql+psycopg://u:p@h/db"
    db = Database.open(url)
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.dispose()
    assert (tmp_path / "data" / "assistant.db").is_file()


def test_an_unreachable_server_is_a_clear_message_without_the_password() -> None:
    from tests.conftest import free_port

    url = f"postgresql://assistant:tres-secret@127.0.0.1:{free_port()}/assistant"
    with pytest.raises(DatabaseUnavailable, match="ASSISTANT_DATABASE_URL") as caught:
        Database.open(resolve_url(url, Path("data")))
    assert "tres-secret" not in str(caught.value)
    with pytest.raises(DatabaseUnavailable, match="illisible"):
        Database.open("pas une adresse")


def test_the_rebuild_lock_holds_across_processes_and_a_killed_holder_frees_it_at_once(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    holder = start_holder(url, 60)
    try:
        started = time.monotonic()
        with pytest.raises(LockBusy), hold(db, "index-rebuild", wait_seconds=1):
            pass
        assert time.monotonic() - started >= 0.9, "it waited before giving up"
        with pytest.raises(SyncBusyError, match="déjà en cours"), IndexState(db).rebuild_lock():
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # SQLite: the lease's process is gone (same machine); PostgreSQL: its connection closed with it
    with hold(db, "index-rebuild", wait_seconds=5) as held, db.write() as conn:
        held.check(conn)


def test_wait_gets_the_lock_when_the_other_process_ends(db: Database) -> None:
    holder = start_holder(db.engine.url.render_as_string(hide_password=False), 1.5)
    started = time.monotonic()
    with hold(db, "index-rebuild", wait_seconds=30):
        waited = time.monotonic() - started
    holder.wait(30)
    assert holder.returncode == 0 and 0.5 < waited < 25


def test_a_lease_is_renewed_while_held_and_taken_over_once_expired(tmp_path: Path) -> None:
    db = Database.open(resolve_url(None, tmp_path))
    holder = start_holder(db.engine.url.render_as_string(hide_password=False), 4, lease=1.0)
    try:
        time.sleep(2.5)  # beyond the lease: the heartbeat renewed it
        with pytest.raises(LockBusy), hold(db, "index-rebuild"):
            pass
    finally:
        holder.wait(30)
    with db.write() as conn:  # a holder on another machine that stopped renewing
        conn.execute(
            sa.insert(lock_leases).values(name="index-rebuild", owner="ailleurs:1:x", acquired_at=0, expires_at=time.time() + 60)
        )
    with pytest.raises(LockBusy), hold(db, "index-rebuild"):
        pass
    with db.write() as conn:
        conn.execute(sa.update(lock_leases).values(expires_at=time.time() - 1))
    with hold(db, "index-rebuild"):
        pass
    db.dispose()


def test_a_commit_is_refused_when_the_lease_was_lost_or_the_generation_taken(tmp_path: Path) -> None:
    db = Database.open(resolve_url(None, tmp_path))
    state = IndexState(db)
    first = Manifest(collection="c", embedding="e", generation=1)
    with state.rebuild_lock() as held:
        with db.write() as conn:  # another process took the lease over (ours looked expired to it)
            conn.execute(sa.update(lock_leases).values(owner="ailleurs:1:y"))
        with pytest.raises(LockLost, match="relancez"):
            state.commit(first, Journal("c", []), held)
    assert state.generation() == 0, "nothing committed"
    state.commit(first, Journal("c", []))
    with pytest.raises(SyncBusyError, match="pendant celle-ci"):
        state.commit(Manifest(collection="c", embedding="e", generation=1), Journal("c", []))
    assert state.manifest() == first
    db.dispose()


def test_readers_poll_the_generation_and_reload_only_when_it_changes(state: IndexState) -> None:
    assert state.generation() == 0 and state.manifest() is None
    for g in range(1, 14):
        state.commit(Manifest(collection="c", embedding="e", generation=g), Journal("c", []))
    other = IndexState(state.db)  # another process's reader
    assert other.generation() == 13 and other.manifest().generation == 13  # type: ignore[union-attr]
    with state.db.read() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM index_manifests")).scalar()
    assert kept == 10, "a short history is kept, older generations pruned"


def test_a_database_migrated_by_a_newer_version_is_refused_with_a_message(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseUnavailable, match="version plus récente"):
        Database.open(db.engine.url.render_as_string(hide_password=False))

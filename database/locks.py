"""Named locks that hold across processes and machines: what keeps two rebuilds from running at once.

- PostgreSQL: a session advisory lock on a connection kept for the holder; the server frees it
  when that connection ends, a killed process or a vanished machine included (keepalives make
  the server notice within about a minute).
- SQLite: a lease row with an expiry, renewed by a heartbeat thread. A holder that dies stops
  renewing, and its lease is taken over once expired, at once when it was a process of this
  machine that no longer exists (SQLite is one machine's file).

``hold()`` waits up to ``wait_seconds`` and raises ``LockBusy``; ``Held.check(conn)`` raises
``LockLost`` inside a transaction that must only commit while the lock is still held.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from database.engine import Database
from database.errors import DatabaseError, LockBusy, LockLost
from database.schema import lock_leases

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0


class Held(Protocol):
    name: str

    def check(self, conn: Connection) -> None:
        """Raise LockLost unless this process still holds the lock."""


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(f"coop-assistant:{name}".encode()).digest()[:8], "big", signed=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _AdvisoryLock:
    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self.key = advisory_key(name)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        with self.db._errors():
            conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                for setting in ("tcp_keepalives_idle = 20", "tcp_keepalives_interval = 10", "tcp_keepalives_count = 3"):
                    with suppress(sa.exc.DBAPIError):  # not settable on some servers: the default stays
                        conn.exec_driver_sql(f"SET {setting}")
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            except BaseException:
                conn.close()
                raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self, conn: Connection) -> None:
        held = self._conn
        try:
            alive = held is not None and held.execute(sa.text("SELECT 1")).scalar() == 1
        except sa.exc.DBAPIError:
            alive = False
        if not alive:
            raise LockLost(
                "La connexion qui tenait le verrou de reconstruction s'est coupée : une autre reconstruction "
                "a pu commencer. Celle-ci n'est pas enregistrée ; relancez-la."
            )

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except sa.exc.DBAPIError:
            log.warning("could not release lock %s: its connection is gone (the server freed it)", self.name)
            with suppress(Exception):
                conn.invalidate()
        finally:
            with suppress(Exception):
                conn.close()


class _Lease:
    def __init__(self, db: Database, name: str, seconds: float) -> None:
        self.db = db
        self.name = name
        self.seconds = seconds
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{secrets.token_hex(8)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False

    def _stale(self, owner: str, expires_at: float, now: float) -> bool:
        if expires_at <= now:
            return True
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        return host == self.host and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))

    def try_acquire(self) -> bool:
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(lock_leases.c.owner, lock_leases.c.expires_at).where(lock_leases.c.name == self.name)
            ).first()
            if row is not None and not self._stale(row.owner, row.expires_at, now):
                return False
            if row is not None:
                log.warning("lock %s: lease of %s expired or its process is gone: taken over", self.name, row.owner)
                conn.execute(sa.delete(lock_leases).where(lock_leases.c.name == self.name))
            conn.execute(
                sa.insert(lock_leases).values(name=self.name, owner=self.owner, acquired_at=now, expires_at=now + self.seconds)
            )
        self._thread = threading.Thread(target=self._heartbeat, name=f"lease-{self.name}", daemon=True)
        self._thread.start()
        return True

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                with self.db.write() as conn:
                    renewed = conn.execute(
                        sa.update(lock_leases)
                        .where(lock_leases.c.name == self.name, lock_leases.c.owner == self.owner)
                        .values(expires_at=time.time() + self.seconds)
                    ).rowcount
                if not renewed:
                    self._lost = True
                    log.error("lock %s: the lease was taken by another process", self.name)
                    return
            except DatabaseError:
                log.warning("lock %s: lease not renewed this time (database busy)", self.name, exc_info=True)

    def check(self, conn: Connection) -> None:
        row = conn.execute(
            sa.select(lock_leases.c.owner, lock_leases.c.expires_at).where(lock_leases.c.name == self.name)
        ).first()
        if self._lost or row is None or row.owner != self.owner or row.expires_at <= time.time():
            raise LockLost(
                "Le verrou de reconstruction a expiré pendant celle-ci (base de données bloquée trop longtemps ?) : "
                "une autre reconstruction a pu commencer. Celle-ci n'est pas enregistrée ; relancez-la."
            )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.seconds)
        try:
            with self.db.write() as conn:
                conn.execute(sa.delete(lock_leases).where(lock_leases.c.name == self.name, lock_leases.c.owner == self.owner))
        except DatabaseError:
            log.warning("lock %s: lease not released (it expires by itself)", self.name, exc_info=True)


@contextmanager
def hold(
    db: Database, name: str, wait_seconds: float = 0, lease_seconds: float = LEASE_SECONDS, poll_seconds: float = 0.5
) -> Iterator[Held]:
    """Hold the named lock for the block; wait up to ``wait_seconds`` for it, then raise LockBusy."""
    lock: _AdvisoryLock | _Lease = _AdvisoryLock(db, name) if db.dialect == "postgresql" else _Lease(db, name, lease_seconds)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while not lock.try_acquire():
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockBusy(f"Le verrou « {name} » est tenu par un autre processus.")
        time.sleep(min(poll_seconds, left))
    try:
        yield lock
    finally:
        lock.release()

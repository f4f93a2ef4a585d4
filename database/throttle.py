"""Attempts counted atomically in the database, shared by every copy of the app (the login throttle's store).

``reserve`` counts an attempt *before* it is made, in one write transaction per call: two
requests racing for the last free attempt of a key are serialized (SQLite's ``BEGIN IMMEDIATE``,
PostgreSQL's row locks), so thirty parallel tries of one password cannot all get through a
check that each of them passed alone. A key whose attempts go past its free allowance must then
wait before the next one, twice as long each time, up to its cap: a delay, never a lock that an
attacker could keep on someone else's account.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from database.engine import Database
from database.schema import login_failures

KEY_CHARS = 200


@dataclass(frozen=True)
class Rule:
    """A counted key: ``free`` attempts within the window without delay, then 1 s, 2 s, 4 s… up to ``max_delay``."""

    key: str
    free: int
    max_delay: float


def delay_after(attempts: int, free: int, max_delay: float) -> float:
    """The wait before the next attempt once ``attempts`` were made."""
    if attempts < free:
        return 0.0
    return float(min(max_delay, 2.0 ** min(attempts - free, 30)))


@dataclass(frozen=True)
class Held:
    """A key that must wait now: what an admin sees and can release."""

    key: str
    attempts: int
    wait: float


class AttemptCounter:
    """Attempts per key within a sliding window (``login_failures``: times, next allowed time, last attempt)."""

    def __init__(self, db: Database, window: float = 900.0, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.window = window
        self.clock = clock  # wall clock: the copies compare their times

    def reserve(self, rules: Sequence[Rule]) -> float:
        """Count one attempt on every key and return 0, or return how long to wait (nothing counted)."""
        for attempt in range(6):  # copies inserting the first row of a key at once: one wins, the others retry
            try:
                with self.db.write() as conn:
                    rows = {rule.key: self._row(conn, rule.key) for rule in rules}
                    # the time is read once the rows are locked (SQLite's write lock, PostgreSQL's row locks): a
                    # try that waited behind others is counted when it is made, its delay runs from then
                    now = self.clock()
                    wait = max((row["locked_until"] - now for row in rows.values() if row), default=0.0)
                    if wait > 0:
                        return wait
                    for rule in rules:
                        row = rows[rule.key]
                        times = [t for t in (row["failures"] if row else []) if t >= now - self.window] + [now]
                        values = {
                            "failures": times,
                            "locked_until": now + delay_after(len(times), rule.free, rule.max_delay),
                            "last_failure": now,
                        }
                        self._write(conn, rule.key, row is None, values)
                    conn.execute(
                        sa.delete(login_failures).where(
                            login_failures.c.last_failure < now - self.window, login_failures.c.locked_until < now
                        )
                    )
                return 0.0
            except sa.exc.IntegrityError:
                if attempt == 5:
                    raise
        return 0.0

    def release(self, key: str) -> None:
        """Take back the newest attempt of a key (it succeeded), and its delay."""
        now = self.clock()
        with self.db.write() as conn:
            row = self._row(conn, key[:KEY_CHARS])
            if row is not None:
                times = sorted(row["failures"])[:-1]
                self._write(conn, key, False, {"failures": times, "locked_until": now, "last_failure": row["last_failure"]})

    def forget(self, keys: Sequence[str]) -> int:
        """Clear these keys' attempts and delays; how many keys held some."""
        with self.db.write() as conn:
            result = conn.execute(sa.delete(login_failures).where(login_failures.c.key.in_([k[:KEY_CHARS] for k in keys])))
        return int(result.rowcount or 0)

    def forget_prefix(self, prefix: str) -> int:
        """Clear every key that starts with ``prefix`` (a name's attempts from every address)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.db.write() as conn:
            result = conn.execute(sa.delete(login_failures).where(login_failures.c.key.like(escaped + "%", escape="\\")))
        return int(result.rowcount or 0)

    def held(self) -> list[Held]:
        """The keys that must wait now, the longest wait first."""
        now = self.clock()
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(login_failures.c.key, login_failures.c.failures, login_failures.c.locked_until).where(
                    login_failures.c.locked_until > now
                )
            ).all()
        return sorted((Held(r.key, len(r.failures), r.locked_until - now) for r in rows), key=lambda h: -h.wait)

    @staticmethod
    def _row(conn: sa.Connection, key: str) -> dict[str, Any] | None:
        row = conn.execute(
            sa.select(login_failures.c.failures, login_failures.c.locked_until, login_failures.c.last_failure)
            .where(login_failures.c.key == key[:KEY_CHARS])
            .with_for_update()
        ).first()
        return dict(row._mapping) if row is not None else None

    @staticmethod
    def _write(conn: sa.Connection, key: str, new: bool, values: dict[str, Any]) -> None:
        if new:
            conn.execute(sa.insert(login_failures).values(key=key[:KEY_CHARS], **values))
        else:
            conn.execute(sa.update(login_failures).where(login_failures.c.key == key[:KEY_CHARS]).values(**values))

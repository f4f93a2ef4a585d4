"""The web chat's accounts and login sessions, as rows (the store of ``web/users.py``).

Hashing, roles and what makes an account valid are the web layer's: here an account is what
its row holds, and a session is a token's hash with its user and password stamp. Each method
runs one transaction; changing or removing an account ends its sessions in the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from database.engine import Database
from database.imports import import_once, imported
from database.schema import login_sessions, users

IMPORT_NAME = "users-file"  # the record of the import of an older version's users file


@dataclass(frozen=True)
class Account:
    """One row of ``users``."""

    name: str
    password_hash: str | None  # None: the account cannot log in
    admin: bool
    legacy_sha256: str | None = None  # an imported old digest (refused)
    problem: str | None = None  # why the account is refused (French, for the admins)


@dataclass(frozen=True)
class LoginSession:
    """One row of ``login_sessions``, found by the hash of its token."""

    user_name: str
    password_stamp: str
    created_at: float


def _account(row: Any) -> Account:
    return Account(row.name, row.password_hash, bool(row.admin), row.legacy_sha256, row.problem)


class Accounts:
    """Users and their login sessions in the database; each method one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- accounts ----------------------------------------------------------------------
    def save(self, name: str, password_hash: str, admin: bool) -> None:
        """Add an account or give it a new password (and role): valid from now on, its open sessions ended."""
        values = {"password_hash": password_hash, "admin": bool(admin), "legacy_sha256": None, "problem": None}
        with self.db.write() as conn:
            conn.execute(sa.delete(login_sessions).where(login_sessions.c.user_name == name))
            updated = conn.execute(sa.update(users).where(users.c.name == name).values(updated_at=time.time(), **values)).rowcount
            if not updated:
                conn.execute(sa.insert(users).values(name=name, updated_at=time.time(), **values))

    def set_admin(self, name: str, admin: bool, clears_problem: Callable[[Account], bool]) -> bool:
        """Set an account's role, and clear its problem when ``clears_problem(account)`` says so; False when unknown."""
        with self.db.write() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
            if row is None:
                return False
            values: dict[str, Any] = {"admin": bool(admin), "updated_at": time.time()}
            if clears_problem(_account(row)):
                values["problem"] = None
            conn.execute(sa.update(users).where(users.c.name == name).values(**values))
        return True

    def remove(self, name: str) -> bool:
        """Remove an account and its sessions; False when unknown."""
        with self.db.write() as conn:
            conn.execute(sa.delete(login_sessions).where(login_sessions.c.user_name == name))
            return bool(conn.execute(sa.delete(users).where(users.c.name == name)).rowcount)

    def all(self, by_name: bool = False) -> list[Account]:
        """Every account, in the database's order by name when ``by_name`` (its collation), else as stored."""
        query = sa.select(users)
        if by_name:
            query = query.order_by(users.c.name)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [_account(r) for r in rows]

    # -- login sessions ------------------------------------------------------------------
    def open_session(self, token_hash: str, user_name: str, password_stamp: str, created_at: float, expires_at: float) -> None:
        """Keep a new session, and forget those that expired before ``created_at``."""
        with self.db.write() as conn:
            conn.execute(sa.delete(login_sessions).where(login_sessions.c.expires_at < created_at))
            conn.execute(
                sa.insert(login_sessions).values(
                    token_hash=token_hash,
                    user_name=user_name,
                    password_stamp=password_stamp,
                    created_at=created_at,
                    expires_at=expires_at,
                )
            )

    def session(self, token_hash: str) -> LoginSession | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(login_sessions.c.user_name, login_sessions.c.password_stamp, login_sessions.c.created_at).where(
                    login_sessions.c.token_hash == token_hash
                )
            ).first()
        return LoginSession(row.user_name, row.password_stamp, row.created_at) if row is not None else None

    def close_session(self, token_hash: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(login_sessions).where(login_sessions.c.token_hash == token_hash))

    # -- an older version's users file -------------------------------------------------------
    def import_accounts(self, source: str, read: Callable[[], Sequence[Account]], refused: Sequence[str]) -> bool:
        """Insert the accounts ``read()`` returns, once per database, in the transaction that records the import.

        ``read`` is called inside that transaction (not at all when the import was done before);
        an account whose name is already in the database is skipped (the database wins). False
        when the import was done before.
        """

        def load(conn: sa.Connection) -> dict[str, Any]:
            accounts = read()
            now = time.time()
            kept = 0
            for account in accounts:
                if conn.execute(sa.select(users.c.name).where(users.c.name == account.name)).first() is not None:
                    continue
                conn.execute(
                    sa.insert(users).values(
                        name=account.name,
                        password_hash=account.password_hash,
                        admin=account.admin,
                        legacy_sha256=account.legacy_sha256,
                        problem=account.problem,
                        updated_at=now,
                    )
                )
                kept += 1
            return {"accounts": kept, "refused": list(refused)}

        return import_once(self.db, IMPORT_NAME, source, load)

    def accounts_import(self) -> dict[str, Any] | None:
        """The record of that import (source, when, detail), None when it never happened."""
        return imported(self.db, IMPORT_NAME)

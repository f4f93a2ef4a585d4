"""The engine: SQLite in the data folder (WAL, busy timeout, real transactions) or PostgreSQL (psycopg 3).

``Database.open`` migrates the schema to the newest version (Alembic, safe when several
processes start at once); ``read()`` and ``write()`` are the one boundary where SQLAlchemy's
and the drivers' connection errors become this layer's French errors.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from database.errors import DatabaseBusy, DatabaseUnavailable

log = logging.getLogger(__name__)
logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines at every start say nothing to staff

SQLITE_FILE = "assistant.db"
BUSY_TIMEOUT_MS = 15_000  # a writer waits this long for another process's transaction to end (SQLite)
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x636F_6F70_6462  # PostgreSQL advisory lock held while migrating ("coopdb")


def resolve_url(url: str | None, data_dir: Path) -> str:
    """The database's URL: the one configured (``postgresql://…``), else a SQLite file in the data folder."""
    if not url or not url.strip():
        return f"sqlite:///{(data_dir / SQLITE_FILE).resolve()}"
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):  # the usual spelling; the driver is psycopg 3
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def private_folder(path: Path) -> Path:
    """Create a folder (and its missing parents) readable by this process's user only (0700).

    The data folder holds the conversations, the password hashes and the index: no other
    account of the machine reads it. A folder that already exists keeps its permissions.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(folder, 0o700)  # whatever the umask
    return path


def _private_file(path: Path) -> None:
    """Create an empty file readable by this user only (0600), unless it exists; SQLite gives its -wal and
    -shm files the same permissions as the database file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_engine(url: URL) -> Engine:
    path = url.database or ""
    if path and path != ":memory:":
        private_folder(Path(path).parent)
        _private_file(Path(path))
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling would commit before DDL and never lock
        # early: we issue BEGIN ourselves (real transactions, migrations included).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL: readers never wait for the writer. Switching a new file to WAL needs it to itself and
        # can fail at once (busy handler or not) while another process opens it too: try again.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at once: a writer waits its turn (busy timeout) instead of
        # failing when another process committed since its transaction began.
        connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get('sqlite_begin', 'DEFERRED')}")

    return engine


def _postgres_engine(url: URL) -> Engine:
    return sa.create_engine(
        url,
        pool_pre_ping=True,  # a server restarted since: reconnect instead of failing the next request
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 10, "application_name": "coop-assistant"},
    )


def describe(url: URL) -> str:
    """A database as people name it: the SQLite file, or postgresql://user@host:port/name (never the password)."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    shown = url._replace(drivername=url.get_backend_name(), password=None)
    return shown.render_as_string(hide_password=True)


class Database:
    """One engine per process and database; transactions through ``read()`` and ``write()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name  # "sqlite" or "postgresql"
        self.where = describe(engine.url)  # for messages: the file, or the server without the password

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Database:
        """Connect (creating the SQLite file if needed) and bring the schema to the newest version."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise DatabaseUnavailable(
                "Adresse de base de données illisible (ASSISTANT_DATABASE_URL) : écrivez-la comme "
                "postgresql://utilisateur:motdepasse@serveur:5432/base, ou laissez-la vide pour SQLite."
            ) from exc
        try:
            if parsed.get_backend_name() == "sqlite":
                engine = _sqlite_engine(parsed)
            elif parsed.get_backend_name() == "postgresql":
                engine = _postgres_engine(parsed)
            else:
                raise DatabaseUnavailable(
                    f"Base de données « {parsed.get_backend_name()} » non prise en charge : PostgreSQL "
                    "(postgresql://…) ou SQLite (réglage vide)."
                )
        except (NoSuchModuleError, ImportError) as exc:
            raise DatabaseUnavailable("Le pilote de cette base de données n'est pas installé : relancez « make setup ».") from exc
        db = cls(engine)
        if migrate:
            try:
                db.upgrade()
            except BaseException:
                engine.dispose()
                raise
        return db

    def dispose(self) -> None:
        """Close the pooled connections (tests, and processes that end)."""
        self.engine.dispose()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            if self.dialect == "sqlite" and ("locked" in reason or "busy" in reason):
                raise DatabaseBusy(
                    f"La base de données ({self.where}) est occupée par un autre processus : réessayez dans un instant."
                ) from exc
            raise DatabaseUnavailable(
                f"La base de données ne répond pas ({self.where} : {reason}). Vérifiez ASSISTANT_DATABASE_URL "
                "et que le serveur PostgreSQL tourne (ou que le dossier des données est accessible), puis réessayez."
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reading (committed at the end; nothing written is expected)."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes: committed at the end, rolled back on any error."""
        with self._errors(), self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    # -- migrations ----------------------------------------------------------
    def upgrade(self) -> None:
        """Migrate to the newest schema; two processes starting at once wait for each other (one migrates)."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = alembic_config()
        scripts = ScriptDirectory.from_config(config)
        head = scripts.get_current_head()
        with self.read() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        if current is not None and current not in {rev.revision for rev in scripts.walk_revisions()}:
            raise DatabaseUnavailable(
                f"La base de données ({self.where}) a été mise à jour par une version plus récente de l'assistant "
                f"(schéma {current}) : mettez cette copie à jour (git pull puis make setup) avant de la relancer."
            )
        for attempt in range(3):  # SQLite under heavy load: another process may hold the file a while
            try:
                with self.write() as conn:  # SQLite: BEGIN IMMEDIATE serializes the migrating processes
                    if self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")  # sees the version the other process committed, if any
                break
            except DatabaseBusy:
                if attempt == 2:
                    raise
                log.warning("database %s busy while migrating; trying again", self.where)
        log.info("database %s migrated to %s", self.where, head)

    def revision(self) -> str | None:
        """The schema version this database is at (Alembic revision), None when empty."""
        from alembic.runtime.migration import MigrationContext

        with self.read() as conn:
            return MigrationContext.configure(conn).get_current_revision()


def alembic_config() -> Any:
    """Alembic's configuration, pointing at the migrations shipped inside this package (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config

"""A copy of the database taken while the app runs, and its restore.

SQLite: SQLite's own online backup (a consistent copy, however busy the file). PostgreSQL:
``pg_dump --format=custom`` and ``pg_restore --clean``, PostgreSQL's own tools, which must be on
the PATH (Debian package ``postgresql-client``). The password goes to them through the
environment (``PGPASSWORD``), never on a command line that ``ps`` shows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from database.engine import Database
from database.errors import DatabaseError

SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
TOOL_SECONDS = 3600


class BackupError(DatabaseError):
    """A copy or a restore of the database failed; the message says what to do."""


def backup_database(db: Database, folder: Path) -> Path:
    """Write a consistent copy of the database into ``folder``; return the file written."""
    if db.dialect == "sqlite":
        target = folder / SQLITE_FILE
        raw = db.engine.raw_connection()
        try:
            with sqlite3.connect(target) as copy:
                raw.driver_connection.backup(copy)  # type: ignore[union-attr]
            copy.close()
        finally:
            raw.close()
        return target
    target = folder / POSTGRES_FILE
    _run_pg("pg_dump", db.engine.url, ["--format=custom", "--no-owner", f"--file={target}"])
    return target


def restore_database(folder: Path, url: str) -> str:
    """Put the copy of ``folder`` into the database of ``url`` (a SQLite file must not exist yet); return where."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = folder / SQLITE_FILE
        if not source.is_file():
            raise BackupError(f"{folder} ne contient pas de copie SQLite ({SQLITE_FILE}) : est-ce bien une sauvegarde ?")
        target = Path(parsed.database or "")
        if target.exists():
            raise BackupError(
                f"La base {target} existe déjà : restaurez dans un dossier de données vide (--data), "
                "ou déplacez-la d'abord (l'application arrêtée)."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)
    source = folder / POSTGRES_FILE
    if not source.is_file():
        raise BackupError(f"{folder} ne contient pas de copie PostgreSQL ({POSTGRES_FILE}) : est-ce bien une sauvegarde ?")
    _run_pg("pg_restore", parsed, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)])
    return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"


def _run_pg(tool: str, url: URL, args: list[str]) -> None:
    program = shutil.which(tool) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"), reverse=True)), None)
    if program is None:
        raise BackupError(f"{tool} est introuvable : installez les outils de PostgreSQL (paquet postgresql-client).")
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    target = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--username", url.username or ""]
    database = ["--dbname", url.database or ""]
    try:
        done = subprocess.run(
            [str(program), *target, *database, *args], env=env, capture_output=True, text=True, timeout=TOOL_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{tool} n'a pas fini en {TOOL_SECONDS} s.") from exc
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        raise BackupError(f"{tool} a échoué : {reason[0][:300]}")

"""The project's database: SQLite in the data folder by default, PostgreSQL by URL.

Below ``index`` in the import direction (``index`` and ``web`` import it; it imports neither):
the engine and its settings (``engine.py``), the schema (``schema.py``), the Alembic migrations
shipped inside the package (``migrations/``), named locks across processes and machines
(``locks.py``) and the record of what was imported from older data folders (``imports.py``).
"""

from database.engine import Database, private_folder, resolve_url
from database.errors import DatabaseBusy, DatabaseError, DatabaseUnavailable, LockBusy, LockLost

__all__ = [
    "Database",
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseUnavailable",
    "LockBusy",
    "LockLost",
    "private_folder",
    "resolve_url",
]

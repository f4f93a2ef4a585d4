"""The project's database: SQLite in the data folder by default, PostgreSQL by URL.

Below ``index`` in the import direction (``index`` and ``web`` import it; it imports neither):
the only package that speaks SQLAlchemy. It holds the engine and its settings (``engine.py``),
the errors (``errors.py``), the schema (``schema.py``), the Alembic migrations shipped inside the
package (``migrations/``), named locks across processes and machines (``locks.py``), the record
of what was imported from older data folders (``imports.py``), and one repository per kind of
record, each method one transaction, taking and returning plain values or frozen dataclasses:
the index's manifests, journal and reports (``index_state.py``, for ``index/state.py``),
accounts and login sessions (``accounts.py``, for ``web/users.py``), login attempts
(``throttle.py``), feedback and abstentions (``feedback.py``) and saved conversations
(``conversations.py``).
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

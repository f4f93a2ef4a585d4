"""The database layer's errors: every failure a user can meet derives from DatabaseError.

SQLAlchemy and driver errors are turned into one of these at the boundary
(``Database.read``/``Database.write``); the message is a French sentence saying what to do next.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of the database layer's errors; the message is for the user (French)."""


class DatabaseUnavailable(DatabaseError, ConnectionError):
    """The database cannot be reached or opened (server down, wrong address or password, unreadable file)."""


class DatabaseBusy(DatabaseError, TimeoutError):
    """The database stayed locked by another process longer than the busy timeout (SQLite)."""


class LockBusy(DatabaseError):
    """A named lock (the rebuild lock) is held by another process or machine."""


class LockLost(DatabaseError):
    """A lock this process held was lost (its lease expired, or its connection to the server died)."""


class GenerationTaken(DatabaseError):
    """Another sync committed this generation of the index first (its primary key refuses a second one)."""

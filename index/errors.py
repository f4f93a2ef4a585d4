"""The index layer's one error tree: every failure a user can meet derives from IndexingError.

Vendor errors (pypdf, chromadb, zip, I/O) are turned into one of these at the boundary
(``raise ... from exc``); their message is a French sentence saying what to do next.
The database's own errors (``database.DatabaseError``) reach the user as they are.
"""

from __future__ import annotations


class IndexingError(Exception):
    """Base of the index layer's errors; the message is for the user (French)."""


class SyncBusyError(IndexingError, RuntimeError):
    """Another sync holds the rebuild lock (in this process, another one, or on another machine)."""


class LegacyDataError(IndexingError, ValueError):
    """A file of an older data folder cannot be imported into the database."""

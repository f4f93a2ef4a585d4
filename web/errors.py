"""The web layer's errors, under their own root ``WebError``; the message is the user's sentence (French).

The project's error tree, one root per layer, each vendor error mapped to one of them at its boundary:

- ``database.DatabaseError`` (database/errors.py): the database cannot be reached, is busy, a lock is held
  or lost (SQLAlchemy and driver errors are mapped in ``Database.read``/``Database.write``);
- ``index.errors.IndexingError`` (index/errors.py): a file cannot be read or drawn, a model cannot be
  assembled, Chroma does not answer, another sync runs, a worker dies;
- ``assistant.errors.AnsweringError`` (assistant/errors.py): an empty index, a question refused, the
  model server unavailable or cut off;
- ``web.errors.WebError`` (here): access refused, an upload refused, a login refused, a conversation
  not found, a curation refused, an evaluation stopped.

``web.messages.user_message`` turns any of them into the sentence a person sees (with the internals of
model servers and databases for admins only); anything else is a bug, logged in full, and the person is
told so. ``tests/unit/test_errors.py`` checks that every error class of the project has a root.
"""

from __future__ import annotations


class WebError(Exception):
    """Root of the web layer's errors; the message is for the user (French)."""


class AccessDenied(WebError, PermissionError):
    """An admin function was called by someone who is not an admin."""


class UploadError(WebError, ValueError):
    """A file was refused; the message says why."""


class UsersFileError(WebError, ValueError):
    """The users file cannot be read as a whole (missing, not JSON, not an object)."""


class LoginRefused(WebError):
    """A login attempt was refused; the message says what to do."""


class BadCredentials(LoginRefused):
    """Unknown name or wrong password (counted towards the login throttle)."""


class LockedOut(LoginRefused):
    """Too many tries for this name or address: wait a little."""


class LegacyPassword(LoginRefused):
    """The right password, stored in the old format: an admin must reset it."""


class EvaluationCancelled(WebError):
    """An admin stopped the background evaluation."""

    def __init__(self, message: str = "Évaluation arrêtée par un administrateur.") -> None:
        super().__init__(message)

"""The web layer's errors.

They derive from the answering layer's base, so that the one place that turns
errors into French sentences (``web.messages.user_message``) covers them too.
"""

from __future__ import annotations

from assistant.errors import AnsweringError


class WebError(AnsweringError):
    """Base of the web layer's errors; the message is for the user (French)."""


class AccessDenied(WebError, PermissionError):
    """An admin function was called by someone who is not an admin."""


class UploadError(WebError, ValueError):
    """A file was refused; the message says why."""


class UsersFileError(WebError, ValueError):
    """The users file cannot be read as a whole (missing, not JSON, not an object)."""


class LoginRefused(WebError):
    """A login attempt was refused; the message says what to do."""


class BadCredentials(LoginRefused):
    """Unknown name or wrong password (counted towards the lockout)."""


class LockedOut(LoginRefused):
    """Too many failures for this name or address: refused for a while."""


class LegacyPassword(LoginRefused):
    """The right password, stored in the old format: an admin must reset it."""

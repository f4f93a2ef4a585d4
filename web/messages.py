"""The one place that turns failures into French sentences for the people using the chat."""

from __future__ import annotations

import logging

from assistant.errors import AnsweringError
from database import DatabaseError
from index.errors import IndexingError

log = logging.getLogger("web")

UNEXPECTED = (
    "Une erreur inattendue s'est produite. Réessayez ; si elle revient, prévenez un administrateur "
    "(détails dans le journal du serveur)."
)


def user_message(exc: BaseException) -> str:
    """Turn any failure into a French sentence saying what to do; the details go to the log.

    Every error a user can meet derives from one of the layers' bases (the web
    layer's own errors derive from the answering layer's; the database has its
    own), whose message is already that sentence; anything else is a bug, logged in full.
    """
    if isinstance(exc, AnsweringError | IndexingError | DatabaseError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return UNEXPECTED

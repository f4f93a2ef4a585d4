"""The one place that turns failures into French sentences for the people using the chat."""

from __future__ import annotations

import logging

from assistant.backends import BackendUnavailable, GenerationError
from assistant.errors import AnsweringError
from database import DatabaseError
from index.errors import IndexingError
from web.errors import WebError

log = logging.getLogger("web")

UNEXPECTED = (
    "Une erreur inattendue s'est produite. Réessayez ; si elle revient, prévenez un administrateur "
    "(détails dans le journal du serveur)."
)


MODEL_TROUBLE = (
    "Le modèle de langue ne peut pas répondre pour le moment. Reposez la question dans un instant ; "
    "si cela se répète, prévenez un administrateur (détails dans le journal du serveur et la page Admin)."
)
DATABASE_TROUBLE = (
    "La base de données de l'assistant ne répond pas pour le moment. Réessayez dans un instant ; "
    "si cela se répète, prévenez un administrateur (détails dans le journal du serveur)."
)


def user_message(exc: BaseException, admin: bool = True) -> str:
    """Turn any failure into a French sentence saying what to do; the details go to the log.

    Every error a user can meet derives from one of the layers' roots (the tree: ``web.errors``),
    whose message is already that sentence; anything else is a bug, logged in full.
    Messages about the model server and the database name addresses, files and settings:
    those are for admins; others get the same advice without the internals.
    """
    if not admin and isinstance(exc, BackendUnavailable | GenerationError | DatabaseError):
        log.warning("shown to a staff member without its details: %s", exc)
        return MODEL_TROUBLE if not isinstance(exc, DatabaseError) else DATABASE_TROUBLE
    if isinstance(exc, WebError | AnsweringError | IndexingError | DatabaseError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return UNEXPECTED

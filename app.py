"""Web chat for staff: streaming answers with sources, document viewer, admin page, login.

Run with ``make run`` or ``python app.py``. The web layer lives in ``web/``
(users, service, Gradio handlers and layout, HTTP server); this file only builds
the settings and starts it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # documents stay private: no analytics
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import Settings
from assistant.errors import AnsweringError
from coop_assistant.wiring import build_web
from database import DatabaseError
from database.imports import imported
from index.errors import IndexingError
from web.errors import WebError
from web.messages import user_message
from web.request_log import configure_logging
from web.server import create_app, serve
from web.ui import build_app

__all__ = ["build_app", "main", "user_message"]

LOCAL = ("127.0.0.1", "localhost", "::1")


USAGE = """Usage: python app.py   (or: make run)

Serves the web chat on http://127.0.0.1:7860/. It takes no options: every setting is an
environment variable ASSISTANT_… or a line of the .env file (ASSISTANT_HOST, ASSISTANT_PORT,
ASSISTANT_DOCS_DIR, ASSISTANT_LOG_FORMAT=json, …); `python -m assistant settings-table` lists them.
"""


def main() -> None:
    if sys.argv[1:]:
        print(USAGE, file=sys.stdout if set(sys.argv[1:]) <= {"-h", "--help"} else sys.stderr)
        raise SystemExit(0 if set(sys.argv[1:]) <= {"-h", "--help"} else 2)
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(settings.log_format, settings.log_level)
    try:
        service = build_web(settings)
    except (ValueError, WebError, AnsweringError, IndexingError, DatabaseError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    host = settings.host
    if not service.login_required and host not in LOCAL:
        print(
            f"Aucun utilisateur configuré : l'assistant reste sur 127.0.0.1 (et non {host}). "
            "Créez des comptes (python -m assistant add-user NOM --admin) et redémarrez pour l'ouvrir au réseau.",
            file=sys.stderr,
        )
        host = "127.0.0.1"
    for problem in service.users.problems():
        print(f"Attention : {problem}", file=sys.stderr)
    if settings.users_file is not None and (record := imported(service.db, "users-file")) is not None:
        print(
            f"Les comptes de {record['source']} sont dans la base de données ({service.db.where}) : ce fichier n'est "
            "plus lu. Gérez les comptes avec « python -m assistant add-user | remove-user | set-role | list-users ».",
            file=sys.stderr,
        )
    if not service.login_required:
        print(f"Sans comptes configurés : accessible seulement depuis cette machine (http://127.0.0.1:{settings.port}).")
    print(service.assistant.backend_note)
    print("Chargement des modèles…")
    service.warm_up()
    app = create_app(service)
    print(f"Assistant prêt : http://{host}:{settings.port}{settings.root_path.rstrip('/')}/")
    serve(app, host, settings.port, settings.trusted_proxies)  # never Gradio's share links: nothing leaves this machine


if __name__ == "__main__":
    main()

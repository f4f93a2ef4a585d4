"""``serve``: the web chat (``coop-assistant serve``, ``python app.py``, ``make run``), built by ``coop_assistant.wiring``.

Every setting is an ``ASSISTANT_*`` variable or a line of ``.env`` (``settings-table`` lists them):
the command takes no option of its own, so that the settings stay in one place.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # documents stay private: no analytics
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import typer

from assistant.config import Settings
from assistant.errors import AnsweringError
from coop_assistant.wiring import build_web
from database import DatabaseError
from database.imports import imported
from index.errors import IndexingError
from web.errors import WebError
from web.request_log import configure_logging
from web.server import create_app, serve

app = typer.Typer(add_completion=False)

LOCAL = ("127.0.0.1", "localhost", "::1")


@app.command("serve")
def serve_command() -> None:
    """Sert le chat web (http://127.0.0.1:7860/ par défaut). Réglages : variables ASSISTANT_… ou fichier .env
    (ASSISTANT_HOST, ASSISTANT_PORT, ASSISTANT_DOCS_DIR, ASSISTANT_LOG_FORMAT=json… ; la liste : settings-table)."""
    run_server()


def run_server() -> None:
    """Build the parts from the settings and serve until stopped; a setting or a part that fails says why (exit 2)."""
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
    web_app = create_app(service)
    print(f"Assistant prêt : http://{host}:{settings.port}{settings.root_path.rstrip('/')}/")
    serve(web_app, host, settings.port, settings.trusted_proxies)  # never Gradio's share links: nothing leaves this machine

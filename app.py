"""Web chat for staff: streaming answers with sources, document viewer, admin page, login.

Run with ``make run``, ``python app.py`` or ``coop-assistant serve`` (``coop_assistant.serve_command``).
The web layer lives in ``web/`` (users, service, Gradio handlers and layout, HTTP server).
"""

from __future__ import annotations

import sys

from coop_assistant.serve_command import run_server
from web.messages import user_message
from web.ui import build_app

__all__ = ["build_app", "main", "user_message"]

USAGE = """Usage: python app.py   (or: make run, coop-assistant serve)

Serves the web chat on http://127.0.0.1:7860/. It takes no options: every setting is an
environment variable ASSISTANT_… or a line of the .env file (ASSISTANT_HOST, ASSISTANT_PORT,
ASSISTANT_DOCS_DIR, ASSISTANT_LOG_FORMAT=json, …); `python -m assistant settings-table` lists them.
"""


def main() -> None:
    if sys.argv[1:]:
        asked = set(sys.argv[1:]) <= {"-h", "--help"}
        print(USAGE, file=sys.stdout if asked else sys.stderr)
        raise SystemExit(0 if asked else 2)
    run_server()


if __name__ == "__main__":
    main()

"""The one command line: ``python -m coop_assistant`` (also ``python -m assistant``, ``python -m index``, ``python -m web``).

Web chat: ``serve``. Index: ``sync``, ``status``, ``fetch-models``, ``backup``, ``restore``. Answers: ``ask``, ``eval``, ``settings-table``.
Accounts: ``add-user``, ``remove-user``, ``set-role``, ``list-users``, ``unlock``. Each command's own
``--help`` says the rest.
"""

from __future__ import annotations

import logging

import typer

from coop_assistant import account_commands, answer_commands, backup_commands, index_commands, serve_command

app = typer.Typer(
    add_completion=False,
    help="Assistant documentaire : index, questions, évaluation, comptes.",
    no_args_is_help=True,
)
for group in (serve_command.app, index_commands.app, backup_commands.app, answer_commands.app, account_commands.app):
    for command in group.registered_commands:
        app.registered_commands.append(command)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()

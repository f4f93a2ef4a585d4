"""Command line of the web layer: ``python -m web add-user NAME --file users.json [--admin]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from web.errors import UsersFileError
from web.users import write_user

app = typer.Typer(add_completion=False, help="Comptes de l'assistant web.", no_args_is_help=True)


@app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="Nom de connexion.")],
    users_file: Annotated[Path, typer.Option("--file", help="Fichier JSON des utilisateurs (hors du dépôt).")],
    admin: Annotated[bool, typer.Option("--admin", help="Donner l'accès à la page Admin.")] = False,
) -> None:
    """Ajoute un utilisateur ou redéfinit son mot de passe (seule son empreinte Argon2id est gardée, fichier en 0600)."""
    password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    try:
        write_user(users_file, name, password, admin)
    except UsersFileError as exc:
        typer.echo(f"Erreur : {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"Utilisateur « {name} » enregistré dans {users_file}{' (administrateur)' if admin else ''}. "
        "L'assistant en cours relit ce fichier tout seul : pas besoin de le redémarrer."
    )


@app.callback()
def main() -> None:
    """Comptes de l'assistant web."""


if __name__ == "__main__":
    app()

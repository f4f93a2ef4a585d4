"""The account commands: ``add-user``, ``remove-user``, ``set-role``, ``list-users``, ``unlock``.

Accounts live in the database (ASSISTANT_DATABASE_URL, else data/assistant.db): every running
copy of the app sees a change within a second, without restart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from database import Database, DatabaseError
from web.errors import UsersFileError
from web.throttle import LoginThrottle
from web.users import list_users, remove_user, set_admin, write_user

app = typer.Typer(add_completion=False, help="Comptes de l'assistant web.", no_args_is_help=True)

DataOpt = Annotated[Path | None, typer.Option("--data", help="Dossier des données (défaut : réglage data_dir).")]
T = TypeVar("T")
LIVE = "Les assistants en cours le voient d'eux-mêmes, sans redémarrer."


def open_database(data: Path | None) -> Database:
    from assistant.config import Settings
    from index.state import database_from_settings

    try:
        settings = Settings() if data is None else Settings(data_dir=data)
        return database_from_settings(settings)
    except (DatabaseError, ValueError) as exc:
        typer.echo(f"Erreur : {exc}", err=True)
        raise typer.Exit(2) from exc


def on_database(data: Path | None, action: Callable[[Database], T]) -> tuple[T, str]:
    """Run ``action`` on the accounts' database; exit 2 saying why when it cannot; return its result and where it ran."""
    db = open_database(data)
    try:
        return action(db), db.where
    except (UsersFileError, DatabaseError) as exc:
        typer.echo(f"Erreur : {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()


def no_such_account(name: str) -> typer.Exit:
    typer.echo(f"Erreur : aucun compte « {name} » (voir « python -m assistant list-users »).", err=True)
    return typer.Exit(2)


@app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="Nom de connexion.")],
    admin: Annotated[bool, typer.Option("--admin/--staff", help="Donner l'accès à la page Admin (ou non).")] = False,
    data: DataOpt = None,
    users_file: Annotated[
        Path | None, typer.Option("--file", hidden=True, help="Ancien fichier des comptes (ignoré : ils sont dans la base).")
    ] = None,
) -> None:
    """Ajoute un utilisateur ou redéfinit son mot de passe (seule son empreinte Argon2id est gardée, dans la base)."""
    if users_file is not None:
        typer.echo(f"Note : les comptes sont maintenant dans la base de données ; « --file {users_file} » est ignoré.", err=True)
    password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    _, where = on_database(data, lambda db: write_user(db, name, password, admin))
    typer.echo(
        f"Utilisateur « {name} » enregistré dans {where}{' (administrateur)' if admin else ''}. {LIVE} "
        "(Un assistant démarré sans aucun compte doit être redémarré pour demander la connexion.)"
    )


@app.command("remove-user")
def remove(name: Annotated[str, typer.Argument(help="Nom de connexion.")], data: DataOpt = None) -> None:
    """Supprime un compte ; ses sessions ouvertes se ferment."""
    found, _ = on_database(data, lambda db: remove_user(db, name))
    if not found:
        raise no_such_account(name)
    typer.echo(f"Compte « {name} » supprimé. {LIVE}")


@app.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument(help="Nom de connexion.")],
    admin: Annotated[bool, typer.Option("--admin/--staff", help="Administrateur, ou personnel sans page Admin.")],
    data: DataOpt = None,
) -> None:
    """Donne ou retire le rôle d'administrateur."""
    found, _ = on_database(data, lambda db: set_admin(db, name, admin))
    if not found:
        raise no_such_account(name)
    typer.echo(f"« {name} » est maintenant {'administrateur' if admin else 'sans accès à la page Admin'}. {LIVE}")


@app.command("list-users")
def list_accounts(data: DataOpt = None) -> None:
    """Liste les comptes, leur rôle, et pourquoi un compte est refusé."""
    accounts, where = on_database(data, list_users)
    if not accounts:
        typer.echo(f"Aucun compte dans {where} : l'assistant reste sans connexion, sur cette machine seulement.")
    for a in accounts:
        role = "administrateur" if a["admin"] else "personnel"
        typer.echo(f"{a['name']} · {role}" + ("" if a["active"] else f" · REFUSÉ : {a['problem']}"))


@app.command("unlock")
def unlock(name: Annotated[str, typer.Argument(help="Nom de connexion.")], data: DataOpt = None) -> None:
    """Efface les délais de connexion d'un compte après des essais infructueux (de toutes les adresses)."""
    cleared, _ = on_database(data, lambda db: LoginThrottle(db).unlock(name))
    if cleared:
        typer.echo(f"« {name} » peut se reconnecter tout de suite. {LIVE}")
    else:
        typer.echo(f"« {name} » n'avait aucun essai infructueux en attente.")

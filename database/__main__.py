"""Command line of the database: ``python -m database upgrade|current|revision``.

``revision "message"`` writes a new migration into ``database/migrations/versions`` from the
difference between ``database/schema.py`` and the schema the existing migrations build
(compared on a scratch SQLite file): review it, then commit it with the schema change.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from database.engine import Database, alembic_config, resolve_url
from database.errors import DatabaseError

app = typer.Typer(add_completion=False, help="Base de données de l'assistant (migrations).", no_args_is_help=True)

DataOpt = Annotated[Path, typer.Option("--data", help="Dossier des données (base SQLite par défaut).")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", envvar="ASSISTANT_DATABASE_URL", help="Adresse PostgreSQL.", show_default=False)
]


def _open(data: Path, url: str | None) -> Database:
    try:
        return Database.open(resolve_url(url, data))
    except DatabaseError as exc:
        typer.echo(f"Erreur : {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def upgrade(data: DataOpt = Path("data"), url: UrlOpt = None) -> None:
    """Crée ou met à jour les tables (ce que fait chaque démarrage de l'assistant)."""
    db = _open(data, url)
    typer.echo(f"{db.where} : schéma {db.revision()}")
    db.dispose()


@app.command()
def current(data: DataOpt = Path("data"), url: UrlOpt = None) -> None:
    """Affiche la version du schéma de la base."""
    upgrade(data, url)


@app.command()
def revision(message: Annotated[str, typer.Argument(help="Ce que change la migration (une phrase).")]) -> None:
    """Écrit une nouvelle migration d'après database/schema.py (à relire avant de la valider)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    with tempfile.TemporaryDirectory(prefix="migration-") as tmp:
        db = Database.open(f"sqlite:///{tmp}/scratch.db")  # at the newest existing version
        config = alembic_config()
        rev_id = f"{len(list(ScriptDirectory.from_config(config).walk_revisions())) + 1:04d}"
        with db.write() as conn:
            config.attributes["connection"] = conn
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        db.dispose()


if __name__ == "__main__":
    app()

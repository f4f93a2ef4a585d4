"""``backup`` and ``restore``: the database and the current index's vectors (``index.backup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coop_assistant.index_commands import DataOpt, build_settings, fail, open_state
from database import DatabaseError
from database.engine import resolve_url
from index.backup import backup, restore
from index.errors import IndexingError
from index.store import Store

app = typer.Typer(add_completion=False)


@app.command("backup")
def backup_command(
    folder: Annotated[Path, typer.Argument(help="Nouveau dossier où écrire la sauvegarde (il ne doit pas exister).")],
    data: DataOpt = None,
    wait: Annotated[float, typer.Option("--wait", help="Secondes d'attente d'une reconstruction en cours.")] = 600,
) -> None:
    """Sauvegarde la base (comptes, conversations, avis, index) et les vecteurs de l'index, l'application en marche.

    Les documents eux-mêmes ne sont pas copiés : sauvegardez leur dossier avec vos sauvegardes de fichiers.
    """
    settings = build_settings(None, data)
    state = open_state(settings)
    try:
        store = Store.open(settings.data_dir, settings.chroma_url)
        info = backup(state, store, folder, lock_wait=wait)
    except (IndexingError, DatabaseError) as exc:
        raise fail(str(exc)) from exc
    finally:
        state.db.dispose()
    typer.echo(
        f"Sauvegarde écrite dans {info.folder} : base de données, index version {info.generation} "
        f"({info.documents} documents, {info.chunks} passages) en {info.seconds:.1f} s."
    )


@app.command("restore")
def restore_command(
    folder: Annotated[Path, typer.Argument(help="Dossier d'une sauvegarde faite par « backup ».")],
    data: DataOpt = None,
) -> None:
    """Restaure une sauvegarde, l'application arrêtée : la base (SQLite : dans un dossier de données sans base), puis les vecteurs.

    Les documents doivent être remis dans le dossier des documents par ailleurs.
    """
    settings = build_settings(None, data)
    url = resolve_url(settings.database_url.get_secret_value() if settings.database_url else None, settings.data_dir)
    try:
        info = restore(folder, url, lambda: Store.open(settings.data_dir, settings.chroma_url))
    except (IndexingError, DatabaseError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"Restauré : base de données ({info['restored_database']}), {info['restored_chunks']} passages de l'index "
        f"version {info['generation']} ({info['documents']} documents). Remettez les documents dans leur dossier, "
        "puis démarrez l'application."
    )

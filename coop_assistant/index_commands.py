"""The index commands: ``sync``, ``status``, ``fetch-models`` (parts from ``coop_assistant.wiring``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from coop_assistant.wiring import build_index
from database import DatabaseError
from index.config import IndexSettings
from index.errors import IndexingError
from index.model_catalog import KNOWN_MODELS
from index.models import ModelError, fetch
from index.state import IndexState
from index.sync import SyncBusyError, SyncReport

app = typer.Typer(add_completion=False, help="Index des documents de coopération (Chroma).", no_args_is_help=True)

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2

DocsOpt = Annotated[Path | None, typer.Option("--docs", help="Dossier des documents (défaut : réglage docs_dir).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Dossier de l'index (défaut : réglage data_dir).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Un seul objet JSON sur la sortie standard.")]


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"Erreur : {message}", err=True)
    return typer.Exit(code)


def build_settings(docs: Path | None, data: Path | None) -> IndexSettings:
    overrides = {k: v for k, v in {"docs_dir": docs, "data_dir": data}.items() if v is not None}
    try:
        return IndexSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise fail(f"réglages invalides : {exc}") from exc


def open_state(settings: IndexSettings) -> IndexState:
    """The index state in the database (migrated, older files imported), or exit 2 saying why not."""
    try:
        return IndexState.from_settings(settings)
    except (DatabaseError, IndexingError) as exc:
        raise fail(str(exc)) from exc


def print_report(report: SyncReport) -> None:
    for label, sources in (
        ("ajouté", report.added),
        ("modifié", report.changed),
        ("supprimé", report.removed),
        ("inchangé", report.unchanged),
    ):
        for source in sources:
            typer.echo(f"  {label:<9} {source}")
    for item in report.renamed:
        typer.echo(f"  renommé   {item['from']} → {item['to']} (rien à recalculer)")
    for item in report.failed:
        typer.echo(f"  ÉCHEC     {item['source']} : {item['error']}")
    typer.echo(
        f"{report.documents_total} documents, {report.chunks_total} passages dans l'index ; "
        f"{report.chunks_embedded} passages calculés en {report.seconds:.1f} s."
        + (" Index entièrement reconstruit." if report.rebuilt else "")
    )
    if report.failed:
        typer.echo(f"{len(report.failed)} fichier(s) non indexé(s) : corrigez-les puis relancez la synchronisation.")


@app.command()
def sync(
    docs: DocsOpt = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Tout recalculer.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Secondes d'attente si une autre synchronisation tourne.")] = 0,
) -> None:
    """Synchronise l'index avec le dossier des documents (seuls les fichiers modifiés sont recalculés)."""
    settings = build_settings(docs, data)
    if not settings.docs_dir.is_dir():
        raise fail(f"le dossier de documents « {settings.docs_dir} » n'existe pas (option --docs).")
    try:
        indexer = build_index(settings).indexer  # the database first: its problems are said before Chroma's
        show_bar = not as_json and sys.stderr.isatty()
        bar = None
        if show_bar:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="passage", desc="Indexation", file=sys.stderr)

        def progress(done: int, total: int, _doc: str) -> None:
            if bar is not None:
                bar.total = total
                bar.n = done
                bar.refresh()

        def notice(text: str) -> None:
            if bar is not None:
                bar.write(text, file=sys.stderr)
            elif not as_json:
                typer.echo(text, err=True)

        try:
            report = indexer.sync(wait_seconds=wait, rebuild=rebuild, progress=progress, notice=notice)
        finally:
            if bar is not None:
                bar.close()
    except SyncBusyError as exc:
        raise fail(str(exc)) from exc
    except (IndexingError, DatabaseError) as exc:  # models, store, the file reader, the database: each says what to do
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print_report(report)
    raise typer.Exit(EXIT_PARTIAL if report.failed else EXIT_OK)


@app.command()
def status(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Montre l'état de l'index : documents, passages, dernière synchronisation."""
    settings = build_settings(None, data)
    state = open_state(settings)
    try:
        manifest = state.manifest()
        last = state.last_report()
    except DatabaseError as exc:
        raise fail(str(exc)) from exc
    if manifest is None:
        raise fail(f"aucun index dans {state.db.where} : lancez « python -m index sync ».")
    info = {
        "documents": len(manifest.documents),
        "chunks_total": manifest.chunks_total,
        "embedding": manifest.embedding,
        "collection": manifest.collection,
        "synced_at": manifest.synced_at,
        "generation": manifest.generation,
        "sources": sorted(manifest.documents),
        "last_sync": last,
    }
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    typer.echo(f"Index : {state.db.where} (génération {manifest.generation}, synchronisé le {manifest.synced_at})")
    typer.echo(f"Modèle d'embeddings : {manifest.embedding}")
    typer.echo(f"{len(manifest.documents)} documents, {manifest.chunks_total} passages")
    for source, entry in sorted(manifest.documents.items()):
        typer.echo(f"  {source} — {entry.title} ({entry.chunks} passages)")


@app.command("fetch-models")
def fetch_models(
    names: Annotated[list[str] | None, typer.Argument(help=f"Modèles à préparer parmi : {', '.join(KNOWN_MODELS)}")] = None,
) -> None:
    """Télécharge, assemble et vérifie (SHA-256) les modèles dans le cache local."""
    settings = IndexSettings()
    for name in names or list(KNOWN_MODELS):
        if name not in KNOWN_MODELS:
            raise fail(f"modèle inconnu « {name} » ; choix : {', '.join(KNOWN_MODELS)}")
        try:
            path = fetch(KNOWN_MODELS[name], settings.model_cache_dir, progress=lambda m: typer.echo(m, err=True))
        except ModelError as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"{name}: {path}")

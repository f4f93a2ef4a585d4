"""The admin page: status, uploads, rebuild."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.errors import AnsweringError
from index.errors import IndexingError
from web.errors import UploadError, WebError
from web.handlers.common import admin_only, error, username
from web.messages import user_message
from web.render import (
    plain_markdown,
    problems_markdown,
    report_markdown,
    status_markdown,
)
from web.service import WebService

log = logging.getLogger(__name__)


def show_admin(service: WebService, request: gr.Request) -> Any:
    """Show the Admin tab to admins only (the handlers check again on every call)."""
    return gr.update(visible=service.is_admin(username(request)))


@admin_only
def admin_refresh(service: WebService, request: gr.Request) -> tuple[str, str]:
    return status_markdown(service.status()), problems_markdown(service.problems())


@admin_only
def add_documents(service: WebService, files: list[Any] | None, replace: bool, request: gr.Request) -> tuple[str, None]:
    if not files:
        raise error("Choisissez d'abord un ou plusieurs fichiers.")
    paths = [Path(f if isinstance(f, str) else getattr(f, "path", None) or f.name) for f in files]
    try:
        service.check_upload_count(len(files))
        added, refused = [], []
        for f, path in zip(files, paths, strict=True):
            original = getattr(f, "orig_name", None) or path.name
            try:
                added.append(service.save_upload(path, original, overwrite=bool(replace)))
            except UploadError as exc:
                refused.append(str(exc))
    except (WebError, AnsweringError, IndexingError, OSError) as exc:
        raise error(user_message(exc) if not isinstance(exc, OSError) else f"Fichier illisible : {exc.strerror}.") from exc
    finally:
        for path in paths:  # Gradio's copy is not kept: the documents folder has the file now
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove upload %s", path)
    if refused and not added:
        raise error(" ".join(refused))
    lines = [f"- ajouté : {plain_markdown(name)}" for name in added] + [f"- **refusé** : {plain_markdown(r)}" for r in refused]
    return "\n".join(lines) + "\n\nCliquez « Reconstruire l'index » pour les rendre interrogeables.", None


@admin_only
def rebuild(service: WebService, request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any]:  # noqa: B008
    progress(0, desc="Analyse des documents…")

    state = {"done": 0, "total": 0}

    def step(done: int, total: int, _doc: str) -> None:
        state.update(done=done, total=total)
        progress((done, total), desc="Calcul des passages", unit="passages")

    def notice(text: str) -> None:  # a slow step (OCR of a scan, page by page) says what it is doing
        progress((state["done"], state["total"]) if state["total"] else None, desc=text)

    try:
        report = service.rebuild(step, notice)
    except Exception as exc:
        raise error(user_message(exc)) from exc
    return report_markdown(report.to_json()), status_markdown(service.status()), gr.update(choices=service.sources())

"""What the web chat needs, without the web: answering, uploads, rebuilds, users, feedback.

Kept apart from ``app.py`` so that it can be tested without a browser and so
that app.py stays a thin Gradio layer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AnsweringError
from assistant.llm import make_backend
from assistant.pipeline import Answer, Assistant, Retrieved
from assistant.retrieval import Retriever
from index.embeddings import SentenceTransformerEmbedder
from index.loaders import SUPPORTED_SUFFIXES
from index.manifest import read_manifest
from index.store import Store
from index.sync import Indexer, SyncBusyError, SyncReport

log = logging.getLogger(__name__)


class UploadError(AnsweringError, ValueError):
    """A file was refused; the message says why (French)."""


class AccessDenied(AnsweringError, PermissionError):
    """An admin function was called by someone who is not an admin."""


@dataclass(frozen=True)
class User:
    name: str
    password_sha256: str
    admin: bool


def hash_password(password: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def load_users(path: Path | None) -> dict[str, User]:
    """Read users from JSON: {"name": {"password_sha256": sha256("name:password"), "admin": true}}."""
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"Fichier d'utilisateurs introuvable : {path}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"Fichier d'utilisateurs illisible ({path}) : {exc.msg} ligne {exc.lineno}") from exc
    users = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(entry.get("password_sha256", ""))):
            raise ValueError(
                f"Utilisateur « {name} » : password_sha256 attendu (64 caractères hexadécimaux) ; "
                "créez-le avec « python -m assistant add-user »."
            )
        users[name] = User(name, entry["password_sha256"], bool(entry.get("admin", False)))
    return users


def check_password(users: dict[str, User], name: str, password: str) -> bool:
    user = users.get(name)
    return user is not None and hmac.compare_digest(user.password_sha256, hash_password(password, name))


def safe_filename(name: str) -> str:
    """Keep a plain file name: no folders, no leading dots, no odd characters."""
    base = Path(name.replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r"[^\w.\- ()àâäçéèêëîïôöûùüÿœÀÂÄÇÉÈÊËÎÏÔÖÛÙÜŸŒ]", "_", base).strip(" .")
    if not base or base.startswith("."):
        raise UploadError(f"Nom de fichier refusé : « {name} ».")
    return base[:150]


class Service:
    """One per web-chat process: answers questions and runs rebuilds without blocking them."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None, indexer: Indexer | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if assistant is None or indexer is None:
            store = Store.open(settings.data_dir, settings.chroma_url)
            embedder = SentenceTransformerEmbedder.from_settings(settings)
            retriever = Retriever.from_settings(settings, store, embedder)
            backend, note = make_backend(settings)
            assistant = Assistant.from_settings(settings, retriever, backend, note)
            indexer = Indexer.from_settings(settings, store, embedder)
        self.assistant = assistant
        self.indexer = indexer
        self.users = load_users(settings.users_file)
        self._rebuild_lock = threading.Lock()
        self._log_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the models and the current index now, so that the first question is not the slow one."""
        for part in (self.assistant.retriever.embedder, self.assistant.backend):
            load = getattr(part, "load", None)
            if callable(load):
                load()
        try:
            self.assistant.retriever.snapshot()
        except Exception:  # an empty index is reported when someone asks; starting must not fail
            log.warning("no index to preload yet")

    # -- access --------------------------------------------------------------
    @property
    def login_required(self) -> bool:
        return bool(self.users)

    def is_admin(self, username: str | None) -> bool:
        if not self.users:
            return True  # no login configured: local use only (bound to 127.0.0.1)
        user = self.users.get(username or "")
        return bool(user and user.admin)

    def require_admin(self, username: str | None) -> None:
        if not self.is_admin(username):
            raise AccessDenied("Cette fonction est réservée aux administrateurs.")

    # -- answering -----------------------------------------------------------
    def stream(
        self, question: str, history: Sequence[dict[str, str]], sources: Sequence[str] | None = None
    ) -> Iterator[Retrieved | str | Answer]:
        for item in self.assistant.stream(question, history, sources or None):
            if isinstance(item, Answer):
                self.log_question(item)
            yield item

    def log_question(self, answer: Answer) -> None:
        if answer.abstained:
            self._append(
                self.settings.data_dir / "abstentions.jsonl",
                {
                    "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "question": answer.question,
                    "standalone": answer.standalone_question,
                    "reason": answer.reason,
                },
            )

    def record_feedback(self, question: str, answer: str, liked: bool | None, comment: str = "", user: str | None = None) -> None:
        self._append(
            self.settings.feedback_file,
            {
                "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                "user": user,
                "question": question,
                "answer": answer,
                "liked": liked,
                "comment": comment.strip(),
            },
        )

    def _append(self, path: Path, row: dict[str, Any]) -> None:
        with self._log_lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def problems(self, limit: int = 50) -> list[dict[str, Any]]:
        """Abstentions and thumbs-down, newest first (for the admins)."""
        rows: list[dict[str, Any]] = []
        for path, kind in (
            (self.settings.data_dir / "abstentions.jsonl", "abstention"),
            (self.settings.feedback_file, "avis négatif"),
        ):
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if kind == "avis négatif" and row.get("liked") is not False:
                    continue
                rows.append({"kind": kind, **row})
        rows.sort(key=lambda r: r.get("when", ""), reverse=True)
        return rows[:limit]

    # -- documents -----------------------------------------------------------
    def save_upload(self, tmp_path: Path, original_name: str, overwrite: bool = False) -> str:
        """Copy an uploaded file into the documents folder; return its name there."""
        name = safe_filename(original_name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise UploadError(
                f"« {original_name} » : format non accepté ({suffix or 'sans extension'}). Formats acceptés : {', '.join(SUPPORTED_SUFFIXES)}."
            )
        size = tmp_path.stat().st_size
        if size > self.settings.max_upload_mb * 1_000_000:
            raise UploadError(
                f"« {original_name} » : fichier trop volumineux ({size / 1e6:.1f} Mo, maximum {self.settings.max_upload_mb:g} Mo)."
            )
        docs = self.settings.docs_dir.resolve()
        docs.mkdir(parents=True, exist_ok=True)
        target = (docs / name).resolve()
        if target.parent != docs:
            raise UploadError(f"Nom de fichier refusé : « {original_name} ».")
        if target.exists() and not overwrite:
            raise UploadError(f"« {name} » existe déjà dans les documents : cochez « Remplacer » pour le mettre à jour.")
        shutil.copyfile(tmp_path, target)
        return name

    def document_path(self, source: str) -> Path | None:
        """Return the file of an indexed source, never anything outside the documents folder."""
        docs = self.settings.docs_dir.resolve()
        path = (docs / source).resolve()
        return path if path.is_file() and docs in path.parents else None

    def rebuild(self, progress: Callable[[int, int, str], None] | None = None) -> SyncReport:
        """Sync the index; people keep getting answers from the previous index meanwhile."""
        if not self._rebuild_lock.acquire(blocking=False):
            raise SyncBusyError("Une reconstruction est déjà en cours : attendez qu'elle se termine.")
        try:
            return self.indexer.sync(progress=progress)
        finally:
            self._rebuild_lock.release()

    def status(self) -> dict[str, Any]:
        manifest = read_manifest(self.settings.data_dir)
        last_path = self.settings.data_dir / "last-sync.json"
        last = json.loads(last_path.read_text(encoding="utf-8")) if last_path.exists() else None
        return {
            "documents": len(manifest.documents) if manifest else 0,
            "chunks": manifest.chunks_total if manifest else 0,
            "synced_at": manifest.synced_at if manifest else None,
            "embedding": manifest.embedding if manifest else self.settings.embedding_model,
            "sources": {s: d.title for s, d in sorted(manifest.documents.items())} if manifest else {},
            "last_sync": last,
        }

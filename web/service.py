"""What the web chat needs, without the web: answering, roles, documents, rebuilds, feedback.

Gradio handlers (``web.handlers``) and HTTP routes (``web.server``) take this
object; it holds no Gradio and can be tested without a browser.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer import Answer, Rereading, Retrieved
from assistant.config import Settings
from assistant.diagnosis import diagnose
from assistant.model_queue import Waiting
from assistant.pipeline import Assistant
from assistant.retrieval import EmptyIndexError
from database import private_folder
from index.render import PageRenderer, PageText, RenderedPage, RenderError
from index.state import IndexState
from index.sync import Indexer, SyncBusyError, SyncReport
from web.conversations import (
    BrowserBook,
    ConversationBook,
    ConversationNotFound,
    ConversationStore,
    ConversationsUnavailable,
    title_from,
    turn_from_answer,
)
from web.curation import CuratedSet
from web.errors import AccessDenied, UploadError
from web.evaluations import EvalSet, EvaluationRunner
from web.feedback import FeedbackLog
from web.throttle import LoginThrottle
from web.uploads import save_upload
from web.users import Sessions, UserStore, import_users_file

log = logging.getLogger(__name__)

PAGE_IMAGE_SIDE = 1100  # pixels on the page's longest side: readable in the viewer, a few hundred kB

ADMIN_ONLY = "Cette fonction est réservée aux administrateurs."
BROWSER_ONLY = (
    "Sans connexion, les conversations sont gardées dans votre navigateur, pas sur le serveur : "
    "ouvrez-les depuis le panneau « Conversations » de la page."
)
EXAMPLE_TEMPLATES = (
    "Que retenir du document « {title} » ?",
    "Quelles dates et quels chiffres donne « {title} » ?",
    "Qui sont les acteurs cités dans « {title} » ?",
    "Quels sont les objectifs présentés dans « {title} » ?",
)
EXAMPLE_CHARS = 140  # one line or two under the chat


Conversation = dict[str, Any]  # a page's open conversation: {"id": str | None, "title": str, "turns": [turn, ...]}


@dataclass(frozen=True)
class Recorded:
    """The end of an answer, once recorded: the answer, its turn, and the conversation it now ends (None when the
    caller keeps none); ``saved`` is False when the server could not keep it (the person is told)."""

    answer: Answer
    turn: dict[str, Any]
    conversation: Conversation | None
    saved: bool = True


class WebService:
    """One per web-chat process: answers questions and runs rebuilds without blocking them."""

    def __init__(self, settings: Settings, assistant: Assistant, indexer: Indexer, users: UserStore | None = None) -> None:
        """Receive the answering and indexing parts (built by ``coop_assistant.wiring``); the web's own records are
        opened here, in the index's database."""
        self.settings = settings
        private_folder(settings.data_dir)
        self.assistant = assistant
        self.indexer = indexer
        self.state: IndexState = indexer.state
        self.db = self.state.db  # one database for the index state and the app's records
        self.feedback = FeedbackLog(self.db)
        self.feedback.import_files(settings.data_dir)  # an older folder's JSONL files, once
        if users is None:
            if settings.users_file is not None:
                import_users_file(self.db, settings.users_file)  # once; the file is no longer read after
            users = UserStore(self.db, required=settings.users_file is not None)
        self.users = users
        self.sessions = Sessions(self.users)
        self.throttle = LoginThrottle(  # one count for every copy of the app
            self.db, free_per_name=settings.login_free_failures, max_delay=settings.login_max_delay_seconds
        )
        self.conversations = ConversationStore(self.db)
        self.curated = CuratedSet(settings.data_dir)
        self.evaluations = EvaluationRunner(
            assistant,
            self.state,
            settings.data_dir,
            [
                EvalSet("curated", "Jeu curé (remontées des collègues)", self.curated.path),
                EvalSet("sample", "Jeu d'exemple", settings.eval_sample_questions),
            ],
            settings.eval_drop_tolerance,
        )
        self.pages = PageRenderer.from_settings(settings)  # PDF pages drawn in bounded worker processes
        self._rebuild_lock = threading.Lock()
        self._cancels: dict[str, set[threading.Event]] = {}
        self._cancels_lock = threading.Lock()
        self._refresher: threading.Thread | None = None
        self._stop = threading.Event()

    def warm_up(self) -> None:
        """Load the models (side by side) and the current index now, so that the first question is not the slow one.

        The model then reads the system message that every request starts with in the
        background (llama.cpp keeps it): the page is up meanwhile, and a question asked
        before it is done waits its turn in the model queue like any other.
        """
        started = time.perf_counter()
        loads = [
            load
            for part in (self.assistant.retriever.embedder, self.assistant.backend)
            if callable(load := getattr(part, "load", None))
        ]
        with ThreadPoolExecutor(max_workers=len(loads) + 1, thread_name_prefix="load") as pool:
            index = pool.submit(self._preload_index)  # chunks and BM25 load while the models do
            for future in [pool.submit(load) for load in loads]:
                future.result()  # a model that cannot load says so now, at start
            index.result()
        log.info("models and index loaded in %.1f s", time.perf_counter() - started)
        self.start_refresher()
        threading.Thread(target=self._read_system_message, name="warm-up", daemon=True).start()

    def start_refresher(self, every: float | None = None) -> None:
        """Poll the index version in the background: a generation committed anywhere (another copy, the
        command line) is loaded before the next question rather than during it."""
        if self._refresher is not None:
            return
        interval = every if every is not None else self.settings.index_poll_seconds
        self._stop.clear()
        self._refresher = threading.Thread(target=self._refresh, args=(interval,), name="index-refresher", daemon=True)
        self._refresher.start()

    def _refresh(self, interval: float) -> None:
        failing = False
        while not self._stop.wait(interval):
            try:
                self.assistant.retriever.snapshot()
            except EmptyIndexError:
                pass
            except Exception:  # the database or Chroma briefly away: the next poll tries again
                if not failing:  # once per outage, not every poll
                    log.warning("index refresh failed; trying again every %.0f s", interval, exc_info=True)
                failing = True
                continue
            if failing:
                log.warning("index refresh works again")
                failing = False

    def close(self) -> None:
        """Stop the background refresher and the page-drawing workers (tests, shutdown)."""
        self.pages.close()
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(timeout=10)
            self._refresher = None

    def _preload_index(self) -> None:
        try:
            self.assistant.retriever.snapshot()
        except Exception:  # an empty index is reported when someone asks; starting must not fail
            log.warning("no index to preload yet")

    def _read_system_message(self) -> None:
        started = time.perf_counter()
        try:
            self.assistant.warm_up()
        except Exception:
            log.exception("warm-up of the model failed; the first question will read the system message")
            return
        log.info("model warmed up (system message read) in %.1f s", time.perf_counter() - started)

    # -- roles ---------------------------------------------------------------
    @property
    def login_required(self) -> bool:
        return self.users.login_required

    def is_admin(self, username: str | None) -> bool:
        if not self.login_required:
            return True  # no login configured: local use only (bound to 127.0.0.1, Host checked)
        user = self.users.get(username)
        return bool(user and user.admin)

    def require_admin(self, username: str | None) -> None:
        if not self.is_admin(username):
            log.warning("admin function refused to %r", username)
            raise AccessDenied(ADMIN_ONLY)

    # -- answering -----------------------------------------------------------
    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]],
        sources: Sequence[str] | None = None,
        session: str | None = None,
        user: str | None = None,
        conversation: Conversation | None = None,
    ) -> Iterator[Retrieved | Waiting | Rereading | str | Recorded]:
        """Answer through the one model queue (``cancel(session)`` stops it and frees the model), then record the
        answer once, here: in the feedback log (abstentions for the admins), and with login in the person's
        ``conversation`` on the server (None: not kept, as for the API). The stream ends with ``Recorded``."""
        cancel = threading.Event()
        key = session or ""
        with self._cancels_lock:
            self._cancels.setdefault(key, set()).add(cancel)
        try:
            for item in self.assistant.stream(question, history, sources or None, cancel):
                if isinstance(item, Answer):
                    yield self._record(item, user, conversation)
                else:
                    yield item
        finally:
            with self._cancels_lock:
                running = self._cancels.get(key, set())
                running.discard(cancel)
                if not running:
                    self._cancels.pop(key, None)

    def _record(self, answer: Answer, user: str | None, conversation: Conversation | None) -> Recorded:
        self.feedback.record_answer(answer, user, diagnose(answer, self.assistant.abstain_below))
        turn = turn_from_answer(answer)
        if conversation is None:
            return Recorded(answer, turn, None)
        conv = {**conversation, "turns": [*conversation.get("turns", []), turn]}
        if not (self.login_required and user):  # kept by the browser (the page saves it after the answer)
            return Recorded(answer, turn, conv)
        book = self.book(user)
        try:
            try:
                conv["id"] = book.add_turn(conv.get("id"), turn)
            except ConversationNotFound:  # deleted from another page: what was asked here starts a new one
                conv["id"] = None
                for t in conv["turns"]:
                    conv["id"] = book.add_turn(conv["id"], t)
        except Exception:
            log.exception("could not save the conversation of %s", user)
            return Recorded(answer, turn, conv, saved=False)
        conv["title"] = conv.get("title") or title_from(conv["turns"][0]["question"])
        return Recorded(answer, turn, conv)

    def cancel(self, session: str | None) -> bool:
        """Stop the answers being written for this session (the stop button); True when there was one."""
        if not session:
            return False
        with self._cancels_lock:
            events = list(self._cancels.get(session, ()))
        for event in events:
            event.set()
        return bool(events)

    def record_feedback(
        self,
        question: str,
        answer: str,
        liked: bool | None,
        comment: str = "",
        user: str | None = None,
        turn: dict[str, Any] | None = None,
    ) -> str:
        return self.feedback.record_feedback(question, answer, liked, comment, user, turn)

    # -- conversations -------------------------------------------------------
    def book(self, user: str | None, browser: Any = None) -> ConversationBook:
        """This person's conversations: on the server with login, else those their browser keeps."""
        if not self.login_required:
            return BrowserBook(browser)
        if not user:
            raise AccessDenied("Connectez-vous d'abord.")
        return self.conversations.book(user)

    def browser_secret(self) -> str:
        """The key Gradio encrypts the browser's saved conversations with: kept in the data folder, so that
        they can still be read after a restart."""
        path = self.settings.data_dir / "browser-secret"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        secret = secrets.token_urlsafe(24)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use that one
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret)
        return secret

    def server_book(self, user: str | None) -> ConversationBook:
        """The conversations the server keeps for this person (the HTTP API); none without login."""
        if not self.login_required:
            raise ConversationsUnavailable(BROWSER_ONLY)
        return self.book(user)

    def split_sources(self, chosen: Sequence[str] | None) -> tuple[list[str], list[str]]:
        """The chosen documents still in the index, and those that are not any more."""
        if not chosen:
            return [], []
        indexed = set(self.sources())
        kept = [s for s in chosen if s in indexed]
        return kept, [s for s in chosen if s not in indexed]

    def example_questions(self, limit: int = 4) -> list[str]:
        """Questions drawn from the titles of the indexed documents (the largest first), one template each."""
        manifest = self.state.manifest()
        if manifest is None:
            return []
        seen: set[str] = set()
        questions: list[str] = []
        for doc in sorted(manifest.documents.values(), key=lambda d: (-d.chunks, d.source)):
            title = " ".join(doc.title.split()).strip(" .:;-–")
            if len(title) < 12 or title.lower() in seen or title == doc.source or len(title.split()) < 3:
                continue  # no title worth quoting (a file name, "top of page", …)
            seen.add(title.lower())
            template = EXAMPLE_TEMPLATES[len(questions) % len(EXAMPLE_TEMPLATES)]
            room = EXAMPLE_CHARS - len(template.format(title=""))
            if len(title) > room:
                title = title[: room - 1].rsplit(" ", 1)[0].rstrip(" ,;:–-") + "…"
            questions.append(template.format(title=title))
            if len(questions) == limit:
                break
        return questions

    def problems(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.feedback.problems(limit)

    # -- documents -----------------------------------------------------------
    def save_upload(self, tmp_path: Path, original_name: str, overwrite: bool = False) -> str:
        return save_upload(self.settings.docs_dir, tmp_path, original_name, self.settings.max_upload_mb, overwrite)

    def check_upload_count(self, count: int) -> None:
        if count > self.settings.max_upload_files:
            raise UploadError(
                f"Trop de fichiers à la fois ({count}, maximum {self.settings.max_upload_files}) : ajoutez-les en plusieurs fois."
            )

    def document_path(self, source: str) -> Path | None:
        """The file of an indexed source; None for anything else (not indexed, outside the folder, missing)."""
        manifest = self.state.manifest()
        if manifest is None or source not in manifest.documents:
            return None
        docs = self.settings.docs_dir.resolve()
        path = (docs / source).resolve()
        return path if path.is_file() and docs in path.parents else None

    def page_image(self, source: str, page: int, quote: str = "") -> RenderedPage | PageText:
        """The page of an indexed PDF as an image, the quote highlighted, or as its text with why it is not drawn
        (a page too costly to draw in time); RenderError says why neither."""
        path = self.document_path(source)
        if path is None or path.suffix.lower() != ".pdf":
            raise RenderError("aperçu réservé aux PDF de l'index")
        try:
            return self.pages.render(path, page, quote, max_side=PAGE_IMAGE_SIDE)
        except RenderError as exc:
            log.warning("page %d of %s not drawn: %s", page, source, exc)
            return PageText(page, self.pages.page_text(path, page), str(exc))

    def rebuild(
        self, progress: Callable[[int, int, str], None] | None = None, notice: Callable[[str], None] | None = None
    ) -> SyncReport:
        """Sync the index; people keep getting answers from the previous index meanwhile.

        ``notice`` gets the slow steps as they happen (a scanned PDF read by OCR, page by page).
        """
        if not self._rebuild_lock.acquire(blocking=False):
            raise SyncBusyError("Une reconstruction est déjà en cours : attendez qu'elle se termine.")
        try:
            report = self.indexer.sync(progress=progress, notice=notice)
        finally:
            self._rebuild_lock.release()
        changed = self.evaluations.record_rebuild(report)
        if changed and self.settings.eval_after_rebuild:
            self.evaluations.start(trigger="reconstruction")
        return report

    def status(self) -> dict[str, Any]:
        manifest = self.state.manifest()
        last = self.state.last_report()
        return {
            "model": self.assistant.backend_note,  # admins only: names the server and its state
            "documents": len(manifest.documents) if manifest else 0,
            "chunks": manifest.chunks_total if manifest else 0,
            "synced_at": manifest.synced_at if manifest else None,
            "embedding": manifest.embedding if manifest else self.settings.embedding_model,
            "sources": {s: d.title for s, d in sorted(manifest.documents.items())} if manifest else {},
            "last_sync": last,
            "user_problems": self.users.problems(),
        }

    def sources(self) -> list[str]:
        manifest = self.state.manifest()
        return sorted(manifest.documents) if manifest else []

"""The composition root: the one place that builds the project's parts from the settings.

The web chat (``app.py``), the command line (``coop_assistant.cli``) and the benchmarks get their
parts here; no layer builds another layer's parts. Each function builds what its callers need and
no more (the index commands never load the language model; the web service gets everything):

- ``build_index``: the index state in the database, the Chroma store, the embedder and the indexer;
- ``build_retriever`` and ``build_assistant``: search over them, and the assistant with its chat model;
- ``build_answering``: all of those at once;
- ``build_web``: the web service over them.

Errors are the layers' own (``DatabaseError``, ``IndexingError``, ``AnsweringError``): each entry
point says them in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.backends import ChatBackend, make_backend
from assistant.config import Settings
from assistant.pipeline import Assistant, embedding_similarity
from assistant.retrieval import Retriever
from index.config import IndexSettings
from index.embeddings import SentenceTransformerEmbedder
from index.state import IndexState
from index.store import Store
from index.sync import Indexer

if TYPE_CHECKING:
    from web.service import WebService


@dataclass(frozen=True)
class IndexParts:
    """What reads and writes the index."""

    state: IndexState
    store: Store
    embedder: SentenceTransformerEmbedder
    indexer: Indexer


@dataclass(frozen=True)
class AnsweringParts:
    """What answers questions, over the index."""

    index: IndexParts
    retriever: Retriever
    assistant: Assistant


def build_index(settings: IndexSettings) -> IndexParts:
    """Open the index's database (migrated), its Chroma store and the embedder (loaded on first use)."""
    state = IndexState.from_settings(settings)
    store = Store.open(settings.data_dir, settings.chroma_url)
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    return IndexParts(state, store, embedder, Indexer.from_settings(settings, state, store, embedder))


def build_retriever(settings: Settings, index: IndexParts) -> Retriever:
    """Hybrid search over the index (dense and keywords, fused)."""
    return Retriever.from_settings(settings, index.state, index.store, index.embedder)


def build_assistant(
    settings: Settings, retriever: Retriever, backend: str | None = None, chat: ChatBackend | None = None
) -> Assistant:
    """The assistant with the chat model ``backend`` chooses (``settings.backend`` when None), or with ``chat``."""
    if chat is None:
        chat, note = make_backend(settings, backend, embedding_similarity(retriever.embedder))
    else:
        note = chat.label
    return Assistant.from_settings(settings, retriever, chat, note)


def build_answering(
    settings: Settings, backend: str | None = None, index: IndexParts | None = None, chat: ChatBackend | None = None
) -> AnsweringParts:
    """The index's parts, the retriever and the assistant."""
    index = index or build_index(settings)
    retriever = build_retriever(settings, index)
    return AnsweringParts(index, retriever, build_assistant(settings, retriever, backend, chat))


def build_web(settings: Settings) -> WebService:
    """The web chat's service over every part (the page and its HTTP routes receive it)."""
    from web.service import WebService  # the web layer is loaded only by those who serve it

    parts = build_answering(settings)
    return WebService(settings, parts.assistant, parts.index.indexer)

"""Hybrid search: dense (Chroma) and French-aware BM25, fused into numbered passages."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.config import Settings
from assistant.errors import AnsweringError
from assistant.text import tokenize
from index.embeddings import Embedder
from index.manifest import Manifest
from index.state import IndexState
from index.store import Store, StoredChunk

log = logging.getLogger(__name__)
_LAG_RETRIES = 5  # vector searches repeated while the vector index lags a commit (see Retriever._nearest)
_LAG_PAUSE = 0.2


class EmptyIndexError(AnsweringError, RuntimeError):
    """No index has been built yet, or it holds no passage."""


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with where it comes from and why it ranked where it did."""

    rank: int
    chunk_id: str
    source: str
    title: str
    page: int | None
    start: int
    end: int
    text: str
    score: float  # fused score
    dense: float  # cosine similarity to the question (0 when dense search did not return it)
    keyword: float  # BM25 score (0 when absent)
    section: str = ""  # the heading the passage sits under
    ocr: bool = False  # read by OCR from an image of the page
    unit: str = "page"  # what ``page`` counts: "page", "slide" or "sheet"

    @property
    def location(self) -> str:
        """Where a person finds the passage: "p. 42 · 5.3 Mettre à jour", "diapo 3 · Budget", "§ Historique",
        "Feuille Budget, lignes 2–31"."""
        return format_location(self.page, self.section, self.ocr, self.unit, (self.start, self.end))


def format_location(page: int | None, section: str, ocr: bool, unit: str, span: tuple[int, int] | None = None) -> str:
    parts = []
    if unit == "sheet":  # the section names the sheet and the rows: « Feuille Budget, lignes 2–31 »
        where = section or (f"feuille {page}" if page is not None else "")
        parts += [where] if where else []
    else:
        if page is not None:
            parts.append(f"diapo {page}" if unit == "slide" else f"p. {page}")
        if section:
            parts.append(section if page is not None else f"§ {section}")
    if not parts and span is not None:
        parts.append(f"car. {span[0]}–{span[1]}")
    if ocr:
        parts.append("texte lu par OCR")
    return " · ".join(parts)


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    best_dense: float  # the best dense similarity among all candidates (abstention signal)
    seconds: float


def fuse(dense: dict[str, float], keyword: dict[str, float], dense_weight: float) -> dict[str, float]:
    """Convex combination of max-normalized scores: each list's best gets 1, absent gets 0."""
    out: dict[str, float] = {}
    top_dense = max(dense.values(), default=0.0)
    top_kw = max(keyword.values(), default=0.0)
    for cid in set(dense) | set(keyword):
        d = dense.get(cid, 0.0) / top_dense if top_dense > 0 else 0.0
        k = keyword.get(cid, 0.0) / top_kw if top_kw > 0 else 0.0
        out[cid] = dense_weight * d + (1 - dense_weight) * k
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def drop_near_duplicates(ranked: Sequence[StoredChunk], threshold: float = 0.8) -> list[StoredChunk]:
    """Keep the first of passages whose word sets overlap above the threshold."""
    kept: list[StoredChunk] = []
    kept_words: list[set[str]] = []
    for chunk in ranked:
        words = set(tokenize(chunk.text))
        if any(jaccard(words, other) >= threshold for other in kept_words):
            continue
        kept.append(chunk)
        kept_words.append(words)
    return kept


class _Snapshot:
    """The live chunks of one manifest generation, with their BM25 index."""

    def __init__(self, manifest: Manifest, chunks: list[StoredChunk]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # set again: bm25s sets its own level when imported
        self.manifest = manifest
        self.generation = manifest.generation
        self.chunks = chunks
        self.by_id = {c.id: c for c in chunks}
        self.position = {c.id: i for i, c in enumerate(chunks)}
        self.sources = manifest.sources_by_hash()
        self.titles = {d.hash: d.title for d in manifest.documents.values()}
        self.live = manifest.live_hashes
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [tokenize(c.text) or ["_"] for c in chunks]
        self.bm25.index(corpus, show_progress=False)
        self.vocab = set(self.bm25.vocab_dict)


class Retriever:
    """Answers "which passages?" from the index that the manifest names as current."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        state: IndexState,
        candidates: int = 30,
        dense_weight: float = 0.8,
        dense_weight_english: float = 1.0,
    ):
        self.store = store
        self.embedder = embedder
        self.state = state
        self.candidates = candidates
        self.dense_weight = dense_weight
        # English words do not match French text: keyword search only adds noise to English questions
        self.dense_weight_english = dense_weight_english
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, state: IndexState, store: Store, embedder: Embedder) -> Retriever:
        return cls(store, embedder, state, settings.candidates, settings.dense_weight, settings.dense_weight_english)

    def snapshot(self) -> _Snapshot:
        """Return the chunks of the current manifest, reloading when a sync committed a new one.

        Asks the database for the generation (one cheap query) on every call; the web service
        also calls it in the background, so that a new generation is loaded before the next question.
        """
        manifest = self.state.manifest()
        if manifest is None or not manifest.documents:
            raise EmptyIndexError(
                "L'index est vide : aucun document n'a encore été indexé. Ajoutez des documents dans le dossier "
                "« documents » puis lancez « python -m index sync » (ou « Reconstruire » dans la page Admin)."
            )
        with self._lock:
            if self._snapshot is not None and self._snapshot.generation > manifest.generation:
                return self._snapshot  # another thread, which read the manifest later, loaded a newer one
            if self._snapshot is None or self._snapshot.generation != manifest.generation:
                started = time.perf_counter()
                chunks = self.store.chunks(manifest.collection, sorted(manifest.live_hashes))
                chunks.sort(key=lambda c: (c.doc_hash, c.index))
                self._snapshot = _Snapshot(manifest, chunks)
                log.info(
                    "index generation %d loaded: %d chunks in %.2fs",
                    manifest.generation,
                    len(chunks),
                    time.perf_counter() - started,
                )
            return self._snapshot

    def documents(self) -> dict[str, str]:
        """Return {source: title} of the indexed documents."""
        snap = self.snapshot()
        return {d.source: d.title for d in snap.manifest.documents.values()}

    def retrieve(self, query: str, k: int, sources: Sequence[str] | None = None, language: str = "fr") -> Retrieval:
        """Return the k best passages for the query, optionally within some documents."""
        started = time.perf_counter()
        snap = self.snapshot()
        allowed: set[str] | None = None
        if sources:
            wanted = set(sources)
            allowed = {d.hash for s, d in snap.manifest.documents.items() if s in wanted}
        # dense: ask a few more than needed, since stale chunks of an interrupted sync are skipped
        vector = self.embedder.embed_query(query)
        hits = self._nearest(snap, vector, allowed)
        dense = {h.id: 1.0 - float(h.distance or 0.0) for h in hits if h.doc_hash in snap.live and h.id in snap.by_id}
        keyword = self._keyword(snap, query, allowed)
        fused = fuse(dense, keyword, self.dense_weight_english if language == "en" else self.dense_weight)
        ordered = sorted(fused, key=lambda cid: (-fused[cid], cid))
        unique = drop_near_duplicates([snap.by_id[cid] for cid in ordered[: max(k * 4, 12)]])[:k]
        passages = [
            Passage(
                rank=i,
                chunk_id=c.id,
                source=snap.sources.get(c.doc_hash, ["?"])[0],
                title=snap.titles.get(c.doc_hash, ""),
                page=c.page,
                start=c.start,
                end=c.end,
                text=c.text,
                score=round(fused[c.id], 4),
                dense=round(dense.get(c.id, 0.0), 4),
                keyword=round(keyword.get(c.id, 0.0), 4),
                section=c.section,
                ocr=c.ocr,
                unit=c.unit,
            )
            for i, c in enumerate(unique, start=1)
        ]
        return Retrieval(passages, max(dense.values(), default=0.0), time.perf_counter() - started)

    def _nearest(self, snap: _Snapshot, vector: Sequence[float], allowed: set[str] | None) -> list[StoredChunk]:
        """The nearest stored chunks, asked again briefly when the vector index lags the records.

        The snapshot counts the live chunks from the records; when the vector search returns fewer
        hits than that count allows, the server has not yet put the newest vectors in its vector
        index (a sync committed a moment ago). The query is then repeated a few times, 0.2 s apart,
        rather than answering without the newest documents; stale chunks only make it return more.
        """
        eligible = len(snap.chunks) if allowed is None else sum(c.doc_hash in allowed for c in snap.chunks)
        want = min(self.candidates + 10, max(1, eligible))
        where = sorted(allowed) if allowed is not None else None
        hits = self.store.query(snap.manifest.collection, vector, want, where)
        for _ in range(_LAG_RETRIES):
            if len(hits) >= want:
                break
            time.sleep(_LAG_PAUSE)
            hits = self.store.query(snap.manifest.collection, vector, want, where)
        else:
            if len(hits) < want:
                log.warning("vector index behind its records: %d of %d nearest chunks returned", len(hits), want)
        return hits

    def _keyword(self, snap: _Snapshot, query: str, allowed: set[str] | None) -> dict[str, float]:
        tokens = [t for t in tokenize(query) if t in snap.vocab]
        if not tokens or not snap.chunks:
            return {}
        scores = snap.bm25.get_scores(tokens)
        if allowed is not None:
            mask = np.array([c.doc_hash in allowed for c in snap.chunks])
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[: self.candidates]
        return {snap.chunks[i].id: float(scores[i]) for i in top if scores[i] > 0}

    def neighbours(self, passage: Passage) -> tuple[str, str]:
        """Return the text just before and after a passage in its document (for the viewer)."""
        snap = self.snapshot()
        chunk = snap.by_id.get(passage.chunk_id)
        if chunk is None:
            return "", ""
        i = snap.position[chunk.id]
        before = snap.chunks[i - 1].text if i > 0 and snap.chunks[i - 1].doc_hash == chunk.doc_hash else ""
        after = snap.chunks[i + 1].text if i + 1 < len(snap.chunks) and snap.chunks[i + 1].doc_hash == chunk.doc_hash else ""
        return before, after

"""The only module that speaks to Chroma: embedded in a folder, or a server over HTTP."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from database import private_folder
from index.errors import IndexingError

log = logging.getLogger(__name__)

PAGE_NONE = -1  # Chroma metadata cannot hold None


class StoreError(IndexingError, RuntimeError):
    """Chroma cannot be reached or refused an operation; the message says what to do."""


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    doc_hash: str
    page: int | None
    start: int
    end: int
    index: int
    distance: float | None = None
    section: str = ""
    ocr: bool = False
    unit: str = "page"


def collection_name(prefix: str, identity: str) -> str:
    """Return a valid Chroma collection name for one vector space (one embedding model)."""
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", f"{prefix}-{identity}").strip("-._")
    return name[:200]


def _to_chunk(cid: str, text: str | None, meta: Any, distance: float | None = None) -> StoredChunk:
    meta = meta or {}
    page = int(meta.get("page", PAGE_NONE))
    return StoredChunk(
        id=cid,
        text=text or "",
        doc_hash=str(meta.get("doc_hash", "")),
        page=None if page == PAGE_NONE else page,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        index=int(meta.get("index", 0)),
        distance=distance,
        section=str(meta.get("section", "")),
        ocr=bool(meta.get("ocr", False)),
        unit=str(meta.get("unit", "page")),
    )


class Store:
    """A Chroma client with the few operations the project needs, errors turned into StoreError."""

    def __init__(self, client: Any, where: str) -> None:
        self._client = client
        self.where = where

    # -- opening ---------------------------------------------------------
    @classmethod
    def open(cls, data_dir: Path, chroma_url: str | None = None) -> Store:
        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if chroma_url:
            parsed = urlparse(chroma_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise StoreError(f"Adresse du serveur Chroma invalide : « {chroma_url} » (attendu : http://hôte:port).")
            try:
                client = chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
                client.heartbeat()
            except Exception as exc:  # chromadb raises many types when the server is down
                raise StoreError(
                    f"Le serveur Chroma {chroma_url} ne répond pas. Démarrez-le "
                    "(« chroma run --path data/chroma-server --host 127.0.0.1 --port 8000 ») "
                    "ou retirez ASSISTANT_CHROMA_URL pour utiliser Chroma intégré."
                ) from exc
            return cls(client, chroma_url)
        path = private_folder(data_dir / "chroma")
        try:
            client = chromadb.PersistentClient(path=str(path), settings=settings)
        except Exception as exc:
            raise StoreError(
                f"Impossible d'ouvrir l'index Chroma dans {path} : {exc}. "
                "Vérifiez les droits du dossier, ou supprimez-le et relancez « python -m index sync »."
            ) from exc
        return cls(client, str(path))

    def _collection(self, name: str, create: bool = False) -> Any:
        try:
            if create:
                return self._client.get_or_create_collection(
                    name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
                )
            return self._client.get_collection(name, embedding_function=None)
        except Exception as exc:
            text = str(exc).lower()
            if not create and ("does not exist" in text or "not found" in text):
                raise StoreError(
                    f"La collection « {name} » n'existe pas dans {self.where} : reconstruisez l'index (« python -m index sync »)."
                ) from exc
            raise StoreError(f"Chroma a refusé l'opération sur « {name} » : {exc}") from exc

    # -- writing ---------------------------------------------------------
    def upsert(
        self,
        name: str,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
    ) -> None:
        if not ids:
            return
        collection = self._collection(name, create=True)
        try:
            collection.upsert(
                ids=list(ids), embeddings=[list(e) for e in embeddings], documents=list(texts), metadatas=list(metadatas)
            )
        except Exception as exc:
            raise StoreError(f"Écriture dans Chroma impossible : {exc}") from exc

    def existing_ids(self, name: str, ids: Sequence[str]) -> set[str]:
        if not ids or name not in self.collection_names():
            return set()
        found = self._collection(name).get(ids=list(ids), include=[])
        return set(found["ids"])

    def relabel_document(self, name: str, doc_hash: str, source: str, title: str) -> None:
        """Point a document's chunks at a new file name (a rename): metadata only, no embedding."""
        collection = self._collection(name)
        got = collection.get(where={"doc_hash": doc_hash}, include=["metadatas"])
        if got["ids"]:
            metas = [{**(m or {}), "source": source, "title": title} for m in got["metadatas"]]
            collection.update(ids=got["ids"], metadatas=metas)

    def delete_documents(self, name: str, doc_hashes: Sequence[str]) -> None:
        if not doc_hashes or name not in self.collection_names():
            return
        collection = self._collection(name)
        for i in range(0, len(doc_hashes), 100):
            collection.delete(where={"doc_hash": {"$in": list(doc_hashes[i : i + 100])}})

    def delete_collection(self, name: str) -> None:
        if name in self.collection_names():
            self._client.delete_collection(name)

    # -- reading ---------------------------------------------------------
    def collection_names(self) -> list[str]:
        try:
            return [c if isinstance(c, str) else c.name for c in self._client.list_collections()]
        except Exception as exc:
            raise StoreError(f"Chroma ne répond pas ({self.where}) : {exc}") from exc

    def count(self, name: str) -> int:
        if name not in self.collection_names():
            return 0
        return int(self._collection(name).count())

    def doc_hashes(self, name: str) -> set[str]:
        """Return every document hash that has chunks in the collection."""
        if name not in self.collection_names():
            return set()
        got = self._collection(name).get(include=["metadatas"])
        return {str(m.get("doc_hash")) for m in got["metadatas"] or []}

    def chunks(self, name: str, doc_hashes: Sequence[str] | None = None) -> list[StoredChunk]:
        """Return stored chunks (all, or those of the given documents), page by page.

        A `$in` filter with thousands of documents exceeds SQLite's variable limit, so
        large selections are read whole and filtered here.
        """
        if doc_hashes is not None and not doc_hashes:
            return []
        collection = self._collection(name)
        wanted = set(doc_hashes) if doc_hashes is not None else None
        if wanted is not None and len(wanted) <= 100:
            got = collection.get(where={"doc_hash": {"$in": sorted(wanted)}}, include=["documents", "metadatas"])
            return [_to_chunk(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        out: list[StoredChunk] = []
        page = 5000
        for offset in range(0, collection.count(), page):
            got = collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if wanted is None or (m or {}).get("doc_hash") in wanted:
                    out.append(_to_chunk(i, t, m))
        return out

    def records(self, name: str, doc_hashes: set[str], page: int = 1000) -> Iterator[dict[str, list[Any]]]:
        """Every record of the given documents, whole (ids, embeddings, documents, metadatas), page by page: for backups."""
        collection = self._collection(name)
        total = collection.count()
        for offset in range(0, total, page):
            try:
                got = collection.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
            except Exception as exc:
                raise StoreError(f"Lecture de Chroma impossible : {exc}") from exc
            keep = [i for i, m in enumerate(got["metadatas"]) if (m or {}).get("doc_hash") in doc_hashes]
            yield {
                "ids": [got["ids"][i] for i in keep],
                "embeddings": [[float(x) for x in got["embeddings"][i]] for i in keep],
                "documents": [got["documents"][i] for i in keep],
                "metadatas": [got["metadatas"][i] for i in keep],
            }

    def query(self, name: str, embedding: Sequence[float], n: int, doc_hashes: Sequence[str] | None = None) -> list[StoredChunk]:
        """Return the n nearest chunks (cosine distance), optionally within some documents."""
        collection = self._collection(name)
        where = {"doc_hash": {"$in": list(doc_hashes)}} if doc_hashes else None
        try:
            got = collection.query(
                query_embeddings=[list(embedding)],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise StoreError(f"Recherche dans Chroma impossible : {exc}") from exc
        return [
            _to_chunk(i, t, m, float(d))
            for i, t, m, d in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        ]

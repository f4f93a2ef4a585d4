"""Back up and restore the whole assistant: the database and the current index's vectors, taken while it runs.

A backup holds the rebuild lock while it copies (answers go on; a sync waits, or is refused and
said so), so that the database's current index version and the vectors written for it are
the same moment. The vectors of that version are written as JSON Lines (gzip), whatever Chroma
the index lives in (embedded or a server), and put back by ``restore`` into the Chroma of the
settings, so that a restored copy answers at once, without re-reading or re-embedding a file.
The documents folder itself is not copied: back it up with the organisation's own file backups.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from database import Database
from database.backup import backup_database, restore_database
from index.errors import IndexingError
from index.state import IndexState
from index.store import Store

FORMAT = 1
INFO_FILE = "backup.json"
VECTORS_FILE = "vectors.jsonl.gz"
LOCK_WAIT_SECONDS = 600.0


class BackupError(IndexingError):
    """A backup or a restore cannot be made; the message says what to do."""


@dataclass(frozen=True)
class BackupInfo:
    folder: Path
    generation: int
    documents: int
    chunks: int
    seconds: float


def backup(state: IndexState, store: Store, folder: Path, lock_wait: float = LOCK_WAIT_SECONDS) -> BackupInfo:
    """Write a backup into ``folder`` (created; it must not exist yet, so that nothing is overwritten)."""
    started = time.monotonic()
    if folder.exists():
        raise BackupError(f"{folder} existe déjà : choisissez un nouveau dossier (une sauvegarde n'en écrase aucune).")
    folder.mkdir(parents=True)
    with state.rebuild_lock(wait_seconds=lock_wait):  # no sync commits or deletes while the copy is made
        manifest = state.manifest()
        backup_database(state.db, folder)
        chunks = 0
        if manifest is not None and manifest.documents:
            chunks = _write_vectors(store, manifest.collection, manifest.live_hashes, folder / VECTORS_FILE)
            if chunks != manifest.chunks_total:
                raise BackupError(
                    f"L'index annonce {manifest.chunks_total} passages mais Chroma en a rendu {chunks} : reconstruisez "
                    "l'index (« python -m index sync --rebuild ») puis refaites la sauvegarde."
                )
    info: dict[str, Any] = {
        "format": FORMAT,
        "made_at": time.time(),
        "generation": manifest.generation if manifest else 0,
        "collection": manifest.collection if manifest else "",
        "documents": len(manifest.documents) if manifest else 0,
        "chunks": chunks,
        "database": state.db.dialect,
    }
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")  # last: a complete backup has it
    return BackupInfo(folder, int(info["generation"]), int(info["documents"]), chunks, time.monotonic() - started)


def _write_vectors(store: Store, collection: str, live: set[str], path: Path) -> int:
    count = 0
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for page in store.records(collection, live):
            for cid, vector, text, meta in zip(
                page["ids"], page["embeddings"], page["documents"], page["metadatas"], strict=True
            ):
                out.write(json.dumps({"id": cid, "embedding": vector, "text": text, "meta": meta}, ensure_ascii=False))
                out.write("\n")
                count += 1
    return count


def read_info(folder: Path) -> dict[str, Any]:
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"{folder} n'est pas une sauvegarde complète ({INFO_FILE} absent ou illisible) : choisissez-en une autre."
        ) from exc
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise BackupError(f"{folder} : format de sauvegarde inconnu ({info.get('format') if isinstance(info, dict) else '?'}).")
    return info


def restore(folder: Path, database_url: str, open_store: Any, batch: int = 500) -> dict[str, Any]:
    """Restore a backup: the database into ``database_url``, then the vectors into ``open_store()``'s Chroma.

    Run it with the app stopped. The vectors go into the collection the restored index names;
    the index then answers as it did when the backup was made.
    """
    info = read_info(folder)
    where = restore_database(folder, database_url)
    db = Database.open(database_url)  # brings an older backup's schema to this version
    try:
        state = IndexState(db)
        manifest = state.manifest()
        store: Store = open_store()
        written = 0
        if manifest is not None and info["chunks"]:
            rows: list[dict[str, Any]] = []
            with gzip.open(folder / VECTORS_FILE, "rt", encoding="utf-8") as lines:
                for line in lines:
                    rows.append(json.loads(line))
                    if len(rows) == batch:
                        written += _put(store, manifest.collection, rows)
                        rows = []
            written += _put(store, manifest.collection, rows)
    finally:
        db.dispose()
    return {**info, "restored_database": where, "restored_chunks": written}


def _put(store: Store, collection: str, rows: list[dict[str, Any]]) -> int:
    store.upsert(
        collection,
        [r["id"] for r in rows],
        [r["embedding"] for r in rows],
        [r["text"] for r in rows],
        [r["meta"] for r in rows],
    )
    return len(rows)

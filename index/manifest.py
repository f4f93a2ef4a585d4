"""The manifest: what says which index state is current (kept in the database: ``index.state``).

Chunks are written to Chroma under ids derived from the document's content hash,
so writing them twice is harmless. A sync writes the new chunks first, then
commits the new manifest in one transaction (the commit point), then deletes what
the new manifest no longer names. Readers only trust chunks whose document hash
the manifest names, so a sync killed at any moment leaves the previous state
answering, and the next sync cleans what the dead one left (the journal).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class DocumentEntry:
    source: str  # path relative to the documents folder, with "/" separators
    hash: str  # SHA-256 of the file's bytes
    title: str
    size: int
    chunks: int
    pages: int | None = None


@dataclass(frozen=True)
class Manifest:
    collection: str = ""
    embedding: str = ""
    chunking: dict[str, int] = field(default_factory=dict)
    generation: int = 0
    synced_at: str = ""
    documents: dict[str, DocumentEntry] = field(default_factory=dict)

    @property
    def live_hashes(self) -> set[str]:
        return {d.hash for d in self.documents.values()}

    def sources_by_hash(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for entry in sorted(self.documents.values(), key=lambda d: d.source):
            out.setdefault(entry.hash, []).append(entry.source)
        return out

    @property
    def chunks_total(self) -> int:
        # Identical files share their chunks: count each content once.
        return sum({d.hash: d.chunks for d in self.documents.values()}.values())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = MANIFEST_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        docs = {k: DocumentEntry(**v) for k, v in (data.get("documents") or {}).items()}
        return cls(
            collection=data.get("collection", ""),
            embedding=data.get("embedding", ""),
            chunking=dict(data.get("chunking") or {}),
            generation=int(data.get("generation", 0)),
            synced_at=data.get("synced_at", ""),
            documents=docs,
        )


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

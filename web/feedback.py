"""What colleagues tell the admins: thumbs and comments, and the questions the assistant could not answer.

Each record keeps the answer and the passages it was given, so that an admin can
turn it into a golden question (``web.curation``). Every row that ``problems()``
returns has the same keys, whatever its age: ``id`` (stable), ``kind``, ``when``,
``user``, ``question``, ``standalone``, ``answer``, ``passages`` (rank, source,
title, page, location, text), ``citations``, ``reason``, ``comment``, ``liked``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from assistant.pipeline import Answer

PASSAGE_FIELDS = ("rank", "source", "title", "page", "location", "text")
CITATION_FIELDS = ("n", "source", "title", "page", "location", "quote")


def _passages(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [{k: p.get(k) for k in PASSAGE_FIELDS} for p in items if isinstance(p, dict)]


def _citations(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [{k: c.get(k) for k in CITATION_FIELDS} for c in items if isinstance(c, dict)]


class FeedbackLog:
    """Two JSON Lines files in the data folder, appended under a lock, read back newest first."""

    def __init__(self, data_dir: Path) -> None:
        self.feedback_file = data_dir / "feedback.jsonl"
        self.abstentions_file = data_dir / "abstentions.jsonl"
        self._lock = threading.Lock()

    def record_answer(self, answer: Answer, user: str | None = None) -> None:
        """Keep the questions the documents could not answer, with the closest passages, for the admins."""
        if answer.abstained:
            self._append(
                self.abstentions_file,
                {
                    "id": secrets.token_hex(8),
                    "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "user": user,
                    "question": answer.question,
                    "standalone": answer.standalone_question,
                    "answer": answer.text,
                    "passages": [
                        {
                            "rank": p.rank,
                            "source": p.source,
                            "title": p.title,
                            "page": p.page,
                            "location": p.location,
                            "text": p.text,
                        }
                        for p in answer.passages
                    ],
                    "citations": [],
                    "reason": answer.reason,
                },
            )

    def record_feedback(
        self,
        question: str,
        answer: str,
        liked: bool | None,
        comment: str = "",
        user: str | None = None,
        turn: Mapping[str, Any] | None = None,
    ) -> str:
        """Keep a thumb or a comment; ``turn`` (a conversation turn) adds the passages and citations of that answer."""
        turn = turn or {}
        row = {
            "id": secrets.token_hex(8),
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "user": user,
            "question": question[:2000],
            "standalone": str(turn.get("standalone") or question)[:2000],
            "answer": answer[:5000],
            "passages": _passages(turn.get("passages")),
            "citations": _citations(turn.get("citations")),
            "reason": str(turn.get("reason") or ""),
            "liked": liked,
            "comment": comment.strip()[:2000],
        }
        self._append(self.feedback_file, row)
        return str(row["id"])

    def _append(self, path: Path, row: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def _rows(self) -> Iterator[dict[str, Any]]:
        """Every abstention, thumbs-down and comment, in the shape the module's docstring gives."""
        for path, source in ((self.abstentions_file, "abstention"), (self.feedback_file, "avis")):
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(row, dict):
                    continue
                if source == "avis":
                    if row.get("liked") is False:
                        kind = "avis négatif"
                    elif row.get("comment"):
                        kind = "commentaire"
                    else:
                        continue
                else:
                    kind = "abstention"
                # rows written before ids existed get one from their own bytes: the same on every read
                row_id = row.get("id") or "l" + hashlib.sha256(f"{path.name}\n{line}".encode()).hexdigest()[:15]
                yield {
                    "id": str(row_id),
                    "kind": kind,
                    "when": str(row.get("when", "")),
                    "user": row.get("user"),
                    "question": str(row.get("question", "")),
                    "standalone": str(row.get("standalone") or row.get("question", "")),
                    "answer": str(row.get("answer", "")),
                    "passages": _passages(row.get("passages")),
                    "citations": _citations(row.get("citations")),
                    "reason": str(row.get("reason") or ""),
                    "comment": str(row.get("comment") or ""),
                    "liked": row.get("liked") if source == "avis" else None,
                }

    def problems(self, limit: int = 50) -> list[dict[str, Any]]:
        """Abstentions, thumbs-down and comments, newest first."""
        rows = sorted(enumerate(self._rows()), key=lambda ir: (ir[1]["when"], ir[0]), reverse=True)
        return [r for _, r in rows[:limit]]

    def get(self, row_id: str) -> dict[str, Any] | None:
        """One row of ``problems()`` by its id, however old; None when there is none."""
        return next((r for r in self._rows() if r["id"] == str(row_id)), None)

"""What colleagues tell the admins: thumbs and comments, and the questions the assistant could not answer.

Kept in the database (every copy of the app writes and reads the same records), each with
a stable ``id`` and what the answer showed: the question, the standalone question retrieval
used, the answer, its passages and citations, why it abstained.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from assistant.answer import Answer
from database import Database
from database.feedback import FeedbackRecord, FeedbackRecords
from database.imports import rename_imported
from index.jsonl import read_objects

log = logging.getLogger(__name__)

LEGACY_FILES = {"feedback.jsonl": "feedback", "abstentions.jsonl": "abstention"}
MAX_QUESTION, MAX_ANSWER, MAX_COMMENT, MAX_PASSAGE = 2000, 5000, 2000, 4000


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


def shown_passages(answer: Answer) -> list[dict[str, Any]]:
    """The passages as the answer showed them (rank, document, title, page, where, text)."""
    return [
        {
            "rank": p.rank,
            "source": p.source,
            "title": p.title,
            "page": p.page,
            "location": p.location,
            "text": p.text[:MAX_PASSAGE],
        }
        for p in answer.passages
    ]


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _kind(record: FeedbackRecord) -> str:
    if record.kind == "abstention":
        return "abstention"
    if record.liked is False:
        return "avis négatif"
    if record.comment:
        return "commentaire"
    return "avis positif" if record.liked else "avis"


def _shape(record: FeedbackRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": _kind(record),
        "when": _when(record.at),
        "user": record.user_name,
        "question": record.question,
        "standalone": record.standalone,
        "answer": record.answer,
        "passages": list(record.passages or []),
        "citations": list(record.citations or []),
        "reason": record.reason,
        "diagnosis": record.diagnosis,
        "comment": record.comment,
        "liked": record.liked,
    }


class FeedbackLog:
    """Thumbs, comments and abstentions in the database, read back newest first."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self.records = FeedbackRecords(db, lambda: self.clock())  # stamped in the transaction, by this clock even when replaced

    def record_answer(self, answer: Answer, user: str | None = None, diagnosis: str = "") -> str | None:
        """Keep the questions the documents could not answer, for the admins, with where each was lost
        (``diagnosis``); the new row's id (None when it answered)."""
        if not answer.abstained:
            return None
        return self.records.add(
            kind="abstention",
            user_name=user,
            question=answer.question[:MAX_QUESTION],
            standalone=answer.standalone_question[:MAX_QUESTION],
            answer=answer.text[:MAX_ANSWER],
            passages=shown_passages(answer),
            citations=[c.to_json() for c in answer.citations],
            reason=answer.reason,
            comment="",
            liked=None,
            diagnosis=diagnosis[:MAX_ANSWER],
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
        """Keep a thumb or a comment; ``turn`` (the saved conversation turn it is about) adds that answer's passages."""
        turn = turn or {}
        return self.records.add(
            kind="feedback",
            user_name=user,
            question=question[:MAX_QUESTION],
            standalone=str(turn.get("standalone") or question)[:MAX_QUESTION],
            answer=answer[:MAX_ANSWER],
            passages=_passages(turn.get("passages")),
            citations=_citations(turn.get("citations")),
            reason=str(turn.get("reason") or ""),
            comment=comment.strip()[:MAX_COMMENT],
            liked=liked,
        )

    def problems(self, limit: int = 50) -> list[dict[str, Any]]:
        """Abstentions, thumbs-down and comments, newest first."""
        return [_shape(record) for record in self.records.problems(limit)]

    def get(self, row_id: str) -> dict[str, Any] | None:
        """One record (problem or not) by its id, None when there is none."""
        record = self.records.get(row_id)
        return _shape(record) if record is not None else None

    # -- older data folders --------------------------------------------------------------
    def import_files(self, data_dir: Path) -> bool:
        """Import once the feedback.jsonl and abstentions.jsonl of the version before the database; renamed *.imported after."""
        present = [data_dir / name for name in LEGACY_FILES if (data_dir / name).is_file()]
        if not present:
            return False
        source = str(data_dir.resolve())

        def read() -> dict[str, list[FeedbackRecord]]:  # inside the import's transaction
            return {path.name: [_legacy_row(raw, LEGACY_FILES[path.name]) for raw in read_objects(path)] for path in present}

        done = self.records.import_files(source, read)
        record = self.records.files_import()
        if record is None or record["source"] != source:
            log.warning(
                "%s holds feedback files of an older version, not imported (the database has those of %s)",
                data_dir,
                record and record["source"],
            )
            return False
        if done:
            log.warning("feedback files of %s imported into the database: %s", data_dir, record["detail"])
        for path in present:
            rename_imported(path)
        return done


def _legacy_row(raw: dict[str, Any], kind: str) -> FeedbackRecord:
    try:
        at = time.mktime(time.strptime(str(raw.get("when", "")), "%Y-%m-%d %H:%M:%S"))  # written in local time
    except ValueError:
        at = 0.0
    liked = raw.get("liked")
    question = str(raw.get("question") or "")
    return FeedbackRecord(
        id=str(raw.get("id") or uuid.uuid4().hex),
        kind=kind,
        at=at,
        user_name=str(raw["user"]) if raw.get("user") else None,
        question=question[:MAX_QUESTION],
        standalone=str(raw.get("standalone") or question)[:MAX_QUESTION],
        answer=str(raw.get("answer") or "")[:MAX_ANSWER],
        passages=_passages(raw.get("passages")),
        citations=_citations(raw.get("citations")),
        reason=str(raw.get("reason") or ""),
        comment=str(raw.get("comment") or "")[:MAX_COMMENT],
        liked=liked if isinstance(liked, bool) else None,
    )

"""What colleagues told the admins, as rows (the store of ``web/feedback.py``): thumbs, comments, abstentions.

What a record means and how it is shown are the web layer's; here it is kept, found by its id,
and listed. Each method runs one transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from database.engine import Database
from database.imports import import_once, imported
from database.schema import feedback

IMPORT_NAME = "feedback-files"  # the record of the import of an older data folder's JSONL files


@dataclass(frozen=True)
class FeedbackRecord:
    """One row of ``feedback``."""

    id: str
    kind: str  # "abstention" or "feedback"
    at: float
    user_name: str | None
    question: str
    standalone: str
    answer: str
    passages: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    reason: str
    comment: str
    liked: bool | None
    diagnosis: str = ""  # where an unanswered question was lost (retrieval score, which check refused)


def _record(row: Any) -> FeedbackRecord:
    return FeedbackRecord(**row._mapping)


class FeedbackRecords:
    """The ``feedback`` table; each method one transaction."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def add(
        self,
        *,
        kind: str,
        user_name: str | None,
        question: str,
        standalone: str,
        answer: str,
        passages: list[dict[str, Any]],
        citations: list[dict[str, Any]],
        reason: str,
        comment: str,
        liked: bool | None,
        diagnosis: str = "",
    ) -> str:
        """Keep a new record, stamped now; its new id."""
        row_id = uuid.uuid4().hex
        with self.db.write() as conn:
            conn.execute(
                sa.insert(feedback).values(
                    id=row_id,
                    at=self.clock(),
                    kind=kind,
                    user_name=user_name,
                    question=question,
                    standalone=standalone,
                    answer=answer,
                    passages=passages,
                    citations=citations,
                    reason=reason,
                    comment=comment,
                    liked=liked,
                    diagnosis=diagnosis,
                )
            )
        return row_id

    def problems(self, limit: int) -> list[FeedbackRecord]:
        """Abstentions, thumbs-down and comments, newest first."""
        query = (
            sa.select(feedback)
            .where(sa.or_(feedback.c.kind == "abstention", feedback.c.liked.is_(False), feedback.c.comment != ""))
            .order_by(feedback.c.at.desc(), feedback.c.id)
            .limit(limit)
        )
        with self.db.read() as conn:
            return [_record(row) for row in conn.execute(query)]

    def get(self, row_id: str) -> FeedbackRecord | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(feedback).where(feedback.c.id == str(row_id))).first()
        return _record(row) if row is not None else None

    # -- older data folders --------------------------------------------------------------
    def import_files(self, source: str, read: Callable[[], Mapping[str, Sequence[FeedbackRecord]]]) -> bool:
        """Insert the records ``read()`` returns (per file name), once per database, in the transaction that records the import.

        ``read`` is called inside that transaction (not at all when the import was done before);
        the import's record keeps how many rows each file gave. False when it was done before,
        or when the rows could not all be inserted (the same id twice): then nothing is kept.
        """

        def load(conn: sa.Connection) -> dict[str, Any]:
            counts: dict[str, int] = {}
            for name, records in read().items():
                for record in records:
                    conn.execute(sa.insert(feedback).values(**asdict(record)))
                counts[name] = len(records)
            return counts

        return import_once(self.db, IMPORT_NAME, source, load)

    def files_import(self) -> dict[str, Any] | None:
        """The record of that import (source, when, detail), None when it never happened."""
        return imported(self.db, IMPORT_NAME)

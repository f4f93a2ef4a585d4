"""Saved conversations, as rows (the store of ``web/conversations.py``): each person's own.

Every query names the owner: a conversation of someone else is "not found" (``None`` or
``False``), exactly like one that does not exist. Turns are opaque JSON here; titles and what a
turn holds are the web layer's. Times come back aware (UTC), SQLite's naive ones included.

These methods open their connections on the engine directly (``engine.connect()``/``begin()``),
as the conversations always did, not through ``Database.read()``/``write()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from database.engine import Database
from database.errors import DatabaseError
from database.schema import conversation_turns as turns_table
from database.schema import conversations as conversations_table


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as listed: its turns counted, not read."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: int


@dataclass(frozen=True)
class ConversationRecord:
    """A conversation with its turns, in order."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: list[dict[str, Any]]


class _NotOwned(DatabaseError):
    """Raised inside a transaction to roll it back: no conversation of this owner has this id."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive datetimes back


class ConversationRecords:
    """Everyone's conversations; every method takes the owner's name and runs one transaction."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine

    def list(self, user: str) -> list[ConversationSummary]:
        """The person's conversations, the most recently used first."""
        count = select(turns_table.c.conversation_id, func.count().label("n")).group_by(turns_table.c.conversation_id).subquery()
        query = (
            select(conversations_table, func.coalesce(count.c.n, 0).label("n"))
            .outerjoin(count, count.c.conversation_id == conversations_table.c.id)
            .where(conversations_table.c.user_name == user)
            .order_by(conversations_table.c.updated_at.desc(), conversations_table.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ConversationSummary(r.id, r.title, _aware(r.created_at), _aware(r.updated_at), int(r.n)) for r in rows]

    def get(self, user: str, conversation_id: str) -> ConversationRecord | None:
        """One conversation of this person with its turns, None when it is not theirs (or not at all)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations_table).where(
                    conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user
                )
            ).first()
            if row is None:
                return None
            turns = conn.execute(
                select(turns_table.c.payload).where(turns_table.c.conversation_id == row.id).order_by(turns_table.c.position)
            ).all()
        return ConversationRecord(
            row.id, row.title, _aware(row.created_at), _aware(row.updated_at), [dict(t.payload) for t in turns]
        )

    def start(self, user: str, conversation_id: str, title: str, turn: dict[str, Any]) -> None:
        """A new conversation of this person, with its first turn."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(conversations_table).values(
                    id=conversation_id, user_name=user, title=title, created_at=now, updated_at=now
                )
            )
            conn.execute(insert(turns_table).values(conversation_id=conversation_id, position=0, created_at=now, payload=turn))

    def append(self, user: str, conversation_id: str, turn: dict[str, Any]) -> bool:
        """Add a turn at the end of this person's conversation (now its latest use); False when it is not theirs."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                owned = conn.execute(
                    update(conversations_table)
                    .where(conversations_table.c.id == conversation_id, conversations_table.c.user_name == user)
                    .values(updated_at=now)
                )
                if owned.rowcount != 1:
                    raise _NotOwned()
                position = int(
                    conn.execute(
                        select(func.coalesce(func.max(turns_table.c.position) + 1, 0)).where(
                            turns_table.c.conversation_id == conversation_id
                        )
                    ).scalar_one()
                )
                conn.execute(
                    insert(turns_table).values(conversation_id=conversation_id, position=position, created_at=now, payload=turn)
                )
        except _NotOwned:
            return False
        return True

    def rename(self, user: str, conversation_id: str, title: str) -> bool:
        """Give this person's conversation a new title; False when it is not theirs."""
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(conversations_table)
                    .where(conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user)
                    .values(title=title)
                )
                if done.rowcount != 1:
                    raise _NotOwned()
        except _NotOwned:
            return False
        return True

    def delete(self, user: str, conversation_id: str) -> bool:
        """Delete this person's conversation and its turns; False when it is not theirs."""
        try:
            with self.engine.begin() as conn:
                owned = conn.execute(
                    select(conversations_table.c.id).where(
                        conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user
                    )
                ).first()
                if owned is None:
                    raise _NotOwned()
                # explicit, not left to the database: SQLite enforces foreign keys only when asked to
                conn.execute(delete(turns_table).where(turns_table.c.conversation_id == owned.id))
                conn.execute(delete(conversations_table).where(conversations_table.c.id == owned.id))
        except _NotOwned:
            return False
        return True

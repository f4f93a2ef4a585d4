"""Saved conversations: each person's own, on the server (with login) or in their browser (without).

A conversation is a title and its turns; a turn is what was asked and what the
assistant answered, with the passages and the checked citations (so that it can
be shown again, exported with its sources, and read back as the history of a
follow-up). ``ConversationStore`` keeps them in a database through SQLAlchemy
Core: every query names the owner, so nobody can read, rename or delete another
person's conversation (an id that is not yours is "not found", never "forbidden":
ids of others are not even confirmed). ``BrowserBook`` holds the same thing as
plain JSON for Gradio's ``BrowserState`` when there is no login.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Engine,
    delete,
    func,
    insert,
    select,
    update,
)

from assistant.pipeline import Answer
from database.schema import conversation_turns as turns_table
from database.schema import conversations as conversations_table
from web.errors import WebError

TITLE_CHARS = 80  # a title is the first question, cut on a word
MAX_TITLE_INPUT = 200
BROWSER_CONVERSATIONS = 40  # kept in a browser's local storage (a few MB at most)

Turn = dict[str, Any]  # {"question", "answer", "abstained", "language", "standalone", "reason", "when", "citations", "passages"}


class ConversationNotFound(WebError, LookupError):
    """No conversation of this person has this id (it never existed, was deleted, or is someone else's)."""

    def __init__(self) -> None:
        super().__init__(
            "Cette conversation est introuvable : elle a peut-être été supprimée. Choisissez-en une autre dans la liste."
        )


class ConversationsUnavailable(WebError):
    """The server keeps conversations only for people who log in."""


def title_from(question: str) -> str:
    """The first question, on one line, cut on a word when it is long."""
    text = " ".join(str(question).split())
    if len(text) <= TITLE_CHARS:
        return text or "Conversation"
    cut = text[:TITLE_CHARS].rsplit(" ", 1)[0] or text[:TITLE_CHARS]
    return cut.rstrip(" ,;:.") + "…"


def clean_title(title: str) -> str:
    text = " ".join(str(title or "").split())[:MAX_TITLE_INPUT]
    if not text:
        raise WebError("Le titre est vide : écrivez un titre pour cette conversation.")
    return text


def turn_from_answer(answer: Answer) -> Turn:
    """What a conversation keeps of an answer: enough to show it again, export it and ask a follow-up."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "language": answer.language,
        "standalone": answer.standalone_question,
        "reason": answer.reason,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "title": c.title,
                "page": c.page,
                "location": c.location,
                "quote": c.quote,
                "passage_text": c.passage_text,
            }
            for c in answer.citations
        ],
        "passages": [
            {"rank": p.rank, "source": p.source, "title": p.title, "page": p.page, "location": p.location, "text": p.text}
            for p in answer.passages
        ],
    }


def history_of(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The turns as the pipeline reads a conversation: questions and answers as they were written."""
    out: list[dict[str, str]] = []
    for t in turns:
        out.append({"role": "user", "content": str(t.get("question", ""))})
        out.append({"role": "assistant", "content": str(t.get("answer", ""))})
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive datetimes back


def _iso(value: datetime) -> str:
    return _aware(value).isoformat(timespec="seconds")


def new_id() -> str:
    return secrets.token_urlsafe(12)


class ConversationBook(Protocol):
    """One person's conversations, wherever they are kept."""

    def list(self) -> list[dict[str, Any]]: ...
    def get(self, conversation_id: str) -> dict[str, Any]: ...
    def add_turn(self, conversation_id: str | None, turn: Turn) -> str: ...
    def rename(self, conversation_id: str, title: str) -> None: ...
    def delete(self, conversation_id: str) -> None: ...


class ConversationStore:
    """Everyone's conversations in a database; every method takes the owner's name."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def book(self, user: str) -> ServerBook:
        return ServerBook(self, user)

    def list(self, user: str) -> list[dict[str, Any]]:
        """The person's conversations, the most recently used first: id, title, created, updated, turns (a count)."""
        count = select(turns_table.c.conversation_id, func.count().label("n")).group_by(turns_table.c.conversation_id).subquery()
        query = (
            select(conversations_table, func.coalesce(count.c.n, 0).label("n"))
            .outerjoin(count, count.c.conversation_id == conversations_table.c.id)
            .where(conversations_table.c.user_name == user)
            .order_by(conversations_table.c.updated_at.desc(), conversations_table.c.created_at.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {"id": r.id, "title": r.title, "created": _iso(r.created_at), "updated": _iso(r.updated_at), "turns": int(r.n)}
            for r in rows
        ]

    def get(self, user: str, conversation_id: str) -> dict[str, Any]:
        """One conversation of this person with its turns; ConversationNotFound otherwise."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(conversations_table).where(
                    conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user
                )
            ).first()
            if row is None:
                raise ConversationNotFound()
            turns = conn.execute(
                select(turns_table.c.payload).where(turns_table.c.conversation_id == row.id).order_by(turns_table.c.position)
            ).all()
        return {
            "id": row.id,
            "title": row.title,
            "created": _iso(row.created_at),
            "updated": _iso(row.updated_at),
            "turns": [dict(t.payload) for t in turns],
        }

    def add_turn(self, user: str, conversation_id: str | None, turn: Turn) -> str:
        """Append a turn; a new conversation (titled from its question) when ``conversation_id`` is None."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if conversation_id is None:
                conversation_id = new_id()
                conn.execute(
                    insert(conversations_table).values(
                        id=conversation_id,
                        user_name=user,
                        title=title_from(str(turn.get("question", ""))),
                        created_at=now,
                        updated_at=now,
                    )
                )
                position = 0
            else:
                owned = conn.execute(
                    update(conversations_table)
                    .where(conversations_table.c.id == conversation_id, conversations_table.c.user_name == user)
                    .values(updated_at=now)
                )
                if owned.rowcount != 1:
                    raise ConversationNotFound()
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
        return conversation_id

    def rename(self, user: str, conversation_id: str, title: str) -> None:
        title = clean_title(title)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(conversations_table)
                .where(conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user)
                .values(title=title)
            )
            if done.rowcount != 1:
                raise ConversationNotFound()

    def delete(self, user: str, conversation_id: str) -> None:
        with self.engine.begin() as conn:
            owned = conn.execute(
                select(conversations_table.c.id).where(
                    conversations_table.c.id == str(conversation_id), conversations_table.c.user_name == user
                )
            ).first()
            if owned is None:
                raise ConversationNotFound()
            # explicit, not left to the database: SQLite enforces foreign keys only when asked to
            conn.execute(delete(turns_table).where(turns_table.c.conversation_id == owned.id))
            conn.execute(delete(conversations_table).where(conversations_table.c.id == owned.id))


class ServerBook:
    """One person's view of the store."""

    def __init__(self, store: ConversationStore, user: str) -> None:
        self.store = store
        self.user = user

    def list(self) -> list[dict[str, Any]]:
        return self.store.list(self.user)

    def get(self, conversation_id: str) -> dict[str, Any]:
        return self.store.get(self.user, conversation_id)

    def add_turn(self, conversation_id: str | None, turn: Turn) -> str:
        return self.store.add_turn(self.user, conversation_id, turn)

    def rename(self, conversation_id: str, title: str) -> None:
        self.store.rename(self.user, conversation_id, title)

    def delete(self, conversation_id: str) -> None:
        self.store.delete(self.user, conversation_id)


class BrowserBook:
    """Conversations kept in the browser (Gradio's BrowserState): ``{"conversations": [...]}``, newest first.

    The value comes from the browser, so it is read defensively: anything that is not
    the expected shape is dropped, never trusted.
    """

    def __init__(self, value: Any) -> None:
        items = value.get("conversations") if isinstance(value, dict) else None
        self.conversations: list[dict[str, Any]] = [c for c in (items if isinstance(items, list) else []) if self._valid(c)]

    @staticmethod
    def _valid(c: Any) -> bool:
        return (
            isinstance(c, dict)
            and isinstance(c.get("id"), str)
            and isinstance(c.get("title"), str)
            and isinstance(c.get("turns"), list)
            and all(isinstance(t, dict) for t in c["turns"])
        )

    def value(self) -> dict[str, Any]:
        return {"conversations": self.conversations[:BROWSER_CONVERSATIONS]}

    def _find(self, conversation_id: str) -> dict[str, Any]:
        for c in self.conversations:
            if c["id"] == conversation_id:
                return c
        raise ConversationNotFound()

    def list(self) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "title": c["title"],
                "created": str(c.get("created", "")),
                "updated": str(c.get("updated", "")),
                "turns": len(c["turns"]),
            }
            for c in self.conversations
        ]

    def get(self, conversation_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._find(conversation_id))

    def add_turn(self, conversation_id: str | None, turn: Turn) -> str:
        known = conversation_id is not None and any(c["id"] == conversation_id for c in self.conversations)
        turns = [*self._find(str(conversation_id))["turns"], turn] if known else [turn]
        return self.save(conversation_id if known else None, turns)

    def save(self, conversation_id: str | None, turns: Sequence[Turn]) -> str:
        """Keep the page's conversation as it is now (its turns replace the stored ones); its id."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        found = [c for c in self.conversations if c["id"] == conversation_id]
        if found:
            conversation = found[0]
            self.conversations.remove(conversation)
        else:
            title = title_from(str(turns[0].get("question", ""))) if turns else "Conversation"
            conversation = {"id": new_id(), "title": title, "created": now}
        conversation["turns"] = [dict(t) for t in turns]
        conversation["updated"] = now
        self.conversations.insert(0, conversation)
        return str(conversation["id"])

    def rename(self, conversation_id: str, title: str) -> None:
        self._find(conversation_id)["title"] = clean_title(title)

    def delete(self, conversation_id: str) -> None:
        conversation = self._find(conversation_id)
        self.conversations.remove(conversation)

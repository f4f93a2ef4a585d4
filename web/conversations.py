"""Saved conversations: each person's own, on the server (with login) or in their browser (without).

A conversation is a title and its turns; a turn is what was asked and what the
assistant answered, with the passages and the checked citations (so that it can
be shown again, exported with its sources, and read back as the history of a
follow-up). ``ConversationStore`` keeps them in the database (``database/conversations.py``):
every query names the owner, so nobody can read, rename or delete another
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

from assistant.answer import Answer
from database import Database
from database.conversations import ConversationRecords
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


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


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

    def __init__(self, db: Database) -> None:
        self.records = ConversationRecords(db)

    def book(self, user: str) -> ServerBook:
        return ServerBook(self, user)

    def list(self, user: str) -> list[dict[str, Any]]:
        """The person's conversations, the most recently used first: id, title, created, updated, turns (a count)."""
        return [
            {"id": c.id, "title": c.title, "created": _iso(c.created_at), "updated": _iso(c.updated_at), "turns": c.turns}
            for c in self.records.list(user)
        ]

    def get(self, user: str, conversation_id: str) -> dict[str, Any]:
        """One conversation of this person with its turns; ConversationNotFound otherwise."""
        found = self.records.get(user, conversation_id)
        if found is None:
            raise ConversationNotFound()
        return {
            "id": found.id,
            "title": found.title,
            "created": _iso(found.created_at),
            "updated": _iso(found.updated_at),
            "turns": found.turns,
        }

    def add_turn(self, user: str, conversation_id: str | None, turn: Turn) -> str:
        """Append a turn; a new conversation (titled from its question) when ``conversation_id`` is None."""
        if conversation_id is None:
            conversation_id = new_id()
            self.records.start(user, conversation_id, title_from(str(turn.get("question", ""))), turn)
        elif not self.records.append(user, conversation_id, turn):
            raise ConversationNotFound()
        return conversation_id

    def rename(self, user: str, conversation_id: str, title: str) -> None:
        title = clean_title(title)
        if not self.records.rename(user, conversation_id, title):
            raise ConversationNotFound()

    def delete(self, user: str, conversation_id: str) -> None:
        if not self.records.delete(user, conversation_id):
            raise ConversationNotFound()


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

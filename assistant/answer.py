"""What the pipeline streams and returns: the passages found, a reread, the checked answer, a draft's verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.citations import CheckedSentence, Citation
from assistant.context import Excerpt
from assistant.relevance import Relevance
from assistant.retrieval import Passage


@dataclass(frozen=True)
class Retrieved:
    """The passages found for a question, announced before the model writes (so they can be shown at once)."""

    passages: list[Passage]
    standalone_question: str
    language: str
    seconds: float  # from the question to this event


@dataclass(frozen=True)
class Rereading:
    """The draft said what the shortened passages do not support: the model now reads them whole and writes again.

    What was shown of the first draft is to be cleared; text deltas of the second follow.
    """

    unsupported: list[str]  # the draft's sentences that no passage supported


# Why an answer abstained ("" when it did not): retrieval too weak, the model said it cannot answer, no sentence
# of the draft is supported by the passages, what it cites does not address the question, or a figure question
# answered without a figure.
Reason = Literal["", "weak-retrieval", "model-refusal", "unsupported", "off-topic", "no-figure"]


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The checked answer that ends a stream (built with keywords: every field says what it is)."""

    text: str
    citations: list[Citation]
    abstained: bool
    language: str
    backend: str
    backend_label: str
    passages: list[Passage]
    timings: dict[str, float]
    question: str  # as asked
    standalone_question: str  # after rewriting a follow-up (what retrieval used)
    sentences: list[CheckedSentence] = field(default_factory=list)
    reason: Reason = ""
    prompt_tokens: int | None = None
    draft: str = ""  # what the model wrote, before checking
    relevance: Relevance | None = None  # how well what it cites addresses the question
    second_draft: str | None = None  # written from the whole passages after the first failed the checks (None: no reread)
    read: list[Excerpt] = field(default_factory=list)  # what the model read of each passage for the draft checked last

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "language": self.language,
            "backend": self.backend,
            "citations": [c.to_json() for c in self.citations],
            "passages": [
                {
                    "rank": p.rank,
                    "source": p.source,
                    "title": p.title,
                    "page": p.page,
                    "location": p.location,
                    "text": p.text,
                    "score": p.score,
                }
                for p in self.passages
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "standalone_question": self.standalone_question,
            "abstention_reason": self.reason,
            "unsupported_sentences": [s.text for s in self.sentences if s.claims and not s.supported],
            "draft": self.draft,
            "second_draft": self.second_draft,
            "relevance": self.relevance.to_json() if self.relevance else None,
        }


@dataclass(frozen=True)
class Verdict:
    """What the checks made of a draft: the answer to show, or an abstention and why."""

    text: str
    citations: list[Citation]
    abstained: bool
    reason: Reason = ""
    sentences: list[CheckedSentence] = field(default_factory=list)
    relevance: Relevance | None = None

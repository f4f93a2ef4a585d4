"""The answering pipeline: rewrite a follow-up, retrieve, abstain or generate, cite."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.citations import CheckedSentence, Citation, Similarity, cite, render
from assistant.config import Settings
from assistant.errors import AnsweringError
from assistant.llm import ChatBackend, ExtractiveBackend, Message
from assistant.model_queue import ModelQueue, Waiting
from assistant.prompts import LANGUAGE_INSTRUCTIONS, LANGUAGE_NAMES, REFUSALS, Prompts, load_prompts, quote_passage
from assistant.retrieval import Passage, Retriever
from assistant.text import detect_language, normalize, split_sentences, tokenize
from index.embeddings import Embedder

log = logging.getLogger(__name__)


class QuestionError(AnsweringError, ValueError):
    """The question cannot be asked as it is (empty, too long); the message says why."""


@dataclass(frozen=True)
class Retrieved:
    """The passages found for a question, announced before the model writes (so they can be shown at once)."""

    passages: list[Passage]
    standalone_question: str
    language: str
    seconds: float  # from the question to this event


@dataclass(frozen=True)
class Answer:
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
    reason: str = ""  # why it abstained: "weak-retrieval", "model-refusal", "unsupported"
    prompt_tokens: int | None = None
    draft: str = ""  # what the model wrote, before checking

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
        }


_REFUSAL_MARKS = [
    normalize(s)
    for s in (
        REFUSALS["fr"],
        REFUSALS["en"],
        "ne trouve pas",
        "ne contiennent pas",
        "ne contient pas",
        "ne mentionnent pas",
        "ne mentionne pas",
        "ne permettent pas de répondre",
        "aucune information",
        "pas d'information",
        "pas précisé",
        "cannot find",
        "do not contain",
        "does not contain",
        "not mentioned",
        "no information",
        "not specified",
    )
]


def is_refusal(sentence: str) -> bool:
    text = normalize(sentence)
    return any(mark in text for mark in _REFUSAL_MARKS)


def embedding_similarity(embedder: Embedder) -> Similarity:
    """Cosine similarity of one sentence to candidates, with the index's own embedding model."""

    def similarity(sentence: str, candidates: Sequence[str]) -> list[float]:
        vectors = np.array(embedder.embed_documents([sentence, *candidates]), dtype=np.float32)
        return [float(x) for x in vectors[1:] @ vectors[0]]

    return similarity


class Assistant:
    """Answers questions from the indexed documents, with verified citations."""

    def __init__(
        self,
        retriever: Retriever,
        backend: ChatBackend,
        backend_note: str = "",
        prompts: Prompts | None = None,
        top_k: int = 4,
        abstain_below: float = 0.38,
        max_question_chars: int = 1000,
        max_answer_tokens: int = 320,
        drop_unsupported: bool = False,
        similarity: Similarity | None = None,
        model_queue: ModelQueue | None = None,
    ) -> None:
        self.retriever = retriever
        self.backend = backend
        self.backend_note = backend_note
        self.prompts = prompts or load_prompts()
        self.top_k = top_k
        self.abstain_below = abstain_below
        self.max_question_chars = max_question_chars
        self.max_answer_tokens = max_answer_tokens
        self.drop_unsupported = drop_unsupported
        self.similarity = similarity if similarity is not None else embedding_similarity(retriever.embedder)
        self.model_queue = model_queue or ModelQueue()  # every model call waits its turn here, first come first served

    @classmethod
    def from_settings(cls, settings: Settings, retriever: Retriever, backend: ChatBackend, backend_note: str = "") -> Assistant:
        return cls(
            retriever,
            backend,
            backend_note,
            top_k=settings.top_k,
            abstain_below=settings.abstain_below,
            max_question_chars=settings.max_question_chars,
            max_answer_tokens=settings.max_answer_tokens,
            drop_unsupported=settings.unsupported_sentences == "drop",
        )

    # -- public ------------------------------------------------------------
    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None, sources: Sequence[str] | None = None) -> Answer:
        """Answer without streaming."""
        final = None
        for item in self.stream(question, history, sources):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] | None = None,
        sources: Sequence[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Retrieved | Waiting | str | Answer]:
        """Yield the passages found (Retrieved), the queue position while the model is busy (Waiting),
        then text deltas as the answer is written, then the checked Answer.

        Setting ``cancel`` stops the answer (``GenerationCancelled``) and frees the model.
        """
        started = time.perf_counter()
        question = self.validate(question)
        language = detect_language(question)
        timings: dict[str, float] = {}
        standalone = self.standalone_question(question, history or [])
        timings["rewrite"] = time.perf_counter() - started
        retrieval = self.retriever.retrieve(standalone, self.top_k, sources, language)
        timings["retrieval"] = retrieval.seconds
        passages = retrieval.passages
        timings["sources"] = time.perf_counter() - started
        yield Retrieved(list(passages), standalone, language, timings["sources"])

        def finish(
            text: str, citations: list[Citation], abstained: bool, reason: str = "", sentences=None, tokens=None, draft=""
        ) -> Answer:  # type: ignore[no-untyped-def]
            timings["total"] = time.perf_counter() - started
            timings.setdefault("first_token", timings["total"])
            return Answer(
                text,
                citations,
                abstained,
                language,
                self.backend.name,
                self.backend.label,
                passages,
                timings,
                question,
                standalone,
                list(sentences or []),
                reason,
                tokens,
                draft,
            )

        if not passages or retrieval.best_dense < self.abstain_below:
            text = self.abstention_text(language)
            timings["first_token"] = time.perf_counter() - started
            yield text
            yield finish(text, [], True, "weak-retrieval")
            return

        if isinstance(self.backend, ExtractiveBackend):
            text, citations, checked = self.extract(question, passages, language)
            timings["first_token"] = time.perf_counter() - started
            if not citations:
                text = self.abstention_text(language)
                yield text
                yield finish(text, [], True, "unsupported")
                return
            yield text
            yield finish(text, citations, False, "", checked)
            return

        # a follow-up is answered as its standalone form, so that "le", "son"... are resolved
        messages = self.messages(standalone if history else question, passages, language)
        pieces: list[str] = []
        for delta in self.model_queue.stream(self.backend, messages, self.max_answer_tokens, cancel):
            if isinstance(delta, Waiting):
                yield delta
                continue
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
            pieces.append(delta)
            yield delta
        raw = "".join(pieces).strip()
        tokens = self._count_tokens(messages)
        first = next(iter(split_sentences(raw)), raw)
        if not raw or is_refusal(first):
            yield finish(self.abstention_text(language), [], True, "model-refusal", tokens=tokens, draft=raw)
            return
        checked, citations = cite(raw, passages, self.similarity, standalone)
        if not any(s.supported and s.claims for s in checked):
            yield finish(self.abstention_text(language), [], True, "unsupported", checked, tokens, raw)
            return
        text = render(checked, self.drop_unsupported, language)
        yield finish(text, citations, False, "", checked, tokens, raw)

    # -- steps -------------------------------------------------------------
    def validate(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise QuestionError("La question est vide : écrivez une question sur les documents.")
        if len(question) > self.max_question_chars:
            raise QuestionError(
                f"La question est trop longue ({len(question)} caractères, maximum {self.max_question_chars}) : "
                "raccourcissez-la ou découpez-la en plusieurs questions."
            )
        return question

    def standalone_question(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """Rewrite a follow-up into a question that stands alone (the model, else the previous question)."""
        previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
        if not previous:
            return question
        fallback = f"{previous[-1]} {question}"
        if isinstance(self.backend, ExtractiveBackend):
            return fallback
        lines = [
            f"« {t['content'][:300]} »" if t["role"] == "user" else f"(réponse : {t['content'][:200]})" for t in history[-4:]
        ]
        prompt = self.prompts.rewrite.format(history="\n".join(lines), question=question)
        # The same system message as the answer: llama.cpp keeps that prefix evaluated,
        # so neither this call nor the answer after it pays for it again.
        system = self.system_prompt(detect_language(question))
        try:
            messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
            rewritten = "".join(d for d in self.model_queue.stream(self.backend, messages, 48) if isinstance(d, str)).strip()
        except Exception:  # a failed rewrite must not cost the answer
            log.exception("rewrite failed; using the previous question as context")
            return fallback
        rewritten = rewritten.splitlines()[0].removeprefix("Question réécrite :").strip(' "«»') if rewritten else ""
        if (
            not rewritten
            or len(rewritten) > 400
            or is_refusal(rewritten)
            or rewritten.startswith(("Conversation", "Dernière question"))
        ):
            return fallback
        # keep the conversation's words too: a weak rewrite must not lose the topic
        return f"{rewritten} ({previous[-1]})"

    def system_prompt(self, language: str) -> str:
        return self.prompts.answer_system.format(refusal=REFUSALS[language], language_name=LANGUAGE_NAMES[language])

    def messages(self, question: str, passages: Sequence[Passage], language: str) -> list[Message]:
        blocks = []
        for p in passages:
            where = f' page="{p.page}"' if p.page is not None else ""
            blocks.append(f'<passage n="{p.rank}" source="{p.source}"{where}>\n{quote_passage(p.text)}\n</passage>')
        system = self.system_prompt(language)
        user = self.prompts.answer_user.format(
            passages="\n".join(blocks), question=question, language_instruction=LANGUAGE_INSTRUCTIONS[language]
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def abstention_text(self, language: str) -> str:
        if language == "en":
            return f"{REFUSALS['en']} The closest passages are listed below, so you can check them yourself."
        return f"{REFUSALS['fr']} Les passages les plus proches sont listés ci-dessous pour que vous puissiez vérifier."

    def extract(
        self, question: str, passages: Sequence[Passage], language: str
    ) -> tuple[str, list[Citation], list[CheckedSentence]]:
        """Quote the passage sentences that best answer the question (no language model)."""
        q_words = set(tokenize(question))
        scored: list[tuple[float, int, str]] = []
        for p in passages[:3]:
            for sentence in split_sentences(p.text):
                words = set(tokenize(sentence))
                overlap = len(q_words & words) / len(q_words) if q_words else 0.0
                scored.append((overlap + 0.05 * (4 - p.rank), p.rank, sentence))
        if not scored:
            return "", [], []
        scored.sort(key=lambda t: -t[0])
        best = scored[0]
        if best[0] < 0.3:
            candidates = [s for _, _, s in scored]
            sims = self.similarity(question, candidates)
            i = int(np.argmax(sims))
            if sims[i] < 0.5:
                return "", [], []
            best = (sims[i], scored[i][1], scored[i][2])
        rank, sentence = best[1], best[2]
        passage = next(p for p in passages if p.rank == rank)
        citation = Citation(
            rank, passage.source, passage.title, passage.page, sentence, passage.chunk_id, passage.text, passage.location
        )
        lead = "D'après les documents" if language == "fr" else "According to the documents (in French)"
        text = f"{lead} : « {sentence} » [{rank}]"
        return text, [citation], [CheckedSentence(sentence, (rank,), True, True)]

    def _count_tokens(self, messages: Sequence[Message]) -> int | None:
        counter = getattr(self.backend, "count_tokens", None)
        if counter is None:
            return None
        try:
            return int(counter("\n".join(m["content"] for m in messages)))
        except Exception:  # counting is informative only
            return None

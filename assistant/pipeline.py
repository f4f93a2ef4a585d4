"""The answering pipeline: rewrite a follow-up, retrieve, abstain or generate, cite."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator, Sequence

import numpy as np

from assistant.answer import Answer, Reason, Rereading, Retrieved, Verdict
from assistant.backends import ChatBackend, ExtractiveBackend, Message
from assistant.citations import CheckedSentence, cite, render
from assistant.config import Settings
from assistant.context import ContextSelector, Excerpt
from assistant.errors import AnsweringError
from assistant.facts import Similarity, gives_figure, numbers_in
from assistant.model_queue import ModelQueue, Waiting
from assistant.prompts import LANGUAGE_INSTRUCTIONS, REFUSALS, Prompts, fixed_start, load_prompts, passage_lines
from assistant.refusals import is_refusal, opens_with_refusal
from assistant.relevance import Corpus, Relevance, RelevanceRule, assess
from assistant.retrieval import Passage, Retriever
from assistant.text import asks_for_figure, detect_language, normalize, sentence_spans, tokenize
from index.embeddings import Embedder

log = logging.getLogger(__name__)


class QuestionError(AnsweringError, ValueError):
    """The question cannot be asked as it is (empty, too long); the message says why."""


def _shortened(excerpts: Sequence[Excerpt], passages: Sequence[Passage]) -> bool:
    """Whether the model was given less than the whole passages (some sentence left out)."""
    kept = {e.rank: len(e.spans) for e in excerpts}
    return any(kept.get(p.rank, 0) < len(sentence_spans(p.text) or [(0, len(p.text))]) for p in passages)


def keeps_the_question(question: str, rewritten: str, previous: str) -> bool:
    """Whether a follow-up's rewrite still asks what the follow-up asked.

    A small model sometimes hands back the previous question ("Depuis quand occupe-t-il ce
    poste ?" rewritten as "Qui est le président de la FHAC ?"): the rewrite must not be the
    previous question, and must still ask for a figure or a date when the follow-up did.
    """
    if normalize(rewritten).rstrip(" ?") == normalize(previous).rstrip(" ?"):
        return False
    return asks_for_figure(rewritten) or not asks_for_figure(question)


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
        quote_when_unverified: bool = False,
        reread_whole: bool = False,
        similarity: Similarity | None = None,
        relevance_rule: RelevanceRule | None = None,
        context: ContextSelector | None = None,
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
        self.quote_when_unverified = quote_when_unverified
        self.reread_whole = reread_whole
        self.similarity = similarity if similarity is not None else embedding_similarity(retriever.embedder)
        self.relevance_rule = relevance_rule or RelevanceRule()
        self._corpus: tuple[int, Corpus] | None = None
        self.context = context or ContextSelector()
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
            quote_when_unverified=settings.quote_when_unverified,
            reread_whole=settings.reread_whole,
            relevance_rule=RelevanceRule(
                settings.relevance_min_coverage, settings.relevance_min_similarity, settings.relevance_min_similarity_english
            ),
            context=ContextSelector(settings.context_chars),
            # one llama.cpp instance in this process writes one answer at a time; a server may write several
            model_queue=ModelQueue(1 if backend.name == "llamacpp" else settings.model_parallel),
        )

    # -- public ------------------------------------------------------------
    def warm_up(self) -> None:
        """Have the model read, now, the beginning that requests share, so that no question pays for it.

        Every request starts with the system message; a follow-up's rewrite goes on with
        the fixed instructions of its template. A backend that can keep what it has read
        (llama.cpp) reads both once, here.
        """
        keep = getattr(self.backend, "keep", None)
        if callable(keep):
            rewrite = fixed_start(self.prompts.rewrite)
            keep([{"role": "system", "content": self.system_prompt()}, {"role": "user", "content": rewrite}])

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
    ) -> Iterator[Retrieved | Waiting | Rereading | str | Answer]:
        """Yield the passages found (Retrieved), the queue position while the model is busy (Waiting),
        then text deltas as the answer is written, then the checked Answer.

        When the draft fails the citation checks and the model was given shortened passages, it
        writes once more from the whole passages (``Rereading``, then that draft's deltas): the
        sentence that supports the answer may be one the shortening left out.

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
            verdict: Verdict, tokens: int | None = None, draft: str = "", second: str | None = None, read: Sequence[Excerpt] = ()
        ) -> Answer:
            timings["total"] = time.perf_counter() - started
            timings.setdefault("first_token", timings["total"])
            return Answer(
                text=verdict.text,
                citations=verdict.citations,
                abstained=verdict.abstained,
                language=language,
                backend=self.backend.name,
                backend_label=self.backend.label,
                passages=passages,
                timings=timings,
                question=question,
                standalone_question=standalone,
                sentences=verdict.sentences,
                reason=verdict.reason,
                prompt_tokens=tokens,
                draft=draft,
                relevance=verdict.relevance,
                second_draft=second,
                read=list(read),
            )

        if not passages or retrieval.best_dense < self.abstain_below:
            verdict = self.abstain(language, "weak-retrieval")
            timings["first_token"] = time.perf_counter() - started
            yield verdict.text
            yield finish(verdict)
            return

        # a follow-up is answered as its standalone form, so that "le", "son"... are resolved
        asked = standalone if history else question
        excerpts = self.context.select(asked, passages, language)
        messages = self._messages(asked, excerpts, language)
        raw = yield from self._draft(messages, cancel, started, timings, "first_token")
        verdict = self.verify(raw, standalone, passages, language, history or [])
        if not (verdict.reason == "unsupported" and self.reread_whole and _shortened(excerpts, passages)):
            yield finish(verdict, self._count_tokens(messages), raw, read=excerpts)
            return
        timings["reread"] = time.perf_counter() - started
        yield Rereading([c.text for c in verdict.sentences if c.claims and not c.supported])
        whole_excerpts = ContextSelector(0).select(asked, passages, language)
        whole = self._messages(asked, whole_excerpts, language)
        second = yield from self._draft(whole, cancel, started, timings, "reread_first_token")
        verdict = self.verify(second, standalone, passages, language, history or [])
        yield finish(verdict, self._count_tokens(whole), raw, second, whole_excerpts)

    def _draft(
        self, messages: list[Message], cancel: threading.Event | None, started: float, timings: dict[str, float], mark: str
    ) -> Generator[Waiting | str, None, str]:
        """Stream one draft through the model queue (its deltas, and Waiting); return its text."""
        pieces: list[str] = []
        for delta in self.model_queue.stream(self.backend, messages, self.max_answer_tokens, cancel):
            if isinstance(delta, Waiting):
                yield delta
                continue
            if not pieces:
                timings[mark] = time.perf_counter() - started
            pieces.append(delta)
            yield delta
        return "".join(pieces).strip()

    def verify(
        self,
        draft: str,
        question: str,
        passages: Sequence[Passage],
        language: str,
        history: Sequence[dict[str, str]] = (),
    ) -> Verdict:
        """Check a draft against the passages and the question: the answer that stands, or an abstention.

        ``question`` is the standalone question (after a follow-up's rewrite). Its focus is
        the rewritten question alone, without the previous question that the rewrite keeps
        beside it for retrieval: "Et celui du Dr Gaston ?" is about Dr Gaston's patient.
        """
        previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
        focus = question.removesuffix(f" ({previous[-1]})") if previous else question
        if not draft or opens_with_refusal(draft):
            return self.abstain(language, "model-refusal")
        corpus = self.corpus()
        checked, citations = cite(draft, passages, self.similarity, question, corpus.documents)
        claims = [s for s in checked if s.claims]
        # the answer comes first: a name or a figure it invents is not saved by a true sentence after it
        # ("Le doyen est Zhang X. ⚠ Elle a été inaugurée en 2025."); one merely worded otherwise is flagged
        if not claims or claims[0].invented or not any(s.supported for s in claims):
            if self.quote_when_unverified:
                return self.quote_instead(question, focus, passages, language, checked)
            return self.abstain(language, "unsupported", checked)
        relevance = assess(focus, [p for p in passages if p.rank in {c.n for c in citations}], corpus, self.similarity)
        if not self.relevance_rule.addresses(relevance):
            return self.abstain(language, "off-topic", checked, relevance)
        if asks_for_figure(focus) and not any(gives_figure(s.text) for s in checked if s.supported and s.claims):
            return self.abstain(language, "no-figure", checked, relevance)  # "Depuis quand ?" answered without a date
        return Verdict(render(checked, self.drop_unsupported, language), citations, False, "", checked, relevance)

    def quote_instead(
        self,
        question: str,
        focus: str,
        passages: Sequence[Passage],
        language: str,
        checked: Sequence[CheckedSentence] = (),
    ) -> Verdict:
        """The draft cannot stand: quote the passage sentence that answers the question, if one does, else abstain.

        The quote goes through the same checks as a draft (citation, relevance to the question's
        focus). Only for French questions: a French quote is no answer to an English question.
        """
        if language != "fr":
            return self.abstain(language, "unsupported", checked)
        found = ExtractiveBackend(self.similarity).best_sentence(focus, [(p.rank, p.text) for p in passages])
        if found is None:
            return self.abstain(language, "unsupported", checked)
        rank, sentence = found
        own_words, own_figures = set(tokenize(sentence)) - set(tokenize(focus)), numbers_in(sentence) - numbers_in(focus)
        if not own_figures and (asks_for_figure(focus) or len(own_words) < 2):
            return self.abstain(language, "unsupported", checked)  # no figure for "combien ?", or a heading: no answer
        corpus = self.corpus()
        quote = f"D'après les documents : « {sentence} » [{rank}]"
        quoted, citations = cite(quote, passages, self.similarity, question, corpus.documents)
        if not any(s.supported and s.claims for s in quoted):
            return self.abstain(language, "unsupported", checked)
        relevance = assess(focus, [p for p in passages if p.rank in {c.n for c in citations}], corpus, self.similarity)
        if not self.relevance_rule.addresses(relevance):
            return self.abstain(language, "unsupported", checked, relevance)
        return Verdict(render(quoted, self.drop_unsupported, language), citations, False, "", quoted, relevance)

    def abstain(
        self, language: str, reason: Reason, checked: Sequence[CheckedSentence] = (), relevance: Relevance | None = None
    ) -> Verdict:
        return Verdict(self.abstention_text(language), [], True, reason, list(checked), relevance)

    def corpus(self) -> Corpus:
        """Word statistics and texts of the indexed documents, rebuilt when a sync commits a new generation."""
        snap = self.retriever.snapshot()
        if self._corpus is None or self._corpus[0] != snap.generation:
            texts = ((snap.sources.get(c.doc_hash, ["?"])[0], snap.titles.get(c.doc_hash, ""), c.text) for c in snap.chunks)
            self._corpus = (snap.generation, Corpus(texts))
        return self._corpus[1]

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
        lines = [
            f"« {t['content'][:300]} »" if t["role"] == "user" else f"(réponse : {t['content'][:200]})" for t in history[-4:]
        ]
        prompt = self.prompts.rewrite.format(history="\n".join(lines), question=question)
        # The same system message as every answer: llama.cpp keeps that prefix evaluated,
        # so neither this call nor the answer after it pays for it again.
        try:
            messages = [{"role": "system", "content": self.system_prompt()}, {"role": "user", "content": prompt}]
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
            or not keeps_the_question(question, rewritten, previous[-1])
        ):
            return fallback
        # keep the conversation's words too: a weak rewrite must not lose the topic
        return f"{rewritten} ({previous[-1]})"

    def system_prompt(self) -> str:
        return self.prompts.system()

    def messages(self, question: str, passages: Sequence[Passage], language: str) -> list[Message]:
        """The system message, then what this question needs: the selected sentences of each passage, numbered [n]."""
        return self._messages(question, self.context.select(question, passages, language), language)

    def _messages(self, question: str, excerpts: Sequence[Excerpt], language: str) -> list[Message]:
        user = self.prompts.answer_user.format(
            passages=passage_lines([(e.rank, e.text) for e in excerpts]),
            question=question,
            language_instruction=LANGUAGE_INSTRUCTIONS[language],
        )
        return [{"role": "system", "content": self.system_prompt()}, {"role": "user", "content": user}]

    def abstention_text(self, language: str) -> str:
        if language == "en":
            return f"{REFUSALS['en']} The closest passages are listed below, so you can check them yourself."
        return f"{REFUSALS['fr']} Les passages les plus proches sont listés ci-dessous pour que vous puissiez vérifier."

    def _count_tokens(self, messages: Sequence[Message]) -> int | None:
        counter = getattr(self.backend, "count_tokens", None)
        if counter is None:
            return None
        try:
            return int(counter("\n".join(m["content"] for m in messages)))
        except Exception:  # counting is informative only
            return None

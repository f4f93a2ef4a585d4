"""The backend without a language model: it quotes the passage sentence that best answers the question."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from assistant.backends import Message
from assistant.prompts import parse_passages
from assistant.text import asks_for_figure, detect_language, split_sentences, tokenize


class ExtractiveBackend:
    """No language model: quotes the passage sentence that best answers the question.

    It reads the same messages as the models do: the numbered passages (their tags
    cannot be forged by a document, see ``quote_passage``) and the question around
    them. A request without passages (the follow-up rewrite) gets no text, so the
    pipeline falls back on its own rewrite; a question that no sentence answers gets
    no text either, which the pipeline turns into an abstention.
    """

    name = "extractive"
    label = "Extraits des documents (sans modèle de langue)"

    def __init__(self, similarity: Callable[[str, Sequence[str]], list[float]] | None = None, min_overlap: float = 0.3):
        self.similarity = similarity  # across languages, when given (the index's embedding model)
        self.min_overlap = min_overlap

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        passages, question = parse_passages(user)
        if not passages:
            return
        found = self.best_sentence(question, passages)
        if found is None:
            return
        rank, sentence = found
        lead = "According to the documents (in French)" if detect_language(question) == "en" else "D'après les documents"
        yield f"{lead} : « {sentence} » [{rank}]"

    def best_sentence(self, question: str, passages: Sequence[tuple[int, str]]) -> tuple[int, str] | None:
        """Return (passage number, sentence) of the sentence that shares the question's rarest words.

        Words that many of the passages' sentences share (the topic: "Vietnam", "France")
        weigh less than the ones that pick the fact ("signé"); a question asking for a
        figure or a date prefers a sentence that has one.
        """
        q_words = set(tokenize(question))
        candidates = [(position, rank, s) for position, (rank, text) in enumerate(passages[:3]) for s in split_sentences(text)]
        if not candidates or not q_words:
            return None
        words = [set(tokenize(s)) for _, _, s in candidates]
        weight = {w: 1 / (1 + sum(w in ws for ws in words)) for w in q_words}
        total = sum(weight.values())
        wants_figure = asks_for_figure(question)
        scored = []
        for (position, rank, sentence), ws in zip(candidates, words, strict=True):
            overlap = sum(weight[w] for w in q_words & ws) / total
            figure = 0.15 if wants_figure and re.search(r"\d", sentence) else 0.0
            scored.append((overlap + figure + 0.05 * (3 - position), rank, sentence))
        best = max(scored, key=lambda t: t[0])
        if best[0] >= self.min_overlap:
            return best[1], best[2]
        if self.similarity is None:
            return None
        sims = self.similarity(question, [s for _, _, s in scored])
        i = max(range(len(sims)), key=lambda j: sims[j])
        return (scored[i][1], scored[i][2]) if sims[i] >= 0.5 else None

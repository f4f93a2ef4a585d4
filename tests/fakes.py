"""Real, small implementations of the project's interfaces, passed in by unit tests."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence

from assistant.text import tokenize


class HashEmbedder:
    """Bag-of-words vectors (hashed, normalized): texts sharing words are close, as with a real model."""

    def __init__(self, dims: int = 256, identity: str = "hash-bow-256") -> None:
        self.dims = dims
        self._identity = identity
        self.embedded = 0  # how many texts were embedded (tests count work done)

    @property
    def identity(self) -> str:
        return self._identity

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dims
        for word in tokenize(text):
            h = int(hashlib.md5(word.encode()).hexdigest(), 16)
            vec[h % self.dims] += 1.0 if (h >> 64) % 2 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class ScriptedBackend:
    """A chat model that answers from a script: a list of replies, or a function of the messages."""

    name = "scripted"
    label = "Modèle scripté (tests)"

    def __init__(self, replies: Sequence[str] | None = None, fn=None, fail_after: int | None = None) -> None:  # type: ignore[no-untyped-def]
        self.replies = list(replies or [])
        self.fn = fn
        self.calls: list[list[dict[str, str]]] = []
        self.fail_after = fail_after

    def stream(self, messages: Sequence[dict[str, str]], max_tokens: int) -> Iterator[str]:
        self.calls.append(list(messages))
        reply = self.fn(messages) if self.fn else self.replies.pop(0)
        for i, word in enumerate(reply.split(" ")):
            if self.fail_after is not None and i >= self.fail_after:
                from assistant.backends import GenerationError

                raise GenerationError("connexion coupée (scripté)")
            yield word if i == 0 else " " + word

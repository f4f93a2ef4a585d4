"""Answer backends behind one small interface: OpenAI-compatible servers, Ollama, embedded llama.cpp, extractive.

Each backend has its own module, the only one that speaks to its vendor: ``ollama``
(Ollama), ``openai_server`` (the ``openai`` client), ``llamacpp`` (llama.cpp and the
process-wide cache of loaded models), ``extractive`` (no model); ``factory`` picks one
from the settings. Vendor errors become BackendUnavailable (cannot start: say what to
run) or GenerationError (broke while answering).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import AnsweringError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}


class BackendUnavailable(AnsweringError, RuntimeError):
    """A backend cannot be used; the message says what to do (French)."""


class GenerationError(AnsweringError, RuntimeError):
    """A backend failed in the middle of an answer."""


class ChatBackend(Protocol):
    """What the pipeline needs from a language model."""

    name: str  # "ollama", "llamacpp", "scripted", ...
    label: str  # shown to users: which model answers

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]: ...


def _without_credentials(url: str) -> str:
    """Return the URL as it may be shown or logged: no user, password or query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # not a number: the client will refuse the URL; show the host alone
        port = None
    if port:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


# The backends import the interface above, so they are re-exported after it.
from assistant.backends.extractive import ExtractiveBackend  # noqa: E402
from assistant.backends.factory import llama_backend, make_backend  # noqa: E402
from assistant.backends.llamacpp import LlamaCppBackend, llama_build, usable_cpus  # noqa: E402
from assistant.backends.ollama import OllamaBackend  # noqa: E402
from assistant.backends.openai_server import OpenAICompatibleBackend  # noqa: E402

__all__ = [
    "BackendUnavailable",
    "ChatBackend",
    "ExtractiveBackend",
    "GenerationError",
    "LlamaCppBackend",
    "Message",
    "OllamaBackend",
    "OpenAICompatibleBackend",
    "llama_backend",
    "llama_build",
    "make_backend",
    "usable_cpus",
]

"""Build the answer backend the settings ask for, falling back in ``auto`` from the best to the always available."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from assistant.backends import BackendUnavailable, ChatBackend
from assistant.backends.extractive import ExtractiveBackend
from assistant.backends.llamacpp import LlamaCppBackend
from assistant.backends.ollama import OllamaBackend
from assistant.backends.openai_server import OpenAICompatibleBackend
from assistant.config import Settings

log = logging.getLogger(__name__)


Similarity = Callable[[str, Sequence[str]], list[float]]  # sentence vs candidates -> cosine each


def llama_backend(settings: Settings) -> LlamaCppBackend:
    """Return the embedded model with the settings' llama.cpp options."""
    return LlamaCppBackend(
        settings.llm_model,
        settings.model_cache_dir,
        settings.llm_context,
        settings.llm_threads,
        settings.temperature,
        batch=settings.llm_batch,
        ubatch=settings.llm_ubatch,
        flash_attention=settings.llm_flash_attention,
        kv_cache_type=settings.llm_kv_cache_type,
    )


def ollama_backend(settings: Settings) -> OllamaBackend:
    """Return the settings' Ollama model (not checked yet)."""
    return OllamaBackend(
        settings.ollama_url, settings.ollama_model, settings.ollama_num_ctx, settings.temperature, settings.ollama_timeout
    )


def make_backend(settings: Settings, choice: str | None = None, similarity: Similarity | None = None) -> tuple[ChatBackend, str]:
    """Return the backend to use and a sentence saying why (shown to the user).

    ``similarity`` (the index's embeddings) lets the extractive backend quote across languages.
    """
    choice = choice or settings.backend
    match choice:
        case "openai":
            return _make_openai_backend(settings, choice, similarity)
        case "auto" if settings.openai_base_url:
            return _make_openai_backend(settings, choice, similarity)
        case "ollama":
            ollama = ollama_backend(settings)
            ollama.check()
            return ollama, f"Réponses de {ollama.label}."
        case "extractive":
            backend = ExtractiveBackend(similarity)
            return backend, "Réponses extractives : phrases citées telles quelles, sans modèle de langue."
        case "llamacpp":
            llama = llama_backend(settings)
            return llama, f"Réponses du {llama.label} (un Ollama local donne de meilleures réponses)."
        case _:  # auto without a server (and any other word): the best local backend that can start
            return _first_available(settings, similarity)


def _first_available(settings: Settings, similarity: Similarity | None) -> tuple[ChatBackend, str]:
    """Return Ollama if it answers, else the embedded model if it is installed, else the extractive backend."""
    reasons = []
    ollama = ollama_backend(settings)
    try:
        ollama.check(timeout=1.5)
        return ollama, f"Réponses de {ollama.label}."
    except BackendUnavailable as exc:
        reasons.append(str(exc))
    try:
        llama = llama_backend(settings)
        return llama, f"Réponses du {llama.label} : Ollama est indisponible ; un Ollama local donne de meilleures réponses."
    except BackendUnavailable as exc:
        reasons.append(str(exc))
    log.warning("no language model available: %s", " | ".join(reasons))
    return ExtractiveBackend(
        similarity
    ), "Aucun modèle de langue disponible : réponses extractives (phrases citées des documents)."


def _make_openai_backend(settings: Settings, choice: str, similarity: Similarity | None) -> tuple[ChatBackend, str]:
    """Return the OpenAI-compatible server when asked for, or first in auto when one is configured.

    A team that configured a server wants its (bigger, shared) model; when the server
    cannot be used, auto falls back to the local choices and says why.
    """
    try:
        server = OpenAICompatibleBackend.from_settings(settings)
        server.check(timeout=5.0 if choice == "openai" else 3.0)
    except BackendUnavailable as exc:
        if choice == "openai":
            raise
        log.warning("OpenAI-compatible server unusable, falling back: %s", exc)
        backend, note = make_backend(settings.model_copy(update={"openai_base_url": None}), "auto", similarity)
        return backend, f"Serveur de modèles configuré indisponible : {exc} En attendant : {note}"
    return server, f"Réponses du {server.label} (le serveur configuré dans ASSISTANT_OPENAI_BASE_URL passe en premier)."

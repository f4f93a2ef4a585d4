"""Answer backends behind one small interface: Ollama, embedded llama.cpp, extractive.

The only module that speaks to Ollama or llama.cpp; their errors become
BackendUnavailable (cannot start: say what to run) or GenerationError (broke
while answering).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx

from assistant.errors import AnsweringError
from index.models import KNOWN_MODELS, ModelError, resolve_known

log = logging.getLogger(__name__)

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


class ExtractiveBackend:
    """No language model: the pipeline quotes the best sentences itself."""

    name = "extractive"
    label = "Extraits des documents (sans modèle de langue)"

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        raise GenerationError("le mode extractif ne génère pas de texte")


def _approx_tokens(messages: Sequence[Message]) -> int:
    return sum(len(m["content"]) for m in messages) // 3 + 16 * len(messages)


class OllamaBackend:
    """A model served by the user's own Ollama (``ollama serve``), through LangChain's ChatOllama."""

    name = "ollama"

    def __init__(self, url: str, model: str, num_ctx: int = 8192, temperature: float = 0.1, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.model = model
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.timeout = timeout
        self.label = f"Ollama · {model}"

    def check(self, timeout: float = 3.0) -> None:
        """Raise BackendUnavailable unless the server answers and has the model pulled."""
        try:
            response = httpx.get(f"{self.url}/api/tags", timeout=timeout)
            response.raise_for_status()
            names = {m.get("name", "") for m in response.json().get("models", [])}
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendUnavailable(
                f"Ollama ne répond pas à {self.url}. Lancez « ollama serve » (ou vérifiez ASSISTANT_OLLAMA_URL), "
                "ou choisissez le modèle intégré (--backend llamacpp)."
            ) from exc
        wanted = {self.model, f"{self.model}:latest"}
        if not names & wanted:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » n'est pas installé dans Ollama. Lancez « ollama pull {self.model} » "
                f"(modèles présents : {', '.join(sorted(names)) or 'aucun'})."
            )

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        from langchain_ollama import ChatOllama

        # Ollama silently cuts prompts longer than num_ctx: size the window to the prompt.
        needed = _approx_tokens(messages) + max_tokens + 256
        num_ctx = max(self.num_ctx, 1 << (needed - 1).bit_length())
        chat = ChatOllama(
            model=self.model,
            base_url=self.url,
            num_ctx=num_ctx,
            num_predict=max_tokens,
            temperature=self.temperature,
            client_kwargs={"timeout": self.timeout},
        )
        finished = False
        try:
            for chunk in chat.stream([(m["role"], m["content"]) for m in messages]):
                finished = finished or bool(chunk.response_metadata.get("done") or chunk.response_metadata.get("done_reason"))
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
            if not finished:  # Ollama ends every answer with a "done" line; no line means a cut
                raise GenerationError("stream ended without Ollama's final message")
        except Exception as exc:  # httpx, ollama.ResponseError, JSON errors: all mean the same to a user
            if "not found" in str(exc).lower():
                raise BackendUnavailable(
                    f"Le modèle « {self.model} » n'est pas installé dans Ollama. Lancez « ollama pull {self.model} »."
                ) from exc
            raise GenerationError(
                f"La connexion à Ollama ({self.url}) a été coupée pendant la réponse. "
                "Vérifiez que « ollama serve » tourne toujours, puis reposez la question."
            ) from exc


_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()
_GENERATE_LOCKS: dict[str, threading.Lock] = {}


class LlamaCppBackend:
    """A GGUF model run in-process by llama.cpp (loaded once per process, one answer at a time)."""

    name = "llamacpp"

    def __init__(self, model: str, cache_dir: Path, n_ctx: int = 4096, threads: int = 0, temperature: float = 0.1):
        self.model_path = self.resolve(model, cache_dir)
        self.n_ctx = n_ctx
        self.threads = threads or (os.cpu_count() or 2)
        self.temperature = temperature
        short = KNOWN_MODELS[model].description.split(",")[0] if model in KNOWN_MODELS else Path(model).stem
        self.label = f"Modèle intégré · {short}"

    @staticmethod
    def resolve(model: str, cache_dir: Path) -> Path:
        try:
            known = resolve_known(model, cache_dir)
        except ModelError as exc:
            raise BackendUnavailable(str(exc)) from exc
        path = known or Path(model).expanduser()
        if not path.is_file():
            raise BackendUnavailable(
                f"Modèle GGUF introuvable : {path}. Lancez « make setup » pour installer le modèle intégré, "
                "ou indiquez un fichier .gguf dans ASSISTANT_LLM_MODEL."
            )
        return path

    def _chat(self) -> Any:
        """Return the process-wide ChatLlamaCpp for this model (it loads the weights once)."""
        key = (str(self.model_path), self.n_ctx, self.threads)
        with _LOAD_LOCK:
            if key not in _LOADED:
                from langchain_community.chat_models import ChatLlamaCpp

                try:
                    _LOADED[key] = ChatLlamaCpp(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_threads=self.threads,
                        n_batch=512,  # LangChain's default of 8 makes prompt reading several times slower
                        # LangChain's defaults (10000, 1.0) override the model's RoPE settings (Qwen2.5
                        # uses a base of 1e6) and garble long prompts; 0 means "as the model says".
                        rope_freq_base=0.0,
                        rope_freq_scale=0.0,
                        temperature=self.temperature,
                        repeat_penalty=1.0,  # the default 1.1 hurt answers (MODELS.md)
                        streaming=True,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise BackendUnavailable(
                        f"Le modèle {self.model_path} n'a pas pu être chargé ({exc}). Relancez « make setup »."
                    ) from exc
            return _LOADED[key]

    def load(self) -> None:
        """Load the weights now (the first answer would otherwise pay for it)."""
        self._chat()

    def count_tokens(self, text: str) -> int:
        return len(self._chat().client.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        chat = self._chat()
        lock = _GENERATE_LOCKS.setdefault(str(self.model_path), threading.Lock())
        # One llama.cpp context serves one answer at a time. The pipeline reaches this through
        # assistant.model_queue, which iterates it from its own thread into a buffer: the lock is
        # held while tokens are computed, never while a slow reader takes them.
        with lock:
            try:
                for chunk in chat.stream(
                    [(m["role"], m["content"]) for m in messages], max_tokens=max_tokens, temperature=self.temperature
                ):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        yield text
            except (ValueError, RuntimeError) as exc:
                raise GenerationError(f"Le modèle intégré a échoué pendant la réponse ({exc}).") from exc


def make_backend(settings: Any, choice: str | None = None) -> tuple[ChatBackend, str]:
    """Return the backend to use and a sentence saying why (shown to the user)."""
    choice = choice or settings.backend
    ollama = OllamaBackend(
        settings.ollama_url, settings.ollama_model, settings.ollama_num_ctx, settings.temperature, settings.ollama_timeout
    )
    if choice == "ollama":
        ollama.check()
        return ollama, f"Réponses de {ollama.label}."
    if choice == "extractive":
        backend = ExtractiveBackend()
        return backend, "Réponses extractives : phrases citées telles quelles, sans modèle de langue."
    if choice == "llamacpp":
        llama = LlamaCppBackend(
            settings.llm_model, settings.model_cache_dir, settings.llm_context, settings.llm_threads, settings.temperature
        )
        return llama, f"Réponses du {llama.label} (un Ollama local donne de meilleures réponses)."
    reasons = []
    try:
        ollama.check(timeout=1.5)
        return ollama, f"Réponses de {ollama.label}."
    except BackendUnavailable as exc:
        reasons.append(str(exc))
    try:
        llama = LlamaCppBackend(
            settings.llm_model, settings.model_cache_dir, settings.llm_context, settings.llm_threads, settings.temperature
        )
        return llama, f"Réponses du {llama.label} : Ollama est indisponible ; un Ollama local donne de meilleures réponses."
    except BackendUnavailable as exc:
        reasons.append(str(exc))
    log.warning("no language model available: %s", " | ".join(reasons))
    return ExtractiveBackend(), "Aucun modèle de langue disponible : réponses extractives (phrases citées des documents)."

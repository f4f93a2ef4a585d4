"""Answer backends behind one small interface: OpenAI-compatible servers, Ollama, embedded llama.cpp, extractive.

The only module that speaks to model servers or llama.cpp; their errors become
BackendUnavailable (cannot start: say what to run) or GenerationError (broke
while answering).
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from assistant.errors import AnsweringError
from assistant.prompts import parse_passages
from assistant.text import asks_for_figure, detect_language, split_sentences, tokenize
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
                f"Ollama ne répond pas à {_without_credentials(self.url)}. Lancez « ollama serve » (ou vérifiez ASSISTANT_OLLAMA_URL), "
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
                f"La connexion à Ollama ({_without_credentials(self.url)}) a été coupée pendant la réponse. "
                "Vérifiez que « ollama serve » tourne toujours, puis reposez la question."
            ) from exc


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


class OpenAICompatibleBackend:
    """A model behind any server that speaks the OpenAI chat API (vLLM, llama.cpp's server, LM Studio, Ollama, TGI, ...).

    Talks to it with the ``openai`` client, which gives the stream's finish_reason
    and the HTTP status of a refusal as they are. The API key stays in this object:
    it is never part of a message, a label or a log line.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None,
        api_key: str | None = None,
        temperature: float = 0.1,
        timeout: float = 120.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model or ""
        self.temperature = temperature
        self.timeout = timeout
        self.where = _without_credentials(self.base_url)
        self.label = f"Serveur de modèles · {self.model or '?'}"
        self._has_key = bool(api_key)
        # The client insists on a key; servers started without one ignore the header.
        self._api_key = api_key or "sans-cle"
        self._clients: dict[tuple[float, int], Any] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> OpenAICompatibleBackend:
        if not settings.openai_base_url:
            raise BackendUnavailable(
                "Aucun serveur de modèles n'est configuré : indiquez son adresse dans ASSISTANT_OPENAI_BASE_URL "
                "(par exemple http://127.0.0.1:8000/v1) et le modèle dans ASSISTANT_OPENAI_MODEL."
            )
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(settings.openai_base_url, settings.openai_model, key, settings.temperature, settings.openai_timeout)

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend({self.where!r}, model={self.model!r})"

    def _client(self, timeout: float, retries: int) -> Any:
        import openai

        key = (timeout, retries)
        if key not in self._clients:  # one connection pool per use, shared by the chat's threads
            self._clients[key] = openai.OpenAI(
                base_url=self.base_url, api_key=self._api_key, timeout=timeout, max_retries=retries
            )
        return self._clients[key]

    def _refused(self, exc: Any) -> BackendUnavailable:
        status = getattr(exc, "status_code", "?")
        if not self._has_key:
            return BackendUnavailable(
                f"Le serveur de modèles {self.where} demande une clé d'API (HTTP {status}) : "
                "indiquez-la dans ASSISTANT_OPENAI_API_KEY."
            )
        return BackendUnavailable(
            f"Le serveur de modèles {self.where} refuse la clé d'API (HTTP {status}). Vérifiez ASSISTANT_OPENAI_API_KEY : "
            "ce doit être la clé donnée au serveur (son option --api_key ou --api-key)."
        )

    def _down(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"Le serveur de modèles ne répond pas à {self.where}. Démarrez-le (par exemple « python -m llama_cpp.server », "
            "« vllm serve » ou « ollama serve ») ou corrigez ASSISTANT_OPENAI_BASE_URL, "
            "ou choisissez le modèle intégré (--backend llamacpp)."
        )

    def models(self, timeout: float = 3.0) -> list[str]:
        """Return the names of the models the server lists (GET /models)."""
        import openai

        try:
            return [m.id for m in self._client(timeout, 0).models.list()]
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._refused(exc) from exc
        except openai.NotFoundError as exc:
            raise BackendUnavailable(
                f"{self.where} ne répond pas comme une API OpenAI ({self.where}/models introuvable). L'adresse se termine "
                "en général par /v1 (par exemple http://127.0.0.1:8000/v1) : corrigez ASSISTANT_OPENAI_BASE_URL."
            ) from exc
        except openai.APIConnectionError as exc:
            raise self._down() from exc
        except openai.APIError as exc:  # another status, or a body that is not a model list
            raise BackendUnavailable(
                f"Le serveur de modèles {self.where} a répondu par une erreur ({getattr(exc, 'status_code', None) or exc}) "
                "quand on lui a demandé ses modèles. Consultez son journal, puis relancez."
            ) from exc

    def check(self, timeout: float = 3.0) -> None:
        """Raise BackendUnavailable unless the server answers, accepts the key and lists the model."""
        names = self.models(timeout)
        served = ", ".join(sorted(names)) or "aucun"
        if not self.model:
            raise BackendUnavailable(
                f"Indiquez dans ASSISTANT_OPENAI_MODEL lequel des modèles de {self.where} doit répondre (modèles servis : {served})."
            )
        if self.model not in names and f"{self.model}:latest" not in names:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » n'est pas servi par {self.where} (modèles servis : {served}). "
                "Corrigez ASSISTANT_OPENAI_MODEL, ou chargez ce modèle dans le serveur."
            )

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        import openai

        delivered = False
        finished = False
        try:
            chunks = self._client(self.timeout, 1).chat.completions.create(
                model=self.model,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                max_tokens=max_tokens,
                temperature=self.temperature,
                stream=True,
            )
            try:
                for chunk in chunks:
                    for choice in chunk.choices:
                        finished = finished or bool(choice.finish_reason)
                        if choice.delta is not None and choice.delta.content:
                            delivered = True
                            yield choice.delta.content
            finally:
                chunks.close()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._refused(exc) from exc
        except openai.NotFoundError as exc:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » est introuvable sur {self.where}. Corrigez ASSISTANT_OPENAI_MODEL."
            ) from exc
        except openai.APITimeoutError as exc:
            raise GenerationError(
                f"Le serveur de modèles ({self.where}) n'a pas répondu dans les {self.timeout:.0f} s prévues. "
                "Il est peut-être surchargé : reposez la question un peu plus tard, ou augmentez ASSISTANT_OPENAI_TIMEOUT."
            ) from exc
        except openai.APIConnectionError as exc:
            if not delivered:
                raise self._down() from exc
            raise GenerationError(
                f"La connexion au serveur de modèles ({self.where}) a été coupée pendant la réponse. "
                "Vérifiez que le serveur tourne toujours, puis reposez la question."
            ) from exc
        except openai.APIError as exc:  # a refused request (context too long, ...) or an error event mid-stream
            raise GenerationError(
                f"Le serveur de modèles ({self.where}) a interrompu la réponse par une erreur "
                f"({getattr(exc, 'status_code', None) or 'en cours de réponse'}). Consultez son journal, puis reposez la question."
            ) from exc
        if not finished:  # every complete answer ends with a chunk that carries a finish_reason
            raise GenerationError(
                f"La réponse du serveur de modèles ({self.where}) s'est arrêtée avant la fin. "
                "Le serveur a peut-être été arrêté ou a interrompu la réponse pour une autre demande : reposez la question."
            )


_LOADED: dict[tuple[Any, ...], Any] = {}
_LOAD_LOCK = threading.Lock()
_GENERATE_LOCKS: dict[str, threading.Lock] = {}


def usable_cpus() -> int:
    """CPUs this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 2


@dataclass(frozen=True)
class _Kept:
    """llama.cpp's state after reading a request's fixed beginning (see LlamaCppBackend.keep)."""

    system: str
    user_prefix: str
    tokens: list[int]
    state: Any  # the sequence's KV cache, as llama_state_seq_get_data copied it


_KEPT: dict[tuple[Any, ...], list[_Kept]] = {}

KV_CACHE_TYPES = {"f16": 1, "q8_0": 8}  # ggml type ids of llama.cpp's KV cache


class LlamaCppBackend:
    """A GGUF model run in-process by llama.cpp (loaded once per process, one answer at a time).

    ``batch``/``ubatch`` are llama.cpp's n_batch/n_ubatch (tokens per logical and physical
    step while reading a prompt), ``flash_attention`` its fused attention, ``kv_cache_type``
    the precision of its KV cache: measured on 2-core CPUs (see README).
    """

    name = "llamacpp"

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        n_ctx: int = 4096,
        threads: int = 0,
        temperature: float = 0.1,
        *,
        batch: int = 512,
        ubatch: int = 512,
        flash_attention: bool = False,
        kv_cache_type: str = "f16",
    ):
        self.model_path = self.resolve(model, cache_dir)
        self.n_ctx = n_ctx
        self.threads = threads or usable_cpus()
        self.temperature = temperature
        self.batch = batch
        self.ubatch = min(ubatch, batch)
        self.flash_attention = flash_attention
        if kv_cache_type not in KV_CACHE_TYPES:
            raise BackendUnavailable(f"Type de cache KV inconnu « {kv_cache_type} » : {', '.join(KV_CACHE_TYPES)}.")
        self.kv_cache_type = kv_cache_type
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

    def settings(self) -> dict[str, Any]:
        """The llama.cpp settings this backend runs with (benchmarks record them)."""
        return {
            "n_ctx": self.n_ctx,
            "threads": self.threads,
            "n_batch": self.batch,
            "n_ubatch": self.ubatch,
            "flash_attention": self.flash_attention,
            "kv_cache_type": self.kv_cache_type,
        }

    def _chat(self) -> Any:
        """Return the process-wide ChatLlamaCpp for this model (it loads the weights once)."""
        key = self._key()
        with _LOAD_LOCK:
            if key not in _LOADED:
                from langchain_community.chat_models import ChatLlamaCpp

                kv_type = KV_CACHE_TYPES[self.kv_cache_type]
                try:
                    _LOADED[key] = ChatLlamaCpp(
                        model_path=str(self.model_path),
                        n_ctx=self.n_ctx,
                        n_threads=self.threads,
                        n_batch=self.batch,  # LangChain's default of 8 makes prompt reading several times slower
                        # LangChain's defaults (10000, 1.0) override the model's RoPE settings (Qwen2.5
                        # uses a base of 1e6) and garble long prompts; 0 means "as the model says".
                        rope_freq_base=0.0,
                        rope_freq_scale=0.0,
                        temperature=self.temperature,
                        repeat_penalty=1.0,  # the default 1.1 hurt answers (MODELS.md)
                        streaming=True,
                        verbose=False,
                        # settings that ChatLlamaCpp does not name go to llama_cpp.Llama as they are
                        model_kwargs={
                            "n_ubatch": self.ubatch,
                            "n_threads_batch": self.threads,
                            "flash_attn": self.flash_attention,
                            "type_k": kv_type,
                            "type_v": kv_type,
                        },
                    )
                except (ValueError, RuntimeError) as exc:
                    raise BackendUnavailable(
                        f"Le modèle {self.model_path} n'a pas pu être chargé ({exc}). Relancez « make setup »."
                    ) from exc
            return _LOADED[key]

    def unload(self) -> None:
        """Free the weights and the context (the next request loads them again)."""
        key = self._key()
        with _LOAD_LOCK:
            chat = _LOADED.pop(key, None)
            _KEPT.pop(key, None)
        if chat is not None:
            chat.client.close()

    def load(self) -> None:
        """Load the weights now (the first answer would otherwise pay for it)."""
        self._chat()

    def count_tokens(self, text: str) -> int:
        return len(self._chat().client.tokenize(text.encode("utf-8"), add_bos=False))

    def counters(self) -> dict[str, float]:
        """llama.cpp's running totals for this model: prompt tokens evaluated and their time, tokens generated.

        Read before and after a request, they say how many prompt tokens it really evaluated,
        i.e. how much of the prompt was reused from the previous request.
        """
        import llama_cpp

        data = llama_cpp.llama_perf_context(self._chat().client.ctx)
        return {
            "prompt_tokens": int(data.n_p_eval),
            "prompt_ms": float(data.t_p_eval_ms),
            "generated_tokens": int(data.n_eval),
            "generation_ms": float(data.t_eval_ms),
        }

    def keep(self, messages: Sequence[Message]) -> None:
        """Read these messages now and keep llama.cpp's state after them, to start later requests from it.

        llama.cpp reuses the longest prefix that a request shares with what its context
        holds: the system message of every request, but not the fixed text of a template
        that another request has since overwritten (the follow-up rewrite's instructions
        after an answer). A later request with the same system message and a user message
        that starts with this one's goes back to this state when the context holds less of
        it, and llama.cpp reads only what follows. Kept states cost about 30 kB per token.
        """
        import llama_cpp

        chat = self._chat()
        with self._lock():
            for _ in self._generate(chat, messages, 1):
                pass
            llama = chat.client
            size = llama_cpp.llama_state_seq_get_size(llama.ctx, 0)
            state = (ctypes.c_uint8 * size)()
            if not llama_cpp.llama_state_seq_get_data(llama.ctx, state, size, 0):
                log.warning("llama.cpp did not copy its state: the prefix will be read again each time")
                return
            kept = _Kept(messages[0]["content"], messages[-1]["content"], llama.input_ids[: llama.n_tokens].tolist(), state)
            states = _KEPT.setdefault(self._key(), [])
            states[:] = [k for k in states if (k.system, k.user_prefix) != (kept.system, kept.user_prefix)] + [kept]

    def _restore(self, llama: Any, messages: Sequence[Message]) -> None:
        """Go back to a kept state when this request starts like it and the context holds less of it."""
        import llama_cpp

        for kept in _KEPT.get(self._key(), []):
            if not (
                len(messages) == 2
                and messages[0]["content"] == kept.system
                and messages[1]["role"] == "user"
                and messages[1]["content"].startswith(kept.user_prefix)
            ):
                continue
            held = llama.longest_token_prefix(llama.input_ids[: llama.n_tokens].tolist(), kept.tokens)
            if held >= len(kept.tokens) - 8:  # the end of a kept prompt (the chat template's closing tags) differs
                return
            if llama_cpp.llama_state_seq_set_data(llama.ctx, kept.state, len(kept.state), 0):
                llama.input_ids[: len(kept.tokens)] = kept.tokens
                llama.n_tokens = len(kept.tokens)
            else:  # the context was left empty: everything is read again
                log.warning("llama.cpp refused a kept state; reading the whole prompt")
                llama.n_tokens = 0
            return

    def _key(self) -> tuple[Any, ...]:
        return (str(self.model_path), *self.settings().values())

    def _lock(self) -> threading.Lock:
        return _GENERATE_LOCKS.setdefault(str(self.model_path), threading.Lock())

    def _generate(self, chat: Any, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        self._restore(chat.client, messages)
        for chunk in chat.stream(
            [(m["role"], m["content"]) for m in messages], max_tokens=max_tokens, temperature=self.temperature
        ):
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                yield text

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        chat = self._chat()
        # One llama.cpp context serves one answer at a time. The pipeline reaches this through
        # assistant.model_queue, which iterates it from its own thread into a buffer: the lock is
        # held while tokens are computed, never while a slow reader takes them.
        with self._lock():  # one llama.cpp context serves one answer at a time
            try:
                yield from self._generate(chat, messages, max_tokens)
            except (ValueError, RuntimeError) as exc:
                raise GenerationError(f"Le modèle intégré a échoué pendant la réponse ({exc}).") from exc


def llama_build() -> dict[str, str]:
    """The llama.cpp build in use: llama-cpp-python's version and the CPU features compiled in."""
    import llama_cpp

    return {"llama_cpp_python": llama_cpp.__version__, "system_info": llama_cpp.llama_print_system_info().decode().strip()}


def llama_backend(settings: Any) -> LlamaCppBackend:
    """The embedded model with the settings' llama.cpp options."""
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


def make_backend(
    settings: Any, choice: str | None = None, similarity: Callable[[str, Sequence[str]], list[float]] | None = None
) -> tuple[ChatBackend, str]:
    """Return the backend to use and a sentence saying why (shown to the user).

    ``similarity`` (the index's embeddings) lets the extractive backend quote across languages.
    """
    choice = choice or settings.backend
    if choice == "openai" or (choice == "auto" and settings.openai_base_url):
        return _make_openai_backend(settings, choice, similarity)
    ollama = OllamaBackend(
        settings.ollama_url, settings.ollama_model, settings.ollama_num_ctx, settings.temperature, settings.ollama_timeout
    )
    if choice == "ollama":
        ollama.check()
        return ollama, f"Réponses de {ollama.label}."
    if choice == "extractive":
        backend = ExtractiveBackend(similarity)
        return backend, "Réponses extractives : phrases citées telles quelles, sans modèle de langue."
    if choice == "llamacpp":
        llama = llama_backend(settings)
        return llama, f"Réponses du {llama.label} (un Ollama local donne de meilleures réponses)."
    reasons = []
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


def _make_openai_backend(
    settings: Any, choice: str, similarity: Callable[[str, Sequence[str]], list[float]] | None
) -> tuple[ChatBackend, str]:
    """The OpenAI-compatible server when asked for, or first in auto when one is configured.

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

"""A GGUF model run in-process by llama.cpp, with the process-wide cache of loaded models and kept states.

The only module that imports llama.cpp (directly or through LangChain's ChatLlamaCpp).
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.backends import BackendUnavailable, GenerationError, Message
from index.model_catalog import LANGUAGE_MODELS
from index.models import ModelError, resolve_known

log = logging.getLogger(__name__)

_LOADED: dict[tuple[Any, ...], Any] = {}
_LOAD_LOCK = threading.Lock()
_GENERATE_LOCKS: dict[str, threading.Lock] = {}


def usable_cpus() -> int:
    """Return how many CPUs this process may run on (a container or taskset may allow fewer than the machine has)."""
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


def _unload_all() -> None:
    """Free every loaded model at exit, while llama_cpp's module is whole (its __del__ fails noisily later)."""
    with _LOAD_LOCK:
        chats = list(_LOADED.values())
        _LOADED.clear()
        _KEPT.clear()
    for chat in chats:
        try:
            chat.client.close()
        except Exception as exc:  # exiting anyway: say it, never raise
            log.debug("model not freed at exit: %s", exc)


atexit.register(_unload_all)

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
        short = LANGUAGE_MODELS[model].description.split(",")[0] if model in LANGUAGE_MODELS else Path(model).stem
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
        """Return the llama.cpp settings this backend runs with (benchmarks record them)."""
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
                        repeat_penalty=1.0,  # the default 1.1 hurt answers
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
        """Return llama.cpp's running totals for this model: prompt tokens evaluated and their time, tokens generated.

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
    """Return the llama.cpp build in use: llama-cpp-python's version and the CPU features compiled in."""
    import llama_cpp

    return {"llama_cpp_python": llama_cpp.__version__, "system_info": llama_cpp.llama_print_system_info().decode().strip()}

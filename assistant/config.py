"""All settings of the assistant, read from ``ASSISTANT_*`` variables or ``.env``.

Every field is described; the settings page of the docs (docs/configuration.md) is generated from these
descriptions (``python -m assistant settings-table``; tests/unit/test_docs.py checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from index.config import IndexSettings

Backend = Literal["auto", "openai", "ollama", "llamacpp", "extractive"]


class Settings(IndexSettings):
    """Indexing settings plus retrieval, generation and web-chat settings."""

    # retrieval (values chosen by measurement on the golden sets: see docs/benchmarks/quality.md)
    top_k: int = Field(4, ge=1, le=20, description="Passages given to the model for one answer.")
    candidates: int = Field(30, ge=5, description="Candidates taken from each of dense and keyword search before fusion.")
    dense_weight: float = Field(
        0.8, ge=0, le=1, description="Weight of dense search in the fusion (keyword search gets the rest)."
    )
    dense_weight_english: float = Field(
        1.0, ge=0, le=1, description="Dense weight for English questions (English words do not match French text; measured)."
    )
    abstain_below: float = Field(
        0.38,
        ge=0,
        le=1,
        description="Abstain when the best passage's dense similarity is below this (calibrated on golden sets).",
    )
    relevance_min_coverage: float = Field(
        0.75,
        ge=0,
        le=1,
        description="An answer stands when the cited passages hold this IDF-weighted share of the question's focus words "
        "(calibrated on the tuning half: see docs/benchmarks/quality.md)...",
    )
    relevance_min_similarity: float = Field(
        0.46, ge=0, le=1, description="...or when the question and a cited passage are this close (dense cosine)."
    )
    relevance_min_similarity_english: float = Field(
        0.45, ge=0, le=1, description="Dense cosine a cited passage needs when question and passages differ in language."
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted, in characters.")

    # generation
    backend: Backend = Field(
        "auto",
        description="auto (a configured OpenAI-compatible server, else Ollama, else embedded model, else extractive), "
        "openai, ollama, llamacpp or extractive.",
    )
    openai_base_url: str | None = Field(
        None,
        description="Address of an OpenAI-compatible model server, usually ending in /v1 (vLLM, llama.cpp server, "
        "LM Studio, Ollama, LocalAI, TGI). Set: auto uses it first.",
    )
    openai_model: str | None = Field(None, description="Model name as the server lists it at GET /v1/models.")
    openai_api_key: SecretStr | None = Field(
        None, description="API key of that server, if it asks for one (secret: never logged nor shown)."
    )
    model_parallel: int = Field(
        1,
        ge=1,
        le=64,
        description="Answers a model server writes at once (vLLM, llama-server --parallel N: its N). The embedded "
        "model always writes one at a time.",
    )
    openai_timeout: float = Field(120.0, gt=0, description="Seconds to wait for the OpenAI-compatible server.")
    ollama_url: str = Field("http://127.0.0.1:11434", description="Address of your Ollama server.")
    ollama_model: str = Field("qwen2.5:7b-instruct", description="Ollama model name (pull it first: ollama pull <name>).")
    ollama_num_ctx: int = Field(
        8192, ge=2048, description="Context window asked from Ollama (its default of 4096 truncates silently)."
    )
    ollama_timeout: float = Field(120.0, gt=0, description="Seconds to wait for Ollama.")
    llm_model: str = Field(
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        description="Embedded GGUF model: a known key (qwen2.5-coder-1.5b-instruct-q4_k_m, qwen2.5-coder-0.5b-instruct) or a .gguf path.",
    )
    llm_threads: int = Field(0, ge=0, description="CPU threads for the embedded model (0: all the CPUs this process may use).")
    llm_context: int = Field(4096, ge=1024, description="Context window of the embedded model, in tokens.")
    llm_batch: int = Field(512, ge=32, description="Prompt tokens the embedded model reads per step (llama.cpp n_batch).")
    llm_ubatch: int = Field(
        512,
        ge=32,
        description="Prompt tokens per physical step (llama.cpp n_ubatch, at most llm_batch; measured: docs/benchmarks/speed.md).",
    )
    llm_flash_attention: bool = Field(False, description="llama.cpp's fused attention for the embedded model (measured).")
    llm_kv_cache_type: Literal["f16", "q8_0"] = Field(
        "f16", description="Precision of the embedded model's KV cache: f16, or q8_0 (half the memory)."
    )
    context_chars: int = Field(
        600,
        ge=0,
        description="Characters of passage text sent to the model for one answer, all passages together: the "
        "sentences that match the question and their neighbours (0: whole passages; measured: docs/benchmarks/quality.md).",
    )
    max_answer_tokens: int = Field(320, ge=16, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (low: faithful answers).")
    quote_when_unverified: bool = Field(
        False,
        description="When the model's draft fails the citation checks, show the passage sentence that answers the "
        "question, quoted and checked like an answer, instead of abstaining (French questions). Off by default: on "
        "held-out questions it answers more and abstains less (measured: docs/benchmarks/quality.md).",
    )
    reread_whole: bool = Field(
        False,
        description="When the draft fails the citation checks, have the model read the whole passages and write "
        "once more (the shortening may have left out the supporting sentence; measured: docs/benchmarks/quality.md).",
    )
    unsupported_sentences: Literal["flag", "drop"] = Field(
        "flag", description="What to do with an answer sentence that no passage supports: flag it or drop it."
    )

    # web chat
    host: str = Field("127.0.0.1", description="Address the web chat listens on.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the web chat.")
    users_file: Path | None = Field(
        None,
        description="Users file of earlier versions ({name: {password, admin}}): imported once into the database, then no longer "
        "read, and login stays required. Accounts are in the database (python -m assistant add-user); none at all: no login, local only.",
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file accepted by the upload form, in MB.")
    max_upload_files: int = Field(20, ge=1, description="Most files accepted in one upload.")
    root_path: str = Field(
        "", description="Path prefix when served behind a reverse proxy (e.g. /assistant); empty: served at the root."
    )
    index_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="How often the web chat asks the database for a new index version (committed by any copy or the command line).",
    )
    trusted_proxies: str = Field(
        "127.0.0.1", description="Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are believed."
    )
    max_request_kb: float = Field(
        1024,
        gt=0,
        description="Largest body of a question or any other call of the page or the API, in KB (uploads have their own "
        "limit; the login form 16 KB; without accounts at least 8 MB, for the conversations the browser keeps). Larger "
        "ones are refused before they are read.",
    )
    open_without_login: bool = Field(
        False,
        description="Without accounts the app answers only this machine, and refuses requests passed on by a proxy. "
        "true opens it without login to whoever reaches it, as an admin: only behind a proxy that logs people in.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Log lines of the web chat: text, or json (one object per line, for a log collector). Each request "
        "is logged once (method, path, status, duration, user), never a query string, a password or a document's text.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least important log lines kept (INFO: one line per request; WARNING: problems only)."
    )
    login_free_failures: int = Field(
        3, ge=1, description="Failed logins for one name from one address before each further try waits (doubling)."
    )
    login_max_delay_seconds: float = Field(
        900, gt=0, description="Longest wait between two login tries of one name from one address (or one address)."
    )

    # curation loop (admin page)
    eval_sample_questions: Path | None = Field(
        Path("tests/golden/golden.jsonl"),
        description="Golden set evaluated with the curated set by « Évaluer maintenant » (the sample corpus's; "
        "empty: the curated set only).",
    )
    eval_after_rebuild: bool = Field(
        False, description="Evaluate the curated and sample sets in the background after each rebuild that changed the index."
    )
    eval_drop_tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="An evaluation warns when a figure is worse than the previous run's by more than this "
        "(on the questions both runs share).",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("eval_sample_questions", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

"""All settings of the assistant, read from ``ASSISTANT_*`` variables or ``.env``.

Every field is described; the README's settings table is generated from these
descriptions (``python -m assistant settings``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from index.config import IndexSettings

Backend = Literal["auto", "ollama", "llamacpp", "extractive"]


class Settings(IndexSettings):
    """Indexing settings plus retrieval, generation and web-chat settings."""

    # retrieval (values chosen by measurement on the golden sets: see README)
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
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted, in characters.")

    # generation
    backend: Backend = Field(
        "auto", description="auto (Ollama, else embedded model, else extractive), ollama, llamacpp or extractive."
    )
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
    llm_threads: int = Field(0, ge=0, description="CPU threads for the embedded model (0: all cores).")
    llm_context: int = Field(4096, ge=1024, description="Context window of the embedded model, in tokens.")
    max_answer_tokens: int = Field(320, ge=16, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (low: faithful answers).")
    unsupported_sentences: Literal["flag", "drop"] = Field(
        "flag", description="What to do with an answer sentence that no passage supports: flag it or drop it."
    )

    # web chat
    host: str = Field("127.0.0.1", description="Address the web chat listens on.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the web chat.")
    users_file: Path | None = Field(
        None,
        description="JSON file of users ({name: {password (Argon2id), admin: true|false}}, written by add-user); none: no login, local only.",
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file accepted by the upload form, in MB.")
    max_upload_files: int = Field(20, ge=1, description="Most files accepted in one upload.")
    root_path: str = Field(
        "", description="Path prefix when served behind a reverse proxy (e.g. /assistant); empty: served at the root."
    )
    trusted_proxies: str = Field(
        "127.0.0.1", description="Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are believed."
    )

    @property
    def feedback_file(self) -> Path:
        return self.data_dir / "feedback.jsonl"

"""Sentence-transformers embeddings from a verified local copy, behind a small interface."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from index.config import IndexSettings
from index.models import KNOWN_MODELS, ModelError, resolve_known

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    @property
    def identity(self) -> str:
        """A string that changes whenever the vector space changes (model, weights)."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def cpu_supports_bf16() -> bool:
    """Return True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in (" avx512_bf16", " amx_bf16"))


def resolve_model_location(name: str, cache_dir: Path) -> Path | str:
    """Return a verified local folder for a known key, a folder as given, or a model id."""
    known = resolve_known(name, cache_dir)
    if known is not None:
        return known
    if Path(name).expanduser().exists():
        return Path(name).expanduser()
    return name  # a model id, loaded from the local Hugging Face cache only


def embedding_identity(name: str) -> str:
    """Name the vector space of a model without loading it (a changed model changes it)."""
    spec = KNOWN_MODELS.get(name)
    if spec is not None:
        return spec.cache_name
    path = Path(name).expanduser()
    if path.exists():
        weights = next(iter(sorted(path.glob("*.safetensors"))), path)
        stamp = f"{path.resolve()}|{weights.stat().st_size}|{weights.stat().st_mtime_ns}"
        return f"{path.name}-{hashlib.sha256(stamp.encode()).hexdigest()[:8]}"
    return name


class SentenceTransformerEmbedder:
    """Normalized sentence-transformers embeddings, with query/document prompts when the model has them.

    The model loads on first use, so that a sync with nothing to embed never pays for it.
    """

    def __init__(self, name: str, cache_dir: Path, dtype: str = "auto", batch_size: int = 16) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.requested_dtype = dtype
        self._identity = embedding_identity(name)
        self._model: Any = None

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> SentenceTransformerEmbedder:
        return cls(settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype, settings.embedding_batch_size)

    @property
    def identity(self) -> str:
        return self._identity

    def load(self) -> Any:
        if self._model is not None:
            return self._model
        import torch
        from sentence_transformers import SentenceTransformer

        location = resolve_model_location(self.name, self.cache_dir)
        use_bf16 = self.requested_dtype == "bfloat16" or (self.requested_dtype == "auto" and cpu_supports_bf16())
        kwargs = {"dtype": torch.bfloat16} if use_bf16 else {}
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(location), device="cpu", model_kwargs=kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Modèle d'embeddings introuvable ou illisible : « {self.name} ». Utilisez une clé connue "
                "(embeddinggemma-300m, all-minilm-l6-v2) ou un dossier local sentence-transformers, "
                "puis relancez « make setup »."
            ) from exc
        prompts = model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._doc_prompt = "document" if "document" in prompts else None
        self.dtype = "bfloat16" if use_bf16 else "float32"
        log.info("embeddings: %s (%s)", self.name, self.dtype)
        self._model = model
        return model

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.load().encode(
            list(texts),
            prompt_name=self._doc_prompt,
            normalize_embeddings=True,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype("float32").tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        vector = self.load().encode([text], prompt_name=self._query_prompt, normalize_embeddings=True, convert_to_numpy=True)[0]
        return vector.astype("float32").tolist()  # type: ignore[no-any-return]

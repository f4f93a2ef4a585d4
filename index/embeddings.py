"""Sentence-transformers embeddings from a verified local copy, behind a small interface.

The model runs on the back-end this machine measured as the fastest among those whose
rankings match the float32 model's (``index.choice``, prepared once by ``make setup``),
or on the one the settings name. The identity of the vector space names the back-end
when it changes the vectors (int8), so that an index is never a mix of two spaces and
queries use the back-end that built the index.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.backends import BACKENDS, BackendError, ModelInfo
from index.choice import Choice, read_choice
from index.config import IndexSettings
from index.cpu import CpuInfo, detect_cpu, limit_isa
from index.encoders import Encoder, load_encoder
from index.export import read_export
from index.model_catalog import KNOWN_MODELS
from index.models import ModelError, resolve_known

log = logging.getLogger(__name__)

# Queries are short; a long pasted question still gets the model's whole window.
QUERY_MAX_TOKENS = 1024


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    @property
    def identity(self) -> str:
        """A string that changes whenever the vector space changes (model, weights, int8 back-end)."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def cpu_supports_bf16() -> bool:
    """Return True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    return detect_cpu().bf16


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


def backends_root(cache_dir: Path, name: str, cpu: CpuInfo) -> Path:
    """Where a model's exports, verdicts and choice live for one CPU class (outside the repository)."""
    return cache_dir / "backends" / embedding_identity(name) / cpu.key


def choice_path(cache_dir: Path, name: str, cpu: CpuInfo) -> Path:
    return backends_root(cache_dir, name, cpu) / "choice.json"


class SentenceTransformerEmbedder:
    """Normalized sentence-transformers embeddings, with query/document prompts when the model has them.

    The model loads on first use, so that a sync with nothing to embed never pays for it.
    """

    def __init__(
        self,
        name: str,
        cache_dir: Path,
        dtype: str = "auto",
        batch_size: int = 16,
        backend: str = "auto",
        max_isa: str = "native",
        max_seq_length: int = 0,
        chunk_size: int = 600,
    ) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.requested_dtype = dtype
        self.requested_backend = backend
        self.max_isa = max_isa
        self.requested_max_seq_length = max_seq_length
        self.chunk_size = chunk_size
        self.cpu = detect_cpu().limited(max_isa)
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()
        self.choice: Choice | None = None
        self.backend = self._resolve_backend()
        self._identity = self._make_identity()
        self.dtype = "bfloat16" if BACKENDS[self.backend].bf16 else "int8" if BACKENDS[self.backend].int8 else "float32"

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> SentenceTransformerEmbedder:
        return cls(
            settings.embedding_model,
            settings.model_cache_dir,
            settings.embedding_dtype,
            settings.embedding_batch_size,
            settings.embedding_backend,
            settings.embedding_max_isa,
            settings.embedding_max_seq_length,
            settings.chunk_size,
        )

    # -- which back-end, which vector space ----------------------------------------------------
    @property
    def export_root(self) -> Path:
        return backends_root(self.cache_dir, self.name, self.cpu)

    def _has_folder(self) -> bool:
        return self.name in KNOWN_MODELS or Path(self.name).expanduser().exists()

    def _torch_backend(self) -> str:
        bf16 = self.requested_dtype == "bfloat16" or (self.requested_dtype == "auto" and self.cpu.bf16)
        return "torch-bf16" if bf16 else "torch"

    def _resolve_backend(self) -> str:
        requested = self.requested_backend
        if requested == "torch" or not self._has_folder():
            return self._torch_backend()  # a hub model id has no local folder to export from
        if requested != "auto":
            if requested not in BACKENDS:
                raise ModelError(f"Moteur d'embeddings inconnu « {requested} » ; choix : auto, {', '.join(BACKENDS)}.")
            return requested
        self.choice = read_choice(choice_path(self.cache_dir, self.name, self.cpu))
        if self.choice is None:
            log.info("no measured embedding back-end for this CPU yet (make setup measures it): torch")
            return self._torch_backend()
        chosen = self.choice.backend
        if BACKENDS[chosen].bf16 and self.requested_dtype == "float32":
            chosen = chosen.replace("-bf16", "")
        spec = BACKENDS[chosen]
        if spec.runtime != "torch" and read_export(self.export_root, chosen if not spec.bf16 else spec.needs) is None:
            log.warning("the chosen embedding back-end %s has no export any more: torch", chosen)
            return self._torch_backend()
        return chosen

    def _make_identity(self) -> str:
        base = embedding_identity(self.name)
        spec = BACKENDS[self.backend]
        if not spec.changes_vectors:
            return base
        export = read_export(self.export_root, self.backend)
        if export is None:
            if spec.name == "openvino-int8":
                raise ModelError(
                    "Le moteur « openvino-int8 » n'est pas encore préparé sur cette machine (il se calibre sur des "
                    "passages). Lancez « .venv/bin/python scripts/prepare_embeddings.py --backend openvino-int8 » "
                    "ou choisissez ASSISTANT_EMBEDDING_BACKEND=auto."
                )
            export = self._export(spec.name)
        return f"{base}-{self.backend}-{export.short_hash}"

    def _export(self, backend: str) -> Any:
        from index.export import ensure_export

        location = self._location()
        try:
            return ensure_export(self.export_root, backend, Path(location))
        except BackendError as exc:
            raise ModelError(str(exc)) from exc

    @property
    def identity(self) -> str:
        return self._identity

    # -- loading and encoding ---------------------------------------------------------------
    def _location(self) -> Path | str:
        return resolve_model_location(self.name, self.cache_dir)

    @property
    def max_seq_length(self) -> int:
        """Longest passage in tokens: the setting, else the measured one for this chunk size, else the model's."""
        if self.requested_max_seq_length:
            return self.requested_max_seq_length
        if self.choice is not None and self.choice.chunk_size == self.chunk_size and self.choice.max_seq_length:
            return self.choice.max_seq_length
        return self.info.max_seq_length if self._encoder is not None else 512

    def load(self) -> Encoder:
        with self._lock:
            if self._encoder is not None:
                return self._encoder
            limit_isa(self.max_isa)
            location = self._location()
            try:
                if isinstance(location, Path):
                    self.info = ModelInfo.read(location)
                    encoder = load_encoder(self.backend, location, self.export_root, self.cpu.threads)
                else:
                    from index.backends import load_sentence_transformer
                    from index.encoders import TorchEncoder

                    model = load_sentence_transformer(location, BACKENDS[self.backend].bf16)
                    self.info = ModelInfo(Path(location), dict(model.prompts or {}), int(model.max_seq_length or 512))
                    encoder = TorchEncoder(model, self.backend)
            except (OSError, ValueError) as exc:
                raise ModelError(
                    f"Modèle d'embeddings introuvable ou illisible : « {self.name} ». Utilisez une clé connue "
                    "(embeddinggemma-300m, all-minilm-l6-v2) ou un dossier local sentence-transformers, "
                    "puis relancez « make setup »."
                ) from exc
            except BackendError as exc:
                raise ModelError(str(exc)) from exc
            self._query_prompt = self.info.prompts.get("query", "")
            self._doc_prompt = self.info.prompts.get("document", "")
            log.info("embeddings: %s on %s (%s, %s)", self.name, self.backend, self.dtype, self.cpu.key)
            self._encoder = encoder
            return encoder

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Document vectors as one float32 array (normalized)."""
        encoder = self.load()
        return encoder.encode([self._doc_prompt + t for t in texts], self.max_seq_length, self.batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        encoder = self.load()
        limit = max(self.max_seq_length, min(QUERY_MAX_TOKENS, self.info.max_seq_length))
        return encoder.encode([self._query_prompt + t for t in texts], limit, self.batch_size)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.encode_documents(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()  # type: ignore[no-any-return]

"""Prepare this machine's embedding back-end once: export, measure the sequence length, time, verify, cache.

``make setup`` runs it (``scripts/prepare_embeddings.py``, which turns the golden sets into
verification sets); ``SentenceTransformerEmbedder`` then reads the cached choice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.backends import (
    BACKENDS,
    EXPORTED,
    BackendError,
    ModelInfo,
    candidates_for,
    longest_tokenized,
    sequence_limit,
)
from index.choice import Choice, VerificationSet, choose, save_choice
from index.chunking import split_document
from index.cpu import detect_cpu, limit_isa
from index.embeddings import SentenceTransformerEmbedder, backends_root, choice_path, resolve_model_location
from index.export import ensure_export
from index.loaders import SUPPORTED_SUFFIXES, LoadError, load_bytes
from index.models import ModelError

log = logging.getLogger(__name__)

TIMING_PASSAGES = 32


def corpus_passages(docs_dir: Path, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Chunk every readable document of a folder as the index does; unreadable ones are skipped."""
    passages: list[str] = []
    for path in sorted(p for p in docs_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES):
        try:
            document = load_bytes(path.read_bytes(), path.name)
        except (LoadError, OSError) as exc:
            log.warning("%s skipped: %s", path.name, exc)
            continue
        passages += [c.text for c in split_document(document, "prepare", chunk_size, chunk_overlap)]
    return passages


def spread(items: Sequence[str], n: int) -> list[str]:
    """Take ``n`` items evenly spread over the sequence (every document gets its share)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


class _Candidate:
    """A back-end as the choice sees it: numpy vectors for documents and queries."""

    def __init__(self, embedder: SentenceTransformerEmbedder) -> None:
        self.embedder = embedder
        self.name = embedder.backend

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode_queries(texts)


def prepare_choice(
    name: str,
    cache_dir: Path,
    sets: Sequence[VerificationSet],
    passages: Sequence[str],
    chunk_size: int,
    max_isa: str = "native",
    candidates: Sequence[str] | None = None,
    batch_size: int = 16,
    say: Callable[[str], None] = lambda msg: log.info("%s", msg),
) -> Choice:
    """Export the candidates, time them, verify the fastest first against torch float32, and cache the choice."""
    started = time.perf_counter()
    limit_isa(max_isa)
    cpu = detect_cpu().limited(max_isa)
    location = resolve_model_location(name, cache_dir)
    if not isinstance(location, Path):
        raise ModelError(f"« {name} » n'est pas un dossier local : seul torch peut le faire tourner.")
    info = ModelInfo.read(location)
    from transformers import AutoTokenizer

    longest = longest_tokenized(
        AutoTokenizer.from_pretrained(str(location)), [info.prompts.get("document", "") + p for p in passages]
    )
    limit = sequence_limit(longest, info.max_seq_length)
    say(f"passage le plus long : {longest} jetons ; longueur maximale retenue : {limit}")
    root = backends_root(cache_dir, name, cpu)
    wanted = list(candidates) if candidates is not None else candidates_for(cpu)
    failures: dict[str, str] = {}
    for backend in wanted:
        if backend in EXPORTED:
            try:
                ensure_export(root, backend, location, calibration=spread(passages, 300), progress=say)
            except BackendError as exc:
                failures[backend] = str(exc)
                say(f"{backend} : export impossible ({exc})")

    def load(backend: str) -> _Candidate:
        if backend in failures:
            raise BackendError(failures[backend])
        embedder = SentenceTransformerEmbedder(
            name,
            cache_dir,
            "bfloat16" if BACKENDS[backend].bf16 else "float32",
            batch_size,
            backend=backend,
            max_isa=max_isa,
            max_seq_length=limit,
            chunk_size=chunk_size,
        )
        embedder.load()
        return _Candidate(embedder)

    choice = choose(wanted, load, sets, spread(passages, TIMING_PASSAGES), say)
    choice.failures.update(failures)
    choice.max_seq_length = limit
    choice.longest_chunk_tokens = longest
    choice.chunk_size = chunk_size
    choice.cpu = cpu.describe()
    choice.seconds = round(time.perf_counter() - started, 1)
    save_choice(choice_path(cache_dir, name, cpu), choice)
    say(f"moteur d'embeddings retenu pour ce processeur : {choice.backend} ({choice.seconds:.0f} s de préparation)")
    return choice

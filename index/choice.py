"""Choose the embedding back-end of this machine: verified against the float32 model, then the fastest.

A back-end is trusted only if the dense rankings it gives on question sets are as good as
the float32 torch model's: hit@1/3/5 and MRR@10 within 0.01 of the reference on every set.
The candidates are timed on the same passages first, then verified fastest first; the first
that passes wins (torch float32 is the reference and always passes). Verdicts, timings and
the choice are kept beside the exports, so the measurement is made once per machine.

The question sets come from the caller as :class:`VerificationSet` values: passages and,
for each question, which passages support it. This module knows nothing of golden-set
files (that is the answering side's business), so it stays in the index layer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.backends import EXPORTED, BackendError
from index.export import EXPORT_FORMAT, export_recipe, library_versions
from index.manifest import write_json_atomic

log = logging.getLogger(__name__)

TOLERANCE = 0.01
REFERENCE = "torch"
CHOICE_FORMAT = 1


@dataclass(frozen=True)
class Probe:
    """One answerable question and the passages (indexes into the set's passages) that support it."""

    id: str
    question: str
    relevant: frozenset[int]


@dataclass(frozen=True)
class VerificationSet:
    """Passages and questions over them: a golden set turned into what a dense ranking needs."""

    name: str
    passages: tuple[str, ...]
    probes: tuple[Probe, ...]


class BackendUnderTest(Protocol):
    """What the choice needs from a candidate: document and query vectors (normalized)."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


def dense_ranks(backend: BackendUnderTest, vset: VerificationSet, doc_vectors: np.ndarray | None = None) -> list[int | None]:
    """Rank the set's passages by cosine for each question; return the rank of the first supporting one."""
    docs = doc_vectors if doc_vectors is not None else backend.embed_documents(vset.passages)
    queries = backend.embed_queries([p.question for p in vset.probes])
    scores = queries @ docs.T
    ranks: list[int | None] = []
    for probe, row in zip(vset.probes, scores, strict=True):
        order = np.argsort(-row, kind="stable")
        rank = next((r for r, i in enumerate(order[:10], start=1) if int(i) in probe.relevant), None)
        ranks.append(rank)
    return ranks


def retrieval_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1/3/5 and mrr@10 (the golden-set definitions) from first-support ranks."""
    n = len(ranks) or 1
    out = {f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5)}
    out["mrr@10"] = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return {k: round(v, 4) for k, v in out.items()}


def within_tolerance(
    reference: dict[str, dict[str, float]], candidate: dict[str, dict[str, float]], tol: float = TOLERANCE
) -> bool:
    """True when no figure of any set is more than ``tol`` below the reference's (being better is fine)."""
    return all(
        candidate.get(s, {}).get(k, -1.0) >= v - tol - 1e-9 for s, figures in reference.items() for k, v in figures.items()
    )


@dataclass
class Verdict:
    backend: str
    figures: dict[str, dict[str, float]]
    accepted: bool
    min_cosine_to_reference: float | None = None


@dataclass
class Choice:
    """What this machine measured, and the back-end it uses."""

    backend: str
    chunks_per_second: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # back-ends that could not be exported or loaded
    reference_figures: dict[str, dict[str, float]] = field(default_factory=dict)
    max_seq_length: int = 0
    longest_chunk_tokens: int = 0
    chunk_size: int = 0
    cpu: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    measured_at: str = ""
    seconds: float = 0.0
    format: int = CHOICE_FORMAT
    export_format: int = EXPORT_FORMAT  # a changed export recipe measures again (a failed export may now work)
    recipes: dict[str, dict[str, bool]] = field(default_factory=lambda: current_recipes())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def current_recipes() -> dict[str, dict[str, bool]]:
    """The CPU-dependent export recipes of this machine (a choice made with others is measured again)."""
    return {b: r for b in EXPORTED if (r := export_recipe(b))}


def read_choice(path: Path) -> Choice | None:
    """Return the cached choice, or None when absent, unreadable or made with other library versions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("export_format") != EXPORT_FORMAT:
            return None  # measured with another export recipe (or before recipes were recorded)
        if data.setdefault("recipes", {"onnx-int8": {"reduce_range": False}}) != current_recipes():
            return None  # measured with exports made for another CPU's kernels
        choice = Choice(**data)
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None
    if choice.format != CHOICE_FORMAT or choice.versions != library_versions():
        return None
    return choice


def time_documents(backend: BackendUnderTest, passages: Sequence[str], warmup: int = 4) -> float:
    """Return passages per second for ``backend`` on ``passages`` (after a short warm-up)."""
    backend.embed_documents(list(passages[:warmup]))
    started = time.perf_counter()
    backend.embed_documents(list(passages))
    return len(passages) / max(time.perf_counter() - started, 1e-9)


def choose(
    candidates: Sequence[str],
    load: Callable[[str], BackendUnderTest],
    sets: Sequence[VerificationSet],
    timing_passages: Sequence[str],
    say: Callable[[str], None] = lambda msg: log.info("%s", msg),
    tolerance: float = TOLERANCE,
    measure: Callable[[BackendUnderTest, Sequence[str]], float] = time_documents,
) -> Choice:
    """Time every candidate, then verify the fastest first; return the choice (torch float32 if none passes).

    ``load(name)`` returns a ready back-end, or raises: a back-end that cannot be exported
    or loaded is recorded as failed and skipped.
    """
    started = time.perf_counter()
    choice = Choice(backend=REFERENCE, versions=library_versions())
    reference: BackendUnderTest | None = None
    for name in dict.fromkeys([REFERENCE, *candidates]):
        try:
            backend = load(name)
            rate = measure(backend, timing_passages)
        except Exception as exc:  # any back-end may fail to export, load or run: the others still count
            log.warning("embedding back-end %s unavailable: %s", name, exc)
            choice.failures[name] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        choice.chunks_per_second[name] = round(rate, 2)
        say(f"{name} : {rate:.1f} passages/s")
        if name == REFERENCE:
            reference = backend  # kept for the verification; the others are loaded again when verified
        del backend
    if reference is None:
        raise BackendError(
            "Le modèle d'embeddings ne se charge pas (torch float32) : "
            + choice.failures.get(REFERENCE, "")
            + ". Relancez « make setup »."
        )
    ref_docs = embed_sets(reference, sets)
    choice.reference_figures = {s.name: retrieval_figures(dense_ranks(reference, s, ref_docs[s.name])) for s in sets}
    choice.verdicts[REFERENCE] = asdict(Verdict(REFERENCE, choice.reference_figures, True, 1.0))
    reference_rate = choice.chunks_per_second[REFERENCE]
    for name in sorted(choice.chunks_per_second, key=lambda n: -choice.chunks_per_second[n]):
        if name == REFERENCE or choice.chunks_per_second[name] <= reference_rate:
            break  # slower than the reference: never worth it
        verdict = verify(name, load, sets, ref_docs, choice.reference_figures, tolerance)
        choice.verdicts[name] = asdict(verdict)
        say(f"{name} : {'accepté' if verdict.accepted else 'refusé'} (classements {verdict.figures})")
        if verdict.accepted:
            choice.backend = name
            break
    choice.measured_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    choice.seconds = round(time.perf_counter() - started, 1)
    return choice


def embed_sets(backend: BackendUnderTest, sets: Sequence[VerificationSet]) -> dict[str, np.ndarray]:
    """Document vectors of every set, each distinct list of passages embedded once (sets often share a corpus)."""
    done: dict[tuple[str, ...], np.ndarray] = {}
    for s in sets:
        if s.passages not in done:
            done[s.passages] = backend.embed_documents(s.passages)
    return {s.name: done[s.passages] for s in sets}


def verify(
    name: str,
    load: Callable[[str], BackendUnderTest],
    sets: Sequence[VerificationSet],
    ref_docs: dict[str, np.ndarray],
    reference_figures: dict[str, dict[str, float]],
    tolerance: float = TOLERANCE,
) -> Verdict:
    """Rank every set with the candidate and compare with the reference's figures."""
    backend = load(name)
    figures: dict[str, dict[str, float]] = {}
    cosines: list[float] = []
    vectors = embed_sets(backend, sets)
    for s in sets:
        docs = vectors[s.name]
        cosines.append(float(np.min(np.sum(docs * ref_docs[s.name], axis=1))))
        figures[s.name] = retrieval_figures(dense_ranks(backend, s, docs))
    accepted = within_tolerance(reference_figures, figures, tolerance)
    return Verdict(name, figures, accepted, round(min(cosines), 5) if cosines else None)


def save_choice(path: Path, choice: Choice) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, choice.to_json())

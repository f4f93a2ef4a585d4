"""Prepare the embedding back-end of this machine (run by ``make setup``; a few minutes the first time).

    .venv/bin/python scripts/prepare_embeddings.py [--model embeddinggemma-300m] [--force]
        [--backend onnx-int8 ...] [--max-isa avx2]

Exports the model to ONNX and OpenVINO (float32 and int8) from its verified local copy,
times each back-end on passages of the sample documents, and keeps the fastest one
whose dense rankings on the golden sets (the tuning half of tests/golden/golden.jsonl
and ../shared/eval/dev.jsonl when present) stay within 0.01 of the float32 torch model
(hit@1/3/5, MRR@10). Everything is cached beside the models, keyed by model, CPU class
and library versions: a second run, or a fresh clone on the same machine, takes a second.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assistant.evaluation.golden import GoldenQuestion, load_golden, split_golden, supports  # noqa: E402
from index.backends import BACKENDS  # noqa: E402
from index.choice import Probe, VerificationSet, read_choice  # noqa: E402
from index.config import IndexSettings  # noqa: E402
from index.cpu import detect_cpu  # noqa: E402
from index.embeddings import choice_path  # noqa: E402
from index.errors import IndexingError  # noqa: E402
from index.prepare import corpus_passages, prepare_choice  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "golden.jsonl"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SAMPLE_CORPORA = (ROOT.parent / "shared" / "corpus", ROOT / "documents")
MIN_PROBES = 8


def verification_set(name: str, questions: list[GoldenQuestion], passages: list[str]) -> VerificationSet:
    """Answerable, standalone questions whose evidence is in the passages (follow-ups need the rewrite first)."""
    probes = []
    for q in questions:
        if not q.answerable or q.history:
            continue
        relevant = frozenset(i for i, text in enumerate(passages) if supports(text, q.evidence))
        if relevant:
            probes.append(Probe(q.id, q.question, relevant))
    return VerificationSet(name, tuple(passages), tuple(probes))


def build_sets(passages: list[str]) -> list[VerificationSet]:
    sets = [verification_set("golden-tune", split_golden(load_golden(GOLDEN), "tune"), passages)]
    if DEV.exists():
        sets.append(verification_set("dev", load_golden(DEV), passages))
    return [s for s in sets if len(s.probes) >= MIN_PROBES]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    settings = IndexSettings()
    parser.add_argument("--model", default=settings.embedding_model)
    parser.add_argument("--force", action="store_true", help="measure again even when a choice is cached")
    parser.add_argument("--backend", action="append", choices=list(BACKENDS), help="candidates (default: all for this CPU)")
    parser.add_argument("--max-isa", default=settings.embedding_max_isa, choices=["native", "avx2"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def say(msg: str) -> None:
        print(f"[embeddings] {msg}", flush=True)

    cpu = detect_cpu().limited(args.max_isa)
    cached = read_choice(choice_path(settings.model_cache_dir, args.model, cpu))
    if cached is not None and not args.force and cached.chunk_size == settings.chunk_size:
        say(f"{args.model} : moteur {cached.backend} déjà mesuré sur ce processeur ({cpu.key})")
        return 0
    corpus = next((c for c in SAMPLE_CORPORA if c.is_dir()), None)
    passages = corpus_passages(corpus, settings.chunk_size, settings.chunk_overlap) if corpus else []
    sets = build_sets(passages) if passages else []
    if not sets:
        say("pas de documents d'exemple ni de questions de référence : le moteur torch reste en place")
        return 0
    say(f"{args.model} sur {cpu.model} ({cpu.key}) : export, mesure et vérification, quelques minutes la première fois")
    try:
        prepare_choice(
            args.model,
            settings.model_cache_dir,
            sets,
            passages,
            settings.chunk_size,
            args.max_isa,
            args.backend,
            settings.embedding_batch_size,
            say,
        )
    except IndexingError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

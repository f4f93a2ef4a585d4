"""How much of each passage the model must read: evidence kept vs prompt tokens, without generating.

For every question of a golden set's tuning half, the passages are retrieved once; then each
context budget (characters of passage text, 0 = whole passages) is applied and measured:
the share of answerable questions whose evidence phrase is still whole in what the model
reads (among those whose retrieved passages hold it), the user-message tokens (what is
read for each question; the system message stays evaluated), and the selection's time.
A cheap proxy to choose the budgets worth an evaluation with the model:

    python bench/tune_context.py [--budgets 0,400,500,600,700,900] [--split tune] [--data DIR]

Prints a table and writes bench/results/tune_context.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, cpu_info, load_average, write_results

from assistant.backends import LlamaCppBackend
from assistant.config import Settings
from assistant.context import ContextSelector
from assistant.evaluation.golden import load_golden, split_golden, supports
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from assistant.text import detect_language
from index.embeddings import SentenceTransformerEmbedder
from index.state import IndexState
from index.store import Store
from index.sync import Indexer


def standalone(q) -> str:  # type: ignore[no-untyped-def]
    """The retrieval query without an LLM rewrite: previous user turn + the follow-up."""
    previous = [t.content for t in q.history if t.role == "user"]
    return f"{previous[-1]} {q.question}" if previous else q.question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", default="0,400,500,600,700,900")
    parser.add_argument("--questions", default=str(ROOT / "tests" / "golden" / "golden.jsonl"))
    parser.add_argument("--split", default="tune", choices=["tune", "test", "all"])
    parser.add_argument("--data", type=Path, default=None, help="an index of documents/ (else built for the run)")
    args = parser.parse_args()
    load_before = load_average()
    settings = Settings()
    questions = load_golden(Path(args.questions))
    if args.split != "all":
        questions = split_golden(questions, args.split)
    embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype)
    embedder.load()
    backend = LlamaCppBackend(settings.llm_model, settings.model_cache_dir, settings.llm_context)  # its tokenizer only
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        store = Store.open(data)
        state = IndexState.open(data)
        if args.data is None:
            Indexer(
                ROOT / "documents", state, store, embedder, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
            ).sync()
        retriever = Retriever.from_settings(settings.model_copy(update={"data_dir": data}), state, store, embedder)
        found = [(q, retriever.retrieve(standalone(q), settings.top_k, None, detect_language(q.question))) for q in questions]
        rows = []
        for budget in [int(b) for b in args.budgets.split(",")]:
            selector = ContextSelector(budget)
            assistant = Assistant(retriever, backend, context=selector)
            kept = held = 0
            tokens, chars, seconds, missed, shown = [], [], [], [], []
            for q, r in found:
                lang = detect_language(q.question)
                t0 = time.perf_counter()
                excerpts = selector.select(standalone(q), r.passages, lang)
                seconds.append(time.perf_counter() - t0)
                user = assistant.messages(q.question, r.passages, lang)[1]["content"]
                tokens.append(backend.count_tokens(user))
                chars.append(sum(len(e.text) for e in excerpts))
                shown.append(len(excerpts))
                if q.answerable and any(supports(p.text, q.evidence) for p in r.passages):
                    held += 1
                    if any(supports(e.text, q.evidence) for e in excerpts):
                        kept += 1
                    else:
                        missed.append(q.id)
            rows.append(
                {
                    "budget_chars": budget,
                    "evidence_kept": round(kept / held, 3) if held else None,
                    "questions_with_evidence": held,
                    "missed": missed,
                    "user_tokens_p50": statistics.median(tokens),
                    "user_tokens_p95": sorted(tokens)[round(0.95 * (len(tokens) - 1))],
                    "passage_chars_p50": statistics.median(chars),
                    "passages_shown_mean": round(statistics.fmean(shown), 2),
                    "selection_ms_p50": round(1000 * statistics.median(seconds), 1),
                    "selection_ms_p95": round(1000 * sorted(seconds)[round(0.95 * (len(seconds) - 1))], 1),
                }
            )
            print(
                f"budget {budget:>5}: evidence kept {rows[-1]['evidence_kept']}, user tokens p50 {rows[-1]['user_tokens_p50']} "
                f"p95 {rows[-1]['user_tokens_p95']}, selection {rows[-1]['selection_ms_p50']} ms, missed {missed}",
                flush=True,
            )
    write_results(
        "tune_context",
        {
            "cpu": cpu_info(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "split": args.split,
            "questions": len(questions),
            "questions_file": args.questions,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()

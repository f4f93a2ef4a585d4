"""Answer latency with the embedded model: first token and total, prompt tokens.

    python bench/bench_answer.py [--model qwen2.5-coder-1.5b-instruct-q4_k_m] [--questions 10] [--top-k 4]

Runs the questions of tests/golden/golden.jsonl (answerable ones first) through the
whole pipeline on an index of the sample corpus built for the run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_mb, summarize, write_results

from assistant.config import Settings
from assistant.llm import LlamaCppBackend
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.embeddings import SentenceTransformerEmbedder
from index.store import Store
from index.sync import Indexer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--top-k", type=int, default=None)
    args = parser.parse_args()
    settings = Settings()
    model = args.model or settings.llm_model
    top_k = args.top_k or settings.top_k
    rows = [json.loads(line) for line in (ROOT / "tests" / "golden" / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["answerable"] and not r.get("history")][: args.questions]
    embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        store = Store.open(data)
        Indexer(
            ROOT / "documents", data, store, embedder, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        ).sync()
        backend = LlamaCppBackend(
            model, settings.model_cache_dir, settings.llm_context, settings.llm_threads, settings.temperature
        )
        t0 = time.perf_counter()
        backend.load()
        load_s = time.perf_counter() - t0
        assistant = Assistant(
            Retriever.from_settings(settings.model_copy(update={"data_dir": data}), store, embedder),
            backend,
            top_k=top_k,
            abstain_below=settings.abstain_below,
            max_answer_tokens=settings.max_answer_tokens,
        )
        first, total, tokens, retrieval = [], [], [], []
        for r in rows:
            answer = assistant.ask(r["question"])
            first.append(answer.timings["first_token"])
            total.append(answer.timings["total"])
            retrieval.append(answer.timings["retrieval"])
            if answer.prompt_tokens:
                tokens.append(float(answer.prompt_tokens))
            print(f"{answer.timings['first_token']:.1f}s / {answer.timings['total']:.1f}s  {answer.text[:90]}", flush=True)
    write_results(
        "answer",
        {
            "model": model,
            "top_k": top_k,
            "model_load_seconds": round(load_s, 1),
            "first_token_seconds": summarize(first),
            "total_seconds": summarize(total),
            "retrieval_seconds": summarize(retrieval),
            "prompt_tokens": summarize(tokens) if tokens else None,
            "peak_rss_mb": round(peak_rss_mb()),
        },
    )


if __name__ == "__main__":
    main()

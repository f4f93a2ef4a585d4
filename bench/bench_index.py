"""Indexing benchmark: cold build and no-op re-sync, on the sample corpus and on a generated one.

    python bench/bench_index.py [--pages 2000] [--skip-generated]

A "page" of a text file is 2,000 characters. The generated corpus is built from
the sample documents' own sentences, shuffled and with their figures varied, so
that it reads like the real thing without repeating it word for word. The raw
encode throughput of the embedding model on the same chunks is measured too, so
that the pipeline's overhead over the model shows.
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from pathlib import Path

from common import ROOT, peak_rss_mb, write_results

from assistant.text import split_sentences
from index.chunking import split_document
from index.config import IndexSettings
from index.embeddings import SentenceTransformerEmbedder
from index.loaders import load_bytes
from index.store import Store
from index.sync import Indexer

PAGE_CHARS = 2000


def generate_corpus(target: Path, pages: int, seed: int = 7) -> int:
    """Write about `pages` pages of varied French text made from the samples; return pages written."""
    rng = random.Random(seed)
    sentences = []
    for path in sorted((ROOT / "documents").iterdir()):
        sentences += [s for s in split_sentences(path.read_text(encoding="utf-8")) if len(s) > 40]
    target.mkdir(parents=True, exist_ok=True)
    per_file = 20
    written = 0
    for f in range(max(1, pages // per_file)):
        parts = [f"Rapport de coopération n° {f + 1}"]
        while sum(len(p) for p in parts) < per_file * PAGE_CHARS:
            paragraph = " ".join(
                re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 9)), rng.choice(sentences))
                for _ in range(rng.randint(2, 5))
            )
            parts.append(paragraph)
        (target / f"rapport-{f + 1:04d}.txt").write_text("\n\n".join(parts), encoding="utf-8")
        written += per_file
    return written


def measure(label: str, docs: Path, embedder: SentenceTransformerEmbedder, settings: IndexSettings) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        indexer = Indexer(
            docs, data, Store.open(data), embedder, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
        t0 = time.perf_counter()
        cold = indexer.sync()
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        noop = indexer.sync()
        noop_s = time.perf_counter() - t0
    chars = sum(p.stat().st_size for p in docs.rglob("*") if p.is_file())
    pages = chars / PAGE_CHARS
    # raw model throughput on the very same chunks, for the overhead figure
    chunks = []
    for path in sorted(docs.rglob("*")):
        if path.is_file():
            chunks += [
                c.text
                for c in split_document(
                    load_bytes(path.read_bytes(), path.name), "x", settings.chunk_size, settings.chunk_overlap
                )
            ]
    # a random sample of at most 1,500 chunks is enough for the throughput figure
    sample = random.Random(0).sample(chunks, min(len(chunks), 1500))
    t0 = time.perf_counter()
    for i in range(0, len(sample), 32):
        embedder.embed_documents(sample[i : i + 32])
    raw_rate = len(sample) / (time.perf_counter() - t0)
    raw_s = len(chunks) / raw_rate  # what encoding every chunk costs the bare model
    return {
        "corpus": label,
        "files": cold.documents_total,
        "pages_2000_chars": round(pages),
        "chunks": cold.chunks_total,
        "cold_build_seconds": round(cold_s, 2),
        "cold_chunks_per_second": round(cold.chunks_total / cold_s, 2),
        "cold_pages_per_second": round(pages / cold_s, 2),
        "raw_encode_seconds": round(raw_s, 2),
        "raw_encode_chunks_per_second": round(raw_rate, 2),
        "raw_encode_sample_chunks": len(sample),
        "pipeline_overhead_over_raw_encode_pct": round(100 * (cold_s - raw_s) / raw_s, 1),
        "noop_resync_seconds": round(noop_s, 3),
        "noop_embedded": noop.chunks_embedded,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--skip-generated", action="store_true")
    args = parser.parse_args()
    settings = IndexSettings()
    embedder = SentenceTransformerEmbedder(
        settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype, settings.embedding_batch_size
    )
    t0 = time.perf_counter()
    embedder.load()
    load_s = time.perf_counter() - t0
    rows = [measure("sample (documents/)", ROOT / "documents", embedder, settings)]
    if not args.skip_generated:
        with tempfile.TemporaryDirectory() as tmp:
            generate_corpus(Path(tmp), args.pages)
            rows.append(measure(f"generated (~{args.pages} pages)", Path(tmp), embedder, settings))
    write_results(
        "index",
        {
            "embedding_model": settings.embedding_model,
            "dtype": embedder.dtype,
            "model_load_seconds": round(load_s, 2),
            "runs": rows,
        },
    )


if __name__ == "__main__":
    main()

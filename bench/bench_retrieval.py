"""Retrieval latency and memory at 1k, 10k and 100k chunks (generated), with the real query embedder.

    python bench/bench_retrieval.py [--sizes 1000,10000,100000] [--queries 40]

Chunk texts are sentences of the sample corpus with varied figures; their vectors
are random unit vectors (embedding 100k chunks would take hours on 2 cores and
does not change search cost). Each figure is the whole `Retriever.retrieve` call:
query embedding, Chroma HNSW search, BM25 over every chunk, fusion, de-duplication.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, peak_rss_mb, summarize, write_results

from assistant.retrieval import Retriever
from assistant.text import split_sentences
from index.config import IndexSettings
from index.embeddings import SentenceTransformerEmbedder
from index.manifest import DocumentEntry, Manifest
from index.state import IndexState, Journal
from index.store import Store

DIMS = 768


def build(data: Path, n: int, rng: random.Random) -> None:
    sentences = [
        s for p in sorted((ROOT / "documents").iterdir()) for s in split_sentences(p.read_text(encoding="utf-8")) if len(s) > 40
    ]
    store = Store.open(data)
    name = "bench-chunks"
    docs = {}
    per_doc = 50
    nprng = np.random.default_rng(1)
    for start in range(0, n, 2000):
        size = min(2000, n - start)
        vectors = nprng.standard_normal((size, DIMS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids, texts, metas = [], [], []
        for i in range(start, start + size):
            doc = i // per_doc
            h = hashlib.sha256(str(doc).encode()).hexdigest()
            docs[h] = doc
            text = " ".join(
                re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(0, 99)), rng.choice(sentences)) for _ in range(3)
            )
            ids.append(f"c{i}")
            texts.append(text)
            metas.append({"doc_hash": h, "page": -1, "start": 0, "end": len(text), "index": i % per_doc})
        store.upsert(name, ids, vectors.tolist(), texts, metas)
    entries = {f"doc-{d:05d}.txt": DocumentEntry(f"doc-{d:05d}.txt", h, f"Document {d}", 1000, per_doc) for h, d in docs.items()}
    IndexState.open(data).commit(
        Manifest(collection=name, embedding="bench", chunking={}, generation=1, synced_at="", documents=entries),
        Journal(name, []),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    settings = IndexSettings()
    embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype)
    embedder.load()
    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "tests" / "golden" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    questions = questions[: args.queries]
    rng = random.Random(3)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            t0 = time.perf_counter()
            build(data, n, rng)
            build_s = time.perf_counter() - t0
            retriever = Retriever(
                Store.open(data),
                embedder,
                IndexState.open(data),
                settings.candidates if hasattr(settings, "candidates") else 30,
                0.8,
            )
            t0 = time.perf_counter()
            retriever.snapshot()  # first load: chunks from Chroma + BM25 index (once per index generation)
            load_s = time.perf_counter() - t0
            retriever.retrieve("échauffement", 4)
            latencies, embed_times = [], []
            for q in questions:
                t0 = time.perf_counter()
                embedder.embed_query(q)
                embed_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                retriever.retrieve(q, 4)
                latencies.append(time.perf_counter() - t0)
            rows.append(
                {
                    "chunks": n,
                    "insert_seconds": round(build_s, 1),
                    "first_load_seconds_bm25_and_chunks": round(load_s, 2),
                    "retrieve_seconds": summarize(latencies),
                    "of_which_query_embedding_seconds": summarize(embed_times),
                    "peak_rss_mb": round(peak_rss_mb()),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    write_results("retrieval", {"dense_weight": 0.8, "k": 4, "runs": rows})


if __name__ == "__main__":
    main()

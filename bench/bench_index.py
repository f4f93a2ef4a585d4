"""Indexing benchmark per embedding back-end: chunks/s and pages/s of a cold build, before/after.

    python bench/bench_index.py [--backend torch --backend onnx-int8 ...] [--bench-corpus DIR]
                                [--pages 0] [--max-isa avx2] [--ocr both|on|off] [--raw-chunks 256] [--out index]

Each back-end runs in its own process (so that its peak memory is its own) and does, on
each corpus: extraction alone (read + chunk every file), a cold build of the index
(extraction + embedding + Chroma), the raw encode of ``--raw-chunks`` chunks spread over the
corpus (256; 0 for every chunk) scaled to the corpus, and a no-op re-sync.
"before" is torch float32 (today's path on CPUs without bf16); "after" is the back-end
that this machine chose (``make setup``; see README, "Embeddings on ordinary CPUs").

Corpora: the sample documents; the real-documents benchmark corpus when present (built
into the project's cache by its own script; ``--bench-corpus``, default
``<cache>/coop-assistant/bench-corpus``); a generated one of ``--pages`` pages when asked.
The bench corpus runs with OCR on and off (``--ocr``; ``ASSISTANT_OCR_ENABLED``).

``--max-isa avx2`` measures the ordinary path on an AVX-512/bf16/AMX CPU: oneDNN and torch
stop at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2), OpenVINO computes in f32,
no bf16 candidate; ONNX Runtime has no such switch (its kernels follow the CPU).
Every run prints and records the CPU model, its flags, threads and the back-ends chosen.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, peak_rss_mb, write_results

PAGE_CHARS = 2000
RAW_CHUNKS = int(os.environ.get("BENCH_RAW_CHUNKS", "256"))  # chunks encoded alone to time the model (0: all)


def default_bench_corpus() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coop-assistant" / "bench-corpus"


def generate_corpus(target: Path, pages: int, seed: int = 7) -> int:
    """Write about `pages` pages of varied French text made from the samples; return pages written."""
    import random
    import re

    from assistant.text import split_sentences

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


def extract(docs: Path, chunk_size: int, chunk_overlap: int) -> tuple[list[str], float, float]:
    """Read and chunk every supported file as the index does; return (chunks, pages, seconds)."""
    from index.chunking import split_document
    from index.loaders import SUPPORTED_SUFFIXES, LoadError, load_bytes

    started = time.perf_counter()
    chunks: list[str] = []
    pages = 0.0
    for path in sorted(p for p in docs.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES):
        try:
            document = load_bytes(path.read_bytes(), path.name)
        except (LoadError, OSError):
            continue
        numbered = sum(1 for p in document.pages if p.number is not None)
        pages += numbered or sum(len(p.text) for p in document.pages) / PAGE_CHARS
        chunks += [c.text for c in split_document(document, "bench", chunk_size, chunk_overlap)]
    return chunks, pages, time.perf_counter() - started


def measure_one(backend: str, corpora: list[tuple[str, Path, dict[str, str]]]) -> dict[str, Any]:
    """Child process: every corpus with one back-end."""
    from index.config import IndexSettings
    from index.embeddings import SentenceTransformerEmbedder
    from index.state import IndexState
    from index.store import Store
    from index.sync import Indexer

    settings = IndexSettings()
    embedder = SentenceTransformerEmbedder.from_settings(settings.model_copy(update={"embedding_backend": backend}))
    if backend == "torch":  # "before": float32, as on a CPU without bf16, whatever this one has
        embedder = SentenceTransformerEmbedder(
            settings.embedding_model, settings.model_cache_dir, "float32", settings.embedding_batch_size, "torch",
            settings.embedding_max_isa, settings.embedding_max_seq_length, settings.chunk_size,
        )  # fmt: skip
    started = time.perf_counter()
    embedder.load()
    out: dict[str, Any] = {
        "backend": embedder.backend,
        "dtype": embedder.dtype,
        "identity": embedder.identity,
        "max_seq_length": embedder.max_seq_length,
        "model_load_seconds": round(time.perf_counter() - started, 2),
        "runs": [],
    }
    for label, docs, env in corpora:
        os.environ.update(env)
        run_settings = IndexSettings()
        chunks, pages, extract_s = extract(docs, run_settings.chunk_size, run_settings.chunk_overlap)
        if not chunks:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            indexer = Indexer(
                docs,
                IndexState.open(data),
                Store.open(data),
                embedder,
                chunk_size=run_settings.chunk_size,
                chunk_overlap=run_settings.chunk_overlap,
            )
            t0 = time.perf_counter()
            cold = indexer.sync()
            cold_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            noop = indexer.sync()
            noop_s = time.perf_counter() - t0
        # the encode rate alone, on chunks spread over the corpus (its first files may be shorter), or on every chunk
        raw = chunks[:: max(1, len(chunks) // RAW_CHUNKS)][:RAW_CHUNKS] if RAW_CHUNKS else chunks
        t0 = time.perf_counter()
        for i in range(0, len(raw), 32):
            embedder.embed_documents(raw[i : i + 32])
        embed_s = (time.perf_counter() - t0) * len(chunks) / len(raw)  # scaled to the whole corpus
        out["runs"].append(
            {
                "corpus": label,
                "files": cold.documents_total,
                "pages": round(pages, 1),
                "chunks": cold.chunks_total,
                "cold_build_seconds": round(cold_s, 2),
                "cold_chunks_per_second": round(cold.chunks_total / cold_s, 2),
                "cold_pages_per_second": round(pages / cold_s, 2),
                "extraction_seconds": round(extract_s, 2),
                "embedding_seconds": round(embed_s, 2),
                "embedding_timed_on_chunks": len(raw),
                "embedding_chunks_per_second": round(len(chunks) / embed_s, 2),
                "extraction_share_pct": round(100 * extract_s / (extract_s + embed_s), 1),
                "noop_resync_seconds": round(noop_s, 3),
                "noop_embedded": noop.chunks_embedded,
                "failed_files": len(cold.failed),
            }
        )
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", help="back-ends to measure (default: torch, then every one exported here)")
    parser.add_argument("--bench-corpus", type=Path, default=default_bench_corpus())
    parser.add_argument("--pages", type=int, default=0, help="also a generated corpus of this many pages (0: none)")
    parser.add_argument("--max-isa", choices=["native", "avx2"], default="native")
    parser.add_argument("--out", default="index", help="results file name in bench/results/")
    parser.add_argument("--ocr", choices=["both", "on", "off"], default="both", help="OCR settings of the bench corpus runs")
    parser.add_argument(
        "--raw-chunks", type=int, default=RAW_CHUNKS, help="chunks encoded alone to time the model (0: every chunk)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.max_isa == "avx2":  # before any library is imported, so that oneDNN and torch see it
        os.environ["ASSISTANT_EMBEDDING_MAX_ISA"] = "avx2"
        from index.cpu import limit_isa

        limit_isa("avx2")
    if args.child:
        given = [(c[0], Path(c[1]), c[2]) for c in json.loads(args.child)]
        print("RESULT " + json.dumps(measure_one(os.environ["BENCH_BACKEND"], given)))
        return

    from index.backends import BACKENDS, candidates_for
    from index.choice import read_choice
    from index.config import IndexSettings
    from index.cpu import detect_cpu
    from index.embeddings import backends_root, choice_path
    from index.export import read_export

    settings = IndexSettings()
    cpu = detect_cpu().limited(settings.embedding_max_isa)
    choice = read_choice(choice_path(settings.model_cache_dir, settings.embedding_model, cpu))
    root = backends_root(settings.model_cache_dir, settings.embedding_model, cpu)
    backends = args.backend or [
        b
        for b in candidates_for(cpu)
        if BACKENDS[b].runtime == "torch" or read_export(root, BACKENDS[b].needs if BACKENDS[b].bf16 else b) is not None
    ]
    corpora: list[tuple[str, str, dict[str, str]]] = [("sample (documents/)", str(ROOT / "documents"), {})]
    notes = []
    if args.bench_corpus.is_dir():
        if "ocr_enabled" in IndexSettings.model_fields:
            modes = ("off", "on") if args.ocr == "both" else (args.ocr,)
            corpora += [
                (f"bench corpus, OCR {v}", str(args.bench_corpus), {"ASSISTANT_OCR_ENABLED": str(v == "on").lower()})
                for v in modes
            ]
        else:
            corpora.append(("bench corpus", str(args.bench_corpus), {}))
            notes.append("no OCR setting in this version: the bench corpus ran once")
    else:
        notes.append(
            f"real-documents bench corpus absent ({args.bench_corpus}): build it with its script, or pass --bench-corpus"
        )
        print(f"(corpus de référence absent : {args.bench_corpus} ; seul le corpus d'exemple est mesuré)")
    tmp = tempfile.TemporaryDirectory()
    if args.pages:
        generate_corpus(Path(tmp.name), args.pages)
        corpora.append((f"generated (~{args.pages} pages)", tmp.name, {}))

    results = []
    for backend in backends:
        print(f"== {backend}", flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--max-isa", args.max_isa, "--child", json.dumps(corpora)],
            env={
                **os.environ,
                "BENCH_BACKEND": backend,
                "BENCH_RAW_CHUNKS": str(args.raw_chunks),
                "HF_HUB_OFFLINE": "1",
                "ANONYMIZED_TELEMETRY": "False",
            },
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            results.append({"backend": backend, "error": (proc.stderr or proc.stdout).strip()[-800:]})
            continue
        results.append(json.loads(line[len("RESULT ") :]))
    tmp.cleanup()

    before = next((r for r in results if r.get("backend") == "torch" and "runs" in r), None)
    summary = []
    for r in results:
        for run in r.get("runs", []):
            ref = next((x for x in (before or {}).get("runs", []) if x["corpus"] == run["corpus"]), None)
            speedup = round(run["cold_chunks_per_second"] / ref["cold_chunks_per_second"], 2) if ref else None
            summary.append(
                f"{r['backend']:<14} {run['corpus']:<28} {run['cold_chunks_per_second']:>7.2f} chunks/s "
                f"{run['cold_pages_per_second']:>6.2f} pages/s  extraction {run['extraction_share_pct']:>5.1f} %  "
                f"x{speedup} vs torch float32  RSS {r['peak_rss_mb']} MB"
            )
    write_results(
        args.out,
        {
            **cpu.describe(),
            "max_isa": args.max_isa,
            "embedding_model": settings.embedding_model,
            "chosen_backend": choice.backend if choice else "torch (nothing measured: run make setup)",
            "choice_chunks_per_second": choice.chunks_per_second if choice else {},
            "chunk_size": settings.chunk_size,
            "notes": notes,
            "summary": summary,
            "backends": results,
        },
    )
    print("\n".join(summary))


if __name__ == "__main__":
    main()

"""Cold build before/after reading overlaps embedding (issue 11), in one run, on the same machine.

    python bench/bench_overlap.py [--before REF] [--corpus sample|real|both] [--repeat 1]

"before" is the code at REF (default: the merge base with main), unpacked with
`git archive` into a temporary folder and run with this checkout's virtualenv; "after"
is this checkout. Both run `python -m index sync --json` in a fresh data folder, one
after the other, so that the machine's load affects both alike. "real" is the part of
the real-documents benchmark corpus (~/.cache/coop-assistant/bench-corpus, built by
bench/corpus.py of the real-documents work) that the old loaders can read too: text
PDFs, .docx and web pages. Prints and writes bench/results/overlap.json with the CPU
model, its flags, the threads and the embedding back-end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from common import ROOT, write_results

CORPUS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "coop-assistant" / "bench-corpus" / "v1"
REAL_FILES = [
    "pdf/debian-faq.fr.pdf",
    "generated/rapport-mekong-2024.pdf",
    "generated/rapport-mekong-2024.docx",
    "generated/note-telemedecine.pdf",
    "generated/comite-hue-rouen.pdf",
    "html/debian-faq/basic-defs.fr.html",
    "html/debian-faq/pkg-basics.fr.html",
]


def cpu_info() -> dict[str, object]:
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": bool({"amx_tile", "amx_bf16", "amx_int8"} & flags),
        "cores": len(os.sched_getaffinity(0)),
    }


def backends() -> dict[str, object]:
    import torch

    from index.config import IndexSettings
    from index.embeddings import cpu_supports_bf16

    settings = IndexSettings()
    bf16 = settings.embedding_dtype == "bfloat16" or (settings.embedding_dtype == "auto" and cpu_supports_bf16())
    return {
        "embedding_model": settings.embedding_model,
        "embedding_dtype": "bfloat16" if bf16 else "float32",
        "torch_threads": torch.get_num_threads(),
        "reader": "one worker process (index.isolation), 1 thread for Tesseract",
    }


def unpack(ref: str, target: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "index"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def cold_sync(tree: Path, docs: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    with tempfile.TemporaryDirectory() as data:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "index", "sync", "--docs", str(docs), "--data", data, "--json"],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr[-2000:])
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "wall_seconds": round(wall, 1),
        "sync_seconds": report["seconds"],
        "read_seconds": report.get("read_seconds"),
        "embed_seconds": report.get("embed_seconds"),
        "chunks": report["chunks_total"],
        "documents": report["documents_total"],
        "failed": [f["source"] for f in report["failed"]],
    }


def corpus(kind: str, target: Path) -> Path:
    if kind == "sample":
        return ROOT / "documents"
    missing = [f for f in REAL_FILES if not (CORPUS / f).exists()]
    if missing:
        raise SystemExit(f"real-documents corpus not in the cache ({CORPUS}): build it first; missing {missing}")
    target.mkdir(parents=True, exist_ok=True)
    for name in REAL_FILES:
        shutil.copy(CORPUS / name, target / name.replace("/", "--"))
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default=None, help="git ref of the code before (default: merge base with main)")
    parser.add_argument("--corpus", choices=["sample", "real", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    ref = (
        args.before
        or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    results: dict[str, object] = {"before_ref": ref[:12], **cpu_info(), **backends(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        unpack(ref, before_tree)
        kinds = ["sample", "real"] if args.corpus == "both" else [args.corpus]
        for kind in kinds:
            docs = corpus(kind, Path(tmp) / f"corpus-{kind}")
            runs: dict[str, list[dict[str, object]]] = {"before": [], "after": []}
            for _ in range(args.repeat):
                runs["before"].append(cold_sync(before_tree, docs))
                runs["after"].append(cold_sync(ROOT, docs))
            results[kind] = runs
    results["load_after"] = os.getloadavg()[0]
    write_results("overlap", results)


if __name__ == "__main__":
    main()

"""Helpers shared by the benchmarks: timing, memory, result files."""

from __future__ import annotations

import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarize(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 4),
        "p95": round(percentile(values, 0.95), 4),
        "mean": round(statistics.fmean(values), 4),
        "n": len(values),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Print the figures and keep them in bench/results/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"when": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {_cpus()} CPU", **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(data, indent=1, ensure_ascii=False))
    print(f"-> {path}")
    return path


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def cpu_info() -> dict[str, Any]:
    """The CPU model, the instruction sets that decide the back-ends (AVX2, AVX-512, bf16, AMX), threads."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    lines = text.splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    return {
        "model": model,
        "threads": _cpus(),
        "avx2": "avx2" in flags,
        "avx512": "avx512f" in flags,
        "bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
        "amx": "amx_tile" in flags,
    }


def load_average() -> list[float]:
    """Runnable processes over 1, 5 and 15 minutes: other work on a shared machine skews timings."""
    import os

    return [round(x, 2) for x in os.getloadavg()]


def llama_build_report() -> dict[str, Any]:
    """llama-cpp-python's version, the CPU features compiled into llama.cpp and the CMake flags of scripts/setup.sh."""
    from assistant.backends import llama_build

    flags_file = ROOT / ".venv" / "llama-cmake-args.txt"
    flags = flags_file.read_text(encoding="utf-8").strip() if flags_file.exists() else "(unknown: run make setup)"
    return {**llama_build(), "cmake_args": flags}

"""How long the web chat takes to start: until the page answers, and until the model has read its system message.

    python bench/bench_start.py [--runs 3] [--data DIR] [--name start]

Starts ``python app.py`` as a user does (``make run`` without the sync), on an index of
``documents/`` (built once for the run unless ``--data`` is given), on a free loopback
port, ``--runs`` times one after the other, and records for each run:

- ``loading``: seconds until the app says « Chargement des modèles… » (imports, settings,
  database, accounts);
- ``ready``: until it says « Assistant prêt » (embedding model, language model and index
  loaded side by side);
- ``page``: until ``GET /`` answers 200 (what a person waits for);
- ``warm``: until the model has read the system message every question starts with (in the
  background: a question asked before waits its turn).

The first run after the models were copied into the page cache is the "warm machine" case;
a first start after a reboot reads the model files from disk once more. Every figure is
recorded with the CPU model and its flags, the load average, the llama.cpp build and the
embedding engine.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import ROOT, cpu_info, llama_build_report, load_average, summarize, write_results

MARKS = {
    "loading": re.compile(r"Chargement des modèles"),
    "ready": re.compile(r"Assistant prêt"),
    "warm": re.compile(r"model warmed up"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_index(data: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "index", "sync", "--docs", str(ROOT / "documents"), "--data", str(data)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def one_start(data: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Start the app once; return the seconds of each mark (None when it never came) and the embedding engine."""
    port = free_port()
    run_env = {**env, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_PORT": str(port), "ASSISTANT_HOST": "127.0.0.1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: dict[str, float] = {}
    engine: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            for name, pattern in MARKS.items():
                if name not in seen and pattern.search(line):
                    seen[name] = time.perf_counter() - started
            if (m := re.search(r"embeddings: \S+ on (\S+)", line)) and not engine:
                engine.append(m.group(1))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        while time.perf_counter() - started < timeout and process.poll() is None:
            if "page" not in seen and page_answers(url):
                seen["page"] = time.perf_counter() - started
            if "page" in seen and "warm" in seen:
                break
            time.sleep(0.1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    reader.join(timeout=5)
    return {
        **{name: round(seen[name], 2) if name in seen else None for name in ("loading", "ready", "page", "warm")},
        "embedding_engine": engine[0] if engine else None,
        "exit_code": process.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="an index of documents/ (else one is built for the run)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds after which a start counts as failed")
    parser.add_argument("--name", default="start", help="results file: bench/results/<name>.json")
    args = parser.parse_args()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") or k.endswith("_MAX_ISA")
    }  # the defaults a newcomer gets (an ISA limit set to measure the ordinary path is kept)
    env |= {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        data = args.data or Path(tmp) / "data"
        if args.data is None:
            build_index(data, env)
        load_before = load_average()
        runs = []
        for i in range(args.runs):
            run = one_start(data, env, args.timeout)
            print(f"start {i + 1}/{args.runs}: {run}", flush=True)
            runs.append(run)
    summary: dict[str, Any] = {
        "cpu": cpu_info(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "llama_cpp": llama_build_report(),
        "max_isa": {k: v for k, v in os.environ.items() if k.endswith("_MAX_ISA")},
        "runs": runs,
    }
    for mark in ("loading", "ready", "page", "warm"):
        values = [r[mark] for r in runs if r[mark] is not None]
        summary[mark] = summarize(values) if values else None
    summary["failed_starts"] = sum(r["page"] is None for r in runs)
    write_results(args.name, summary)


if __name__ == "__main__":
    main()

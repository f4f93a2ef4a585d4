"""Load benchmark: the running web app, 1, 2, 4 and 8 people asking different questions at once.

    flock /tmp/coop-heavy.lock python bench/bench_load.py [--users 1,2,4,8] [--rounds 1] [--model KEY] [--no-rebuild]
        [--openai-url http://127.0.0.1:8080/v1 --openai-model NAME]   # a model server instead of the embedded model

Starts the real app (uvicorn + Gradio, embedded llama.cpp model, EmbeddingGemma,
embedded Chroma over an index of the sample corpus built for the run) on a free
loopback port, then for each level N starts N clients (gradio_client, the
``/chat`` HTTP API the browser uses) that ask different questions from the
golden set at the same moment, ``--rounds`` times each. Per answer it records the
time to the sources on screen, to the first word of the answer, and to the full
answer; per level: p50, p95, max, answers per minute, errors (must be 0) and the
peak RSS of the process (server and models are in it). The last level is run
again while an admin rebuild of a larger corpus runs. Figures only, never
pass/fail; written to bench/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import ROOT, peak_rss_mb, percentile, write_results

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.backends import ChatBackend, LlamaCppBackend, OpenAICompatibleBackend
from assistant.config import Settings
from coop_assistant.wiring import build_answering, build_index
from web.server import create_app, start_in_thread
from web.service import WebService


def cpu_info() -> dict[str, Any]:
    """CPU model and the flags that decide speed here (read, never assumed)."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", "", platform.processor()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {
        "model": model,
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": any(f.startswith("amx") for f in flags),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg(),
    }


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
        "n": len(values),
    }


def text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def ask_once(url: str, question: str) -> dict[str, float]:
    """One question through /chat; the times when the sources, the first word and the full answer arrived."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    started = time.perf_counter()
    times: dict[str, float] = {}
    job = client.submit(question, None, api_name="/chat")
    for update in job:
        history = update[0] if update else []
        now = time.perf_counter() - started
        if "sources" not in times and any(m.get("metadata") for m in history):
            times["sources"] = now
        if history and "first_token" not in times:
            last = text_of(history[-1])
            if history[-1].get("role") == "assistant" and last and not last.startswith(("⏳", "⚠")):
                times["first_token"] = now
    history = job.result()[0]
    times["total"] = time.perf_counter() - started
    times.setdefault("sources", times["total"])
    times.setdefault("first_token", times["total"])
    if text_of(history[-1]).startswith("⚠"):
        raise RuntimeError(text_of(history[-1]))
    client.close()
    return times


def run_level(url: str, users: int, rounds: int, questions: list[str], offset: int) -> dict[str, Any]:
    results: list[dict[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(users)

    def person(i: int) -> None:
        barrier.wait()
        for r in range(rounds):
            q = questions[(offset + i + r * users) % len(questions)]
            try:
                t = ask_once(url, q)
                with lock:
                    results.append(t)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    threads = [threading.Thread(target=person, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        "users": users,
        "answers": len(results),
        "errors": len(errors),
        "error_messages": errors[:5],
        "wall_seconds": round(wall, 1),
        "answers_per_minute": round(len(results) / wall * 60, 2) if wall else None,
        "sources_seconds": summary([r["sources"] for r in results]),
        "first_token_seconds": summary([r["first_token"] for r in results]),
        "total_seconds": summary([r["total"] for r in results]),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="1,2,4,8")
    parser.add_argument("--rounds", type=int, default=1, help="questions per person at each level")
    parser.add_argument("--model", default=None, help="embedded GGUF model (default: the setting)")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the run during an admin rebuild")
    parser.add_argument("--name", default="load")
    parser.add_argument("--openai-url", default=None, help="answer through this OpenAI-compatible model server instead")
    parser.add_argument("--openai-model", default=None, help="the model name that server lists")
    parser.add_argument("--server-note", default="", help="how the model server was started (recorded with the figures)")
    args = parser.parse_args()
    levels = [int(x) for x in args.users.split(",") if x.strip()]
    settings = Settings()
    model = args.model or settings.llm_model
    rows = [json.loads(line) for line in (ROOT / "tests" / "golden" / "golden.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [r["question"] for r in rows if r["answerable"] and not r.get("history")]
    cpu = cpu_info()
    print(f"CPU: {cpu}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        docs, data = Path(tmp) / "docs", Path(tmp) / "data"
        shutil.copytree(ROOT / "documents", docs)
        run = settings.model_copy(update={"docs_dir": docs, "data_dir": data, "users_file": None})
        index = build_index(run)
        indexer = index.indexer
        indexer.sync()
        backend: ChatBackend
        if args.openai_url:
            backend = OpenAICompatibleBackend(args.openai_url, args.openai_model, None, temperature=run.temperature)
            backend.check()
            threads = None
        else:
            embedded = LlamaCppBackend(model, run.model_cache_dir, run.llm_context, run.llm_threads, run.temperature)
            embedded.load()
            backend, threads = embedded, embedded.threads
        service = WebService(run, build_answering(run, index=index, chat=backend).assistant, indexer)
        service.warm_up()
        server = start_in_thread(create_app(service), "127.0.0.1", _free_port())
        print(f"app on {server.url} ({backend.label}, {threads} threads)", flush=True)
        measured: list[dict[str, Any]] = []
        try:
            ask_once(server.url, questions[-1])  # warm caches once, not measured
            offset = 0
            for users in levels:
                row = run_level(server.url, users, args.rounds, questions, offset)
                offset += users * args.rounds
                print(json.dumps(row, ensure_ascii=False), flush=True)
                measured.append(row)
            if not args.no_rebuild and levels:
                users = max(levels)
                for i in range(40):  # enough new text that the rebuild lasts through the level
                    (docs / f"rapport-{i}.txt").write_text(
                        f"Rapport annuel {i}.\n\n" + (f"Activité {i} du partenariat : formation, recherche et soins. " * 120),
                        encoding="utf-8",
                    )
                rebuild_seconds: list[float] = []

                def rebuild() -> None:
                    t0 = time.perf_counter()
                    service.rebuild()
                    rebuild_seconds.append(time.perf_counter() - t0)

                worker = threading.Thread(target=rebuild)
                worker.start()
                time.sleep(0.5)
                row = run_level(server.url, users, args.rounds, questions, offset)
                worker.join()
                row["during_rebuild"] = True
                row["rebuild_seconds"] = round(rebuild_seconds[0], 1) if rebuild_seconds else None
                print(json.dumps(row, ensure_ascii=False), flush=True)
                measured.append(row)
        finally:
            server.stop()
    write_results(
        args.name,
        {
            "cpu": cpu,
            "backend": backend.label,
            "llm_model": args.openai_model if args.openai_url else model,
            "llm_threads": threads,
            "model_server": {"url": args.openai_url, "started_with": args.server_note} if args.openai_url else None,
            "embedding_model": run.embedding_model,
            "embedding_dtype": run.embedding_dtype,
            "top_k": run.top_k,
            "rounds_per_person": args.rounds,
            "note": "shared machine: figures are indicative; time to sources/first word/full answer as seen by the client",
            "levels": measured,
        },
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()

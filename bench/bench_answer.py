"""Answer latency with the embedded model, measured with accuracy on golden questions.

    python bench/bench_answer.py [--split test] [--questions tests/golden/golden.jsonl] [--limit 0]
                                 [--data DIR] [--model KEY] [--context-chars N] [--name answer]

Runs the golden questions (a half of the project's set, or any file in eval/FORMAT.md's
format) through the whole pipeline with the embedded llama.cpp model, on an index of
documents/ built for the run (or --data). For every question it records the time to the
sources (the Retrieved event), to the first token and to the full answer, the prompt
tokens and the prompt tokens llama.cpp really evaluated (the rest was reused from the
previous request: the shared system message), and scores the answers exactly as the
evaluation does (accuracy, citation precision...). Prints p50/p95 and writes
bench/results/<name>.json with the CPU, its flags, the load of the machine, the llama.cpp
build and settings. Timings on a shared machine are indicative: see load_average.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from common import ROOT, cpu_info, llama_build_report, load_average, summarize, write_results

from assistant.backends import LlamaCppBackend, Message, llama_backend
from assistant.config import Settings
from assistant.evaluation.evaluate import run_questions, score
from assistant.evaluation.golden import load_golden, split_golden
from coop_assistant.wiring import build_answering, build_index


class CountingBackend:
    """The embedded model, with llama.cpp's counters read around every request."""

    def __init__(self, inner: LlamaCppBackend) -> None:
        self.inner = inner
        self.name, self.label = inner.name, inner.label
        self.calls: list[dict[str, float]] = []

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        before = self.inner.counters()
        yield from self.inner.stream(messages, max_tokens)
        after = self.inner.counters()
        self.calls.append({k: after[k] - before[k] for k in after})

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def keep(self, messages: Sequence[Message]) -> None:
        self.inner.keep(messages)


def no_llm_rewrite(question: str, history: list[dict[str, str]]) -> str:
    previous = [t["content"] for t in history if t["role"] == "user"]
    return f"{previous[-1]} {question}" if previous else question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "golden" / "golden.jsonl")
    parser.add_argument("--split", default="test", choices=["tune", "test", "all"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (0: all)")
    parser.add_argument("--data", type=Path, default=None, help="an index of documents/ (else built for the run)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--context-chars", type=int, default=None, help="override ASSISTANT_CONTEXT_CHARS")
    parser.add_argument("--name", default="answer", help="results file: bench/results/<name>.json")
    args = parser.parse_args()
    load_before = load_average()
    overrides: dict[str, Any] = {"backend": "llamacpp"}
    if args.model:
        overrides["llm_model"] = args.model
    if args.context_chars is not None:
        overrides["context_chars"] = args.context_chars
    settings = Settings().model_copy(update=overrides)
    golden = load_golden(args.questions)
    if args.split != "all":
        golden = split_golden(golden, args.split)
    if args.limit:
        golden = golden[: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        settings = settings.model_copy(update={"data_dir": data, "docs_dir": ROOT / "documents"})
        index = build_index(settings)
        index.embedder.load()
        if args.data is None:
            index.indexer.sync()
        llama = llama_backend(settings)
        backend = CountingBackend(llama)
        t0 = time.perf_counter()
        llama.load()
        load_s = time.perf_counter() - t0
        answering = build_answering(settings, index=index, chat=backend)  # type: ignore[arg-type]
        retriever, assistant = answering.retriever, answering.assistant
        retriever.snapshot()  # the first question must not pay for loading the chunks and BM25
        before = llama.counters()
        t0 = time.perf_counter()
        assistant.warm_up()
        warm_s = time.perf_counter() - t0
        system_tokens = llama.counters()["prompt_tokens"] - before["prompt_tokens"]
        marks = [0]  # backend.calls index after each question

        def progress(i: int, n: int) -> None:
            marks.append(len(backend.calls))
            r = golden[i - 1]
            calls = backend.calls[marks[-2] : marks[-1]]
            print(f"{i}/{n} {r.id} {r.category or '':<12} evaluated {sum(c['prompt_tokens'] for c in calls):>4}", flush=True)

        results = run_questions(golden, retriever, assistant, no_llm_rewrite, progress)
    rows = []
    for k, r in enumerate(results):
        a = r.answer
        if a is None:
            continue
        calls = backend.calls[marks[k] : marks[k + 1]]
        reread = a.second_draft is not None  # the last call read the whole passages again
        first_answer = calls[-2] if reread and len(calls) > 1 else calls[-1] if calls else None
        rows.append(
            {
                "id": r.question.id,
                "category": r.question.category,
                "lang": r.question.lang,
                "follow_up": bool(r.question.history),
                "sources_s": round(a.timings.get("sources", 0.0), 3),
                "first_token_s": round(a.timings.get("first_token", 0.0), 3),
                "total_s": round(a.timings.get("total", 0.0), 3),
                "prompt_tokens": a.prompt_tokens,
                "evaluated_tokens": sum(int(c["prompt_tokens"]) for c in calls),
                "answer_evaluated_tokens": int(first_answer["prompt_tokens"]) if first_answer else 0,
                "llama_calls": len(calls),
                "reread": reread,
                "reread_evaluated_tokens": int(calls[-1]["prompt_tokens"]) if reread and calls else 0,
                "abstained": a.abstained,
                "answer": a.text,
            }
        )
    asked = [r for r in rows if r["llama_calls"]]  # questions that reached the model (not abstained on retrieval)
    single = [r for r in asked if not r["follow_up"]]

    def stat(key: str, among: list[dict[str, Any]]) -> dict[str, float] | None:
        values = [float(r[key]) for r in among if r[key] is not None]
        return summarize(values) if values else None

    metrics = score(results, with_answers=True)
    write_results(
        args.name,
        {
            "cpu": cpu_info(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "llama_cpp": llama_build_report(),
            "model": settings.llm_model,
            "settings": {
                **llama.settings(),
                "top_k": settings.top_k,
                "context_chars": settings.context_chars,
                "reread_whole": settings.reread_whole,
            },
            "questions": f"{args.questions.name} ({args.split}, {len(golden)})",
            "model_load_seconds": round(load_s, 2),
            "warm_up": {"seconds": round(warm_s, 2), "system_tokens_evaluated": system_tokens},
            "sources_seconds": stat("sources_s", rows),
            "first_token_seconds": stat("first_token_s", asked),
            "first_token_seconds_without_follow_ups": stat("first_token_s", single),
            "total_seconds": stat("total_s", asked),
            "total_seconds_of_rereads": stat("total_s", [r for r in asked if r["reread"]]),
            "rereads": sum(1 for r in asked if r["reread"]),
            "prompt_tokens": stat("prompt_tokens", asked),
            "evaluated_prompt_tokens": stat("answer_evaluated_tokens", asked),
            "evaluated_prompt_tokens_with_rewrite": stat("evaluated_tokens", asked),
            "quality": {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()},
            "per_question": rows,
        },
    )


if __name__ == "__main__":
    main()

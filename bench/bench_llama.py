"""llama.cpp settings for this CPU, by measurement: prompt reading and generation speed per setting.

    python bench/bench_llama.py [--model qwen2.5-coder-1.5b-instruct-q4_k_m] [--grid default|quick] [--prompt-tokens 300]

For each setting (threads, n_batch/n_ubatch, flash attention, KV cache type) the model is
loaded, then asked a few times with a real system message and a user message of corpus text
(about --prompt-tokens tokens; each request starts differently, so nothing is reused), with
32 tokens generated. llama.cpp's own counters give prompt tokens/s and generation tokens/s;
the wall clock gives the time to the first token. Prints a table and writes
bench/results/llama_settings.json with the CPU, its flags and the llama.cpp build.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import ROOT, cpu_info, llama_build_report, load_average, write_results

from assistant.config import Settings
from assistant.llm import LlamaCppBackend, Message
from assistant.prompts import load_prompts

GRIDS = {
    # (threads, n_batch, n_ubatch, flash attention, KV cache type); threads 0 = all usable CPUs
    "default": [
        (0, 512, 512, False, "f16"),
        (0, 512, 512, True, "f16"),
        (0, 512, 256, False, "f16"),
        (0, 512, 128, False, "f16"),
        (0, 512, 128, True, "f16"),
        (0, 256, 256, True, "f16"),
        (0, 512, 512, True, "q8_0"),
        (1, 512, 512, False, "f16"),
    ],
    "quick": [(0, 512, 512, False, "f16"), (0, 512, 512, True, "f16")],
}


def corpus_text(chars: int) -> str:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "documents").glob("*.txt")))
    return " ".join(text.split())[:chars]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--grid", default="default", choices=sorted(GRIDS))
    parser.add_argument("--prompt-tokens", type=int, default=300, help="user-message tokens read per request")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load_before = load_average()
    settings = Settings()
    model = args.model or settings.llm_model
    system_text = load_prompts().system()
    rows = []
    for threads, batch, ubatch, flash, kv in GRIDS[args.grid]:
        backend = LlamaCppBackend(
            model,
            settings.model_cache_dir,
            settings.llm_context,
            threads,
            0.0,
            batch=batch,
            ubatch=ubatch,
            flash_attention=flash,
            kv_cache_type=kv,
        )
        t0 = time.perf_counter()
        backend.load()
        load_s = time.perf_counter() - t0
        per_token = len(corpus_text(4000)) / backend.count_tokens(corpus_text(4000))
        body = corpus_text(int(args.prompt_tokens * per_token * (args.repeats + 2)))
        step = len(body) // (args.repeats + 2)
        pp, tg, first = [], [], []
        for i in range(args.repeats + 1):  # the first request warms caches and is not counted
            # a different first line each time: no prefix is shared with the previous request
            messages: list[Message] = [
                {"role": "system", "content": f"Séance {i}. {system_text}"},
                {"role": "user", "content": body[i * step : (i + 1) * step] + "\nQuestion : de quoi parle ce texte ?"},
            ]
            before = backend.counters()
            started = time.perf_counter()
            first_s = None
            for _ in backend.stream(messages, 32):
                first_s = first_s if first_s is not None else time.perf_counter() - started
            after = backend.counters()
            if i == 0:
                continue
            n_p = after["prompt_tokens"] - before["prompt_tokens"]
            n_g = after["generated_tokens"] - before["generated_tokens"]
            pp.append(1000 * n_p / max(after["prompt_ms"] - before["prompt_ms"], 1e-6))
            tg.append(1000 * n_g / max(after["generation_ms"] - before["generation_ms"], 1e-6))
            first.append(first_s or 0.0)
        row = {
            **backend.settings(),
            "load_seconds": round(load_s, 2),
            "prompt_tokens_evaluated": n_p,
            "prompt_tokens_per_s": round(statistics.median(pp), 1),
            "generation_tokens_per_s": round(statistics.median(tg), 1),
            "first_token_seconds": round(statistics.median(first), 2),
        }
        rows.append(row)
        print(
            f"threads {row['threads']} batch {batch}/{row['n_ubatch']} FA {flash!s:5} KV {kv:4}: "
            f"prompt {row['prompt_tokens_per_s']} tok/s ({n_p} tokens), generation {row['generation_tokens_per_s']} tok/s, "
            f"first token {row['first_token_seconds']} s",
            flush=True,
        )
        backend.unload()
    write_results(
        "llama_settings",
        {
            "cpu": cpu_info(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "llama_cpp": llama_build_report(),
            "model": model,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()

"""llama.cpp settings for this CPU, by measurement: prompt reading and generation speed per setting.

    python bench/bench_llama.py [--grid default|threads|quick] [--settings "2,512,512,1,f16;..."]
                                [--model KEY] [--prompt-tokens 250] [--rounds 5] [--name llama_settings]

Every setting of the grid (threads, n_batch/n_ubatch, flash attention, KV cache type) is
loaded at once (the weights are mapped once; each context has its own buffers), then the
settings answer in turn, round after round, the same requests: the cached system message
of the assistant, then a user message of about --prompt-tokens tokens of corpus text (a
new one each round, so only the system message is reused, as in real use), with 32 tokens
generated. Taking turns keeps the comparison fair on a machine whose load drifts; each
setting's figure is compared with the first setting's in the same round (paired ratio).
llama.cpp's own counters give prompt tokens/s and generation tokens/s; the wall clock the
time to the first token. Prints a table and writes bench/results/<name>.json with the CPU,
its flags, the machine's load and the llama.cpp build.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import ROOT, cpu_info, llama_build_report, load_average, write_results

from assistant.backends import LlamaCppBackend, Message
from assistant.config import Settings
from assistant.prompts import load_prompts

Setting = tuple[int, int, int, bool, str]  # threads (0: all usable CPUs), n_batch, n_ubatch, flash attention, KV type

GRIDS: dict[str, list[Setting]] = {
    "default": [
        (0, 512, 512, False, "f16"),
        (0, 512, 512, True, "f16"),
        (0, 512, 128, False, "f16"),
        (0, 512, 512, True, "q8_0"),
    ],
    "threads": [(0, 512, 512, False, "f16"), (1, 512, 512, False, "f16")],
    "quick": [(0, 512, 512, False, "f16"), (0, 512, 512, True, "f16")],
}


def corpus_text() -> str:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "documents").glob("*.txt")))
    return " ".join(text.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--grid", default="default", choices=sorted(GRIDS))
    parser.add_argument(
        "--settings", default="", help="instead of a grid: THREADS,BATCH,UBATCH,FLASH(0/1),KV[;...], e.g. 2,512,512,1,f16"
    )
    parser.add_argument("--name", default="llama_settings", help="results file: bench/results/<name>.json")
    parser.add_argument("--prompt-tokens", type=int, default=250, help="user-message tokens read per request")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load_before = load_average()
    settings = Settings()
    model = args.model or settings.llm_model
    grid = GRIDS[args.grid]
    if args.settings:
        grid = [(int(t), int(b), int(u), f == "1", kv) for t, b, u, f, kv in (x.split(",") for x in args.settings.split(";"))]
    system: Message = {"role": "system", "content": load_prompts().system()}
    backends, load_s = [], []
    for threads, batch, ubatch, flash, kv in grid:
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
        backend.keep([system, {"role": "user", "content": "Bonjour."}])  # loads, and reads the system message once
        load_s.append(time.perf_counter() - t0)
        backends.append(backend)
    text = corpus_text()
    chars = round(args.prompt_tokens * len(text[:4000]) / backends[0].count_tokens(text[:4000]))
    figures: list[dict[str, list[float]]] = [{"pp": [], "tg": [], "first": [], "evaluated": []} for _ in grid]
    for r in range(args.rounds + 1):  # round 0 warms caches and is not counted
        body = text[r * chars : (r + 1) * chars]
        user: Message = {"role": "user", "content": f"{body}\nQuestion : de quoi parle ce texte ?"}
        for backend, fig in zip(backends, figures, strict=True):
            before = backend.counters()
            started = time.perf_counter()
            first = None
            for _ in backend.stream([system, user], 32):
                first = first if first is not None else time.perf_counter() - started
            after = backend.counters()
            if r == 0:
                continue
            n_p = after["prompt_tokens"] - before["prompt_tokens"]
            fig["evaluated"].append(n_p)
            fig["pp"].append(1000 * n_p / max(after["prompt_ms"] - before["prompt_ms"], 1e-6))
            n_g = after["generated_tokens"] - before["generated_tokens"]
            fig["tg"].append(1000 * n_g / max(after["generation_ms"] - before["generation_ms"], 1e-6))
            fig["first"].append(first or 0.0)
    rows = []
    for backend, fig, loaded in zip(backends, figures, load_s, strict=True):
        rows.append(
            {
                **backend.settings(),
                "load_and_system_seconds": round(loaded, 2),
                "prompt_tokens_evaluated_p50": statistics.median(fig["evaluated"]),
                "prompt_tokens_per_s": round(statistics.median(fig["pp"]), 1),
                "prompt_speed_vs_first_setting": round(
                    statistics.median(a / b for a, b in zip(fig["pp"], figures[0]["pp"], strict=True)), 3
                ),
                "generation_tokens_per_s": round(statistics.median(fig["tg"]), 1),
                "generation_speed_vs_first_setting": round(
                    statistics.median(a / b for a, b in zip(fig["tg"], figures[0]["tg"], strict=True)), 3
                ),
                "first_token_seconds": round(statistics.median(fig["first"]), 2),
            }
        )
        row = rows[-1]
        print(
            f"threads {row['threads']} batch {row['n_batch']}/{row['n_ubatch']} FA {row['flash_attention']!s:5} "
            f"KV {row['kv_cache_type']:4}: prompt {row['prompt_tokens_per_s']} tok/s (×{row['prompt_speed_vs_first_setting']}), "
            f"generation {row['generation_tokens_per_s']} tok/s (×{row['generation_speed_vs_first_setting']}), "
            f"first token {row['first_token_seconds']} s for {row['prompt_tokens_evaluated_p50']:.0f} tokens",
            flush=True,
        )
    write_results(
        args.name,
        {
            "cpu": cpu_info(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "llama_cpp": llama_build_report(),
            "model": model,
            "rounds": args.rounds,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()

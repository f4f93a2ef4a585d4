"""Measure retrieval choices on golden sets: chunk size, fusion weight, abstention threshold.

Prints a table and writes it to bench/results/tune_retrieval.json. Figures, not a test:
    python bench/tune_retrieval.py [--sizes 400,600,800,1200] [--weights 0,0.5,0.6,0.7,0.8,0.9,1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.evaluation.golden import first_support_rank, load_golden, retrieval_metrics, split_golden  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from index.embeddings import SentenceTransformerEmbedder  # noqa: E402
from index.state import IndexState  # noqa: E402
from index.store import Store  # noqa: E402
from index.sync import Indexer  # noqa: E402


def standalone(q) -> str:  # type: ignore[no-untyped-def]
    """The retrieval query without an LLM rewrite: previous user turn + the follow-up."""
    previous = [t.content for t in q.history if t.role == "user"]
    return f"{previous[-1]} {q.question}" if previous else q.question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,600,800,1200")
    parser.add_argument("--weights", default="0,0.3,0.5,0.6,0.7,0.8,0.9,1")
    # Tuning reads only the tuning half of the golden set; the test half and the shared
    # development set stay unseen, for the gates and the published figures.
    parser.add_argument("--questions", default=f"{ROOT}/tests/golden/golden.jsonl")
    args = parser.parse_args()
    settings = Settings()
    questions = [q for f in args.questions.split(",") if Path(f).exists() for q in split_golden(load_golden(Path(f)), "tune")]
    embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_dtype)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            store = Store.open(data)
            state = IndexState.open(data)
            Indexer(ROOT / "documents", state, store, embedder, chunk_size=size, chunk_overlap=size * 15 // 100).sync()
            for w in [float(x) for x in args.weights.split(",")]:
                # French questions fuse with weight w; English ones keep the product's own weight, as in answers
                retriever = Retriever(
                    store,
                    embedder,
                    state,
                    candidates=settings.candidates,
                    dense_weight=w,
                    dense_weight_english=settings.dense_weight_english,
                )
                ranks, best_ok, best_no = [], [], []
                for q in questions:
                    r = retriever.retrieve(standalone(q), k=10, language=q.lang)
                    if q.answerable:
                        ranks.append(first_support_rank([p.text for p in r.passages], q.evidence))
                        best_ok.append(r.best_dense)
                    else:
                        best_no.append(r.best_dense)
                m = retrieval_metrics(ranks)
                row: dict[str, object] = {"chunk_size": size, "dense_weight": w, **{k: round(v, 3) for k, v in m.items()}}
                if w == 1.0 or w == settings.dense_weight:
                    row["best_dense_answerable_min_p10_median"] = [
                        round(min(best_ok), 3),
                        round(statistics.quantiles(best_ok, n=10)[0], 3),
                        round(statistics.median(best_ok), 3),
                    ]
                    row["best_dense_unanswerable_max_median"] = [round(max(best_no), 3), round(statistics.median(best_no), 3)]
                rows.append(row)
                print(json.dumps(row), flush=True)
    from common import cpu_info

    backends = {"embedding_model": settings.embedding_model, "embedding_dtype": getattr(embedder, "dtype", "?")}
    print(json.dumps({"cpu": cpu_info(), **backends, "questions": len(questions)}))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    payload = {"cpu": cpu_info(), **backends, "half": "tune", "questions": len(questions), "rows": rows}
    (out / "tune_retrieval.json").write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()

"""The answering commands: ``ask``, ``eval``, ``settings-table`` (parts from ``coop_assistant.wiring``)."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assistant.answer import Answer, Rereading, Retrieved
from assistant.backends import BackendUnavailable, GenerationError, make_backend
from assistant.config import Settings
from assistant.model_queue import Waiting
from assistant.pipeline import Assistant, QuestionError
from assistant.retrieval import EmptyIndexError, Retriever
from coop_assistant.wiring import IndexParts, build_assistant, build_index, build_retriever
from database import DatabaseError
from index.embeddings import SentenceTransformerEmbedder
from index.errors import IndexingError
from index.models import ModelError
from index.store import StoreError

app = typer.Typer(add_completion=False, help="Assistant documentaire : questions, évaluation.", no_args_is_help=True)
log = logging.getLogger("assistant")

DataOpt = Annotated[Path | None, typer.Option("--data", help="Dossier de l'index (défaut : réglage data_dir).")]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="auto, openai, ollama, llamacpp ou extractive.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"Erreur : {message}", err=True)
    return typer.Exit(code)


def build_settings(data: Path | None = None, backend: str | None = None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in {"data_dir": data, "backend": backend, **extra}.items() if v is not None}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc'])} : {e['msg']}" for e in exc.errors())
        raise fail(f"réglage invalide ({problems}).") from exc


def open_index(settings: Settings) -> IndexParts:
    """Open the index; exit 2 with a clear message when there is none yet, and load the embedder now
    (so that the timings of an answer do not include it)."""
    try:
        index = build_index(settings)
        indexed = index.state.generation() > 0
    except (DatabaseError, IndexingError) as exc:
        raise fail(str(exc)) from exc
    if not indexed:
        raise fail(
            f"aucun index dans « {settings.data_dir} ». Construisez-le d'abord : « python -m index sync "
            f"--docs documents --data {settings.data_dir} » (ou « make sync »)."
        )
    try:
        index.embedder.load()
    except ModelError as exc:
        raise fail(str(exc)) from exc
    return index


def open_assistant(settings: Settings, retriever: Retriever, backend_choice: str | None = None) -> Assistant:
    try:
        return build_assistant(settings, retriever, backend_choice)
    except BackendUnavailable as exc:
        raise fail(str(exc)) from exc


def print_answer(answer: Answer) -> None:
    typer.echo("")
    if answer.text:
        typer.echo(answer.text)
    typer.echo("")
    if answer.abstained:
        typer.echo("Passages les plus proches :" if answer.language == "fr" else "Closest passages:")
        for p in answer.passages:
            typer.echo(f"  [{p.rank}] {p.title} — {p.source} ({p.location})")
    for c in answer.citations:
        where = f", {c.location}" if c.location else ""
        typer.echo(f"  [{c.n}] {c.title} — {c.source}{where}")
        typer.echo(f"      « {c.quote} »")
    t = answer.timings
    typer.echo(
        f"\n({answer.backend_label} ; recherche {t.get('retrieval', 0):.2f} s, premier mot {t.get('first_token', 0):.1f} s, "
        f"total {t.get('total', 0):.1f} s)",
        err=True,
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="La question, entre guillemets.")],
    data: DataOpt = None,
    backend: BackendOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Un seul objet JSON sur la sortie standard.")] = False,
    document: Annotated[
        list[str] | None, typer.Option("--document", help="Limiter la recherche à ce document (répétable).")
    ] = None,
) -> None:
    """Pose une question aux documents ; la réponse s'affiche au fil de l'eau avec ses sources."""
    settings = build_settings(data, backend)
    if backend not in (None, "auto", "openai", "ollama", "llamacpp", "extractive"):
        raise fail(f"backend inconnu « {backend} » : auto, openai, ollama, llamacpp ou extractive.")
    assistant = open_assistant(settings, build_retriever(settings, open_index(settings)), backend)
    if not as_json:
        typer.echo(assistant.backend_note, err=True)
    final: Answer | None = None
    try:
        for item in assistant.stream(question, None, document):
            if isinstance(item, Answer):
                final = item
            elif isinstance(item, Retrieved):
                if not as_json:  # the sources come first, while the model reads them
                    typer.echo("Passages trouvés :" if item.language == "fr" else "Passages found:", err=True)
                    for p in item.passages:
                        typer.echo(f"  [{p.rank}] {p.title} — {p.source} ({p.location})", err=True)
                    typer.echo("", err=True)
            elif isinstance(item, Rereading):
                if not as_json:
                    typer.echo("\n(brouillon non étayé par les extraits : le modèle relit les passages entiers)\n", err=True)
            elif isinstance(item, Waiting):
                if not as_json and item.position:
                    typer.echo(f"(en attente du modèle : {item.position} question(s) avant la vôtre)", err=True)
            elif not as_json:
                sys.stdout.write(item)
                sys.stdout.flush()
    except QuestionError as exc:
        raise fail(str(exc)) from exc
    except EmptyIndexError as exc:
        raise fail(str(exc)) from exc
    except (BackendUnavailable, GenerationError, StoreError, ModelError, DatabaseError) as exc:
        raise fail(str(exc), 1) from exc
    assert final is not None
    if as_json:
        typer.echo(json.dumps(final.to_json(), ensure_ascii=False))
    else:
        typer.echo("\n" + "─" * 60)
        print_answer(final)


def parse_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise fail(f"seuil mal écrit « {item} » : attendu METRIQUE=VALEUR, par exemple hit@5=0.9")
    return out


@app.command("eval")
def evaluate(
    questions: Annotated[
        Path,
        typer.Option("--questions", help="Jeu de questions JSON Lines (format : docs/evaluation.md, « Writing a golden set »)."),
    ],
    data: DataOpt = None,
    backend: BackendOpt = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Mesurer la recherche seulement (sans modèle).")
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Dossier des résultats.")] = Path("eval-results"),
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            help="METRIQUE=VALEUR ; code 1 si non atteint (un maximum pour false_abstention_rate, errors et les latences ; "
            "errors=0 par défaut).",
        ),
    ] = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Évaluer les lignes valides d'un fichier mal formé.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Mesurer aussi la chaîne naïve des tutoriels, pour comparer.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", help="Ne prendre que les N premières questions (0 : toutes).")] = 0,
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="results.json d'une évaluation précédente : ses brouillons sont revérifiés par ce code, sans modèle.",
        ),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="all, tune (la moitié sur laquelle on règle) ou test (la moitié qui sert aux seuils et aux chiffres publiés).",
        ),
    ] = "all",
    context: Annotated[
        str,
        typer.Option(
            "--context",
            help="retrieved (les passages trouvés, comme en service), gold (les passages de la preuve seuls, entiers : "
            "la borne du modèle) ou gold-first (le passage de la preuve en tête des passages trouvés).",
        ),
    ] = "retrieved",
) -> None:
    """Évalue l'assistant sur un jeu de questions de référence ; écrit results.json, report.md, metrics.png."""
    from assistant.evaluation.evaluate import check_thresholds, metrics_table, now, run_questions, score, write_report

    if split not in ("all", "tune", "test"):
        raise fail(f"--split {split} : all, tune ou test.")
    if context not in ("retrieved", "gold", "gold-first"):
        raise fail(f"--context {context} : retrieved, gold ou gold-first.")
    if context != "retrieved" and (replay is not None or retrieval_only):
        raise fail(f"--context {context} fait écrire le modèle : il ne se combine ni avec --replay ni avec --retrieval-only.")

    thresholds = parse_thresholds(fail_under or [])
    thresholds.setdefault("errors", 0)  # a question that raised an error fails the run unless allowed explicitly
    golden, malformed = _questions(questions, keep_going, split, limit)
    settings = build_settings(data, backend)
    retriever = build_retriever(settings, open_index(settings))
    if context == "retrieved":
        assistant, label = _answerer(settings, retriever, backend, replay, retrieval_only)
    else:
        from assistant.evaluation.oracle import OracleAnswerer, OracleRetriever

        oracle = OracleRetriever(retriever, context)  # type: ignore[arg-type]
        assistant = OracleAnswerer(open_assistant(settings, oracle, backend), oracle, golden)  # type: ignore[arg-type]
        label = f"{assistant.assistant.backend.label} (contexte : {context})"

    def rewrite(q: str, history: list[dict[str, str]]) -> str:
        previous = [t["content"] for t in history if t["role"] == "user"]
        return f"{previous[-1]} {q}" if previous else q  # the no-LLM rewrite of retrieval-only mode

    show = sys.stderr.isatty()
    from tqdm import tqdm

    bar = tqdm(total=len(golden), desc="Évaluation", unit="question", disable=not show, file=sys.stderr)
    started = time.perf_counter()
    try:
        results = run_questions(golden, retriever, assistant, rewrite, lambda i, n: bar.update(1))
    except EmptyIndexError as exc:
        raise fail(str(exc)) from exc
    finally:
        bar.close()
    metrics = score(results, with_answers=assistant is not None)
    base = None
    if baseline:
        base = run_baseline(settings, golden, assistant is not None, rewrite)
    meta = {
        "questions_file": str(questions),
        "split": split,
        "when": now(),
        "backend": label,
        "replay": str(replay) if replay is not None else None,
        "context": context,
        "seconds": round(time.perf_counter() - started, 1),
        "malformed_lines": malformed,
        "settings": {
            k: settings.model_dump(mode="json")[k]
            for k in (
                "top_k",
                "candidates",
                "dense_weight",
                "abstain_below",
                "chunk_size",
                "chunk_overlap",
                "embedding_model",
                "llm_model",
            )
        },
    }
    write_report(out, metrics, results, base, meta)
    columns = {"ce projet": metrics} | ({"référence naïve": base["metrics"]} if base else {})
    typer.echo(metrics_table(columns))
    typer.echo(f"\nDétails : {out / 'report.md'}, {out / 'results.json'}, {out / 'metrics.png'}")
    missed = check_thresholds(metrics, thresholds)
    for line in missed:
        typer.echo(f"Seuil non atteint : {line}", err=True)
    raise typer.Exit(1 if missed else 0)


def _questions(questions: Path, keep_going: bool, split: str, limit: int) -> tuple[list[Any], list[str]]:
    """The golden questions to run (the split's half, the first ``limit``), and the malformed lines skipped."""
    from assistant.evaluation.golden import GoldenSetError, load_golden, split_golden

    malformed: list[str] = []
    try:
        golden = load_golden(questions)
    except GoldenSetError as exc:
        if not keep_going or not exc.questions:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        malformed = exc.problems
        golden = exc.questions
        typer.echo(str(exc).splitlines()[0] + f" ({len(malformed)} ligne(s) ignorée(s))", err=True)
        for problem in malformed:
            typer.echo(f"  - {problem}", err=True)
    if split != "all":
        golden = split_golden(golden, "tune" if split == "tune" else "test")
    return (golden[:limit] if limit else golden), malformed


def _answerer(
    settings: Settings, retriever: Retriever, backend: str | None, replay: Path | None, retrieval_only: bool
) -> tuple[Any, str]:
    """What answers the questions (the model, recorded drafts replayed, or nothing) and how the report names it."""
    if replay is not None:
        from assistant.evaluation.replay import ReplayAnswerer, ReplayBackend, ReplayError

        recorded_backend = (
            json.loads(replay.read_text(encoding="utf-8")).get("meta", {}).get("backend", "?") if replay.exists() else "?"
        )
        replayer = ReplayBackend(f"brouillons rejoués ({recorded_backend})")
        try:
            return ReplayAnswerer(build_assistant(settings, retriever, chat=replayer), replayer, replay), replayer.label
        except ReplayError as exc:
            raise fail(str(exc)) from exc
    if retrieval_only:
        return None, "aucun (recherche seule)"
    assistant = open_assistant(settings, retriever, backend)
    return assistant, assistant.backend.label


def run_baseline(settings: Settings, golden: list[Any], with_answers: bool, rewrite: Any) -> dict[str, Any]:
    from assistant.evaluation.baseline import NaiveBaseline
    from assistant.evaluation.evaluate import run_questions, score

    embedder = SentenceTransformerEmbedder("all-minilm-l6-v2", settings.model_cache_dir, settings.embedding_dtype)
    backend = make_backend(settings)[0] if with_answers else None
    with tempfile.TemporaryDirectory(prefix="baseline-") as tmp:
        naive = NaiveBaseline(settings.docs_dir, Path(tmp), embedder, backend)  # type: ignore[arg-type]
        results = run_questions(golden, naive, naive if with_answers else None, lambda q, h: q)
    return {"metrics": score(results, with_answers), "questions": [r.to_json() for r in results]}


@app.command()
def settings_table() -> None:
    """Affiche le tableau des réglages (variables ASSISTANT_*) en Markdown."""
    typer.echo("| variable | défaut | rôle |\n|---|---|---|")
    for name, field in Settings.model_fields.items():
        default = field.default if field.default_factory is None else "(calculé)"
        typer.echo(f"| `ASSISTANT_{name.upper()}` | `{default}` | {field.description} |")

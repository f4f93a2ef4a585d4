"""The command lines as users run them: real processes, real embeddings, exit codes and messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from database import Database, resolve_url
from index.state import IndexState, Journal
from tests.conftest import ROOT, SHARED_EVAL

PY = sys.executable


def run(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    if "stderr" in kw:  # merged into stdout: the order of what the user sees
        return subprocess.run([PY, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout, **kw)
    return subprocess.run([PY, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("cli")
    docs, data = base / "docs", base / "data"
    import shutil

    shutil.copytree(ROOT / "documents", docs)
    result = run("index", "sync", "--docs", str(docs), "--data", str(data), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"added", "changed", "removed", "unchanged", "failed", "chunks_total", "seconds"}
    assert len(report["added"]) == 5 and report["failed"] == []
    return docs, data


def test_noop_sync_then_a_bad_file_exits_1_and_keeps_the_rest(indexed: tuple[Path, Path]) -> None:
    docs, data = indexed
    again = json.loads(run("index", "sync", "--docs", str(docs), "--data", str(data), "--json").stdout)
    assert len(again["unchanged"]) == 5 and again["chunks_embedded"] == 0
    (docs / "casse.pdf").write_bytes(b"%PDF-1.7 garbage" * 10)
    result = run("index", "sync", "--docs", str(docs), "--data", str(data))
    assert result.returncode == 1
    assert "ÉCHEC     casse.pdf" in result.stdout and "corrompu" in result.stdout
    assert "inchangé" in result.stdout
    (docs / "casse.pdf").unlink()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run("index", "sync", "--docs", str(tmp_path / "absent"), "--data", str(tmp_path / "d"))
    assert result.returncode == 2 and "n'existe pas" in result.stderr
    result = run("index", "status", "--data", str(tmp_path / "vide"))
    assert result.returncode == 2 and "python -m index sync" in result.stderr
    result = run("assistant", "ask", "Une question ?", "--data", str(tmp_path / "vide"))
    assert result.returncode == 2 and "aucun index" in result.stderr and "python -m index sync" in result.stderr


def test_status_json(indexed: tuple[Path, Path]) -> None:
    status = json.loads(run("index", "status", "--data", str(indexed[1]), "--json").stdout)
    assert status["documents"] == 5 and status["chunks_total"] > 20


def test_ask_json_extractive(indexed: tuple[Path, Path]) -> None:
    result = run(
        "assistant",
        "ask",
        "Combien de médecins vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?",
        "--data",
        str(indexed[1]),
        "--backend",
        "extractive",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"answer", "abstained", "language", "backend", "citations", "passages", "timings"}
    assert "72" in answer["answer"] and not answer["abstained"] and answer["backend"] == "extractive"
    assert answer["citations"][0]["source"] == "004_2f689f248befe050.txt" and "72" in answer["citations"][0]["quote"]
    assert answer["passages"][0]["rank"] == 1


def test_ask_prints_the_sources_before_the_answer_streams(indexed: tuple[Path, Path]) -> None:
    question = "Combien de médecins vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"
    env = {**os.environ, "ASSISTANT_LLM_MODEL": "qwen2.5-coder-0.5b-instruct"}
    result = run(
        "assistant", "ask", question, "--data", str(indexed[1]), "--backend", "llamacpp", env=env, stderr=subprocess.STDOUT
    )
    out = result.stdout
    assert result.returncode == 0, out
    listed = out.index("Passages trouvés :")
    first_source = out.index("  [1] ", listed)
    answer_line = out.index("─" * 60)
    streamed = out[out.index("\n", first_source) : answer_line]
    assert listed < first_source < answer_line and streamed.strip(), "the passages come first, then the streamed answer"
    assert "premier mot" in out[answer_line:]


def test_ask_rejects_an_empty_question(indexed: tuple[Path, Path]) -> None:
    result = run("assistant", "ask", "   ", "--data", str(indexed[1]), "--backend", "extractive")
    assert result.returncode == 2 and "vide" in result.stderr


def test_eval_malformed_file(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    lines = [*SHARED_EVAL.read_text(encoding="utf-8").splitlines()[:3], '{"id": "x", "lang": "fr"']
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = run(
        "assistant", "eval", "--questions", str(bad), "--data", str(indexed[1]), "--retrieval-only", "--out", str(tmp_path / "o")
    )
    assert result.returncode == 2 and "ligne 4" in result.stderr
    result = run(
        "assistant",
        "eval",
        "--questions",
        str(bad),
        "--data",
        str(indexed[1]),
        "--retrieval-only",
        "--out",
        str(tmp_path / "o"),
        "--keep-going",
        "--fail-under",
        "hit@5=0.5",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads((tmp_path / "o" / "results.json").read_text())
    assert len(out["questions"]) == 3 and out["meta"]["malformed_lines"]
    assert (tmp_path / "o" / "report.md").exists() and (tmp_path / "o" / "metrics.png").stat().st_size > 1000


def test_eval_threshold_missed_exits_1(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    result = run(
        "assistant",
        "eval",
        "--questions",
        str(SHARED_EVAL),
        "--data",
        str(indexed[1]),
        "--retrieval-only",
        "--out",
        str(tmp_path / "o"),
        "--fail-under",
        "hit@5=1.01",
    )
    assert result.returncode == 1 and "Seuil non atteint : hit@5" in result.stderr
    assert "| hit@5 |" in result.stdout


def copy_index(indexed: tuple[Path, Path], tmp_path: Path, database_url: str) -> tuple[Path, IndexState, dict[str, str]]:
    """A copy of the indexed folder whose state lives in ``database_url``; the environment that points the CLI at it."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(indexed[1], data)
    if database_url.startswith("sqlite"):  # the default: the SQLite file of the data folder
        return data, IndexState(Database.open(resolve_url(None, data))), dict(os.environ)
    state = IndexState(Database.open(database_url))
    source = IndexState.open(indexed[1])  # the same index, its manifest in PostgreSQL (the Chroma copy is the same)
    manifest = source.manifest()
    assert manifest is not None
    state.commit(manifest, Journal(manifest.collection, []))
    state.clear_journal()
    source.db.dispose()
    return data, state, {**os.environ, "ASSISTANT_DATABASE_URL": database_url}


def test_sync_killed_midway_keeps_the_previous_index_and_next_sync_repairs(
    indexed: tuple[Path, Path], tmp_path: Path, database_url: str
) -> None:
    """SIGKILL a sync while it embeds: readers still get the old state; the next sync finishes the job."""
    docs = indexed[0]
    data, state, env = copy_index(indexed, tmp_path, database_url)
    before = state.manifest()
    assert before is not None
    for i in range(8):  # enough new text that the sync is still embedding when killed
        (docs / f"nouveau-{i}.txt").write_text(
            f"Rapport {i} sur la coopération hospitalière.\n\n"
            + (f"Le partenariat numéro {i} forme des internes en chirurgie. " * 60),
            encoding="utf-8",
        )
    try:
        proc = subprocess.Popen(
            [PY, "-m", "index", "sync", "--docs", str(docs), "--data", str(data)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        deadline = time.time() + 120
        while state.journal() is None and time.time() < deadline:
            time.sleep(0.05)
        assert state.journal() is not None, "the sync never started writing"
        time.sleep(1.0)  # in the middle of embedding
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert state.manifest() == before, "the manifest (what readers trust) is untouched"
        assert state.generation() == before.generation
        # the index still answers from the previous state
        question = "Combien de médecins vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"
        result = run("assistant", "ask", question, "--data", str(data), "--backend", "extractive", "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert "72" in json.loads(result.stdout)["answer"]
        # the next sync repairs (the dead one's lock is free at once): everything indexed, nothing stale left behind
        result = run("index", "sync", "--docs", str(docs), "--data", str(data), "--json", env=env)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert sorted(report["added"]) == [f"nouveau-{i}.txt" for i in range(8)]
        from index.store import Store

        manifest = state.manifest()
        assert manifest is not None and manifest.generation == before.generation + 1
        store = Store.open(data)
        assert store.doc_hashes(manifest.collection) == manifest.live_hashes
        assert store.count(manifest.collection) == manifest.chunks_total
        assert state.journal() is None
    finally:
        for i in range(8):
            (docs / f"nouveau-{i}.txt").unlink(missing_ok=True)
        state.db.dispose()


def test_two_syncs_at_once_the_second_refuses_or_waits(indexed: tuple[Path, Path], tmp_path: Path, database_url: str) -> None:
    """The rebuild lock is the database's: held by this process, a sync in another process is refused, or waits."""
    import threading

    docs = indexed[0]
    data, state, env = copy_index(indexed, tmp_path, database_url)
    try:
        with state.rebuild_lock():
            result = run("index", "sync", "--docs", str(docs), "--data", str(data), env=env)
        assert result.returncode == 2 and "déjà en cours" in result.stderr and "--wait" in result.stderr

        held = threading.Event()

        def hold_a_while() -> None:
            with state.rebuild_lock():
                held.set()
                time.sleep(3)

        holder = threading.Thread(target=hold_a_while)
        holder.start()
        held.wait(10)
        started = time.perf_counter()
        result = run("index", "sync", "--docs", str(docs), "--data", str(data), "--wait", "60", "--json", env=env)
        waited = time.perf_counter() - started
        holder.join()
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["unchanged"]) == 5
        assert waited >= 2, "it waited for the other sync to end"
    finally:
        state.db.dispose()

"""A backup taken while the app answers restores to a working app: same accounts, same index, same answers.

Real SQLite and PostgreSQL (``pg_dump``/``pg_restore``), real embedded Chroma; a bag-of-words
embedder keeps it fast. The backup runs through the command line, in this process, while a
thread keeps retrieving from the live index; the restore goes into a new data folder and an
empty database, and the restored index is asked the same questions.
"""

from __future__ import annotations

import gzip
import json
import secrets
import shutil
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.retrieval import Retriever
from coop_assistant.cli import app
from database import Database
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.conftest import DOCUMENTS
from tests.fakes import HashEmbedder
from web.users import UserStore, write_user

QUESTIONS = [
    "Combien de médecins vietnamiens ont été formés en France ?",
    "Quand la French Healthcare Alliance China a-t-elle été créée ?",
    "Quel hôpital de Shanghai coopère avec la France ?",
]


def other_database(url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the same kind as ``url``, to restore into."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'assistant.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"r_{secrets.token_hex(6)}"
    server.admin(f"CREATE DATABASE {name}")
    request.addfinalizer(lambda: server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return str(server.url(name))


def ranked(retriever: Retriever) -> list[list[tuple[str, str]]]:
    return [[(p.source, p.chunk_id) for p in retriever.retrieve(q, k=4).passages] for q in QUESTIONS]


def test_a_backup_made_while_answering_restores_to_a_working_app(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in sorted(DOCUMENTS.glob("*.txt"))[:3]:
        shutil.copy(path, docs / path.name)
    data = tmp_path / "data"
    embedder = HashEmbedder()
    db = Database.open(database_url)
    state = IndexState(db)
    store = Store.open(data)
    Indexer(docs, state, store, embedder).sync()
    write_user(db, "alice", "mot-de-passe-solide-1", admin=True)
    retriever = Retriever(store, embedder, state, candidates=20)
    before = ranked(retriever)

    answering = threading.Event()
    errors: list[BaseException] = []

    def keep_answering() -> None:  # the app goes on answering while the copy is made
        while not answering.is_set():
            try:
                ranked(retriever)
            except BaseException as exc:  # reported by the test
                errors.append(exc)
                return

    thread = threading.Thread(target=keep_answering)
    thread.start()
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", database_url)
    monkeypatch.delenv("ASSISTANT_CHROMA_URL", raising=False)
    try:
        made = CliRunner().invoke(app, ["backup", str(tmp_path / "backup"), "--data", str(data)])
    finally:
        answering.set()
        thread.join()
    assert made.exit_code == 0, made.output
    assert not errors, errors
    manifest = state.manifest()
    assert manifest is not None
    assert f"{manifest.chunks_total} passages" in made.output
    info = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert info["generation"] == manifest.generation and info["chunks"] == manifest.chunks_total
    with gzip.open(tmp_path / "backup" / "vectors.jsonl.gz", "rt") as lines:
        assert sum(1 for _ in lines) == manifest.chunks_total

    again = CliRunner().invoke(app, ["backup", str(tmp_path / "backup"), "--data", str(data)])
    assert again.exit_code == 2 and "existe déjà" in again.output, "a backup never overwrites another"

    restored_url = other_database(database_url, tmp_path, request)
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", restored_url)
    restored_data = tmp_path / "restored"
    done = CliRunner().invoke(app, ["restore", str(tmp_path / "backup"), "--data", str(restored_data)])
    assert done.exit_code == 0, done.output
    assert f"{manifest.chunks_total} passages" in done.output

    restored_db = Database.open(restored_url)
    try:
        restored_state = IndexState(restored_db)
        restored_retriever = Retriever(Store.open(restored_data), embedder, restored_state, candidates=20)
        assert ranked(restored_retriever) == before, "the restored index ranks the same passages"
        assert UserStore(restored_db).verify("alice", "mot-de-passe-solide-1").admin, "accounts came back"
    finally:
        restored_db.dispose()
        db.dispose()

    if restored_url.startswith("sqlite"):
        twice = CliRunner().invoke(app, ["restore", str(tmp_path / "backup"), "--data", str(restored_data)])
        assert twice.exit_code == 2 and "existe déjà" in twice.output, "a restore never overwrites a database"


def test_a_folder_that_is_not_a_backup_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pas-une-sauvegarde").mkdir()
    monkeypatch.delenv("ASSISTANT_DATABASE_URL", raising=False)
    done = CliRunner().invoke(app, ["restore", str(tmp_path / "pas-une-sauvegarde"), "--data", str(tmp_path / "d")])
    assert done.exit_code == 2 and "pas une sauvegarde complète" in done.output
    assert not (tmp_path / "d" / "assistant.db").exists(), "nothing written"

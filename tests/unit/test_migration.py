"""A data folder written by the version before the database (tests/fixtures/legacy-data) is migrated on first start, nothing lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from database.imports import imported
from database.schema import feedback, users
from index.state import IndexState, Journal
from index.store import Store
from index.sync import Indexer
from tests.conftest import ROOT
from tests.fakes import HashEmbedder, ScriptedBackend
from web.errors import BadCredentials, LegacyPassword
from web.service import WebService

LEGACY = ROOT / "tests" / "fixtures" / "legacy-data"
ORPHAN = "064708a6350cd450db703cffe87663c74140e716fa3cc213f32641f87524da44"  # chunks of the sync that died half-way


def start(folder: Path, database_url: str) -> tuple[WebService, HashEmbedder]:
    """What app.py does on this folder, with the embedder the folder was indexed with."""
    url = None if database_url.startswith("sqlite") else database_url  # SQLite: the default file of the data folder
    settings = Settings(docs_dir=folder / "docs", data_dir=folder / "data", users_file=folder / "users.json", database_url=url)  # type: ignore[arg-type]
    state = IndexState.from_settings(settings)
    store = Store.open(settings.data_dir)
    embedder = HashEmbedder()
    retriever = Retriever(store, embedder, state, candidates=20, dense_weight=0.5)
    assistant = Assistant(retriever, ScriptedBackend(fn=lambda m: "72 médecins [1]."), "test", abstain_below=0.05)
    return WebService(settings, assistant, Indexer(settings.docs_dir, state, store, embedder)), embedder


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "old"
    shutil.copytree(LEGACY, target)
    (target / "users.json").chmod(0o600)
    return target


def feedback_rows(service: WebService) -> list[dict[str, Any]]:
    with service.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(feedback).order_by(feedback.c.kind, feedback.c.liked))]


def test_an_old_folder_is_migrated_on_first_start_and_nothing_is_lost(folder: Path, database_url: str) -> None:
    data = folder / "data"
    old_manifest = json.loads((data / "manifest.json").read_text())
    old_report = json.loads((data / "last-sync.json").read_text())
    users_before = (folder / "users.json").read_bytes()
    service, embedder = start(folder, database_url)
    state = service.state
    if database_url.startswith("sqlite"):
        assert service.db.where == str((data / "assistant.db").resolve()), "the default database is a file of the data folder"

    # the index: the same generation, answering at once from the chunks already in Chroma
    manifest = state.manifest()
    assert manifest is not None and manifest.to_json() == old_manifest
    assert state.journal() == Journal(old_manifest["collection"], [ORPHAN]), "the dead sync's journal is kept, to clean"
    assert state.last_report() == old_report
    passages = service.assistant.retriever.retrieve(
        "Combien de médecins vietnamiens ont été formés au CHU de Clermont-Ferrand ?", 3
    )
    assert any("72" in p.text for p in passages.passages) and embedder.embedded == 0
    assert service.sources() == sorted(old_manifest["documents"])

    # the old files are renamed, never deleted; the users file is left as it was
    for name in (
        "manifest.json",
        "sync-journal.json",
        "last-sync.json",
        "sync-history.jsonl",
        "feedback.jsonl",
        "abstentions.jsonl",
    ):
        assert not (data / name).exists() and (data / f"{name}.imported").is_file(), name
    assert (folder / "users.json").read_bytes() == users_before

    # every record: the abstention, the thumbs-down with its comment, the thumbs-up
    rows = feedback_rows(service)
    assert [(r["kind"], r["liked"], r["user_name"]) for r in rows] == [
        ("abstention", None, "bob"),
        ("feedback", False, "bob"),
        ("feedback", True, "alice"),
    ]
    problems = service.problems()
    assert {p["kind"] for p in problems} == {"abstention", "avis négatif"}
    abstention = next(p for p in problems if p["kind"] == "abstention")
    assert abstention["question"] == "Quel temps fera-t-il à Lyon demain ?" and abstention["reason"] == "weak-retrieval"
    assert abstention["when"] == "2026-12-04 02:08:50" and service.feedback.get(abstention["id"]) == abstention
    negative = next(p for p in problems if p["kind"] == "avis négatif")
    assert negative["comment"] == "Il manque la période." and negative["answer"].startswith("72 médecins")

    # every user: valid accounts log in with their password, refused ones stay refused with the reset command
    assert service.login_required
    assert service.users.verify("alice", "motdepasse-alice").admin is True
    assert service.users.verify("bob", "motdepasse-bob").admin is False
    with pytest.raises(LegacyPassword, match="python -m assistant add-user carol"):
        service.users.verify("carol", "ancien-mot-de-passe")
    with pytest.raises(BadCredentials):
        service.users.verify("mallory", "motdepasse-bob")
    assert len(service.users.problems()) == 2

    # the next sync embeds nothing, and cleans what the dead sync left
    report = service.rebuild()
    assert report.chunks_embedded == 0 and embedder.embedded == 0
    assert sorted(report.unchanged) == sorted(old_manifest["documents"]) and not report.added
    assert ORPHAN not in service.indexer.store.doc_hashes(manifest.collection) and state.journal() is None
    assert state.manifest().generation == 2  # type: ignore[union-attr]

    # a second start imports nothing again
    service.db.dispose()
    again, _ = start(folder, database_url)
    assert len(feedback_rows(again)) == 3 and again.state.manifest().generation == 2  # type: ignore[union-attr]
    with again.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 4
    for name in ("index-files", "feedback-files", "users-file"):
        assert imported(again.db, name) is not None, f"the import of {name} is remembered in the database"
    again.db.dispose()


def test_a_second_copy_with_its_own_old_folder_leaves_it_untouched(folder: Path, tmp_path: Path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    """Two copies share PostgreSQL: the first imports its folder; the second's old files are left as they are."""
    import secrets

    name = f"t_{secrets.token_hex(6)}"
    postgres_server.admin(f"CREATE DATABASE {name}")
    url = postgres_server.url(name)
    try:
        first, _ = start(folder, url)
        second_folder = tmp_path / "second"
        shutil.copytree(LEGACY, second_folder)
        (second_folder / "users.json").chmod(0o600)
        second, _ = start(second_folder, url)
        assert (second_folder / "data" / "manifest.json").is_file() and (second_folder / "data" / "feedback.jsonl").is_file()
        assert len(feedback_rows(second)) == 3, "nothing imported twice"
        assert second.state.manifest() == first.state.manifest()
        first.db.dispose()
        second.db.dispose()
    finally:
        postgres_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_an_unreadable_old_manifest_says_what_to_do(tmp_path: Path) -> None:
    from index.errors import LegacyDataError

    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_text("{cassé")
    with pytest.raises(LegacyDataError, match="déplacez-le"):
        IndexState.open(data)
    assert (data / "manifest.json").is_file(), "left in place"

"""Change-aware sync: only what changed is embedded; removed files leave nothing; bad files are reported."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from index.isolation import ReadLimits
from index.state import IndexState, Journal
from index.store import Store
from index.sync import Indexer, SyncBusyError, plan_sync
from tests.documents import looping_pdf, make_docx, make_pptx, make_scanned_pdf, nested_html, write_bad_name, zip_bomb
from tests.fakes import HashEmbedder


def make_indexer(docs: Path, data: Path, state: IndexState, embedder: HashEmbedder | None = None, **kw) -> Indexer:  # type: ignore[no-untyped-def]
    return Indexer(docs, state, Store.open(data), embedder or HashEmbedder(), **kw)


def stored_hashes(indexer: Indexer) -> set[str]:
    return indexer.store.doc_hashes(indexer.collection)


def test_plan_sync_is_pure_and_sees_renames() -> None:
    plan = plan_sync({"a.txt": "1", "b.txt": "2", "c.txt": "3"}, {"a.txt": "1", "b.txt": "9", "d.txt": "3", "e.txt": "5"})
    assert plan.unchanged == ["a.txt"]
    assert plan.changed == ["b.txt"]
    assert plan.removed == ["c.txt"]
    assert plan.added == ["d.txt", "e.txt"]
    assert plan.renamed == [("c.txt", "d.txt")]
    assert plan_sync({"a.txt": "1"}, {"a.txt": "1"}, rebuild=True).added == ["a.txt"]


def test_first_sync_then_noop_sync_computes_nothing(docs: Path, tmp_path: Path, state: IndexState) -> None:
    embedder = HashEmbedder()
    indexer = make_indexer(docs, tmp_path / "data", state, embedder)
    first = indexer.sync()
    assert sorted(first.added) == sorted(p.name for p in docs.iterdir())
    assert first.chunks_total == indexer.store.count(indexer.collection) > 0
    done = embedder.embedded
    second = indexer.sync()
    assert embedder.embedded == done, "a no-op sync must embed nothing"
    assert second.chunks_embedded == 0
    assert second.unchanged == first.added and not second.added and not second.changed and not second.removed


def test_changed_and_removed_files_leave_no_stale_chunks(docs: Path, tmp_path: Path, state: IndexState) -> None:
    embedder = HashEmbedder()
    indexer = make_indexer(docs, tmp_path / "data", state, embedder)
    indexer.sync()
    target = docs / "004_2f689f248befe050.txt"
    old_hash = state.manifest().documents[target.name].hash  # type: ignore[union-attr]
    target.write_text(
        target.read_text(encoding="utf-8") + "\n\nNouveau paragraphe : 42 internes accueillis en 2026.", encoding="utf-8"
    )
    (docs / "003_3e44cb0d4884cc0f.txt").unlink()
    before = embedder.embedded
    report = indexer.sync()
    assert report.changed == [target.name]
    assert report.removed == ["003_3e44cb0d4884cc0f.txt"]
    manifest = state.manifest()
    assert manifest is not None
    assert stored_hashes(indexer) == manifest.live_hashes, "Chroma holds exactly the live documents"
    assert old_hash not in stored_hashes(indexer)
    assert embedder.embedded - before == manifest.documents[target.name].chunks
    assert report.chunks_total == indexer.store.count(indexer.collection)


def test_renamed_file_is_not_embedded_again(docs: Path, tmp_path: Path, state: IndexState) -> None:
    embedder = HashEmbedder()
    indexer = make_indexer(docs, tmp_path / "data", state, embedder)
    indexer.sync()
    before = embedder.embedded
    (docs / "000_1bb8a8b098313e5b.txt").rename(docs / "france-chine.txt")
    report = indexer.sync()
    assert embedder.embedded == before
    assert report.renamed == [{"from": "000_1bb8a8b098313e5b.txt", "to": "france-chine.txt"}]
    manifest = state.manifest()
    assert "france-chine.txt" in manifest.documents and "000_1bb8a8b098313e5b.txt" not in manifest.documents  # type: ignore[union-attr]
    assert stored_hashes(indexer) == manifest.live_hashes  # type: ignore[union-attr]
    chunk = indexer.store.chunks(indexer.collection, [manifest.documents["france-chine.txt"].hash])[0]  # type: ignore[union-attr]
    meta = indexer.store._collection(indexer.collection).get(ids=[chunk.id], include=["metadatas"])["metadatas"][0]
    assert meta["source"] == "france-chine.txt" and meta["title"].startswith("France – Chine")


def test_bad_files_are_reported_and_the_rest_indexed(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> None:
    (docs / "vide.txt").write_bytes(b"")
    (docs / "faux.pdf").write_bytes(os.urandom(2000))
    (docs / "photo.png").write_bytes(b"\x89PNG....")
    (docs / "gros.txt").write_text("x" * 30_000)
    (docs / "ancien.txt").write_bytes("Coopération médicale à Huê : l'hôpital régional accueille des internes.".encode("cp1252"))
    (docs / "lien-casse.txt").symlink_to(docs / "n-existe-pas.txt")  # a link, and a broken one: never followed
    indexer = make_indexer(docs, tmp_path / "data", sqlite_state, max_file_bytes=20_000)
    report = indexer.sync()
    failed = {f["source"]: f["error"] for f in report.failed}
    assert "vide" in failed["vide.txt"]
    assert "corrompu" in failed["faux.pdf"]
    assert "non pris en charge" in failed["photo.png"]
    assert "trop volumineux" in failed["gros.txt"]
    assert "lien symbolique ignoré" in failed["lien-casse.txt"]
    assert "ancien.txt" in report.added, "Windows-1252 text is indexed, not refused"
    assert "000_1bb8a8b098313e5b.txt" in report.added
    manifest = sqlite_state.manifest()
    chunks = indexer.store.chunks(indexer.collection, [manifest.documents["ancien.txt"].hash])  # type: ignore[union-attr]
    assert "Huê" in chunks[0].text


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_permissions_are_reported(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> None:
    secret = docs / "secret.txt"
    secret.write_text("confidentiel")
    secret.chmod(0)
    report = make_indexer(docs, tmp_path / "data", sqlite_state).sync()
    assert any(f["source"] == "secret.txt" and "droits" in f["error"] for f in report.failed)


def test_a_changed_file_that_breaks_keeps_its_last_good_version(docs: Path, tmp_path: Path, state: IndexState) -> None:
    indexer = make_indexer(docs, tmp_path / "data", state)
    indexer.sync()
    good = state.manifest().documents["002_54283c736e98043b.txt"]  # type: ignore[union-attr]
    (docs / "002_54283c736e98043b.txt").write_bytes(b"\x00\x01\x02\x03" * 400)
    report = indexer.sync()
    assert [f["source"] for f in report.failed] == ["002_54283c736e98043b.txt"]
    assert state.manifest().documents["002_54283c736e98043b.txt"] == good  # type: ignore[union-attr]
    assert good.hash in stored_hashes(indexer)


def test_changed_embedding_model_rebuilds_in_a_new_space(docs: Path, tmp_path: Path, state: IndexState) -> None:
    data = tmp_path / "data"
    first = make_indexer(docs, data, state, HashEmbedder(identity="model-a"))
    first.sync()
    second = make_indexer(docs, data, state, HashEmbedder(identity="model-b"))
    report = second.sync()
    assert report.rebuilt
    assert sorted(report.added) == sorted(p.name for p in docs.iterdir())
    names = second.store.collection_names()
    assert second.collection in names and first.collection not in names, "no mix of vector spaces"
    assert state.manifest().embedding == "model-b"  # type: ignore[union-attr]


def test_second_sync_at_once_is_refused_with_a_message(docs: Path, tmp_path: Path, state: IndexState) -> None:
    with state.rebuild_lock():
        with pytest.raises(SyncBusyError, match="déjà en cours"):
            make_indexer(docs, tmp_path / "data", state).sync()
        other = IndexState(state.db)  # another reader of the same database (as another process would be)
        with pytest.raises(SyncBusyError, match="déjà en cours"):
            make_indexer(docs, tmp_path / "data", other).sync()
    assert make_indexer(docs, tmp_path / "data", state).sync().added  # free again


def test_leftovers_of_an_interrupted_sync_are_cleaned(docs: Path, tmp_path: Path, state: IndexState) -> None:
    data = tmp_path / "data"
    indexer = make_indexer(docs, data, state)
    indexer.sync()
    # what a sync killed after writing chunks but before committing leaves behind:
    indexer.store.upsert(
        indexer.collection,
        ["orphan-1"],
        HashEmbedder().embed_documents(["x"]),
        ["x"],
        [{"doc_hash": "dead", "page": -1, "start": 0, "end": 1, "index": 0}],
    )
    state.begin_journal(Journal(indexer.collection, ["dead"]))
    assert "dead" in stored_hashes(indexer)
    indexer.sync()
    assert "dead" not in stored_hashes(indexer)
    assert state.journal() is None


def test_missing_docs_folder(tmp_path: Path, sqlite_state: IndexState) -> None:
    with pytest.raises(FileNotFoundError, match="n'existe pas"):
        make_indexer(tmp_path / "absent", tmp_path / "data", sqlite_state).sync()


def test_identical_files_share_chunks(docs: Path, tmp_path: Path, state: IndexState) -> None:
    shutil.copy(docs / "003_3e44cb0d4884cc0f.txt", docs / "copie.txt")
    embedder = HashEmbedder()
    indexer = make_indexer(docs, tmp_path / "data", state, embedder)
    report = indexer.sync()
    assert "copie.txt" in report.added
    assert report.chunks_total == indexer.store.count(indexer.collection)


def test_reading_chunks_of_many_documents(tmp_path: Path) -> None:
    """More documents than SQLite accepts variables in one `$in` filter."""
    store = Store.open(tmp_path)
    embedder = HashEmbedder(dims=8)
    n = 1200
    store.upsert(
        "many",
        [f"c{i}" for i in range(n)],
        embedder.embed_documents([f"texte {i}" for i in range(n)]),
        [f"texte {i}" for i in range(n)],
        [{"doc_hash": f"h{i}", "page": -1, "start": 0, "end": 5, "index": 0} for i in range(n)],
    )
    got = store.chunks("many", [f"h{i}" for i in range(0, n, 2)])
    assert len(got) == n // 2 and {c.doc_hash for c in got} == {f"h{i}" for i in range(0, n, 2)}
    assert len(store.chunks("many")) == n


def test_the_section_title_is_embedded_with_the_chunk_but_not_stored() -> None:
    from index.chunking import Chunk
    from index.sync import embedding_text

    chunk = Chunk("id", "h", 3, 0, 20, 0, "Le budget est de 2 M€.", section="4.2 Budget")
    assert embedding_text(chunk) == "4.2 Budget\nLe budget est de 2 M€."
    assert embedding_text(Chunk("id", "h", None, 0, 20, 0, "Sans section.")) == "Sans section."


class RecordingEmbedder(HashEmbedder):
    """The bag-of-words embedder, keeping the texts it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.texts += list(texts)
        return super().embed_documents(texts)


def test_sync_embeds_section_titles_and_stores_the_page_text(tmp_path: Path, sqlite_state: IndexState) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    page = "<html><body><h2>Vaccination des nourrissons</h2><p>Le calendrier prévoit trois injections.</p></body></html>"
    (docs / "guide.html").write_text(page, encoding="utf-8")
    embedder = RecordingEmbedder()
    indexer = make_indexer(docs, tmp_path / "data", sqlite_state, embedder)
    indexer.sync()
    assert embedder.texts == [
        "Vaccination des nourrissons\nVaccination des nourrissons\n\nLe calendrier prévoit trois injections."
    ]
    stored = indexer.store.chunks(indexer.collection)
    assert [c.text for c in stored] == ["Vaccination des nourrissons\n\nLe calendrier prévoit trois injections."]


def test_hostile_files_fail_alone_and_the_rest_is_indexed(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> None:
    (docs / "bombe.pptx").write_bytes(zip_bomb(make_pptx(), "ppt/slides/slide1.xml", size=1024**3))
    (docs / "boucle.pdf").write_bytes(looping_pdf())
    (docs / "imbrique.html").write_bytes(nested_html())
    (docs / "pas-un-zip.odt").write_bytes(b"PK\x03\x04" + os.urandom(3000))
    (docs / "rapport.docx").write_bytes(make_docx())
    write_bad_name(docs)
    indexer = make_indexer(docs, tmp_path / "data", sqlite_state, max_file_bytes=50_000_000, read_limits=ReadLimits(seconds=4))
    report = indexer.sync()
    failed = {f["source"]: f["error"] for f in report.failed}
    assert set(failed) == {"bombe.pptx", "boucle.pdf", "imbrique.html", "pas-un-zip.odt", "r\ufffdunion.txt"}
    assert "bombe zip" in failed["bombe.pptx"]
    assert "abandonnée au bout de 4 s" in failed["imbrique.html"]
    assert "OpenDocument" in failed["pas-un-zip.odt"]
    assert "nom de fichier mal encodé" in failed["r\ufffdunion.txt"]
    assert {"rapport.docx", "000_1bb8a8b098313e5b.txt"} <= set(report.added)
    manifest = sqlite_state.manifest()
    assert manifest is not None and "rapport.docx" in manifest.documents
    assert stored_hashes(indexer) == manifest.live_hashes
    json.dumps(report.to_json())  # the report (with the badly named file) can be written and shown
    assert sqlite_state.last_report() == report.to_json()


def test_ocr_progress_is_told_page_by_page(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> None:
    (docs / "scan.pdf").write_bytes(make_scanned_pdf(["Compte rendu de la mission à Hanoï, mars 2025."]))
    notices: list[str] = []
    report = make_indexer(docs, tmp_path / "data", sqlite_state).sync(notice=notices.append)
    assert "scan.pdf" in report.added
    assert notices == ["OCR : scan.pdf, page 1/1"]


def test_reading_overlaps_embedding_and_both_are_timed(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> None:
    report = make_indexer(docs, tmp_path / "data", sqlite_state).sync()
    assert report.read_seconds > 0 and report.embed_seconds > 0
    assert {"read_seconds", "embed_seconds"} <= set(report.to_json())


def test_the_limits_of_a_file_go_from_the_settings_to_the_worker(tmp_path: Path, sqlite_state: IndexState) -> None:
    from index.config import IndexSettings
    from index.render import PageRenderer, RenderLimits

    settings = IndexSettings(
        _env_file=None,  # type: ignore[call-arg]
        docs_dir=tmp_path,
        max_pages=12,
        max_text_chars=34_000,
        max_rows=4_500,
        max_chunks_per_file=56,
        file_timeout_seconds=78,
        parse_timeout_seconds=9,
        render_timeout_seconds=3,
        render_memory_mb=512,
    )
    indexer = Indexer.from_settings(settings, sqlite_state, Store.open(tmp_path / "data"), HashEmbedder())
    options = indexer.load_options
    assert (options.max_pages, options.max_text_chars, options.max_rows) == (12, 34_000, 4_500)
    assert (indexer.read_limits.seconds, indexer.read_limits.file_seconds, indexer.max_chunks) == (9, 78, 56)
    assert PageRenderer.from_settings(settings).limits == RenderLimits(seconds=3, memory_mb=512)
    fields = IndexSettings.model_fields
    for name in (
        "max_pages",
        "max_text_chars",
        "max_rows",
        "max_chunks_per_file",
        "file_timeout_seconds",
        "render_timeout_seconds",
    ):
        assert fields[name].description, name

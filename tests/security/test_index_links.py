"""Only regular files inside the documents folder are read: links, pipes and devices are reported, never opened.

Before: a link to /etc/passwd was indexed (its lines served to every user as passages), and a link
to /dev/zero or a named pipe hung the sync.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from index.files import NotRegularFileError, read_document
from index.isolation import IsolatedReader
from index.loaders import LoadError
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.fakes import HashEmbedder

SECRET = "Identifiants du serveur de paie : admin / motdepasse-confidentiel."


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "ailleurs"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "note.txt").write_text(f"Note hors du dossier. {SECRET}", encoding="utf-8")
    return folder


@pytest.mark.timeout(60)  # a hang fails the test instead of the whole run
def test_links_pipes_and_devices_are_reported_and_the_regular_files_indexed(
    tmp_path: Path, outside: Path, sqlite_state: IndexState
) -> None:
    docs = tmp_path / "docs"
    (docs / "rapports").mkdir(parents=True)
    (docs / "rapport.txt").write_text("Le CHU de Bordeaux coopère avec l'hôpital de Xiamen.", encoding="utf-8")
    (docs / "rapports" / "bilan.txt").write_text("Quarante-deux internes accueillis en 2024.", encoding="utf-8")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "secret.txt").symlink_to(outside / "secret.txt")
    (docs / "zero.txt").symlink_to("/dev/zero")
    (docs / "copie.txt").symlink_to(docs / "rapport.txt")  # a link, even to a file of the folder
    (docs / "partage").symlink_to(outside, target_is_directory=True)  # a linked sub-folder
    os.mkfifo(docs / "tube.txt")
    os.mkfifo(docs / "rapports" / "tube.pdf")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(docs / "prise.txt"))
        indexer = Indexer(docs, sqlite_state, Store.open(tmp_path / "data"), HashEmbedder())
        started = time.monotonic()
        report = indexer.sync()
        assert time.monotonic() - started < 20
    failed = {f["source"]: f["error"] for f in report.failed}
    assert sorted(report.added) == ["rapport.txt", "rapports/bilan.txt"]
    links = {"passwd.txt", "secret.txt", "zero.txt", "copie.txt", "partage"}
    for link in links:
        assert failed[link].startswith("lien symbolique ignoré"), link
    assert failed["tube.txt"].startswith("tube nommé (FIFO), pas un fichier ordinaire")
    assert failed["rapports/tube.pdf"].startswith("tube nommé (FIFO)")
    assert failed["prise.txt"].startswith("socket, pas un fichier ordinaire")
    assert set(failed) == links | {"tube.txt", "rapports/tube.pdf", "prise.txt"}
    texts = " ".join(chunk.text for chunk in indexer.store.chunks(indexer.collection))
    assert "root:" not in texts and "motdepasse" not in texts and "Note hors du dossier" not in texts


@pytest.mark.timeout(60)
def test_a_file_swapped_for_a_pipe_or_a_link_after_the_listing_is_refused_by_the_reader(tmp_path: Path, outside: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "rapports").mkdir(parents=True)
    os.mkfifo(docs / "tube.txt")  # listed as a file a moment ago, a pipe now: opening it must not wait for a writer
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "rapports" / "secret.txt").symlink_to(outside / "secret.txt")
    with IsolatedReader() as reader:
        for name in ("tube.txt", "passwd.txt", "rapports/secret.txt"):
            started = time.monotonic()
            with pytest.raises(LoadError) as info:
                reader.read(docs / name, root=docs)
            assert time.monotonic() - started < 10
            assert str(info.value).startswith(("tube nommé", "lien symbolique")), name


def test_a_sub_folder_swapped_for_a_link_is_not_gone_through(tmp_path: Path, outside: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rapports").symlink_to(outside, target_is_directory=True)  # was a folder when the documents were listed
    with pytest.raises(NotRegularFileError, match="lien symbolique"):
        read_document(docs / "rapports" / "secret.txt", root=docs)
    with pytest.raises(NotRegularFileError, match="hors du dossier"):
        read_document(docs / ".." / "ailleurs" / "secret.txt", root=docs)
    assert read_document(outside / "secret.txt", root=outside).decode() == SECRET  # a regular file is read

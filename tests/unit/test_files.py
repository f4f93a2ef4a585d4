"""Opening a document: regular files only, what anything else is called in the report."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from index.files import NotRegularFileError, hash_document, kind_of, read_document, refusal


def test_what_each_kind_of_entry_is_called(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "tube")
    (tmp_path / "lien").symlink_to("/etc/hostname")
    (tmp_path / "fichier").write_text("x")
    assert kind_of(os.lstat(tmp_path / "tube").st_mode) == "tube nommé (FIFO)"
    assert kind_of(os.lstat(tmp_path / "lien").st_mode) == "lien symbolique"
    assert kind_of(os.lstat("/dev/null").st_mode) == "fichier de périphérique"
    assert kind_of(os.lstat(tmp_path / "fichier").st_mode) is None and kind_of(os.lstat(tmp_path).st_mode) is None
    assert refusal("fichier de périphérique") == (
        "fichier de périphérique, pas un fichier ordinaire : ignoré (retirez-le du dossier de documents)"
    )


def test_a_device_a_folder_or_a_link_is_never_read(tmp_path: Path) -> None:
    with pytest.raises(NotRegularFileError, match="périphérique"):
        read_document(Path("/dev/zero"))  # would never end
    with pytest.raises(NotRegularFileError, match="dossier"):
        read_document(tmp_path)
    (tmp_path / "lien.txt").symlink_to("/etc/hostname")
    with pytest.raises(NotRegularFileError, match="lien symbolique"):
        read_document(tmp_path / "lien.txt")


def test_a_regular_file_is_read_and_hashed(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    path = tmp_path / "a" / "note.txt"
    path.write_bytes(b"contenu du document")
    assert read_document(path, root=tmp_path) == b"contenu du document"
    assert read_document(path, max_bytes=7) == b"contenu "  # at most one byte past the bound: the caller sees it is longer
    assert hash_document(path, root=tmp_path) == hashlib.sha256(b"contenu du document").hexdigest()

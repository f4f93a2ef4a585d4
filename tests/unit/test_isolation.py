"""Hostile files fail alone: the worker process that reads them is bounded in time and memory, and replaced."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from index.isolation import IsolatedReader, ReadLimits
from index.loaders import LoadError, LoadOptions
from index.loaders.ocr import NOT_INSTALLED
from tests.documents import looping_pdf, make_docx, make_scanned_pdf, nested_html, zip_bomb


@pytest.fixture()
def good(tmp_path: Path) -> Path:
    path = tmp_path / "bon.docx"
    path.write_bytes(make_docx())
    return path


def read_fails(reader: IsolatedReader, path: Path, within: float) -> str:
    started = time.monotonic()
    with pytest.raises(LoadError) as info:
        reader.read(path)
    assert time.monotonic() - started < within, "a hostile file is given up in bounded time"
    return str(info.value)


def test_endlessly_nested_html_is_given_up_after_the_time_limit(tmp_path: Path, good: Path) -> None:
    path = tmp_path / "imbrique.html"
    path.write_bytes(nested_html())
    with IsolatedReader(limits=ReadLimits(seconds=3)) as reader:
        assert "abandonnée au bout de 3 s" in read_fails(reader, path, within=15)
        assert "Xiamen" in reader.read(good).text, "a fresh worker reads the next file"


def test_memory_hungry_file_is_stopped_by_the_memory_limit(tmp_path: Path, good: Path) -> None:
    # a zip bomb that the directory check is told to let through: only the memory bound stops it
    path = tmp_path / "bombe.docx"
    path.write_bytes(zip_bomb(make_docx(), "[Content_Types].xml", size=2 * 1024**3))
    options = LoadOptions(max_unzipped_bytes=10**12)
    with IsolatedReader(options, ReadLimits(seconds=60, memory_mb=400)) as reader:
        message = read_fails(reader, path, within=60)
        assert "plus de 400 Mo de mémoire" in message or "arrêter le lecteur" in message
        assert "Xiamen" in reader.read(good).text


def test_looping_page_tree_is_reported(tmp_path: Path, good: Path) -> None:
    path = tmp_path / "boucle.pdf"
    path.write_bytes(looping_pdf())
    with IsolatedReader(limits=ReadLimits(seconds=20)) as reader:
        message = read_fails(reader, path, within=30)
        assert "PDF" in message or "lecture" in message, message
        assert "Xiamen" in reader.read(good).text


def test_any_exception_of_a_parser_is_a_french_reason(tmp_path: Path) -> None:
    import io
    import zipfile

    # a .docx whose main part is not XML: python-docx lets lxml's XMLSyntaxError through
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"<w:document><unclosed" if info.filename == "word/document.xml" else src.read(info))
    path = tmp_path / "casse.docx"
    path.write_bytes(broken.getvalue())
    with IsolatedReader() as reader:
        message = read_fails(reader, path, within=30)
    assert message == "fichier illisible (XMLSyntaxError) : réenregistrez-le depuis son logiciel ou exportez-le en PDF"


def test_missing_tesseract_is_reported_with_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_scanned_pdf(["Compte rendu de la mission"]))
    monkeypatch.setenv("PATH", str(tmp_path))  # the worker finds no tesseract program
    with IsolatedReader() as reader:
        assert read_fails(reader, path, within=30) == NOT_INSTALLED


def test_ocr_progress_reaches_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_scanned_pdf(["Compte rendu de la mission à Hanoï"]))
    events: list[tuple[str, int, int]] = []
    with IsolatedReader() as reader:
        document = reader.read(path, on_event=events.append)
    assert document.pages[0].ocr and "Hanoï" in document.text
    assert events == [("ocr", 0, 1), ("ocr", 1, 1)]

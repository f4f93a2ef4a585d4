"""A page bomb is refused at once; OCR has a total time cap per file; a killed OCR run leaves no file behind.

Before: 20,000 blank pages (a 2.4 MB PDF) were all sent to OCR, the deadline growing by 60 s a page
(two weeks), while the sync held the rebuild lock; and Tesseract's temporary files of a killed
worker stayed in /tmp.
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil
import pytest

from index.isolation import IsolatedReader, ReadLimits
from index.loaders import LoadError, LoadOptions, load_bytes
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.documents import blank_pages_pdf, make_docx, make_ods, make_pptx, make_xlsx, scanned_pages_pdf
from tests.fakes import HashEmbedder

LINES = ["Compte rendu de la mission à Hanoï, mars 2025.", "Le budget atteint 2,4 millions d'euros."] * 8  # ~2.5 s of OCR a page


def test_twenty_thousand_blank_pages_are_refused_before_any_ocr(tmp_path: Path) -> None:
    path = tmp_path / "blanc.pdf"
    path.write_bytes(blank_pages_pdf(20_000))
    events: list[tuple[str, int, int]] = []
    with IsolatedReader() as reader:  # the default limits
        started = time.monotonic()
        with pytest.raises(LoadError) as info:
            reader.read(path, on_event=events.append)
        assert time.monotonic() - started < 10
    assert str(info.value).startswith("fichier refusé : 20\u202f000 pages, plus que la limite de 2\u202f000")
    assert "ASSISTANT_MAX_PAGES" in str(info.value)
    assert events == [], "no page was sent to OCR"


def test_a_deck_of_too_many_slides_is_refused() -> None:
    deck = make_pptx([(f"Diapositive {i}", ["Un point"], "") for i in range(4)])
    with pytest.raises(LoadError, match="4 diapositives, plus que la limite de 3"):
        load_bytes(deck, "long.pptx", LoadOptions(max_pages=3))
    assert len(load_bytes(deck, "court.pptx", LoadOptions(max_pages=4)).pages) == 4


def test_a_row_repeated_a_billion_times_is_refused_at_the_row_cap(tmp_path: Path) -> None:
    """An .ods of 2 KB can store one row with a repeat count of a billion: each repeat is a row of the sheet."""
    path = tmp_path / "partenaires.ods"
    path.write_bytes(
        make_ods({"Partenaires": [["Nom", "Ville"], ["Hôpital Bach Mai", "Hanoï"]]}, repeated={"Partenaires": {1: 10**9}})
    )
    with IsolatedReader() as reader:
        started = time.monotonic()
        with pytest.raises(LoadError) as info:
            reader.read(path)
        assert time.monotonic() - started < 10
    assert str(info.value).startswith("fichier refusé : plus de 100\u202f000 lignes de tableau")
    assert "ASSISTANT_MAX_ROWS" in str(info.value)


def test_a_sheet_that_declares_the_whole_grid_is_read_by_its_cells() -> None:
    """A sheet may declare A1:XFD1048576 and hold a cell in its last column: rows are not padded to 16,384 cells."""
    data = make_xlsx({"Budget": [["Poste", "Montant"], ["Loyer", 1200]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', parts["xl/worksheets/sheet1.xml"].decode())
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>Fin</t></is></c></row>'
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", far + "</sheetData>").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts.items():
            archive.writestr(name, part)
    started = time.monotonic()
    page = load_bytes(out.getvalue(), "budget.xlsx").pages[0]
    assert time.monotonic() - started < 5
    assert page.text == "Poste | Montant\nLoyer | 1200\n |  | Fin", "the empty columns between are left out"
    assert page.sheet is not None and page.sheet.rows == (2, 1_048_576)


def test_blank_pages_within_the_cap_are_not_given_to_tesseract() -> None:
    started = time.monotonic()
    with pytest.raises(LoadError, match="aucun texte"):
        load_bytes(blank_pages_pdf(30), "blanc.pdf", LoadOptions(ocr_dpi=150))
    assert time.monotonic() - started < 5  # about 0.1 s a blank page; Tesseract would take 0.5 s or more each


def tesseracts() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name().startswith("tesseract")]


def test_ocr_is_stopped_by_the_time_cap_of_the_file_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))  # where the worker's private folder goes
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pages_pdf(LINES, pages=8))
    options = LoadOptions(ocr_page_seconds=60)  # eight pages would be given 8 minutes
    limits = ReadLimits(seconds=60, file_seconds=4)
    seen: set[str] = set()  # what the worker wrote in its temporary folder while it read by OCR
    busy: list[int] = []  # Tesseract processes running while it read
    reading = threading.Event()

    def watch(reader: IsolatedReader) -> None:
        while not reading.is_set():
            time.sleep(0.05)
        while reading.is_set():
            folder = reader.worker.tmpdir
            if folder:
                seen.update(p.name for p in Path(folder).glob("*"))
            busy.append(len(tesseracts()))
            time.sleep(0.05)

    with IsolatedReader(options, limits) as reader:
        watcher = threading.Thread(target=watch, args=(reader,), daemon=True)
        watcher.start()
        reading.set()
        started = time.monotonic()
        with pytest.raises(LoadError) as info:
            reader.read(path)
        elapsed = time.monotonic() - started
        reading.clear()
        watcher.join(timeout=5)
        assert 4 <= elapsed < 8
        assert "au bout de 4 s, la limite d'un fichier, OCR compris" in str(info.value)
        assert "ASSISTANT_FILE_TIMEOUT_SECONDS" in str(info.value)
        assert any(name.startswith("tess_") for name in seen), "Tesseract's files were written in the private folder"
        assert max(busy) >= 1, "Tesseract was running"
        assert tesseracts() == [], "the Tesseract of the killed worker was killed with it"
        assert list(temp_root.iterdir()) == [], "nothing is left in the temporary folder"


def test_the_sync_report_names_each_limit_and_its_setting(tmp_path: Path, sqlite_state: IndexState) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "blanc.pdf").write_bytes(blank_pages_pdf(20_000))
    (docs / "scan.pdf").write_bytes(scanned_pages_pdf(LINES, pages=8))
    (docs / "rapport.docx").write_bytes(make_docx())
    indexer = Indexer(
        docs,
        sqlite_state,
        Store.open(tmp_path / "data"),
        HashEmbedder(),
        load_options=LoadOptions(max_pages=100),
        read_limits=ReadLimits(file_seconds=3),
    )
    started = time.monotonic()
    report = indexer.sync()
    assert time.monotonic() - started < 15
    failed = {f["source"]: f["error"] for f in report.failed}
    assert set(failed) == {"blanc.pdf", "scan.pdf"}
    assert "20\u202f000 pages, plus que la limite de 100" in failed["blanc.pdf"] and "ASSISTANT_MAX_PAGES" in failed["blanc.pdf"]
    assert "ASSISTANT_FILE_TIMEOUT_SECONDS" in failed["scan.pdf"]
    assert report.added == ["rapport.docx"]

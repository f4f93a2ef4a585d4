"""A file that expands to far more text (or passages) than a long report is refused, as soon as it passes the cap.

Before: a 669 KB .docx expanded to 75 MB of text and about 150,000 passages (a day of embedding),
all of it built in the worker and sent back to the indexing process. Now the loaders count the text
as they append it and stop at ``max_text_chars``; the passages are counted before any is embedded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from index.isolation import IsolatedReader
from index.loaders import LoadError, LoadOptions, TextBudget, load_bytes
from index.loaders.office import load_docx
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.documents import REPORT, make_docx, make_epub, make_ods, make_odt_odfpy, make_pdf, make_pptx, make_xlsx, repeated_docx
from tests.fakes import HashEmbedder

PARAGRAPH = "Le comité de pilotage de la coopération hospitalière se réunit chaque trimestre à Hanoï. "  # 90 characters
CAP = 20_000


def paragraphs_docx(paragraphs: int) -> bytes:
    return repeated_docx(PARAGRAPH, paragraphs)


def mark(page: int, line: int) -> str:
    """A word of its own for each line (letters: no running header for the PDF clean-up to drop)."""
    return "Réf. " + "".join(chr(65 + (page * 40 + line) // 26**k % 26) for k in range(3))


MAKERS: dict[str, Callable[[int], bytes]] = {  # each: a document of about n paragraphs
    ".docx": lambda n: make_docx([("p", PARAGRAPH)] * n),  # written by python-docx
    ".txt": lambda n: ((PARAGRAPH + "\n\n") * n).encode(),
    ".md": lambda n: ("# Compte rendu\n\n" + (PARAGRAPH + "\n\n") * n).encode(),
    ".html": lambda n: ("<html><body>" + f"<p>{PARAGRAPH}</p>" * n + "</body></html>").encode(),
    ".pdf": lambda n: make_pdf([[f"{PARAGRAPH}{mark(p, i)}" for i in range(40)] for p in range(n // 40 + 1)]),
    ".odt": lambda n: make_odt_odfpy([("p", PARAGRAPH)] * n),
    ".pptx": lambda n: make_pptx([(f"Diapositive {i}", [PARAGRAPH] * 10, "") for i in range(n // 10 + 1)]),
    ".epub": lambda n: make_epub([(f"Chapitre {i}", f"Chapitre {i}", PARAGRAPH * 20) for i in range(n // 20 + 1)]),
    ".xlsx": lambda n: make_xlsx({"Comptes rendus": [[PARAGRAPH]] * n}),
    ".ods": lambda n: make_ods({"Comptes rendus": [[PARAGRAPH]] * n}),
    ".csv": lambda n: ((PARAGRAPH + "\r\n") * n).encode("cp1252"),
}


@pytest.mark.parametrize("suffix", sorted(MAKERS))
def test_every_format_is_refused_past_the_text_cap_and_read_whole_below_it(suffix: str) -> None:
    options = LoadOptions(max_text_chars=CAP)
    with pytest.raises(LoadError) as info:
        load_bytes(MAKERS[suffix](2 * CAP // len(PARAGRAPH)), f"gros{suffix}", options)
    assert str(info.value).startswith("fichier refusé : plus de 20\u202f000 caractères de texte")
    assert "ASSISTANT_MAX_TEXT_CHARS" in str(info.value)
    small = load_bytes(MAKERS[suffix](CAP // len(PARAGRAPH) // 3), f"petit{suffix}", options)
    assert small.text.count("se réunit chaque trimestre") >= CAP // len(PARAGRAPH) // 3 - 1, "below the cap, nothing is cut"


class CountingBudget(TextBudget):
    """A budget that counts the blocks the loader appended."""

    def __init__(self, max_chars: int) -> None:
        super().__init__(max_chars)
        self.blocks = 0

    def add(self, text: str) -> None:
        self.blocks += 1
        super().add(text)


def test_extraction_stops_at_the_cap_instead_of_building_the_whole_text() -> None:
    data = paragraphs_docx(5_000)  # 450,000 characters
    budget = CountingBudget(CAP)
    with pytest.raises(LoadError):
        load_docx(data, "gros", budget)
    assert budget.blocks <= CAP // len(PARAGRAPH.strip()) + 2, f"{budget.blocks} of 5,000 paragraphs read"
    assert budget.used <= CAP


def test_a_docx_of_tens_of_thousands_of_paragraphs_is_read_in_seconds() -> None:
    # python-docx looked each paragraph's default style up among all the styles: 1 ms a paragraph
    started = time.monotonic()
    document = load_docx(paragraphs_docx(20_000), "long")
    assert time.monotonic() - started < 5, "it took 24 s"
    assert document.text.count("chaque trimestre") == 20_000


def test_the_worker_refuses_an_amplifying_docx_quickly_and_sends_no_text_back(tmp_path: Path) -> None:
    path = tmp_path / "amplifie.docx"
    path.write_bytes(paragraphs_docx(5_000))
    assert path.stat().st_size < 100_000  # 450,000 characters of text
    with IsolatedReader(LoadOptions(max_text_chars=CAP)) as reader:
        started = time.monotonic()
        with pytest.raises(LoadError, match="ASSISTANT_MAX_TEXT_CHARS"):
            reader.read(path)
        assert time.monotonic() - started < 10


def test_a_file_of_too_many_passages_is_refused_before_any_is_embedded(tmp_path: Path, sqlite_state: IndexState) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.docx").write_bytes(paragraphs_docx(400))  # 36,000 characters: about 70 passages
    (docs / "rapport.docx").write_bytes(make_docx(REPORT))
    (docs / "tres-long.docx").write_bytes(paragraphs_docx(3_000))  # 270,000 characters: past the text cap
    embedder = HashEmbedder()
    indexer = Indexer(
        docs,
        sqlite_state,
        Store.open(tmp_path / "data"),
        embedder,
        load_options=LoadOptions(max_text_chars=100_000),
        max_chunks=50,
    )
    report = indexer.sync()
    failed = {f["source"]: f["error"] for f in report.failed}
    assert set(failed) == {"long.docx", "tres-long.docx"}
    assert failed["long.docx"].startswith("fichier refusé : ")
    assert "passages à indexer, plus que la limite de 50" in failed["long.docx"]
    assert "ASSISTANT_MAX_CHUNKS_PER_FILE" in failed["long.docx"]
    assert "plus de 100\u202f000 caractères" in failed["tres-long.docx"]
    assert report.added == ["rapport.docx"]
    assert embedder.embedded == report.chunks_total < 10, "nothing of the refused files was embedded"
    assert indexer.sync().failed == report.failed, "a refused file is tried again (raise the setting and it is indexed)"

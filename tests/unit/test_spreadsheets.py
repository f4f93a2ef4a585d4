"""Spreadsheets (.xlsx, .ods, .csv): read as tables, each chunk under its header and named by its sheet and rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from assistant.retrieval import format_location
from index.chunking import Chunk, split_document
from index.loaders import LoadedDocument, LoadError, LoadOptions, load_bytes
from tests.documents import convert_with_libreoffice, make_ods, make_xlsx, soffice

POSTS = [f"Mission d'expertise {n}" for n in range(1, 41)]  # rows 4 to 43 of the Budget sheet
AMOUNTS = [1000 + 50 * n for n in range(1, 41)]
TOTAL = sum(AMOUNTS)  # 81,000: the Total row's formula, cached
DUE = dt.date(2024, 12, 31)


def budget_rows(formula: object) -> list[list[object]]:
    """A budget as staff lay one out: a title, a blank row, column names, rows, a total; column C left empty."""
    rows: list[list[object]] = [["Budget prévisionnel 2025"], [], ["Poste", "Montant", None, "Échéance", "Part"]]
    rows += [[post, amount, None, DUE, 0.025] for post, amount in zip(POSTS, AMOUNTS, strict=True)]
    rows.append(["Total", formula])
    return rows


PARTNERS = [["Nom", "Ville", "Pays"], ["Hôpital Bach Mai", "Hanoï", "Viêt Nam"], ["CHU de Hué", "Hué", "Viêt Nam"]]
HEADER = "Budget prévisionnel 2025\nPoste | Montant | Échéance | Part"


def chunks_of(document: LoadedDocument, size: int = 300) -> list[Chunk]:
    return split_document(document, "h", size, 60)


def rows_named(chunk: Chunk) -> tuple[int, int]:
    numbers = [int(n) for n in re.findall(r"\d+", chunk.section)]
    return numbers[0], numbers[-1]


def assert_budget_read(document: LoadedDocument, percent: str) -> None:
    assert document.unit == "sheet"
    assert document.title == "Budget prévisionnel 2025", "a lone title above the column names names the document"
    budget = document.pages[0]
    assert budget.text.startswith(HEADER + "\nMission d'expertise 1 | 1050 | 31/12/2024 | " + percent)
    assert "45657" not in budget.text and "00:00" not in budget.text, "a date reads as a date"
    assert f"Total | {TOTAL}" in budget.text, "a formula reads as the value saved with it"
    assert "|  |" not in budget.text, "a column without text anywhere is left out"
    chunks = [c for c in chunks_of(document) if c.page == budget.number]
    assert len(chunks) > 3
    expected_first = 4
    for chunk in chunks:
        assert chunk.text.startswith(HEADER + "\n"), "every chunk starts with the header"
        assert chunk.unit == "sheet" and chunk.section.startswith("Feuille Budget, ligne")
        first, last = rows_named(chunk)
        assert first == expected_first, "chunks follow each other row by row, none lost"
        expected_first = last + 1
        body = chunk.text[len(HEADER) + 1 :]
        assert body == budget.text[chunk.start : chunk.end], "the rows are the page's own text"
        rows_in_chunk = body.split("\n")
        assert len(rows_in_chunk) == last - first + 1, "the location names exactly the rows the chunk holds"
        for line, number in zip(rows_in_chunk, range(first, last + 1), strict=True):
            if number <= 43:
                assert line.startswith(POSTS[number - 4] + " | ")
    assert expected_first == 45, "the last chunk ends with the Total row (44)"
    assert (
        format_location(chunks[0].page, chunks[0].section, False, "sheet")
        == f"Feuille Budget, lignes 4–{rows_named(chunks[0])[1]}"
    )


def test_xlsx_sheets_are_read_as_tables_with_cached_formulas_and_dates() -> None:
    data = make_xlsx(
        {"Budget": budget_rows("=SUM(B4:B43)"), "Partenaires": PARTNERS, "Calculs": [["Coefficient interne", 0.42]]},
        cached={("Budget", "B44"): TOTAL},
        formats={**{("Budget", f"E{row}"): "0.0%" for row in range(4, 44)}},
        hidden=["Calculs"],
    )
    document = load_bytes(data, "budget.xlsx")
    assert_budget_read(document, "2.5 %")
    assert [p.sheet.name for p in document.pages if p.sheet] == ["Budget", "Partenaires"], "a hidden sheet is not read"
    partners = chunks_of(document)[-1]
    assert partners.section == "Feuille Partenaires, lignes 2–3", "a chunk never spans two sheets"
    assert partners.text == "Nom | Ville | Pays\nHôpital Bach Mai | Hanoï | Viêt Nam\nCHU de Hué | Hué | Viêt Nam"


def test_ods_sheets_are_read_as_tables_past_libreoffice_s_repeated_rows_and_cells() -> None:
    rows = budget_rows(("formula", "SUM([.B4:.B43])", TOTAL, str(TOTAL)))
    rows[5][0] = ("note", POSTS[2], "Commentaire de relecture à ne pas indexer")
    rows = [
        [float(c) if isinstance(c, int) else (("percentage", 0.025, "2,5 %") if c == 0.025 else c) for c in row] for row in rows
    ]
    data = make_ods(
        {"Budget": rows, "Partenaires": PARTNERS, "Calculs": [["Coefficient interne"]]},
        hidden=["Calculs"],
        repeated={"Partenaires": {2: 2}},  # the CHU de Hué row twice, stored once
    )
    document = load_bytes(data, "budget.ods")
    assert_budget_read(document, "2,5 %")
    assert "Commentaire de relecture" not in document.text, "a comment on a cell is not its content"
    assert [p.sheet.name for p in document.pages if p.sheet] == ["Budget", "Partenaires"]
    sheet = document.pages[1].sheet
    assert sheet is not None and sheet.rows == (2, 3, 4), "a row stored once with a repeat count is each of its rows"
    assert document.pages[1].text.count("CHU de Hué | Hué | Viêt Nam") == 2


@pytest.mark.skipif(soffice() is None, reason="LibreOffice absent: scripts/setup-test.sh installs it")
def test_workbooks_saved_by_libreoffice_calc_read_the_values_it_calculated() -> None:
    # openpyxl saves the total's formula without a value: Calc calculates it and saves it with the file
    data = make_xlsx({"Budget": budget_rows("=SUM(B4:B43)"), "Partenaires": PARTNERS})
    ods = convert_with_libreoffice(data, ".xlsx", "ods")
    for document in (load_bytes(ods, "budget.ods"), load_bytes(convert_with_libreoffice(ods, ".ods", "xlsx"), "budget.xlsx")):
        assert document.title == "Budget prévisionnel 2025"
        assert document.pages[0].text.startswith(HEADER + "\nMission d'expertise 1 | 1050 | ")
        assert f"Total | {TOTAL}" in document.pages[0].text
        assert [c.section for c in chunks_of(document)][-1] == "Feuille Partenaires, lignes 2–3"


def test_csv_from_french_excel_semicolons_windows_1252() -> None:
    lines = ["Poste;Montant;Échéance", *[f"{post};{amount},50;31/12/2024" for post, amount in zip(POSTS, AMOUNTS, strict=True)]]
    data = ("\r\n".join(lines) + "\r\n").encode("cp1252")
    document = load_bytes(data, "budget.csv")
    assert document.unit == "sheet" and document.title == "budget"
    assert document.pages[0].text.startswith("Poste | Montant | Échéance\nMission d'expertise 1 | 1050,50 | 31/12/2024")
    chunks = chunks_of(document)
    assert all(c.text.startswith("Poste | Montant | Échéance\n") for c in chunks)
    assert (
        chunks[0].section.startswith("Lignes 2–") and format_location(1, chunks[0].section, False, "sheet") == chunks[0].section
    )
    assert rows_named(chunks[-1])[1] == 41


def test_a_header_of_years_and_a_sheet_without_header() -> None:
    years = make_xlsx({"Suivi": [["Poste", 2024, 2025], ["Missions", 12000, 15000], ["Formations", 8000, 9500]]})
    assert load_bytes(years, "suivi.xlsx").pages[0].sheet.header == 1  # type: ignore[union-attr]
    figures = make_xlsx({"Relevés": [[1, 2, 3], [4, 5, 6]]})
    page = load_bytes(figures, "releves.xlsx").pages[0]
    assert page.sheet is not None and (page.sheet.header, page.sheet.rows) == (0, (1, 2))


def test_a_row_longer_than_a_chunk_is_cut_under_the_header_and_named_by_its_row() -> None:
    long = " ".join(["Le comité de pilotage valide le calendrier des missions."] * 20)
    document = load_bytes(make_xlsx({"Notes": [["Date", "Compte rendu"], ["01/02/2025", long]]}), "notes.xlsx")
    chunks = chunks_of(document)
    assert len(chunks) > 2
    assert all(c.text.startswith("Date | Compte rendu\n") and c.section == "Feuille Notes, ligne 2" for c in chunks)
    assert all(len(c.text) <= 300 for c in chunks)


def test_too_many_rows_are_refused_with_the_setting_named() -> None:
    data = ("Nom;Ville\r\n" + "Hôpital Bach Mai;Hanoï\r\n" * 200).encode("cp1252")
    with pytest.raises(LoadError, match=r"plus de 100 lignes de tableau.*ASSISTANT_MAX_ROWS"):
        load_bytes(data, "partenaires.csv", LoadOptions(max_rows=100))
    assert len(load_bytes(data, "partenaires.csv", LoadOptions(max_rows=201)).pages[0].sheet.rows) == 200  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"PK\x03\x04 pas un classeur", "b.xlsx", "classeur Excel illisible"),
        (b"PK\x03\x04 rien", "b.ods", "illisible ou corrompu"),
    ],
)
def test_broken_workbooks_say_what_to_do(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_bytes(data, name)


def test_empty_sheets_say_so() -> None:
    with pytest.raises(LoadError, match="aucun texte"):
        load_bytes(make_xlsx({"Feuil1": [[None, None], []]}), "vide.xlsx")


def test_a_csv_that_the_csv_module_cannot_read_says_what_to_do() -> None:
    with pytest.raises(LoadError, match="fichier CSV illisible : réenregistrez-le"):
        load_bytes(b'Nom;Note\r\nBach Mai;"' + b"x" * 200_000 + b'"\r\n', "notes.csv")  # a field past the csv module's limit

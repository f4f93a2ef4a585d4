"""What an upload's bytes must be for its name: spreadsheets among the formats checked by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.documents import make_ods, make_pdf, make_xlsx
from web.uploads import content_problem

PARTNERS = [["Nom", "Ville"], ["Hôpital Bach Mai", "Hanoï"]]


def written(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("partenaires.xlsx", make_xlsx({"Partenaires": PARTNERS})),
        ("partenaires.ods", make_ods({"Partenaires": PARTNERS})),
        ("partenaires.csv", "Nom;Ville\r\nHôpital Bach Mai;Hanoï\r\n".encode("cp1252")),
    ],
    ids=["xlsx", "ods", "csv"],
)
def test_spreadsheets_whose_content_matches_their_name_are_accepted(tmp_path: Path, name: str, data: bytes) -> None:
    assert content_problem(written(tmp_path, name, data), Path(name).suffix) is None


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("budget.ods", make_xlsx({"Budget": PARTNERS}), "pas à un fichier OpenDocument classeur"),
        ("budget.xlsx", make_pdf(["Budget"]), "pas à un fichier Excel"),
        ("budget.csv", make_xlsx({"Budget": PARTNERS}), "ce n'est pas un fichier texte"),
    ],
    ids=["xlsx-named-ods", "pdf-named-xlsx", "xlsx-named-csv"],
)
def test_a_file_named_as_a_spreadsheet_that_is_something_else_is_refused(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    assert problem in (content_problem(written(tmp_path, name, data), Path(name).suffix) or "")

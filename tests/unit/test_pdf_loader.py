"""The PDF loader on small generated PDFs: clean text, page numbers, sections from the outline, failures."""

from __future__ import annotations

import pytest

from index.loaders import LoadError, load_bytes
from index.loaders.pdf import find_heading, load_pdf
from tests.documents import make_pdf

BODIES = [
    ["Le programme forme des infirmières.", "La durée maxi-", "male du stage est de six semaines."],
    ["Les relations franco-", "chinoises en santé datent de 1964.", "Elles reposent sur des accords."],
    ["Le budget atteint 2,4 millions d'euros.", "Il couvre quatre années.", "Un audit est prévu."],
    ["Trois hôpitaux sont partenaires.", "Chacun désigne un référent.", "Les conventions durent trois ans."],
]


def report(outline: list[tuple[str, int]] = ()) -> bytes:  # type: ignore[assignment]
    pages = []
    for i, body in enumerate(BODIES):
        heading = ["1. Formation"] if i == 0 else ["2. Financement"] if i == 2 else []
        pages.append(["Programme Mékong Santé - Rapport 2024", *heading, *body, f"Page {i + 1}"])
    return make_pdf(pages, outline)


def test_running_header_and_page_numbers_leave_the_text_but_pages_keep_their_number() -> None:
    document = load_bytes(report(), "rapport.pdf")
    assert [p.number for p in document.pages] == [1, 2, 3, 4]
    for page in document.pages:
        assert "Programme Mékong Santé" not in page.text
        assert "Page " not in page.text
    assert (
        document.pages[3].text
        == "Trois hôpitaux sont partenaires.\nChacun désigne un référent.\nLes conventions durent trois ans."
    )


def test_words_cut_at_line_ends_are_joined_and_compounds_keep_their_hyphen() -> None:
    document = load_bytes(report(), "rapport.pdf")
    assert "La durée maximale du stage est de six semaines." in document.pages[0].text
    assert "Les relations franco-chinoises en santé datent de 1964." in document.pages[1].text


def test_sections_come_from_the_outline_and_point_at_their_heading() -> None:
    document = load_bytes(report([("Formation", 0), ("Financement", 2)]), "rapport.pdf")
    first, third = document.pages[0], document.pages[2]
    assert [s.title for s in first.sections] == ["1. Formation"]  # the printed number joins the bookmark's title
    assert first.text[first.sections[0].start :].startswith("1. Formation")
    assert third.text[third.sections[0].start :].startswith("2. Financement")
    assert document.pages[1].sections == ()


def test_without_outline_numbered_heading_lines_become_sections() -> None:
    document = load_bytes(report(), "rapport.pdf")
    assert [s.title for s in document.pages[2].sections] == ["2. Financement"]


def test_a_page_without_text_layer_comes_back_empty_for_the_ocr_step() -> None:
    document = load_pdf(make_pdf([["Une page de texte."], [], ["Encore du texte."]]), "mixte")
    assert [p.text for p in document.pages] == ["Une page de texte.", "", "Encore du texte."]


def test_title_from_metadata_then_first_bookmark() -> None:
    assert load_bytes(make_pdf([["Du texte ici."]], title="Rapport annuel"), "x.pdf").title == "Rapport annuel"
    with_outline = make_pdf([["Note de cadrage", "Du texte ici, assez long."]], outline=[("Note de cadrage", 0)])
    assert load_bytes(with_outline, "x.pdf").title == "Note de cadrage"


def test_password_protected_and_corrupt_pdfs_say_what_to_do() -> None:
    with pytest.raises(LoadError, match="mot de passe"):
        load_bytes(make_pdf([["secret"]], password="motdepasse"), "secret.pdf")
    with pytest.raises(LoadError, match="corrompu"):
        load_bytes(report()[:400], "tronque.pdf")


def test_find_heading_prefers_a_line_start_and_tolerates_line_breaks() -> None:
    text = "Voir la mise à jour plus loin.\n4.2 Mise à\njour du paquet\nTexte."
    assert find_heading(text, "Mise à jour du paquet") == (31, "4.2 Mise à jour du paquet")
    assert find_heading(text, "absent") is None


def test_find_heading_matches_typographic_apostrophes() -> None:
    text = "Suite du texte.\n7.9 Que signifie qu’un paquet dépend d’un autre ?\nLe système…"
    assert find_heading(text, "Que signifie qu'un paquet dépend d'un autre ?") == (
        16,
        "7.9 Que signifie qu'un paquet dépend d'un autre ?",
    )

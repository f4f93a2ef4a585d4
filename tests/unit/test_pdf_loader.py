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


# -- Beamer overlays -------------------------------------------------------------------------------
ITEMS = [
    "Crédits du ministère de la santé : 120 000 euros en 2025.",
    "Part des hôpitaux partenaires : un tiers des dépenses de mission.",
    "Audit financier prévu en juin avec le comité de pilotage.",
]


def beamer_deck(labels: bool = True) -> bytes:
    """Pages as Beamer typesets a deck: frame 2 revealed in three steps (\\pause: covered items are not
    drawn), frame 3 whose second step replaces a line (\\only), a footline with the page's number."""
    frames = [
        ("1", ["Programme Mékong Santé", "Bilan de la coopération 2025"]),
        *[("2", ["Budget de la coopération", *ITEMS[:step]]) for step in (1, 2, 3)],
        ("3", ["Calendrier", "Mission à Hué en juin pour évaluer les formations."]),
        ("3", ["Calendrier", "Mission à Hanoï en octobre pour signer la convention."]),
        ("4", ["Contacts", "Secrétariat de la coopération internationale du CHU de Bordeaux."]),
    ]
    pages = [[*lines, f"CHU de Bordeaux - Coopération internationale - {n}"] for n, (_, lines) in enumerate(frames, start=1)]
    return make_pdf(pages, outline=[("Budget", 1)], labels=[label for label, _ in frames] if labels else ())


@pytest.mark.parametrize("labels", [True, False], ids=["page-labels", "text-only"])
def test_beamer_overlay_steps_keep_the_fullest_page_only(labels: bool) -> None:
    document = load_bytes(beamer_deck(labels), "bilan.pdf")
    assert [p.number for p in document.pages] == [1, 4, 5, 6, 7], "frame 2's first two steps are left out, numbers kept"
    budget = document.pages[1]
    assert all(item in budget.text for item in ITEMS), "the kept page is the last, fullest step"
    assert document.text.count("Crédits du ministère") == 1, "one copy of the slide in the index, not three"
    assert [s.title for s in budget.sections] == ["Budget"], "a bookmark to the first step leads to the kept page"
    assert "Hué" in document.text and "Hanoï" in document.text, "a step that replaces text (\\only) is kept"


def test_consecutive_pages_of_a_report_sharing_a_running_header_are_all_kept() -> None:
    document = load_bytes(report(), "rapport.pdf")
    assert [p.number for p in document.pages] == [1, 2, 3, 4]
    header = ["Programme Mékong Santé - Rapport 2024 - Direction des affaires internationales"]
    labelled = make_pdf([[*header, *body] for body in BODIES], labels=["1", "1", "1", "1"])  # even under one label
    assert [p.number for p in load_bytes(labelled, "rapport.pdf").pages] == [1, 2, 3, 4]


def test_pages_without_text_are_never_taken_for_overlay_steps() -> None:
    from index.loaders.overlays import kept_pages

    assert kept_pages(["", "Calendrier des missions"], ["2", "2"]) == [0, 1], "an empty page waits for the OCR step"
    assert kept_pages(["Calendrier", "Calendrier des missions"], ["", ""]) == [0, 1], "too short to be sure without labels"
    assert kept_pages(["Calendrier", "Calendrier des missions"], ["2", "2"]) == [1]

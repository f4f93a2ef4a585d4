"""Clean-up of extracted page text: one test (or more) per rule, on small texts."""

from __future__ import annotations

import time

from index.loaders.cleanup import (
    clean_pages,
    normalize_characters,
    remove_running_lines,
    repair_document_hyphenation,
    repair_hyphenation,
)

WORDS = frozenset({"maximale", "coopération", "hôpital", "chinoises", "franco", "la", "durée", "est"})


def test_ligatures_and_compatibility_characters_become_letters() -> None:
    assert normalize_characters("ﬁnancement ﬂux eﬃcace ﬀ") == "financement flux efficace ff"


def test_decomposed_accents_are_composed_and_soft_hyphens_dropped() -> None:
    text = normalize_characters("coope\u0301ration sante\u0301 h\u00f4pi\u00adtal")
    assert text == "coopération santé hôpital"


def test_no_break_spaces_of_french_typography_are_kept() -> None:
    # the viewer and the evidence normalization both know them: they are what the page holds
    assert normalize_characters("Budget\u202f: 2,4\u00a0M€") == "Budget\u202f: 2,4\u00a0M€"


def test_pdfium_line_end_hyphen_mark_and_carriage_returns() -> None:
    assert normalize_characters("maxi\x02\r\nmale") == "maxi-\nmale"
    assert normalize_characters("franco\ufffechinoises") == "franco-\nchinoises"  # PDFium joins the lines


BODY = ["Les partenaires", "La convention", "Le budget", "Les formations", "Les équipements", "Le calendrier"]


def pages_with_header(n: int) -> list[str]:
    return [
        f"Guide du jumelage hospitalier\nChapitre {1 + i // 3}. Partenaires\n{BODY[i]} sont décrits ici.\n"
        f"{BODY[i]} : suite du texte.\n{i + 1}"
        for i in range(n)
    ]


def test_running_header_and_page_numbers_are_removed() -> None:
    cleaned = remove_running_lines(pages_with_header(6))
    for i, page in enumerate(cleaned):
        assert "Guide du jumelage hospitalier" not in page
        assert not page.rstrip().endswith(f"\n{i + 1}")
        assert page == f"{BODY[i]} sont décrits ici.\n{BODY[i]} : suite du texte."


def test_chapter_headers_repeating_on_their_chapter_pages_are_removed() -> None:
    cleaned = remove_running_lines(pages_with_header(6))
    assert not any("Chapitre" in page for page in cleaned)


def test_a_line_that_does_not_repeat_stays_even_at_the_top() -> None:
    pages = [f"Titre unique {word}\ncorps {word}\nfin {word}" for word in ["alpha", "beta", "gamma", "delta"]]
    assert remove_running_lines(pages) == pages


def test_repeated_lines_in_the_middle_of_pages_are_kept() -> None:
    middle = "Voir l'annexe B."
    pages = [f"début {i}\nsuite {i}\nencore {i}\n{middle}\nplus loin {i}\npresque {i}\nfin {i}\nbas {i}" for i in range(5)]
    assert all(middle in page for page in remove_running_lines(pages))


def test_single_page_documents_keep_everything() -> None:
    assert remove_running_lines(["Rapport\n1"]) == ["Rapport\n1"]


def test_hyphenation_is_repaired_when_the_joined_word_is_a_word() -> None:
    text = "La durée maxi-\nmale est fixée."
    assert repair_hyphenation(text, WORDS.__contains__) == "La durée maximale est fixée."


def test_real_compounds_keep_their_hyphen() -> None:
    text = "les relations franco-\nchinoises en santé"
    assert repair_hyphenation(text, WORDS.__contains__) == "les relations franco-chinoises en santé"


def test_the_documents_own_words_decide_when_the_word_list_does_not_know() -> None:
    pages = ["Le protocole Mékongsanté est signé.", "Le protocole Mékong-\nsanté prévoit trois volets."]
    assert repair_document_hyphenation(pages, frozenset())[1] == "Le protocole Mékongsanté prévoit trois volets."


def test_a_compound_the_document_spells_with_its_hyphen_keeps_it() -> None:
    pages = ["Le logiciel dpkg-buildpackage construit le paquet.", "Lancez dpkg-\nbuildpackage ensuite."]
    assert repair_document_hyphenation(pages, frozenset({"dpkgbuildpackage"}))[1] == "Lancez dpkg-buildpackage ensuite."


def test_clean_pages_runs_every_step() -> None:
    pages = [
        f"Rapport annuel\nEn {2020 + i}, la durée maxi-\nmale du ﬁnancement {w}.\nPage {i + 1}" for i, w in enumerate("ABCD")
    ]
    cleaned = clean_pages(pages, WORDS | {"financement"})
    assert cleaned[2] == "En 2022, la durée maximale du financement C."


def test_clean_up_is_linear_on_large_inputs() -> None:
    page = ("mot " * 50 + "-\n") * 5000 + " " * 1_000_000  # hyphens, line ends and a 1 MB run of spaces
    started = time.perf_counter()
    clean_pages([page, page], WORDS)
    assert time.perf_counter() - started < 10


def test_a_sections_running_header_on_two_pages_in_a_row_is_removed() -> None:
    pages = [
        "Introduction du guide\nLe texte commence ici.\nIl continue.",
        "7.9 QUE SIGNIFIE DÉPENDRE …\nLe paquet A dépend du paquet B.\nSuite.",
        "7.9 QUE SIGNIFIE DÉPENDRE …\nUne version minimale est exigée.\nFin.",
        "Annexe\nAutre chose.\nEncore.",
    ]
    cleaned = remove_running_lines(pages)
    assert cleaned[1] == "Le paquet A dépend du paquet B.\nSuite."
    assert cleaned[2] == "Une version minimale est exigée.\nFin."
    assert cleaned[0] == pages[0] and cleaned[3] == pages[3]

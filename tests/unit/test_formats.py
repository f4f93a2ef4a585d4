"""Office documents, slide decks, e-books and scans: the text a person sees, with the location they would cite."""

from __future__ import annotations

import io
import re

import pytest

from assistant.retrieval import format_location
from index.chunking import split_document
from index.loaders import LoadedDocument, LoadError, LoadOptions, load_bytes
from index.loaders.ocr import DISABLED
from tests.documents import (
    SLIDES,
    convert_with_libreoffice,
    convert_with_pandoc,
    make_docx,
    make_epub,
    make_ods,
    make_odt_odfpy,
    make_odt_pandoc_like,
    make_pdf,
    make_pptx,
    make_scanned_pdf,
    make_xlsx,
    pandoc,
    soffice,
    zip_bomb,
)

needs_office = pytest.mark.skipif(soffice() is None, reason="LibreOffice absent: scripts/setup-test.sh installs it")
needs_pandoc = pytest.mark.skipif(pandoc() is None, reason="pandoc absent: scripts/setup-test.sh installs it")

REPORT_MARKDOWN = """---
title: Rapport de coopération
---

# 1. Contexte de la coopération

Le CHU de Bordeaux coopère avec l'hôpital de Xiamen depuis 2005.

| Année | Internes | Budget |
|-------|----------|--------|
| 2024  | 42       | 15 000 € |

# 2. Résultats

Quarante-deux internes ont été accueillis en 2024.

- Premier point de la liste
- Second point de la liste
"""


def section_at(document: LoadedDocument, needle: str) -> str:
    """The section in force where ``needle`` starts, as the chunker sees it."""
    chunks = split_document(document, "h", 80, 0)  # small chunks: one per block or so
    hit = next(c for c in chunks if needle in c.text)
    return hit.section


def assert_report_read(document: LoadedDocument) -> None:
    text = document.text
    assert "Le CHU de Bordeaux coopère avec l'hôpital de Xiamen depuis 2005." in text
    assert "Année | Internes | Budget\n2024 | 42 | 15 000 €" in text, "a table is read row by row, a figure beside its label"
    # reading order: the table sits between the paragraph before it and the heading after it
    assert text.index("Xiamen") < text.index("15 000 €") < text.index("2. Résultats")
    assert section_at(document, "Xiamen") == "1. Contexte de la coopération"
    assert section_at(document, "15 000 €") == "1. Contexte de la coopération"
    assert section_at(document, "Quarante-deux") == "2. Résultats"
    for page in document.pages:
        for section in page.sections:
            assert page.text[section.start :].startswith(section.title), "a section starts at its heading"


def test_docx_headings_are_sections_and_tables_stay_in_place() -> None:
    document = load_bytes(make_docx(), "rapport.docx")
    assert document.title == "Rapport de coopération"
    assert_report_read(document)


def test_docx_merged_cells_are_read_once() -> None:
    import docx

    d = docx.Document()
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Partenaires"
    table.cell(0, 2).text = "Ville"
    table.cell(1, 0).text = "CHU"
    table.cell(1, 1).text = "Bach Mai"
    table.cell(1, 2).text = "Hanoï"
    buf = io.BytesIO()
    d.save(buf)
    assert load_bytes(buf.getvalue(), "t.docx").text == "Partenaires | Ville\nCHU | Bach Mai | Hanoï"


@pytest.mark.parametrize("maker", ["odfpy", pytest.param("libreoffice", marks=needs_office)])
def test_odt_headings_are_sections(maker: str) -> None:
    data = make_odt_odfpy() if maker == "odfpy" else convert_with_libreoffice(make_docx(), ".docx", "odt")
    document = load_bytes(data, "rapport.odt")
    assert_report_read(document)
    if maker == "libreoffice":
        assert document.title == "Rapport de coopération", "the Title paragraph style names the document"
    else:
        assert "Premier point de la liste\n\nSecond point de la liste" in document.text, "list items are read"


@pytest.mark.parametrize("maker", ["pandoc-like", pytest.param("pandoc", marks=needs_pandoc)])
def test_odt_written_by_pandoc_is_read_and_nothing_is_printed(maker: str, capfd: pytest.CaptureFixture[str]) -> None:
    data = make_odt_pandoc_like() if maker == "pandoc-like" else convert_with_pandoc(REPORT_MARKDOWN)
    document = load_bytes(data, "rapport.odt")
    assert capfd.readouterr() == ("", ""), "a loader never prints a document's content to the console"
    assert_report_read(document)
    assert document.title == "Rapport de coopération"
    assert "Premier point de la liste\n\nSecond point de la liste" in document.text, "list items are read"


def test_the_pandoc_like_odt_trips_odfpy_s_own_loader_as_pandoc_s_do(capfd: pytest.CaptureFixture[str]) -> None:
    """Why the loader reads content.xml itself: odfpy's ``load`` finds no text and prints styles.xml."""
    from odf.opendocument import load

    document = load(io.BytesIO(make_odt_pandoc_like()))
    assert document.text.nodeType == document.text.TEXT_NODE and not document.text.data.strip(), (
        "the body's first child is the line break before <office:text>"
    )
    assert "SAX FAILED TO PARSE" in capfd.readouterr().out, "styles.xml with one namespace per line fails in odfpy"


def assert_deck_read(document: LoadedDocument) -> None:
    assert document.unit == "slide"
    assert [p.number for p in document.pages] == [1, 2, 3, 4]
    assert document.title == "Programme franco-vietnamien"
    for page, (title, bullets, notes) in zip(document.pages, SLIDES, strict=False):
        assert [s.title for s in page.sections] == [title]
        assert page.text.startswith(title)
        for bullet in bullets:
            assert bullet in page.text
        if notes:
            assert f"Notes de l'orateur :\n{notes}" in page.text, "speaker notes are part of their slide"
    assert "<number>" not in document.text and "Indicateur | Valeur\nInternes | 42" in document.pages[3].text
    chunks = split_document(document, "h", 600, 90)
    budget = next(c for c in chunks if "120 000 €" in c.text)
    assert format_location(budget.page, budget.section, budget.ocr, budget.unit) == "diapo 2 · Budget"


def test_pptx_one_page_per_slide_with_its_title_and_notes() -> None:
    assert_deck_read(load_bytes(make_pptx(table=[["Indicateur", "Valeur"], ["Internes", "42"]]), "programme.pptx"))


@needs_office
def test_odp_written_by_an_office_suite() -> None:
    pptx = make_pptx(table=[["Indicateur", "Valeur"], ["Internes", "42"]])
    assert_deck_read(load_bytes(convert_with_libreoffice(pptx, ".pptx", "odp"), "programme.odp"))


def test_epub_chapters_are_sections_in_reading_order() -> None:
    data = make_epub(
        [
            ("Chapitre 1 : Origines", "Les origines", "La coopération débute en 1993 avec l'hôpital Viet Duc."),
            ("Chapitre 2 : Hanoï", "À Hanoï", "L'hôpital Bach Mai accueille douze internes chaque année."),
        ]
    )
    document = load_bytes(data, "guide.epub")
    assert document.title == "Guide de la coopération hospitalière"
    text = document.text
    assert "Fin du chapitre 1." in text, "inline markup (<em>) does not break words or lines"
    assert text.index("1993") < text.index("douze internes"), "chapters come in spine order"
    assert "Chapitre 1 : Origines\n" not in text, "the navigation page (a table of contents) is not indexed"
    assert section_at(document, "1993") == "Chapitre 1 : Origines"
    assert section_at(document, "douze internes") == "Chapitre 2 : Hanoï"


@pytest.mark.parametrize(
    ("suffix", "member"),
    [
        (".docx", "word/document.xml"),
        (".pptx", "ppt/slides/slide1.xml"),
        (".odt", "content.xml"),
        (".xlsx", "xl/worksheets/sheet1.xml"),
        (".ods", "content.xml"),
    ],
)
def test_zip_bomb_is_refused_before_anything_inflates(suffix: str, member: str) -> None:
    sheet = {"Budget": [["Poste", "Montant"], ["Loyer", 1200.0]]}
    valid = {
        ".docx": make_docx,
        ".pptx": make_pptx,
        ".odt": make_odt_odfpy,
        ".xlsx": lambda: make_xlsx(sheet),
        ".ods": lambda: make_ods(sheet),
    }[suffix]()
    bomb = zip_bomb(valid, member, size=2 * 1024**3)
    assert len(bomb) < 5_000_000, "a few MB on disk"
    with pytest.raises(LoadError, match=r"2\u202f14\d Mo .*bombe zip"):
        load_bytes(bomb, f"piege{suffix}")


# -- OCR ----------------------------------------------------------------------------------

SCAN = [
    "Rapport de mission à Hanoï, novembre 2024.",
    "L'hôpital Bach Mai a accueilli douze internes français",
    "pour une formation aux urgences pédiatriques.",
    "Le budget de la coopération s'élève à 120 000 euros,",
    "financé par le ministère et la région Nouvelle-Aquitaine.",
    "Prochaine réunion du comité de pilotage : le 14 mars à Lyon.",
]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_scanned_page_is_read_by_ocr() -> None:
    events: list[tuple[str, int, int]] = []
    document = load_bytes(make_scanned_pdf(SCAN), "scan.pdf", on_event=events.append)
    page = document.pages[0]
    assert page.ocr and page.number == 1
    truth = words(" ".join(SCAN))
    read = set(words(page.text))
    recall = sum(1 for w in truth if w in read) / len(truth)
    assert recall >= 0.95, f"OCR recovered {recall:.0%} of the words: {page.text!r}"
    assert events == [("ocr", 0, 1), ("ocr", 1, 1)], "progress page by page"
    assert document.title.startswith("Rapport de mission"), "a scan's title is read from its text"
    chunk = split_document(document, "h", 600, 90)[0]
    assert format_location(chunk.page, chunk.section, chunk.ocr, chunk.unit) == "p. 1 · texte lu par OCR"


def test_only_pages_without_a_text_layer_are_ocrd() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in (make_pdf(["Page avec une couche texte : accord de 1993"]), make_scanned_pdf(SCAN[:2])):
        writer.append(PdfReader(io.BytesIO(part)))
    buf = io.BytesIO()
    writer.write(buf)
    document = load_bytes(buf.getvalue(), "mixte.pdf")
    assert [p.ocr for p in document.pages] == [False, True]
    assert "accord de 1993" in document.pages[0].text and "Bach Mai" in document.pages[1].text
    # with OCR off, the text pages are indexed and the scanned one is left out
    off = load_bytes(buf.getvalue(), "mixte.pdf", LoadOptions(ocr=False))
    assert not any(p.ocr for p in off.pages) and "Bach Mai" not in off.text


def test_ocr_turned_off_says_so() -> None:
    with pytest.raises(LoadError) as info:
        load_bytes(make_scanned_pdf(SCAN[:1]), "scan.pdf", LoadOptions(ocr=False))
    assert str(info.value) == DISABLED


def test_ocr_languages_that_are_not_installed_are_named() -> None:
    with pytest.raises(LoadError, match=r"OCR non installé pour xyz \(installez tesseract-ocr-xyz\)"):
        load_bytes(make_scanned_pdf(SCAN[:1]), "scan.pdf", LoadOptions(ocr_languages="fra+xyz"))


def test_docx_style_names_are_python_docx_s_own() -> None:
    import docx

    from index.loaders.office import style_namer

    document = docx.Document()
    document.add_paragraph("Titre", style="Title")
    document.add_heading("Partie", 1)
    document.add_paragraph("Texte")
    document.add_paragraph("Point", style="List Bullet")
    document.add_heading("Détail", 3)
    buf = io.BytesIO()
    document.save(buf)
    for data in (buf.getvalue(), make_docx()):
        reread = docx.Document(io.BytesIO(data))
        name = style_namer(reread)
        assert [name(p) for p in reread.paragraphs] == [p.style.name for p in reread.paragraphs]
    assert [name(p) for p in reread.paragraphs][:3] == ["Title", "Heading 1", "Normal"]

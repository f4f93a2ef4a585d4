"""Each format becomes text (with pages where there are pages); bad files say why."""

from __future__ import annotations

import io

import pytest

from index.chunking import split_document
from index.loaders import LoadError, LoadOptions, decode_text, guess_title, load_bytes
from tests.documents import make_pdf


def test_utf8_text_keeps_accents_and_title() -> None:
    doc = load_bytes("Coopération franco-vietnamienne en santé\n\nL’accord de 1993.".encode(), "note.txt")
    assert doc.title == "Coopération franco-vietnamienne en santé"
    assert "L’accord de 1993." in doc.text
    assert doc.pages[0].number is None


def test_windows_1252_text_is_detected() -> None:
    data = "Hôpital de l'amitié Viêt Duc : coopération médicale entre Hanoï et Clermont-Ferrand depuis des années.".encode(
        "cp1252", errors="replace"
    )
    text = decode_text(data)
    assert "Hôpital de l'amitié" in text and "coopération médicale" in text


def test_pdf_pages_are_numbered() -> None:
    doc = load_bytes(make_pdf(["Premiere page sur la cooperation", "Seconde page : accord de 1993"]), "rapport.pdf")
    assert [p.number for p in doc.pages] == [1, 2]
    assert "1993" in doc.pages[1].text
    chunks = split_document(doc, "h", 600, 90)
    assert {c.page for c in chunks} == {1, 2}


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "vide.txt", "vide"),
        (b"   \n\n ", "blanc.md", "vide"),
        (b"\x00\x01\x02\x03garbage\xff\xfe" * 50, "faux.pdf", "corrompu"),
        (b"%PDF-1.4\n%broken\n" + b"\x00" * 100, "tronque.pdf", "corrompu"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07" * 100, "binaire.txt", "binaire"),
        (b"PK\x03\x04 not really a zip", "faux.docx", "Word"),
        (b"data", "image.png", "non pris en charge"),
    ],
)
def test_bad_files_say_why(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_bytes(data, name)


def test_encrypted_pdf_is_refused_with_advice() -> None:
    with pytest.raises(LoadError, match=r"mot de passe|chiffré"):
        load_bytes(make_pdf(["secret"], password="motdepasse"), "secret.pdf")


def test_pdf_without_text_is_read_by_ocr_or_says_why() -> None:
    with pytest.raises(LoadError, match="scanné : l'OCR n'y lit aucun texte"):
        load_bytes(make_pdf(["", ""]), "blanc.pdf")  # blank pages: OCR finds nothing either
    with pytest.raises(LoadError, match="scanné : la lecture par OCR est désactivée"):
        load_bytes(make_pdf(["", ""]), "scan.pdf", LoadOptions(ocr=False))


def test_docx_and_html() -> None:
    import docx

    d = docx.Document()
    d.add_heading("Partenariat hospitalier", level=1)
    d.add_paragraph("Le CHU de Bordeaux coopère avec Xiamen.")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_bytes(buf.getvalue(), "partenariat.docx")
    assert doc.title == "Partenariat hospitalier"
    assert "Xiamen" in doc.text

    html = "<html><head><title>Forum</title><script>alert(1)</script></head><body><h1>Forum franco-chinois</h1><p>Deux jours de conférences.</p></body></html>"
    page = load_bytes(html.encode(), "forum.html")
    assert page.title == "Forum franco-chinois"
    assert "Deux jours de conférences." in page.text and "alert" not in page.text


def test_title_skips_web_boilerplate() -> None:
    assert guess_title("top of page\n\nFrance – Chine : la coopération\n", "x") == "France – Chine : la coopération"

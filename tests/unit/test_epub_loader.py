"""EPUB read from the archive itself (container.xml, the OPF's manifest and spine, the table of contents), without EbookLib.

The books are written here with zipfile, file by file, as e-book editors lay them out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.loaders import LoadError, load_bytes
from index.loaders.epub import load_epub
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.documents import EPUB_CONTAINER, epub_nav, epub_ncx, epub_opf, make_epub, xhtml, zip_bomb, zip_epub
from tests.fakes import HashEmbedder

TITLE = "Coopération hospitalière franco-vietnamienne"
HANOI = "L'hôpital Bach Mai accueille douze internes chaque année ; la cérémonie a lieu à Hà Nội en décembre."
HUE = "À Huế, les élèves infirmières suivent un cursus de spécialité en néonatologie : quinze mois, œuvre commune."
XHTML, NAV, NCX = "application/xhtml+xml", "application/xhtml+xml nav", "application/x-dtbncx+xml"


def epub3(**replace: str | bytes | None) -> bytes:
    """An EPUB 3 under OEBPS/: a navigation page (first in the spine) and two chapters read in a non-alphabetical order.

    ``replace`` overrides members by path (None removes one).
    """
    members: dict[str, str | bytes | None] = {
        "META-INF/container.xml": EPUB_CONTAINER.format(opf="OEBPS/content.opf"),
        "OEBPS/content.opf": epub_opf(
            TITLE,
            [  # the manifest in alphabetical order; the spine reads « b » before « a »
                ("a", "Text/a-hue.xhtml", XHTML),
                ("b", "Text/b-hanoi.xhtml", XHTML),
                ("nav", "nav.xhtml", NAV),
                ("style", "Styles/livre.css", "text/css"),
            ],
            ["nav", "b", "a"],
            toc="",
        ),
        "OEBPS/nav.xhtml": epub_nav(
            "Sommaire", [("Première partie : Hanoï", "Text/b-hanoi.xhtml"), ("Seconde partie : Huế", "Text/a-hue.xhtml#debut")]
        ),
        "OEBPS/Text/b-hanoi.xhtml": xhtml(f"<h1>La capitale</h1><p>{HANOI}</p><h2>Les internes</h2><p>Douze par an.</p>"),
        # no XML declaration: XHTML is UTF-8 unless it says otherwise
        "OEBPS/Text/a-hue.xhtml": xhtml(f'<h1 id="debut">L\'ancienne capitale</h1><p>{HUE}</p>', declaration=False),
        "OEBPS/Styles/livre.css": "p { margin: 0 }",
    }
    members.update(replace)
    return zip_epub({k: v for k, v in members.items() if v is not None})


def section_at(document, needle: str) -> str:  # type: ignore[no-untyped-def]
    for page in document.pages:
        at = page.text.find(needle)
        if at >= 0:
            return next((s.title for s in reversed(page.sections) if s.start <= at), "")
    raise AssertionError(f"{needle!r} not in the document")


def test_chapters_in_spine_order_under_their_table_of_contents_titles() -> None:
    document = load_bytes(epub3(), "livre.epub")
    assert document.title == TITLE, "the title is the OPF's dc:title"
    text = document.text
    assert HANOI in text and HUE in text, "accents (é, à, ế, ộ, œ) read as written, with or without an XML declaration"
    assert text.index(HANOI) < text.index(HUE), "the spine's order, not the manifest's nor the file names'"
    assert "Sommaire" not in text and "Première partie" not in text, "the navigation page is not indexed as content"
    assert "margin" not in text, "a style sheet is not a chapter"
    assert section_at(document, "La capitale") == "Première partie : Hanoï"
    assert section_at(document, HANOI) == "Première partie : Hanoï"
    assert section_at(document, "Douze par an") == "Première partie : Hanoï", (
        "a chapter named by the table of contents keeps one section"
    )
    assert section_at(document, HUE) == "Seconde partie : Huế", "a link to an anchor names its file"
    assert [s.title for s in document.pages[0].sections] == ["Première partie : Hanoï", "Seconde partie : Huế"]
    assert text.startswith("La capitale\n\n" + HANOI)


def test_epub2_table_of_contents_in_its_own_folder_and_headings_of_chapters_it_does_not_name() -> None:
    opf = epub_opf(
        "Rapport 2024",
        [
            ("ncx", "../toc/toc.ncx", NCX),
            ("intro", "Texte/Introduction%20g%C3%A9n%C3%A9rale.xhtml", XHTML),  # an href is a URL: escaped
            ("annexe", "Texte/annexe.xhtml", XHTML),
            ("image", "Images/carte.png", "image/png"),
        ],
        ["intro", "image", "inconnu", "annexe", "intro"],  # an image, an id of nothing and a repeat are skipped
        version="2.0",
    )
    data = zip_epub(
        {
            "livre/content.opf": opf,
            "toc/toc.ncx": epub_ncx(
                "Rapport 2024", [("Introduction", "../livre/Texte/Introduction%20g%C3%A9n%C3%A9rale.xhtml#s1")]
            ),
            "livre/Texte/Introduction générale.xhtml": xhtml("<h1>Objet</h1><p>Le rapport couvre l'année 2024.</p>"),
            "livre/Texte/annexe.xhtml": xhtml(
                "<h2>Annexe A : budget</h2><table><tr><td>Loyer</td><td>1 200 €</td></tr></table>"
                "<h3>Annexe B : calendrier</h3><p>Mission à Hué en juin.</p>"
            ),
        },
        opf="livre/content.opf",
    )
    document = load_bytes(data, "rapport.epub")
    assert document.title == "Rapport 2024"
    assert document.text.count("Le rapport couvre") == 1, "a chapter listed twice in the spine is read once"
    assert section_at(document, "Le rapport couvre") == "Introduction", "the NCX's src is resolved from the NCX's folder"
    assert "Loyer | 1 200 €" in document.text
    assert section_at(document, "Loyer") == "Annexe A : budget", "a chapter the table does not name: its headings"
    assert section_at(document, "Mission à Hué") == "Annexe B : calendrier"


@pytest.mark.parametrize("nav", [None, "<html><body><nav>pas de <b>table", b"\x00\x01"], ids=["missing", "broken", "binary"])
def test_a_missing_or_broken_table_of_contents_leaves_the_chapters_their_headings(nav: str | bytes | None) -> None:
    document = load_bytes(epub3(**{"OEBPS/nav.xhtml": nav}), "livre.epub")
    assert section_at(document, HANOI) == "La capitale"
    assert section_at(document, "Douze par an") == "Les internes"
    assert section_at(document, HUE) == "L'ancienne capitale"


def test_the_tests_books_keep_the_layout_ebooklib_wrote() -> None:
    document = load_epub(make_epub([("Chapitre 1 : Vaccination", "Vaccination", "Trois provinces.")]), "guide")
    assert document.pages[0].text == "Vaccination\n\nTrois provinces.\n\nFin du chapitre 1."
    assert [(s.start, s.title) for s in document.pages[0].sections] == [(0, "Chapitre 1 : Vaccination")]


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE package [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
    '<package xmlns="http://www.idpf.org/2007/opf"><metadata/><manifest/><spine/><x>&c;</x></package>'
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04" + b"\x00" * 200, r"EPUB\) illisible ou corrompu"),
        (b"<html><body>pas une archive</body></html>", r"EPUB\) illisible ou corrompu"),
        (zip_epub({"OEBPS/content.opf": "<package/>"}), r"META-INF/container\.xml\) manque"),
        (epub3(**{"OEBPS/content.opf": None}), r"le fichier OPF \(OEBPS/content\.opf\) manque"),
        (epub3(**{"OEBPS/Text/a-hue.xhtml": None}), r"un chapitre \(OEBPS/Text/a-hue\.xhtml\) manque"),
        (epub3(**{"META-INF/container.xml": "<container><rootfiles/></container>"}), "ne désigne aucun fichier OPF"),
        (epub3(**{"META-INF/container.xml": "<container><rootfiles>"}), r"container\.xml \(son index interne\) est abîmé"),
        (
            epub3(**{"OEBPS/content.opf": '<package xmlns="http://www.idpf.org/2007/opf"><manifest/></package>'}),
            "ordre de lecture",
        ),
        (epub3(**{"OEBPS/content.opf": "<html><body/></html>"}), "n'est pas un fichier OPF"),
        (epub3(**{"OEBPS/content.opf": LAUGHS}), "entités XML"),
    ],
    ids=[
        "truncated-zip",
        "not-a-zip",
        "no-container",
        "no-opf",
        "chapter-missing",
        "no-rootfile",
        "broken-container",
        "no-spine",
        "not-an-opf",
        "billion-laughs",
    ],
)
def test_malformed_books_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason) as info:
        load_bytes(data, "livre.epub")
    assert "livre numérique (EPUB)" in str(info.value)


def test_zip_bomb_is_refused_before_anything_inflates() -> None:
    bomb = zip_bomb(epub3(), "OEBPS/Text/b-hanoi.xhtml", size=2 * 1024**3)
    assert len(bomb) < 5_000_000, "a few MB on disk"
    with pytest.raises(LoadError, match=r"2\u202f14\d Mo .*bombe zip"):
        load_bytes(bomb, "piege.epub")


def test_an_outsized_package_file_is_not_parsed() -> None:
    bomb = zip_bomb(epub3(), "OEBPS/content.opf", size=64 * 1024**2)  # under the archive's cap, far over a real OPF's
    with pytest.raises(LoadError, match=r"le fichier OPF \(OEBPS/content\.opf\) pèse 67 Mo"):
        load_bytes(bomb, "piege.epub")


def test_sync_reports_a_broken_book_and_indexes_the_rest(tmp_path: Path, sqlite_state: IndexState) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "livre.epub").write_bytes(epub3())
    (docs / "casse.epub").write_bytes(epub3(**{"OEBPS/Text/b-hanoi.xhtml": None}))
    indexer = Indexer(docs, sqlite_state, Store.open(tmp_path / "data"), HashEmbedder())
    report = indexer.sync()
    failed = {f["source"]: f["error"] for f in report.failed}
    assert set(failed) == {"casse.epub"}
    assert "un chapitre (OEBPS/Text/b-hanoi.xhtml) manque dans l'archive" in failed["casse.epub"]
    assert report.added == ["livre.epub"]
    assert any("Bach Mai" in c.text for c in indexer.store.chunks(indexer.collection))

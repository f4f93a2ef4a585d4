"""Chunks follow paragraphs and sentences, carry exact offsets and stable ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunking import normalize_layout, split_document
from index.loaders import LoadedDocument, Page, load_bytes

DOC = Path(__file__).resolve().parents[2] / "documents" / "001_178c4dfcf0b6c658.txt"


def test_offsets_point_at_the_chunk_text() -> None:
    doc = load_bytes(DOC.read_bytes(), DOC.name)
    text = normalize_layout(doc.pages[0].text)
    chunks = split_document(doc, "abc", 600, 90)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= 600


def test_chunks_end_at_sentence_or_paragraph_boundaries() -> None:
    doc = load_bytes(DOC.read_bytes(), DOC.name)
    text = normalize_layout(doc.pages[0].text)
    chunks = split_document(doc, "abc", 600, 90)
    for c in chunks[:-1]:
        after = text[c.end : c.end + 1]
        assert after.isspace(), f"cut inside a word: {c.text[-30:]!r}|{text[c.end : c.end + 20]!r}"
        assert c.text.rstrip()[-1] in ".!?…»”" or after == "\n", f"cut inside a sentence: {c.text[-60:]!r}"


def test_ids_are_stable_and_depend_on_content() -> None:
    doc = LoadedDocument("t", (Page(None, "Une phrase. " * 200),))
    first = [c.id for c in split_document(doc, "h1", 600, 90)]
    again = [c.id for c in split_document(doc, "h1", 600, 90)]
    other = [c.id for c in split_document(doc, "h2", 600, 90)]
    assert first == again
    assert not set(first) & set(other)
    assert len(set(first)) == len(first)


def test_a_chunk_never_crosses_a_page() -> None:
    doc = LoadedDocument("t", (Page(1, "Page un. " * 30), Page(2, "Page deux. " * 30)))
    chunks = split_document(doc, "h", 200, 30)
    for c in chunks:
        assert ("un" in c.text) != ("deux" in c.text)
        assert c.page == (1 if "un" in c.text else 2)


def test_chunks_are_exact_substrings_of_the_text() -> None:
    for path in sorted(DOC.parent.iterdir()):
        doc = load_bytes(path.read_bytes(), path.name)
        text = normalize_layout(doc.pages[0].text)
        for c in split_document(doc, "h", 600, 90):
            assert c.text in text and "(?<=" not in c.text


def test_each_chunk_carries_the_section_in_force_where_it_starts() -> None:
    from index.loaders import Section

    intro = "Introduction générale. " * 20
    body = "Le budget du projet est fixé chaque année. " * 20
    page1 = f"{intro}\n\n{body}"
    page2 = "Suite du budget sur la page suivante. " * 10
    doc = LoadedDocument(
        "t",
        (
            Page(1, page1, (Section(0, "1 Introduction"), Section(len(intro) + 2, "2 Budget"))),
            Page(2, page2),  # no heading: the last section goes on
        ),
    )
    chunks = split_document(doc, "h", 300, 30)
    assert {c.section for c in chunks if "Introduction générale" in c.text and c.page == 1} == {"1 Introduction"}
    assert all(c.section == "2 Budget" for c in chunks if c.text.startswith("Le budget"))
    assert all(c.section == "2 Budget" for c in chunks if c.page == 2)


def test_sections_keep_their_place_when_the_layout_is_normalized() -> None:
    from index.loaders import Section, normalize_page

    raw = "Préambule.   \n\n\n\n\nChapitre deux   \nTexte du chapitre."
    page = normalize_page(Page(1, raw, (Section(raw.index("Chapitre"), "Chapitre deux"),)))
    assert page.text[page.sections[0].start :].startswith("Chapitre deux")


@pytest.mark.timeout(60)  # a hang guard, not a speed target: the quadratic regex took tens of minutes here
def test_layout_normalization_is_linear_on_huge_runs_of_spaces() -> None:
    for blank in (" ", "\u00a0"):
        text = "début" + blank * 1_000_000 + "fin\n" + blank * 1_000_000
        out = normalize_layout(text)
        assert out.startswith("début" + blank) and out.endswith("fin")

"""A PDF page drawn as PNG with the quote highlighted where it is printed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from index.render import RenderError, render_page
from tests.documents import make_pdf

LINES = [
    "Le programme forme des infirmières.",
    "La durée maxi-",
    "male du stage est de six semaines.",
    "Le budget atteint 2,4 millions d'euros.",
]
PAGE_HEIGHT = 842  # points; make_pdf draws line i at y = 780 - 16 i, 11 points high, from x = 72


def line_top_px(i: int, scale: float) -> float:
    return (PAGE_HEIGHT - (780 - 16 * i) - 11) * scale


def test_the_highlight_is_where_the_quote_is_printed() -> None:
    pdf = make_pdf([["Page de garde"], LINES])
    rendered = render_page(pdf, 2, "Le budget atteint 2,4 millions d'euros.", max_side=842)
    assert rendered.found and len(rendered.highlights) == 1
    box = rendered.highlights[0]
    scale = rendered.height / PAGE_HEIGHT
    assert abs(box.top - line_top_px(3, scale)) < 6 and box.bottom < line_top_px(4, scale) + 4
    assert abs(box.left - 72 * scale) < 6
    image = Image.open(io.BytesIO(rendered.png)).convert("RGB")
    assert image.size == (rendered.width, rendered.height)
    r, g, b = image.getpixel(((box.left + box.right) // 2, box.top + 2))
    assert r > 200 and g > 180 and b < 150  # yellow, not the white page


def test_a_quote_from_the_cleaned_text_finds_the_hyphenated_print() -> None:
    rendered = render_page(make_pdf([LINES]), 1, "La durée maximale du stage", max_side=842)
    assert rendered.found
    scale = rendered.height / PAGE_HEIGHT
    tops = sorted(b.top for b in rendered.highlights)
    assert len(tops) == 2  # "La durée maxi-" and "male du stage", on two lines
    assert abs(tops[0] - line_top_px(1, scale)) < 6 and abs(tops[1] - line_top_px(2, scale)) < 6


def test_a_quote_that_is_not_on_the_page_draws_the_page_without_highlight() -> None:
    rendered = render_page(make_pdf([LINES]), 1, "Une phrase absente de la page.")
    assert not rendered.found and rendered.highlights == ()
    assert rendered.png.startswith(b"\x89PNG")


def test_size_is_bounded() -> None:
    rendered = render_page(make_pdf([LINES]), 1, "", max_side=500)
    assert max(rendered.width, rendered.height) <= 500


def test_bad_page_numbers_and_files_say_what_to_do() -> None:
    with pytest.raises(RenderError, match="absente"):
        render_page(make_pdf([LINES]), 3)
    with pytest.raises(RenderError, match="corrompu"):
        render_page(b"%PDF-1.4 broken", 1)


def test_a_page_size_inherited_from_the_page_tree_places_the_highlight_right() -> None:
    # LaTeX writes /MediaBox once on the page tree: the highlight must not assume a Letter page
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(io.BytesIO(make_pdf([LINES])))
    writer = PdfWriter(clone_from=reader)
    page = writer.pages[0]
    box = page[NameObject("/MediaBox")]
    del page[NameObject("/MediaBox")]
    writer._root_object["/Pages"][NameObject("/MediaBox")] = box  # type: ignore[index]
    buffer = io.BytesIO()
    writer.write(buffer)
    rendered = render_page(buffer.getvalue(), 1, "Le budget atteint 2,4 millions d'euros.", max_side=842)
    scale = rendered.height / PAGE_HEIGHT
    assert rendered.found and abs(rendered.highlights[0].top - line_top_px(3, scale)) < 6


def test_a_page_too_complex_to_draw_in_time_is_refused() -> None:
    many_lines = [f"Ligne {i}" for i in range(40)]  # 40 text objects
    with pytest.raises(RenderError, match="trop complexe"):
        render_page(make_pdf([many_lines]), 1, max_objects=10)
    assert render_page(make_pdf([many_lines]), 1, max_objects=100).png

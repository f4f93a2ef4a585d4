"""A page that takes hours to draw is given up at the deadline, in a worker; the viewer keeps drawing other pages.

Before: a 4 KB PDF whose forms draw each other (10^9 strokes) was drawn in the web process, for
hours, holding the one PDFium lock every preview waits on. Measured: 10^4 strokes take 1.7 s,
10^5 16 s.
"""

from __future__ import annotations

import threading
import time

import pytest

from index.render import PageRenderer, RenderError, RenderLimits, page_text, render_page
from tests.documents import make_pdf, xobject_bomb_pdf

SECONDS = 2.0
MARGIN = 4.0  # killing the worker, and a slow shared machine
GOOD = make_pdf([["Le budget atteint 2,4 millions d'euros.", "La convention est signée en 2024."]])


@pytest.fixture()
def renderer():  # type: ignore[no-untyped-def]
    renderer = PageRenderer(RenderLimits(seconds=SECONDS, workers=2))
    yield renderer
    renderer.close()


def bomb(text: bool = False) -> bytes:
    pdf = xobject_bomb_pdf(levels=9, fanout=10, text=text)  # 10^9 strokes (or words)
    assert len(pdf) < 5_000
    return pdf


def test_a_page_that_draws_for_hours_is_given_up_at_the_deadline(renderer: PageRenderer) -> None:
    renderer.render(GOOD, 1)  # the workers' start is not what is measured
    started = time.monotonic()
    with pytest.raises(RenderError) as info:
        renderer.render(bomb(), 1)
    elapsed = time.monotonic() - started
    assert SECONDS <= elapsed < SECONDS + MARGIN
    assert "trop longue à dessiner" in str(info.value) and "ASSISTANT_RENDER_TIMEOUT_SECONDS" in str(info.value)
    started = time.monotonic()
    assert renderer.render(GOOD, 1, "Le budget atteint").found, "the next page is drawn (by a fresh worker)"
    assert time.monotonic() - started < MARGIN


def test_other_pages_are_drawn_while_a_hostile_one_is(renderer: PageRenderer) -> None:
    renderer.render(GOOD, 1)
    failures: list[BaseException] = []

    def draw_hostile() -> None:
        try:
            renderer.render(bomb(), 1)
        except RenderError as exc:
            failures.append(exc)

    hostile = threading.Thread(target=draw_hostile)
    hostile.start()
    time.sleep(0.3)
    for _ in range(3):  # while the hostile page is drawn, other people's pages are
        started = time.monotonic()
        assert renderer.render(GOOD, 1, "La convention").found
        assert time.monotonic() - started < 1.5
    assert hostile.is_alive(), "the hostile page was still being drawn meanwhile"
    hostile.join(timeout=SECONDS + MARGIN)
    assert not hostile.is_alive() and len(failures) == 1


def test_the_text_of_a_page_is_read_in_a_worker_and_bounded_too(renderer: PageRenderer) -> None:
    assert renderer.page_text(GOOD, 1) == "Le budget atteint 2,4 millions d'euros.\nLa convention est signée en 2024."
    started = time.monotonic()
    with pytest.raises(RenderError):
        renderer.page_text(bomb(text=True), 1)  # 10^9 words to lay out
    assert time.monotonic() - started < SECONDS + MARGIN
    assert renderer.page_text(GOOD, 1).startswith("Le budget")


def test_the_module_functions_take_their_limits() -> None:
    limits = RenderLimits(seconds=SECONDS, workers=1)
    started = time.monotonic()
    with pytest.raises(RenderError, match="plus de 2 s"):
        render_page(bomb(), 1, limits=limits)
    assert time.monotonic() - started < SECONDS + MARGIN + 1  # a worker's start included
    assert page_text(GOOD, 1, limits=limits).endswith("signée en 2024.")

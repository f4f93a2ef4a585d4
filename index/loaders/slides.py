"""PowerPoint decks (.pptx): one page per slide, its title as the section, speaker notes included."""

from __future__ import annotations

import io
from collections.abc import Iterator

from index.loaders.base import LoadedDocument, LoadError, guess_title
from index.loaders.blocks import PageBuilder
from index.loaders.budget import TextBudget

NOTES_LABEL = "Notes de l'orateur :"


def _shapes_in_reading_order(shapes: object) -> Iterator[object]:
    """Shapes top to bottom, then left to right; groups are opened in place (without recursion)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    def key(shape: object) -> tuple[int, int]:
        return (getattr(shape, "top", None) or 0, getattr(shape, "left", None) or 0)

    stack = [sorted(shapes, key=key, reverse=True)]  # type: ignore[call-overload]
    while stack:
        level = stack[-1]
        if not level:
            stack.pop()
            continue
        shape = level.pop()
        if getattr(shape, "shape_type", None) == MSO_SHAPE_TYPE.GROUP:
            stack.append(sorted(shape.shapes, key=key, reverse=True))  # type: ignore[attr-defined]
        else:
            yield shape


def _add_shape(builder: PageBuilder, shape: object) -> None:
    if getattr(shape, "has_table", False):
        table = shape.table  # type: ignore[attr-defined]
        builder.add_rows([[cell.text for cell in row.cells] for row in table.rows])
    elif getattr(shape, "has_text_frame", False):
        for paragraph in shape.text_frame.paragraphs:  # type: ignore[attr-defined]
            builder.add(paragraph.text)


def load_pptx(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    import zipfile

    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError("présentation PowerPoint illisible ou corrompue : réenregistrez-la au format .pptx") from exc
    budget = budget or TextBudget()
    budget.check_pages(len(deck.slides), "slide")
    pages = []
    for number, slide in enumerate(deck.slides, start=1):
        builder = PageBuilder(budget)
        title_shape = slide.shapes.title
        if title_shape is not None and title_shape.text_frame.text.strip():
            builder.add(title_shape.text_frame.text, heading=True)
        for shape in _shapes_in_reading_order(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:  # type: ignore[attr-defined]
                continue
            _add_shape(builder, shape)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                builder.add(f"{NOTES_LABEL}\n{notes}")
        pages.append(builder.page(number))
    first = next((p.sections[0].title for p in pages if p.sections), "")
    core_title = (deck.core_properties.title or "").strip()
    text = "\n\n".join(p.text for p in pages)
    return LoadedDocument((first or core_title)[:160] or guess_title(text, name), tuple(pages), unit="slide")

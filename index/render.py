"""One PDF page as a PNG image, the quoted passage highlighted on it, for the source viewer.

The quote is looked for in the page's own characters (PDFium's text page), compared on letters and
digits only, accents and case aside: a citation from the cleaned text ("maximale", "fi") still
finds the printed "maxi-" / "male" and the "ﬁ" ligature. The image's longest side is bounded.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.errors import IndexingError
from index.loaders.base import LoadError
from index.loaders.pdf import PDFIUM_LOCK, open_pdf

log = logging.getLogger(__name__)

MAX_SIDE = 1400  # pixels: a page is drawn at most this long on its longest side
MAX_SCALE = 3.0  # never more than 216 dpi, even for a tiny page
# Drawing time grows with the page's objects and pixels: pixels are bounded above, objects here
# (a text-heavy page has a few thousand; a page of millions of vector strokes would block the viewer).
MAX_OBJECTS = 200_000
HIGHLIGHT = (255, 214, 0, 110)  # translucent yellow, as a highlighter


class RenderError(IndexingError):
    """A page cannot be drawn; the message is for the user (French)."""


@dataclass(frozen=True)
class Box:
    """A highlighted rectangle, in pixels of the image (left, top, right, bottom)."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    width: int
    height: int
    page: int  # 1-based page number that was drawn
    highlights: tuple[Box, ...]  # where the quote is; empty when it was not found on the page
    found: bool


def _fold(text: str) -> list[str]:
    """Each character folded to what a comparison keeps of it: letters and digits, no accent, lower case."""
    out = []
    for ch in text:
        decomposed = unicodedata.normalize("NFKD", ch)  # ﬁ -> f i, é -> e + accent
        out.append("".join(c for c in decomposed.lower() if c.isalnum()))
    return out


def _find_quote(chars: list[str], quote: str) -> tuple[int, int] | None:
    """First and last character index of the page where the quote is, or None."""
    folded: list[str] = []
    owner: list[int] = []  # owner[k] = index of the page character that gave folded character k
    for index, piece in enumerate(_fold("".join(chars))):
        for letter in piece:
            folded.append(letter)
            owner.append(index)
    haystack = "".join(folded)
    needle = "".join(_fold(quote))
    if not needle:
        return None
    at = haystack.find(needle)
    if at < 0 and len(needle) > 80:
        # a long quote that crosses something the page prints differently: highlight its start
        needle = needle[:80]
        at = haystack.find(needle)
    if at < 0:
        return None
    return owner[at], owner[at + len(needle) - 1]


def render_page(
    pdf: bytes | Path, page: int, quote: str = "", max_side: int = MAX_SIDE, max_objects: int = MAX_OBJECTS
) -> RenderedPage:
    """Draw page ``page`` (1-based) of a PDF as PNG, with ``quote`` highlighted where it is printed."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import Image, ImageDraw

    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    with PDFIUM_LOCK:
        try:
            document = open_pdf(data)
        except LoadError as exc:
            raise RenderError(str(exc)) from exc
        try:
            if not 1 <= page <= len(document):
                raise RenderError(f"page {page} absente : ce document a {len(document)} page(s)")
            pdf_page = document[page - 1]
            try:
                left, bottom, right, top = pdf_page.get_bbox()  # the visible box, inherited boxes included
                width_pt, height_pt = right - left, top - bottom
                if width_pt <= 0 or height_pt <= 0:
                    raise RenderError("page sans dimensions : le document est sans doute corrompu")
                if pdfium_c.FPDFPage_CountObjects(pdf_page) > max_objects:
                    raise RenderError("page trop complexe pour être affichée : téléchargez le document pour l'ouvrir")
                scale = min(MAX_SCALE, max_side / max(width_pt, height_pt))
                rectangles: list[tuple[float, float, float, float]] = []
                found = False
                if quote.strip():
                    textpage = pdf_page.get_textpage()
                    try:
                        count = textpage.count_chars()
                        chars = [chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count)]
                        span = _find_quote(chars, quote)
                        if span is not None:
                            found = True
                            first, last = span
                            for r in range(textpage.count_rects(first, last - first + 1)):
                                rectangles.append(textpage.get_rect(r))
                    finally:
                        textpage.close()
                bitmap = pdf_page.render(scale=scale, rotation=0)
                image = bitmap.to_pil().convert("RGBA")
                bitmap.close()
            finally:
                pdf_page.close()
        except pdfium.PdfiumError as exc:
            raise RenderError("page illisible : téléchargez le document pour l'ouvrir") from exc
        finally:
            document.close()

    boxes = []
    for r_left, r_bottom, r_right, r_top in rectangles:
        boxes.append(
            Box(
                max(0, int((r_left - left) * scale) - 2),
                max(0, int((top - r_top) * scale) - 2),
                min(image.width, int((r_right - left) * scale) + 2),
                min(image.height, int((top - r_bottom) * scale) + 2),
            )
        )
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for box in boxes:
            draw.rectangle((box.left, box.top, box.right, box.bottom), fill=HIGHLIGHT)
        image = Image.alpha_composite(image, overlay)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG", optimize=False)
    return RenderedPage(buffer.getvalue(), image.width, image.height, page, tuple(boxes), found)

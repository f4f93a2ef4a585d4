"""One PDF page as a PNG image, the quoted passage highlighted on it, for the source viewer.

The quote is looked for in the page's own characters (PDFium's text page), compared on letters and
digits only, accents and case aside: a citation from the cleaned text ("maximale", "fi") still
finds the printed "maxi-" / "male" and the "ﬁ" ligature. The image's longest side is bounded.

Drawing a page can take hours: a few kilobytes of PDF can draw one form a billion times. So pages
are drawn in worker processes (``python -m index.render``, see ``index.worker``), each bounded in
memory and killed past ``RenderLimits.seconds``; the caller gets a RenderError saying so, and can
show the page's text (``page_text``, bounded the same way) instead. A few workers are kept (their
start costs more than a drawing): a hostile page holds one of them until it is killed, the others
keep drawing.
"""

from __future__ import annotations

import atexit
import io
import logging
import queue
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import IndexingError
from index.files import NotRegularFileError, read_document
from index.loaders.base import LoadError, normalize_layout
from index.loaders.cleanup import normalize_characters
from index.loaders.pdf import PDFIUM_LOCK, open_pdf
from index.worker import (
    Deadline,
    Emit,
    Worker,
    WorkerCrashed,
    WorkerFailed,
    WorkerOutOfMemory,
    WorkerStartError,
    WorkerTimeout,
    serve,
)

if TYPE_CHECKING:
    from index.config import IndexSettings

log = logging.getLogger(__name__)

MAX_SIDE = 1400  # pixels: a page is drawn at most this long on its longest side
MAX_SCALE = 3.0  # never more than 216 dpi, even for a tiny page
# Drawing time grows with the page's objects and pixels: pixels are bounded above, objects here
# (a text-heavy page has a few thousand; a page of millions of vector strokes would block the viewer).
MAX_OBJECTS = 200_000
HIGHLIGHT = (255, 214, 0, 110)  # translucent yellow, as a highlighter
MAX_PAGE_TEXT = 100_000  # characters of a page's text shown instead of its image


class RenderError(IndexingError):
    """A page cannot be drawn (or its text read); the message is for the user (French)."""


@dataclass(frozen=True)
class RenderLimits:
    seconds: float = 10.0  # longest one page may take to draw (or its text to be read)
    memory_mb: int = 1024  # address space of each drawing process
    workers: int = 2  # drawing processes kept: as many pages drawn at once
    start_seconds: float = 30.0  # longest a drawing process may take to start


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


@dataclass(frozen=True)
class PageText:
    """A page shown as its text, when it could not be drawn (``why``, French)."""

    page: int
    text: str
    why: str


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


# -- the web side: requests to the drawing processes ---------------------------------------------


def timeout_message(seconds: float, kind: str = "render") -> str:
    what = "page trop longue à dessiner" if kind == "render" else "texte de la page trop long à lire"
    return (
        f"{what} (plus de {seconds:g} s ; fichier piégé ou trop complexe) : "
        "téléchargez le document pour l'ouvrir, ou augmentez ASSISTANT_RENDER_TIMEOUT_SECONDS"
    )


def memory_message(memory_mb: int) -> str:
    return (
        f"page trop lourde à afficher (plus de {memory_mb} Mo de mémoire) : téléchargez le document pour la voir, "
        "ou augmentez ASSISTANT_RENDER_MEMORY_MB"
    )


BUSY = "aperçu momentanément indisponible (d'autres pages sont en cours d'affichage) : réessayez dans un instant"
CRASHED = "page illisible (sa lecture a échoué) : téléchargez le document pour l'ouvrir"
NOT_STARTED = "aperçu indisponible : le processus d'affichage ne démarre pas (détails dans le journal du serveur)"


class PageRenderer:
    """Draws PDF pages (and reads their text) in a few kept worker processes, each request bounded in time and memory.

    Thread-safe: each request takes a free worker, or waits for one at most ``limits.seconds``.
    """

    def __init__(self, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        self._free: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.limits.workers)
        self._workers: list[Worker] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: IndexSettings) -> PageRenderer:
        """From the index settings (``render_timeout_seconds``, ``render_memory_mb``)."""
        return cls(RenderLimits(seconds=settings.render_timeout_seconds, memory_mb=settings.render_memory_mb))

    def render(
        self, pdf: bytes | Path, page: int, quote: str = "", max_side: int = MAX_SIDE, max_objects: int = MAX_OBJECTS
    ) -> RenderedPage:
        """Page ``page`` (1-based) as PNG, ``quote`` highlighted; RenderError (French) when it cannot be drawn in time."""
        result: RenderedPage = self._call(("render", _source(pdf), page, quote, max_side, max_objects))
        return result

    def page_text(self, pdf: bytes | Path, page: int, max_chars: int = MAX_PAGE_TEXT) -> str:
        """The text of page ``page`` (1-based), characters normalized as the index reads them, at most ``max_chars``.

        Empty for a page without a text layer (a scan). RenderError (French) when it cannot be read in time.
        """
        text: str = self._call(("text", _source(pdf), page, max_chars))
        return text

    def _call(self, request: tuple[Any, ...]) -> Any:
        if not self._slots.acquire(timeout=self.limits.seconds):
            raise RenderError(BUSY)
        try:
            try:
                worker = self._free.get_nowait()
            except queue.Empty:
                cpu = 2 * self.limits.seconds + 10  # past the deadline: ends a worker whose parent is gone
                worker = Worker("index.render", self.limits.memory_mb, self.limits.start_seconds, cpu)
                with self._lock:
                    self._workers.append(worker)
            try:
                return worker.call(request, Deadline(self.limits.seconds))
            finally:
                self._free.put(worker)  # a killed worker starts again on its next request
        except WorkerFailed as exc:
            raise RenderError(str(exc)) from None
        except WorkerTimeout:
            log.warning("page %s (%s) not done within %.0f s: worker killed", request[2], request[0], self.limits.seconds)
            raise RenderError(timeout_message(self.limits.seconds, request[0])) from None
        except WorkerOutOfMemory:
            raise RenderError(memory_message(self.limits.memory_mb)) from None
        except WorkerCrashed as exc:  # PDFium aborts when it runs out of its address space
            log.warning("drawing worker died (%s) on page %s (%s)", exc.returncode, request[2], request[0])
            raise RenderError(CRASHED) from None
        except WorkerStartError as exc:
            log.error("drawing worker does not start: %s", exc)
            raise RenderError(NOT_STARTED) from exc
        finally:
            self._slots.release()

    @property
    def workers(self) -> list[Worker]:
        """The running worker processes."""
        with self._lock:
            return [w for w in self._workers if w.pid is not None]

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.close()


def _source(pdf: bytes | Path) -> bytes | str:
    """What a worker is sent: the bytes, or the path (a str) that it opens itself (a regular file, no link)."""
    return pdf if isinstance(pdf, bytes) else str(pdf)


_shared: dict[RenderLimits, PageRenderer] = {}
_shared_lock = threading.Lock()


def shared_renderer(limits: RenderLimits | None = None) -> PageRenderer:
    """The process's renderer for these limits (its workers closed at exit)."""
    limits = limits or RenderLimits()
    with _shared_lock:
        renderer = _shared.get(limits)
        if renderer is None:
            if not _shared:
                atexit.register(_close_shared)
            renderer = _shared[limits] = PageRenderer(limits)
        return renderer


def _close_shared() -> None:
    with _shared_lock:
        renderers = list(_shared.values())
        _shared.clear()
    for renderer in renderers:
        renderer.close()


def render_page(
    pdf: bytes | Path,
    page: int,
    quote: str = "",
    max_side: int = MAX_SIDE,
    max_objects: int = MAX_OBJECTS,
    limits: RenderLimits | None = None,
) -> RenderedPage:
    """Draw page ``page`` (1-based) of a PDF as PNG, ``quote`` highlighted where it is printed, in a worker.

    Raises RenderError (a French message) when the page cannot be drawn: absent, unreadable, or
    not drawn within ``limits.seconds`` (then show ``page_text`` instead).
    """
    return shared_renderer(limits).render(pdf, page, quote, max_side, max_objects)


def page_text(pdf: bytes | Path, page: int, limits: RenderLimits | None = None, max_chars: int = MAX_PAGE_TEXT) -> str:
    """The text of page ``page`` (1-based) of a PDF, read in a worker within ``limits.seconds``; RenderError else."""
    return shared_renderer(limits).page_text(pdf, page, max_chars)


# -- the worker side: drawing ---------------------------------------------------------------------


def handle(request: Any, emit: Emit) -> tuple[str, object]:
    """Draw a page or read its text (in the worker): ("done", result) or ("failed", French reason)."""
    kind, source, page, *rest = request
    try:
        data = source if isinstance(source, bytes) else read_document(Path(source))
        if kind == "render":
            return ("done", draw_page(data, page, *rest))
        return ("done", read_page_text(data, page, *rest))
    except RenderError as exc:
        return ("failed", str(exc))
    except NotRegularFileError as exc:
        return ("failed", exc.reason)
    except OSError as exc:
        return ("failed", f"document illisible ({exc.strerror or exc.__class__.__name__}) : vérifiez le fichier")
    except MemoryError:
        raise
    except Exception:
        log.warning("drawing page %s failed", page, exc_info=True)
        return ("failed", CRASHED)


@contextmanager
def _pdf_page(data: bytes, page: int) -> Iterator[Any]:
    """Page ``page`` (1-based) of a PDF, opened under the PDFium lock and closed after; RenderError when it is
    absent or PDFium cannot read it."""
    import pypdfium2 as pdfium

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
                yield pdf_page
            finally:
                pdf_page.close()
        except pdfium.PdfiumError as exc:
            raise RenderError("page illisible : téléchargez le document pour l'ouvrir") from exc
        finally:
            document.close()


def read_page_text(data: bytes, page: int, max_chars: int = MAX_PAGE_TEXT) -> str:
    """The text of one page, characters normalized (ligatures, accents), at most ``max_chars`` (cut with « … »)."""
    with _pdf_page(data, page) as pdf_page:
        textpage = pdf_page.get_textpage()
        try:
            count = textpage.count_chars()
            text = textpage.get_text_range(0, min(count, max_chars))
            cut = count > max_chars
        finally:
            textpage.close()
    text = normalize_layout(normalize_characters(text))
    return text + " …" if cut else text


def draw_page(data: bytes, page: int, quote: str = "", max_side: int = MAX_SIDE, max_objects: int = MAX_OBJECTS) -> RenderedPage:
    """Draw page ``page`` (1-based) of a PDF as PNG, with ``quote`` highlighted where it is printed (in this process)."""
    import pypdfium2.raw as pdfium_c
    from PIL import Image, ImageDraw

    with _pdf_page(data, page) as pdf_page:
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


if __name__ == "__main__":
    # the module's own copy (not __main__'s), so that what is sent back unpickles as index.render.RenderedPage
    from index import render

    serve(render.handle, "render")

"""Read the pages of a PDF that have no text layer (scans, photographed pages) with Tesseract.

The PDF loader leaves such pages empty; this step renders them (pypdfium2) and hands the
image to Tesseract through pytesseract. Pages filled here say so (``Page.ocr``), and the
citation of a passage read from them says "texte lu par OCR".
"""

from __future__ import annotations

import logging
import re

from index.loaders.base import LoadedDocument, LoadError, Page
from index.loaders.budget import TextBudget
from index.loaders.options import LoadOptions, OnEvent

log = logging.getLogger(__name__)

NOT_INSTALLED = "PDF scanné : OCR non installé (installez tesseract-ocr-fra)"
NOTHING_READ = (
    "PDF scanné : l'OCR n'y lit aucun texte (pages blanches ou image illisible) : vérifiez le fichier ou scannez-le à nouveau"
)
DISABLED = "PDF scanné : la lecture par OCR est désactivée (réglage ASSISTANT_OCR_ENABLED) : activez-la pour indexer ce fichier"


def pages_without_text(document: LoadedDocument) -> list[int]:
    """Indexes of the numbered pages whose text layer is empty."""
    return [i for i, page in enumerate(document.pages) if page.number is not None and not page.text.strip()]


def check_tesseract(languages: str) -> None:
    """Raise LoadError (with what to install) unless Tesseract and every language asked for are there."""
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError) as exc:
        raise LoadError(NOT_INSTALLED) from exc
    missing = [lang for lang in languages.split("+") if lang and lang not in installed]
    if missing:
        raise LoadError(
            f"PDF scanné : OCR non installé pour {', '.join(missing)} (installez tesseract-ocr-{missing[0]})"
            if missing != ["fra"]
            else NOT_INSTALLED
        )


def recognize(image: object, options: LoadOptions) -> str:
    """Text of one page image, in reading order, as Tesseract sees it."""
    import pytesseract

    try:
        text = pytesseract.image_to_string(image, lang=options.ocr_languages, timeout=options.ocr_page_seconds)
    except RuntimeError as exc:  # pytesseract's timeout
        raise LoadError(
            f"OCR trop long sur une page (plus de {options.ocr_page_seconds:.0f} s) : vérifiez le fichier ou réglez ASSISTANT_OCR_PAGE_SECONDS"
        ) from exc
    except (pytesseract.TesseractError, OSError) as exc:
        raise LoadError(f"OCR impossible sur ce fichier ({exc.__class__.__name__}) : réexportez le PDF") from exc
    text = text.replace("\x0c", "")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def _one_colour(image: object) -> bool:
    """Whether a page image is blank: a single value in every band (Tesseract would read nothing on it)."""
    extrema = image.getextrema()  # type: ignore[attr-defined]
    bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
    return all(low == high for low, high in bands)


def ocr_pdf(
    document: LoadedDocument,
    data: bytes,
    options: LoadOptions,
    on_event: OnEvent | None = None,
    budget: TextBudget | None = None,
) -> LoadedDocument:
    """Fill the pages without a text layer by OCR; the other pages are kept as they are.

    A page whose image is blank (one colour) is not given to Tesseract: it has nothing to read.
    The text read counts in ``budget`` (the text layer of the other pages is already in it).
    """
    blank = pages_without_text(document)
    if not blank:
        return document
    scanned_only = len(blank) == len(document.pages)
    if not options.ocr:
        if scanned_only:
            raise LoadError(DISABLED)
        return document
    try:
        check_tesseract(options.ocr_languages)
    except LoadError:
        if scanned_only:
            raise
        log.warning("%d page(s) without text left unread: Tesseract is not installed", len(blank))
        return document

    import pypdfium2 as pdfium

    from index.loaders.pdf import PDFIUM_LOCK  # PDFium is not thread-safe: every call holds this lock

    pages = list(document.pages)
    try:
        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise LoadError("PDF scanné illisible pour l'OCR : réexportez-le") from exc
    try:
        if on_event:
            on_event(("ocr", 0, len(blank)))
        for done, i in enumerate(blank, start=1):
            number = pages[i].number
            assert number is not None
            if number > len(pdf):
                continue
            with PDFIUM_LOCK:
                page = pdf[number - 1]
                try:
                    image = page.render(scale=options.ocr_dpi / 72, grayscale=True).to_pil()
                finally:
                    page.close()
            text = "" if _one_colour(image) else recognize(image, options)
            if budget is not None:
                budget.add(text)
            pages[i] = Page(number, text, pages[i].sections, ocr=True)
            log.info("OCR: page %d (%d/%d)", number, done, len(blank))
            if on_event:
                on_event(("ocr", done, len(blank)))
    except pdfium.PdfiumError as exc:
        raise LoadError("PDF scanné illisible pour l'OCR : réexportez-le") from exc
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    if scanned_only and not any(p.text.strip() for p in pages):
        raise LoadError(NOTHING_READ)
    return LoadedDocument(document.title, tuple(pages), document.unit)

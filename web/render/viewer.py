"""The source viewer: a passage in its document (escaped HTML), the PDF page drawn or its text, the download link."""

from __future__ import annotations

import base64
import html
from urllib.parse import quote

from assistant.retrieval import Passage
from index.render import PageText, RenderedPage


def document_url(root_path: str, source: str) -> str:
    """Where the original file is downloaded (the app's own route, never the documents folder)."""
    return f"{root_path.rstrip('/')}/document/{quote(source, safe='/')}"


PAGE_TEXT_SHOWN = 6000  # characters of a page shown as text when it cannot be drawn


def page_image_html(image: RenderedPage | PageText | str | None, page: int | None) -> str:
    """The PDF page drawn by the server (an inline PNG: nothing fetched elsewhere), its text when it could not be
    drawn, or why it is not shown."""
    if image is None:
        return ""
    if isinstance(image, str):
        return f"<p class='page-missing'>Aperçu de la page indisponible : {html.escape(image)}.</p>"
    if isinstance(image, PageText):
        text = image.text if len(image.text) <= PAGE_TEXT_SHOWN else image.text[:PAGE_TEXT_SHOWN] + " …"
        body = html.escape(text) if text.strip() else "(cette page n'a pas de texte)"
        return (
            f"<p class='page-missing'>Page {image.page} non dessinée ({html.escape(image.why)}) : voici son texte.</p>"
            f"<div class='page-text'>{body}</div>"
        )
    data = base64.b64encode(image.png).decode("ascii")
    note = "passage surligné" if image.found else "passage non repéré sur l'image de la page"
    return (
        f"<figure class='page-image'><img src='data:image/png;base64,{data}' width='{image.width}' "
        f"height='{image.height}' alt='Page {image.page} du document'>"
        f"<figcaption>Page {image.page} telle qu'imprimée · {note}</figcaption></figure>"
    )


def viewer_html(
    passage: Passage,
    before: str,
    after: str,
    quote_text: str,
    download: str | None,
    image: RenderedPage | PageText | str | None = None,
) -> str:
    """The passage in its document, every piece of text escaped; the page as printed when it is a PDF page;
    the original file as a download link."""
    main = html.escape(passage.text)
    if quote_text and quote_text in passage.text:
        b, _, a = passage.text.partition(quote_text)
        main = f"{html.escape(b)}<mark>{html.escape(quote_text)}</mark>{html.escape(a)}"
    where = html.escape(passage.location or f"caractères {passage.start}–{passage.end}")
    link = (
        f"<p><a class='download' href='{html.escape(download, quote=True)}' download rel='noopener'>"
        "Télécharger le document original</a></p>"
        if download
        else ""
    )
    return (
        f"<div class='source-view'><h4>{html.escape(passage.title)}</h4>"
        f"<p><span class='source-name'>{html.escape(passage.source)}</span> · {where}</p>"
        f"<div class='passage-before'>{html.escape(before[-400:])}</div>"
        f"<div class='passage-main'>{main}</div>"
        f"<div class='passage-after'>{html.escape(after[:400])}</div>{link}"
        f"{page_image_html(image, passage.page)}</div>"
    )

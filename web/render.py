"""Everything the chat shows that a document, a user or the model wrote, turned into inert text.

Chat messages and the admin page are Markdown rendered by Gradio: text from
outside goes through ``plain_markdown`` (no raw HTML, no links, no images, so no
request to another site and no form). The source viewer is HTML: everything in
it is escaped with ``html.escape``. Only this module writes markup.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from assistant.pipeline import Answer
from assistant.retrieval import Passage
from index.render import RenderedPage

_CITATION = re.compile(r"\[\d{1,2}(?:\s*[,;]\s*\d{1,2})*\](?![(\[:])")


def plain_markdown(text: str) -> str:
    """Make text inert in Gradio's Markdown: no HTML tags, no link, no image, no reference definition.

    ``<`` becomes ``&lt;`` (no tag can open); every square bracket is escaped
    except citation markers such as ``[2]`` that no link or definition follows
    (so no ``![](https://…)``, ``[x](…)`` or ``[1]: https://…``).
    """
    text = str(text).replace("<", "&lt;")
    out: list[str] = []
    last = 0
    for m in _CITATION.finditer(text):
        out.append(_escape_brackets(text[last : m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(_escape_brackets(text[last:]))
    return "".join(out)


def _escape_brackets(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def highlight_markdown(passage: str, quote_text: str) -> str:
    """The passage as inert Markdown, with the quoted span marked."""
    if quote_text and quote_text in passage:
        before, _, after = passage.partition(quote_text)
        return f"{plain_markdown(before)}<mark>{plain_markdown(quote_text)}</mark>{plain_markdown(after)}"
    return plain_markdown(passage)


def blockquote(text: str) -> str:
    """Quote a passage in Markdown, every line of it (indented lines would become code)."""
    return "\n".join("> " + line.strip() for line in text.splitlines())


def passage_heading(n: int, title: str, source: str, location: str) -> str:
    where = f" ({plain_markdown(location)})" if location else ""
    return f"**[{n}] {plain_markdown(title)}** — {plain_markdown(source)}{where}"


def passages_markdown(passages: Sequence[Passage], limit: int = 4) -> str:
    """The passages found, shown while the model is busy or writing."""
    parts = [
        f"{passage_heading(p.rank, p.title, p.source, p.location)}\n\n{blockquote(plain_markdown(_cut(p.text, 300)))}"
        for p in passages[:limit]
    ]
    return "\n\n".join(parts) or "Aucun passage."


def sources_markdown(answer: Answer) -> str:
    """The checked citations with the quoted span marked; the closest passages when there is none."""
    if answer.citations:
        return "\n\n".join(
            f"{passage_heading(c.n, c.title, c.source, c.location)}\n\n{blockquote(highlight_markdown(c.passage_text, c.quote))}"
            for c in answer.citations
        )
    return passages_markdown(answer.passages, 3)


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n].rstrip() + "…"


def source_choices(answer: Answer | None) -> list[str]:
    if answer is None:
        return []
    if answer.citations:
        return [f"[{c.n}] {c.title} ({c.source}{', ' + c.location if c.location else ''})" for c in answer.citations]
    return [f"[{p.rank}] {p.title} ({p.source}, {p.location})" for p in answer.passages[:3]]


def answer_markdown(text: str, abstained: bool = False, language: str = "fr") -> str:
    body = plain_markdown(text)
    if abstained:
        body += (
            "\n\n_Abstention : les documents ne contiennent pas cette réponse._"
            if language == "fr"
            else "\n\n_Abstention: the documents do not hold this answer._"
        )
    return body


def waiting_markdown(position: int, language: str = "fr") -> str:
    """What someone waiting for the model sees under their sources."""
    if language == "en":
        if position <= 0:
            return "⏳ The model is reading the passages above…"
        return f"⏳ {position} question{'s' if position > 1 else ''} before yours; the sources above are ready to read."
    if position <= 0:
        return "⏳ Le modèle lit les passages ci-dessus…"
    return f"⏳ {position} question{'s' if position > 1 else ''} avant la vôtre ; les sources ci-dessus sont déjà consultables."


def document_url(root_path: str, source: str) -> str:
    """Where the original file is downloaded (the app's own route, never the documents folder)."""
    return f"{root_path.rstrip('/')}/document/{quote(source, safe='/')}"


def page_image_html(image: RenderedPage | str | None, page: int | None) -> str:
    """The PDF page drawn by the server (an inline PNG: nothing fetched elsewhere), or why it is not shown."""
    if image is None:
        return ""
    if isinstance(image, str):
        return f"<p class='page-missing'>Aperçu de la page indisponible : {html.escape(image)}.</p>"
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
    image: RenderedPage | str | None = None,
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


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report.get('documents_total', '?')} documents, {report.get('chunks_total', '?')} passages ; "
        f"{report.get('chunks_embedded', 0)} passages calculés en {float(report.get('seconds', 0) or 0):.1f} s."
    ]
    for key, label in (("added", "ajouté"), ("changed", "modifié"), ("removed", "supprimé")):
        lines += [f"- {label} : {plain_markdown(str(s))}" for s in report.get(key, [])]
    if report.get("unchanged"):
        lines.append(f"- inchangés : {len(report['unchanged'])}")
    lines += [
        f"- **échec** : {plain_markdown(str(f.get('source', '')))} — {plain_markdown(str(f.get('error', '')))}"
        for f in report.get("failed", [])
    ]
    return "\n".join(lines)


def status_markdown(status: dict[str, Any]) -> str:
    lines = [
        f"**Index** : {status['documents']} documents, {status['chunks']} passages · modèle d'embeddings "
        f"{plain_markdown(str(status['embedding']))} · dernière synchronisation : {plain_markdown(str(status['synced_at'] or 'jamais'))}",
        "",
    ]
    lines += [f"- {plain_markdown(src)} — {plain_markdown(title)}" for src, title in status["sources"].items()]
    if status.get("user_problems"):
        lines.append("\n**Comptes refusés** (python -m assistant list-users ; corrigez avec add-user ou set-role)\n")
        lines += [f"- {plain_markdown(p)}" for p in status["user_problems"]]
    if status.get("last_sync"):
        lines.append("\n**Dernier rapport**\n\n" + report_markdown(status["last_sync"]))
    return "\n".join(lines)


def problems_markdown(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "Aucune pour l'instant."
    out = []
    for r in rows:
        line = f"- {plain_markdown(str(r.get('when', '')))} · **{plain_markdown(str(r.get('kind', '')))}**"
        if r.get("user"):
            line += f" · {plain_markdown(str(r['user']))}"
        line += f" · {plain_markdown(str(r.get('question', '')))}"
        if r.get("comment"):
            line += f" — « {plain_markdown(str(r['comment']))} »"
        out.append(line)
    return "\n".join(out)

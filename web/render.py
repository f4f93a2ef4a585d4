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
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from assistant.answer import Answer
from assistant.evaluation.history import run_figures
from assistant.retrieval import Passage
from index.render import PageText, RenderedPage

_CITATION = re.compile(r"\[\d{1,2}(?:\s*[,;]\s*\d{1,2})*\](?![(\[:])")


def plain_markdown(text: str) -> str:
    """Make text inert in Gradio's Markdown: no HTML tags, no link, no image, no code fence, no diagram.

    ``<`` becomes ``&lt;`` (no tag can open); every square bracket is escaped
    except citation markers such as ``[2]`` that no link or definition follows
    (so no ``![](https://…)``, ``[x](…)`` or ``[1]: https://…``); the bare addresses that
    GitHub-flavoured Markdown turns into links by itself (``https://…``, ``www.…``, ``a@b.c``)
    are broken by an escape; backticks and tildes are escaped, so that no fence opens (a
    ```` ```mermaid ```` fence would be drawn as a diagram, with its labels and click links).
    """
    text = str(text).replace("<", "&lt;")
    out: list[str] = []
    last = 0
    for m in _CITATION.finditer(text):
        out.append(_inert(text[last : m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(_inert(text[last:]))
    return "".join(out)


_AUTOLINK = re.compile(r"(?i)(://|\bwww\.|@)")


def _inert(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("`", "\\`").replace("~", "\\~")
    return _AUTOLINK.sub(lambda m: {"://": ":\\/\\/", "@": "\\@"}.get(m.group(1), m.group(1)[:-1] + "\\."), text)


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
        f"**Modèle de langue** : {plain_markdown(str(status.get('model', '')))}",
        "",
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


# -- conversations: shown again, exported, shared ---------------------------------


def turn_sources_markdown(turn: Mapping[str, Any]) -> str:
    """A saved turn's checked citations (the quote marked), or its closest passages when it has none."""
    citations = [c for c in turn.get("citations") or [] if isinstance(c, dict)]
    if citations:
        return "\n\n".join(
            f"{passage_heading(int(c.get('n') or 0), str(c.get('title', '')), str(c.get('source', '')), str(c.get('location') or ''))}"
            f"\n\n{blockquote(highlight_markdown(str(c.get('passage_text') or c.get('quote') or ''), str(c.get('quote') or '')))}"
            for c in citations
        )
    passages = [p for p in turn.get("passages") or [] if isinstance(p, dict)][:3]
    parts = [
        f"{passage_heading(int(p.get('rank') or 0), str(p.get('title', '')), str(p.get('source', '')), str(p.get('location') or ''))}"
        f"\n\n{blockquote(plain_markdown(_cut(str(p.get('text', '')), 300)))}"
        for p in passages
    ]
    return "\n\n".join(parts) or "Aucun passage."


def turn_messages(turn: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The three chat messages of a saved turn: the question, its sources (closed), the answer under them."""
    title = "Sources" if turn.get("citations") else "Passages les plus proches"
    return [
        {"role": "user", "content": plain_markdown(str(turn.get("question", "")))},
        {"role": "assistant", "content": turn_sources_markdown(turn), "metadata": {"title": title, "status": "done"}},
        {
            "role": "assistant",
            "content": answer_markdown(str(turn.get("answer", "")), bool(turn.get("abstained")), str(turn.get("language", "fr"))),
        },
    ]


def conversation_messages(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [m for t in turns for m in turn_messages(t)]


def _day(stamp: str) -> str:
    """ "2026-01-05T14:03:00+00:00" → "05/01 14:03" (as stored; no parsing of anything else)."""
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})", stamp or "")
    return f"{m.group(3)}/{m.group(2)} {m.group(4)}:{m.group(5)}" if m else ""


def conversation_choices(summaries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Radio choices (label, id) of a conversation list; labels are shown as text by the browser."""
    out = []
    for c in summaries:
        when = _day(str(c.get("updated", "")))
        label = " ".join(str(c.get("title", "")).split())[:100] or "Conversation"
        out.append((f"{label} · {when}" if when else label, str(c["id"])))
    return out


_MD_SPECIAL = re.compile(r"([\\<\[\]])")
_MD_LINE_START = re.compile(r"^(\s*)([#>*+=|-]|\d+[.)])")


def markdown_text(text: str) -> str:
    """Text made inert for any Markdown reader (an exported note, a pasted e-mail), and still readable as text:
    no HTML, autolink, link, image or reference (``<``, ``[``, ``]`` backslash-escaped, as CommonMark allows),
    except the citation markers such as [2]; no line can start a heading, a list, a quote or a table."""
    out: list[str] = []
    last = 0
    text = str(text)
    for m in _CITATION.finditer(text):
        out.append(_MD_SPECIAL.sub(r"\\\1", text[last : m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(_MD_SPECIAL.sub(r"\\\1", text[last:]))
    return "\n".join(_MD_LINE_START.sub(r"\1\\\2", line) for line in "".join(out).splitlines())


def _where(c: Mapping[str, Any]) -> str:
    location = str(c.get("location") or "")
    if not location and c.get("page"):
        location = f"p. {c['page']}"
    return location


def turn_export_markdown(turn: Mapping[str, Any], heading: str = "##") -> str:
    """One answer as Markdown with its sources: document, page or section, the quoted sentence."""
    language = str(turn.get("language", "fr"))
    lines = [f"{heading} {markdown_text(' '.join(str(turn.get('question', '')).split()))}", ""]
    lines.append(markdown_text(str(turn.get("answer", ""))))
    citations = [c for c in turn.get("citations") or [] if isinstance(c, dict)]
    if turn.get("abstained"):
        lines += ["", "_Abstention : les documents ne contiennent pas cette réponse._" if language == "fr" else "_Abstention._"]
    if citations:
        lines += ["", "Sources :" if language == "fr" else "Sources:", ""]
        for c in citations:
            where = _where(c)
            lines.append(
                f"- [{int(c.get('n') or 0)}] {markdown_text(str(c.get('title') or c.get('source', '')))} — "
                f"{markdown_text(str(c.get('source', '')))}{', ' + markdown_text(where) if where else ''}"
            )
            if c.get("quote"):
                lines.append(f"  > « {markdown_text(' '.join(str(c['quote']).split()))} »")
    else:
        passages = [p for p in turn.get("passages") or [] if isinstance(p, dict)][:3]
        if passages:
            lines += ["", "Passages les plus proches :" if language == "fr" else "Closest passages:", ""]
            for p in passages:
                where = _where(p)
                lines.append(
                    f"- [{int(p.get('rank') or 0)}] {markdown_text(str(p.get('title') or p.get('source', '')))} — "
                    f"{markdown_text(str(p.get('source', '')))}{', ' + markdown_text(where) if where else ''}"
                )
    return "\n".join(lines)


def conversation_export_markdown(title: str, turns: Sequence[Mapping[str, Any]], exported: str) -> str:
    """A whole conversation as Markdown, each answer with its sources."""
    head = [
        f"# {markdown_text(' '.join(str(title).split()) or 'Conversation')}",
        "",
        f"_Exporté le {markdown_text(exported)} depuis l'assistant documentaire (réponses tirées des documents de l'équipe)._",
    ]
    return "\n\n".join(["\n".join(head), *(turn_export_markdown(t) for t in turns)]) + "\n"


def share_choices(turns: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    return [(f"{i + 1}. {_cut(' '.join(str(t.get('question', '')).split()), 70)}", i) for i, t in enumerate(turns)]


# -- curation loop (admin page) --------------------------------------------------


def problem_choices(rows: Sequence[Mapping[str, Any]], curated: Mapping[str, str]) -> list[tuple[str, str]]:
    """Choices (label, id) of the rows an admin can curate; labels are shown as text by the browser."""
    out = []
    for r in rows:
        question = " ".join(str(r.get("question", "")).split())
        done = f" ✔ {curated[r['id']]}" if r["id"] in curated else ""
        out.append((f"{r.get('when', '')} · {r.get('kind', '')} · {_cut(question, 80)}{done}", str(r["id"])))
    return out


def problem_detail_markdown(row: Mapping[str, Any], curated_id: str | None = None) -> str:
    """One abstention or thumbs-down as the admin reads it: question, answer, passages, comment; all inert."""
    head = f"**{plain_markdown(str(row.get('kind', '')))}** · {plain_markdown(str(row.get('when', '')))}"
    if row.get("user"):
        head += f" · {plain_markdown(str(row['user']))}"
    if row.get("reason"):
        head += f" · raison : {plain_markdown(str(row['reason']))}"
    lines = [head, "", f"**Question** : {plain_markdown(str(row.get('question', '')))}"]
    if row.get("standalone") and row.get("standalone") != row.get("question"):
        lines += ["", f"**Question comprise** (après réécriture) : {plain_markdown(str(row['standalone']))}"]
    answer = str(row.get("answer") or "")
    lines += ["", "**Réponse donnée** :", "", blockquote(plain_markdown(answer)) if answer.strip() else "_(non enregistrée)_"]
    if row.get("comment"):
        lines += ["", f"**Commentaire** : « {plain_markdown(str(row['comment']))} »"]
    if curated_id:
        lines += ["", f"✔ Déjà dans le jeu de questions curé : **{plain_markdown(curated_id)}**."]
    passages = [p for p in row.get("passages") or [] if isinstance(p, dict)]
    lines += ["", "**Passages donnés au modèle**" if passages else "_Aucun passage enregistré pour cette remontée._"]
    for p in passages:
        lines += [
            "",
            passage_heading(
                int(p.get("rank") or 0), str(p.get("title", "")), str(p.get("source", "")), str(p.get("location") or "")
            ),
            "",
            blockquote(plain_markdown(str(p.get("text", "")))),
        ]
    return "\n".join(lines)


def passage_choices_of(row: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [
        (
            f"[{p.get('rank')}] {p.get('title', '')} — {p.get('source', '')}"
            + (f" ({p['location']})" if p.get("location") else ""),
            int(p.get("rank") or 0),
        )
        for p in row.get("passages") or []
        if isinstance(p, dict)
    ]


def curated_markdown(entries: Sequence[Mapping[str, Any]], path_name: str) -> str:
    if not entries:
        return f"Aucune question curée pour l'instant (fichier {plain_markdown(path_name)} dans le dossier des données)."
    lines = [
        f"**{len(entries)} question(s)** dans {plain_markdown(path_name)} (lisible par `python -m assistant eval --questions`) :",
        "",
    ]
    for e in entries:
        kind = "avec réponse" if e.get("answerable") else "sans réponse dans les documents"
        line = f"- **{plain_markdown(str(e.get('id', '')))}** · {kind} · {plain_markdown(str(e.get('question', '')))}"
        if e.get("answerable"):
            patterns = " / ".join(plain_markdown(str(p)) for p in e.get("answer_patterns") or [])
            evidence = plain_markdown(_cut(str((e.get("evidence") or [""])[0]), 160))
            line += f" — motif « {patterns} », preuve « {evidence} »"
        lines.append(line)
    return "\n".join(lines)


def _figure(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "—"


def evaluation_markdown(status: Mapping[str, Any], last_runs: Sequence[Mapping[str, Any]], settings_note: str = "") -> str:
    """Where the background evaluation stands, and the figures of each set's last run."""
    lines: list[str] = []
    if status.get("running"):
        done, total = int(status.get("done") or 0), int(status.get("total") or 0)
        where = f"{plain_markdown(str(status.get('set_label') or ''))} — question {done} sur {total}" if total else "préparation"
        who = f" par {plain_markdown(str(status['user']))}" if status.get("user") else ""
        lines.append(
            f"⏳ **Évaluation en cours** : {where} (lancée le {plain_markdown(_day(str(status.get('started', ''))))}{who}, "
            f"{plain_markdown(str(status.get('trigger', '')))}). Les questions des collègues passent à leur tour."
        )
    elif status.get("failed"):
        lines.append(
            "⚠ **L'évaluation a échoué** : les détails sont dans le journal du serveur. Réessayez ; si cela revient, prévenez l'équipe technique."
        )
    elif status.get("cancelled"):
        lines.append("⏹ Évaluation arrêtée : ses chiffres ne sont pas gardés.")
    for w in status.get("warnings") or []:
        lines.append(f"⚠ **Baisse** : {plain_markdown(str(w))}.")
    for n in status.get("notes") or []:
        lines.append(f"- {plain_markdown(str(n))}")
    if last_runs:
        lines += [
            "",
            "| jeu | date | index (version, documents) | questions | exactitude | abstentions justes | hit@5 | abstentions à tort |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in last_runs:
            m = run_figures(r)  # "—" where no question counts (no unanswerable question: no abstention figure)
            lines.append(
                f"| {plain_markdown(str(r.get('set_label', r.get('set', ''))))} | {plain_markdown(_day(str(r.get('when', ''))))} "
                f"| v{plain_markdown(str(r.get('index_generation', '?')))}, {int(r.get('documents') or 0)} | {int(r.get('questions') or 0)} "
                f"| {_figure(m.get('answer_accuracy'))} | {_figure(m.get('abstention_recall'))} | {_figure(m.get('hit@5'))} "
                f"| {_figure(m.get('false_abstention_rate'))} |"
            )
            for w in r.get("warnings") or []:
                lines.append(f"\n⚠ {plain_markdown(str(w))}")
    elif not status.get("running"):
        lines.append("Aucune évaluation pour l'instant : « Évaluer maintenant » mesure le jeu curé et le jeu d'exemple.")
    if settings_note:
        lines += ["", settings_note]
    return "\n".join(lines)


def chart_html(png: bytes | None) -> str:
    """The figures over time, drawn by the server (an inline PNG: nothing fetched elsewhere)."""
    if not png:
        return "<p class='chart-missing'>Le graphique apparaîtra après la première évaluation.</p>"
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure class='eval-chart'><img src='data:image/png;base64,{data}' "
        'alt="Les chiffres de chaque évaluation au fil du temps, reconstructions de l\'index marquées">'
        "<figcaption>Chiffres de chaque évaluation au fil du temps ; pointillés : reconstructions de l'index.</figcaption></figure>"
    )

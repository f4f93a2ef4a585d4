"""Conversations shown again, listed, exported as Markdown and shared."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from web.render.text import (
    CITATION_MARKER,
    answer_markdown,
    blockquote,
    cut_text,
    highlight_markdown,
    passage_heading,
    plain_markdown,
)


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
        f"\n\n{blockquote(plain_markdown(cut_text(str(p.get('text', '')), 300)))}"
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


def day_of(stamp: str) -> str:
    """ "2026-01-05T14:03:00+00:00" → "05/01 14:03" (as stored; no parsing of anything else)."""
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})", stamp or "")
    return f"{m.group(3)}/{m.group(2)} {m.group(4)}:{m.group(5)}" if m else ""


def conversation_choices(summaries: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Radio choices (label, id) of a conversation list; labels are shown as text by the browser."""
    out = []
    for c in summaries:
        when = day_of(str(c.get("updated", "")))
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
    for m in CITATION_MARKER.finditer(text):
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
    return [(f"{i + 1}. {cut_text(' '.join(str(t.get('question', '')).split()), 70)}", i) for i, t in enumerate(turns)]

"""Text from outside made inert for Gradio's Markdown, and the chat's own messages (sources, answer, waiting)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer import Answer
from assistant.retrieval import Passage

CITATION_MARKER = re.compile(r"\[\d{1,2}(?:\s*[,;]\s*\d{1,2})*\](?![(\[:])")


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
    for m in CITATION_MARKER.finditer(text):
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
        f"{passage_heading(p.rank, p.title, p.source, p.location)}\n\n{blockquote(plain_markdown(cut_text(p.text, 300)))}"
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


def cut_text(text: str, n: int) -> str:
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

"""Web pages (.html, .htm)."""

from __future__ import annotations

import re

from index.loaders.base import LoadedDocument, Page, decode_text, guess_title


def load_html(data: bytes, name: str) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header"]):
        tag.decompose()
    heading = soup.find("h1") or soup.find("title")
    text = soup.get_text("\n")
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    title = heading.get_text(" ", strip=True) if heading else ""
    return LoadedDocument(title or guess_title(text, name), (Page(None, text.strip()),))

"""Plain text and Markdown."""

from __future__ import annotations

from index.loaders.base import LoadedDocument, LoadError, Page, decode_text, guess_title
from index.loaders.budget import TextBudget


def looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text[:4000] if ch == "\x00" or (ord(ch) < 32 and ch not in "\n\r\t\f"))
    return bad > max(3, len(text[:4000]) // 100)


def load_text(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if looks_binary(text):
        raise LoadError("contenu binaire dans un fichier texte : ce n'est pas du texte lisible")
    (budget or TextBudget()).add(text)  # the file's size bounds the decoding; the budget, what is kept
    return LoadedDocument(guess_title(text, name), (Page(None, text),))

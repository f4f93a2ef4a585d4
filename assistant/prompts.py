"""Prompt templates from ``prompts/``, their placeholders checked when loaded."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import prompts as prompts_package
from assistant.errors import AnsweringError

PROMPTS_DIR = Path(prompts_package.__file__).resolve().parent  # in the checkout and in an installed package alike

EXPECTED = {
    "answer_system": {"refusal_fr", "refusal_en"},
    "answer_user": {"passages", "question", "language_instruction"},
    "rewrite": {"history", "question"},
}

REFUSALS = {
    "fr": "Je ne trouve pas cette information dans les documents.",
    "en": "I cannot find this information in the documents.",
}
LANGUAGE_INSTRUCTIONS = {
    "fr": "Réponds en français, par une phrase complète.",
    "en": "Answer in English, with a complete sentence (translate the facts from the French passages).",
}


class PromptError(AnsweringError, ValueError):
    """A template is missing or its placeholders are not the expected ones."""


@dataclass(frozen=True)
class Prompts:
    answer_system: str
    answer_user: str
    rewrite: str

    def system(self) -> str:
        """The system message of every request: the same whatever the question or its language.

        llama.cpp reuses the evaluated tokens of the longest prefix shared with the previous
        request, so a constant first message is read once per process, not once per question.
        """
        return self.answer_system.format(refusal_fr=REFUSALS["fr"], refusal_en=REFUSALS["en"])


def fixed_start(template: str) -> str:
    """The template's text before its first placeholder, as it reads once filled in."""
    start = ""
    for literal, field, _, _ in string.Formatter().parse(template):
        start += literal
        if field is not None:
            break
    return start


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_prompts(folder: Path = PROMPTS_DIR) -> Prompts:
    """Read every template and check that it uses exactly the placeholders the code fills."""
    texts: dict[str, str] = {}
    for name, expected in EXPECTED.items():
        path = folder / f"{name}.md"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise PromptError(f"Modèle de prompt manquant : {path}") from exc
        try:
            found = placeholders(text)
        except ValueError as exc:
            raise PromptError(f"{path} : accolade mal formée ({exc})") from exc
        if found != expected:
            raise PromptError(
                f"{path} : champs {sorted(found)} au lieu de {sorted(expected)} (doublez les accolades littérales : {{{{ }}}})."
            )
        texts[name] = text
    return Prompts(**texts)


_PASSAGE_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
_PASSAGES_BLOCK = re.compile(r"<passages>\n(.*?)\n</passages>", re.DOTALL)


def passage_lines(excerpts: Sequence[tuple[int, str]]) -> str:
    """The passages as the model reads them: one line each, opened by its number ("[2] ...").

    A document cannot forge a passage: its text is put on one line (so no "[3]" can open a
    new one) and its passage tags are neutralized (``quote_passage``).
    """
    return "\n".join(f"[{n}] {quote_passage(' '.join(text.split()))}" for n, text in excerpts)


def parse_passages(user_message: str) -> tuple[list[tuple[int, str]], str]:
    """Split a user message built with ``passage_lines``: its (number, text) pairs, and the rest (the question)."""
    block = _PASSAGES_BLOCK.search(user_message)
    if block is None:
        return [], user_message
    rest = user_message[: block.start()] + " " + user_message[block.end() :]
    return [(int(n), text) for n, text in _PASSAGE_LINE.findall(block.group(1))], rest


_TAGS = re.compile(r"</?\s*passages?\b[^>]*>", re.IGNORECASE)


def quote_passage(text: str) -> str:
    """Neutralize anything in a document that could close or open a passage tag."""
    return _TAGS.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)

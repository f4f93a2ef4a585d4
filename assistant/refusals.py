"""Tell a model's refusal ("the documents do not say") from an answer, in French and English."""

from __future__ import annotations

import re

from assistant.prompts import REFUSALS
from assistant.text import normalize, split_sentences

_SOURCES_FR = r"(?:documents?|passages?|textes?|extraits?|sources?|contexte|informations? fournies?)"
_SOURCES_EN = r"(?:documents?|passages?|texts?|excerpts?|sources?|context|information provided)"
_REFUSALS = re.compile(
    "|".join(
        [
            *(re.escape(normalize(r)) for r in REFUSALS.values()),
            r"\bje ne (?:trouve|sais|peux)\b",
            r"\bi (?:cannot|can't|could not|couldn't|do not|don't) (?:find|know|answer)\b",
            # the sources are the subject: "les documents ne contiennent pas", "the passages do not mention"
            rf"\b{_SOURCES_FR}\b[^.;]{{0,40}}\bne (?:contien|mentionn|precis|permet|donn|indiqu|parl|fourni)\w*",
            rf"\b{_SOURCES_EN}\b[^.;]{{0,40}}\b(?:do|does|did) not (?:contain|mention|specify|provide|say|give|include|allow)\b",
            rf"\bne (?:figure|apparait) (?:pas|nulle part) dans (?:les|le|ces|ce) {_SOURCES_FR}",
            # the fact is what is missing: "le budget n'est pas précisé", "this is not mentioned"
            r"\bn'(?:est|sont) pas (?:mentionne|precise|indique|donne|specifie|fourni)",
            r"\b(?:is|are|was|were) not (?:mentioned|specified|provided|stated|given)\b",
            r"\baucune information\b",
            r"\bno information\b",
        ]
    )
)


def is_refusal(sentence: str) -> bool:
    """Whether the model said the documents do not answer (not merely a negative fact: "l'accord ne contient pas...")."""
    return _REFUSALS.search(normalize(sentence)) is not None


def opens_with_refusal(draft: str) -> bool:
    """Whether a draft is a refusal: its first sentence says the documents do not answer."""
    return is_refusal(next(iter(split_sentences(draft)), draft))

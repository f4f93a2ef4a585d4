"""The curation loop: an abstention or a thumbs-down becomes a golden question (``docs/evaluation.md``).

An admin either marks a row "the documents do not hold this" (an unanswerable
question), or picks the passage and the words that answer it: the evidence is
then the passage's own sentence around those words (copied from the passage, so
that it matches it after the format's normalisation), and the answer pattern is
proposed from the words (normalised, regex-escaped; numbers written "3 000" or
"3000" both match), editable before saving.

The curated set is a JSON Lines file in the data folder, in the golden-set
format, that ``python -m assistant eval --questions`` reads as it is. Extra fields
say where each question came from (``source_feedback``, ``curated_by``,
``curated_at``); the format says unknown fields are ignored.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.evaluation.golden import GoldenQuestion, answer_matches, supports
from assistant.text import detect_language, normalize, split_sentences
from index.jsonl import read_objects
from web.errors import WebError

CURATED_FILE = "curated-questions.jsonl"
CATEGORY = "curated"


class CurationError(WebError, ValueError):
    """A curated question cannot be saved as it is; the message says what to change."""


def propose_pattern(words: str) -> str:
    """An answer pattern from the words that answer: normalised, regex-escaped, digits groups loosely joined."""
    text = normalize(words).strip(" .,;:!?\"'")
    if not text:
        return ""
    tokens = text.split(" ")
    out = re.escape(tokens[0])
    for before, token in itertools.pairwise(tokens):
        # "3 000", "3000", "3.000", "3,000": one figure however its thousands are written
        joiner = "[ .,]?" if before.isdigit() and token.isdigit() else " "
        out += joiner + re.escape(token)
    return out


def evidence_for(passage_text: str, words: str) -> str:
    """The passage's sentence (or run of sentences) that holds the words, as the passage writes it."""
    wanted = normalize(words)
    if not wanted:
        raise CurationError("Choisissez d'abord les mots qui répondent : sélectionnez-les dans le texte du passage.")
    if wanted not in normalize(passage_text):
        raise CurationError(
            "Ces mots ne sont pas dans le passage choisi : sélectionnez-les dans le texte du passage (ou choisissez un autre passage)."
        )
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in split_sentences(passage_text):
        start = passage_text.find(sentence, cursor)
        if start < 0:
            continue
        spans.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    for width in range(1, len(spans) + 1):  # the shortest run of consecutive sentences that holds them
        for i in range(len(spans) - width + 1):
            text = passage_text[spans[i][0] : spans[i + width - 1][1]]
            if wanted in normalize(text):
                return text
    return words.strip()  # across a cut the sentence splitter made: the words themselves are in the passage


class CuratedSet:
    """The curated golden questions, one JSON object a line; rewritten atomically under a lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / CURATED_FILE
        self._lock = threading.Lock()

    def entries(self) -> list[dict[str, Any]]:
        """Every line as written (valid or not: the admin page lists them all)."""
        return read_objects(self.path)

    def by_feedback(self) -> dict[str, str]:
        """{feedback row id: curated question id}."""
        return {str(e["source_feedback"]): str(e.get("id", "")) for e in self.entries() if e.get("source_feedback")}

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".curated-", suffix=".partial", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for e in entries:
                    fh.write(json.dumps(e, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _add(self, row: Mapping[str, Any], fields: dict[str, Any], admin: str | None) -> dict[str, Any]:
        with self._lock:
            entries = self.entries()
            done = {str(e.get("source_feedback")): str(e.get("id")) for e in entries if e.get("source_feedback")}
            if str(row["id"]) in done:
                raise CurationError(
                    f"Cette remontée est déjà dans le jeu de questions ({done[str(row['id'])]}) : retirez-la d'abord pour la refaire."
                )
            used = {str(e.get("id")) for e in entries}
            number = len(entries) + 1
            while f"cur-{number:04d}" in used:
                number += 1
            entry = {
                "id": f"cur-{number:04d}",
                **fields,
                "category": CATEGORY,
                "source_feedback": str(row["id"]),
                "feedback_kind": str(row.get("kind", "")),
                "curated_by": admin,
                "curated_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            try:
                GoldenQuestion.model_validate(entry)  # exactly what the evaluation will read
            except ValidationError as exc:
                problems = "; ".join(str(e["msg"]) for e in exc.errors())
                raise CurationError(f"Question refusée ({problems}) : corrigez-la puis enregistrez à nouveau.") from exc
            self._write([*entries, entry])
            return entry

    def add_unanswerable(self, row: Mapping[str, Any], question: str, admin: str | None) -> dict[str, Any]:
        """ "Les documents ne contiennent pas cette information": the right output is an abstention."""
        question = _question(question)
        return self._add(
            row,
            {"lang": detect_language(question), "answerable": False, "question": question, "answer_patterns": [], "evidence": []},
            admin,
        )

    def add_answerable(
        self, row: Mapping[str, Any], question: str, passage_rank: int | None, words: str, pattern: str, admin: str | None
    ) -> dict[str, Any]:
        """The chosen passage's words answer it: evidence from the passage, the (edited) pattern."""
        question = _question(question)
        passage = next((p for p in row.get("passages") or [] if p.get("rank") == passage_rank), None)
        if passage is None:
            raise CurationError("Choisissez le passage qui contient la réponse.")
        text = str(passage.get("text") or "")
        evidence = evidence_for(text, words)
        if not supports(text, [evidence]):  # what the evaluation checks; never saved if it would not match
            raise CurationError("La preuve ne se retrouve pas dans le passage : sélectionnez des mots du passage.")
        pattern = (pattern or "").strip() or propose_pattern(words)
        try:
            re.compile(normalize(pattern))
        except re.error as exc:
            raise CurationError(f"Le motif de réponse n'est pas une expression régulière valide ({exc}) : corrigez-le.") from exc
        if not answer_matches(words, [pattern]):
            raise CurationError(
                "Le motif de réponse ne reconnaît pas les mots choisis : corrigez-le (minuscules, sans accents) ou "
                "reprenez le motif proposé."
            )
        return self._add(
            row,
            {
                "lang": detect_language(question),
                "answerable": True,
                "question": question,
                "answer_patterns": [pattern],
                "evidence": [evidence],
                "source_document": passage.get("source"),
            },
            admin,
        )

    def remove(self, question_id: str) -> dict[str, Any]:
        with self._lock:
            entries = self.entries()
            kept = [e for e in entries if str(e.get("id")) != str(question_id)]
            if len(kept) == len(entries):
                raise CurationError("Cette question n'est pas (ou plus) dans le jeu de questions.")
            self._write(kept)
            return next(e for e in entries if str(e.get("id")) == str(question_id))


def _question(question: str) -> str:
    text = " ".join(str(question or "").split())
    if not text:
        raise CurationError("La question est vide : écrivez la question telle qu'un collègue la poserait.")
    if len(text) > 1000:
        raise CurationError("La question est trop longue (1000 caractères au plus) : raccourcissez-la.")
    return text

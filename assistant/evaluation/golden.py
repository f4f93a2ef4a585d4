"""Golden question sets: reading (with line numbers for bad lines) and the scoring rules."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import AnsweringError
from assistant.text import normalize


class Turn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant"]
    content: str


class GoldenQuestion(BaseModel):
    """One line of a golden set (unknown extra fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    lang: Literal["fr", "en"]
    answerable: bool
    question: str = Field(min_length=1)
    answer_patterns: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    category: str = ""  # kind of question (fact, paraphrase, follow-up, ...): strata of the tuning/test split
    split: Literal["tune", "test"] | None = None  # pins a question to one half (else assigned by split_golden)

    @field_validator("answer_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(normalize(p))
            except re.error as exc:
                raise ValueError(f"expression régulière invalide {p!r} : {exc}") from exc
        return patterns


class GoldenSetError(AnsweringError, ValueError):
    """A golden set has malformed lines; ``questions`` holds the good ones."""

    def __init__(self, problems: list[str], questions: list[GoldenQuestion]):
        self.problems = problems
        self.questions = questions
        super().__init__(
            "Jeu de questions mal formé :\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nCorrigez ces lignes (format : docs/evaluation.md, « Writing a golden set »), ou relancez avec --keep-going pour évaluer les autres."
        )


def load_golden(path: Path) -> list[GoldenQuestion]:
    """Read a JSON Lines golden set; raise GoldenSetError naming each bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise GoldenSetError([f"fichier introuvable : {path}"], []) from exc
    except UnicodeDecodeError as exc:
        raise GoldenSetError([f"{path} n'est pas en UTF-8"], []) from exc
    questions: list[GoldenQuestion] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("un objet JSON est attendu")
            q = GoldenQuestion.model_validate(data)
        except json.JSONDecodeError as exc:
            problems.append(f"ligne {number} : JSON invalide ({exc.msg})")
            continue
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())
            problems.append(f"ligne {number} : {fields}")
            continue
        except ValueError as exc:
            problems.append(f"ligne {number} : {exc}")
            continue
        if q.id in seen:
            problems.append(f"ligne {number} : identifiant « {q.id} » en double")
            continue
        seen.add(q.id)
        questions.append(q)
    if problems:
        raise GoldenSetError(problems, questions)
    if not questions:
        raise GoldenSetError([f"{path} ne contient aucune question"], [])
    return questions


SPLIT_SEED = "coop-assistant-2026"
Half = Literal["tune", "test"]


def split_golden(questions: Sequence[GoldenQuestion], half: Half, seed: str = SPLIT_SEED) -> list[GoldenQuestion]:
    """Return one half of a golden set: settings are tuned on "tune", gated and reported on "test".

    Stratified by kind (category, answerable, language, follow-up): within each stratum
    questions are ordered by a seeded hash of their id and dealt alternately, so each
    half holds about half of every kind, and the split is the same on every machine.
    A question with an explicit ``split`` field stays in that half.
    """
    strata: dict[tuple[str, bool, str, bool], list[GoldenQuestion]] = {}
    for q in questions:
        if q.split is None:
            strata.setdefault((q.category, q.answerable, q.lang, bool(q.history)), []).append(q)
    assigned: dict[str, str] = {q.id: q.split for q in questions if q.split is not None}
    for key in sorted(strata, key=str):
        members = sorted(strata[key], key=lambda q: hashlib.sha256(f"{seed}:{q.id}".encode()).hexdigest())
        # the odd one of a stratum goes to "test": gates see every kind even when it is rare
        for i, q in enumerate(members):
            assigned[q.id] = "test" if i % 2 == 0 else "tune"
    return [q for q in questions if assigned[q.id] == half]


def supports(passage_text: str, evidence: Sequence[str]) -> bool:
    """A passage supports a question when its normalized text holds a normalized evidence phrase."""
    text = normalize(passage_text)
    return any(normalize(e) in text for e in evidence if e.strip())


def answer_matches(answer: str, patterns: Sequence[str]) -> bool:
    text = normalize(answer)
    return any(re.search(normalize(p), text) for p in patterns)


def first_support_rank(passage_texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    for rank, text in enumerate(passage_texts, start=1):
        if supports(text, evidence):
            return rank
    return None


def retrieval_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1/3/5 and mrr@10 from the rank of the first supporting passage of each question."""
    n = len(ranks) or 1
    out = {f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in (1, 3, 5)}
    out["mrr@10"] = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return out


def asked_key(question: str, history: Sequence[dict[str, str]]) -> str:
    """One question as asked (with the conversation before it): how a run's record or a golden line is found again."""
    return json.dumps([question, [[t["role"], t["content"]] for t in history]], ensure_ascii=False)

"""The golden questions over the real-document corpus have what the issue asks, and split into two halves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from assistant.evaluation.golden import load_golden, split_golden

REAL_DOCS = Path(__file__).resolve().parents[1] / "golden" / "real-docs.jsonl"


def test_real_document_questions_cover_every_kind() -> None:
    questions = load_golden(REAL_DOCS)
    categories = Counter(q.category for q in questions)
    assert len(questions) >= 30
    for needed in ("pdf-deep-page", "html-section", "slides", "ocr", "english", "paraphrase", "unanswerable"):
        assert categories[needed] >= 2, needed
    assert all(q.evidence and q.answer_patterns for q in questions if q.answerable)
    assert sum(q.lang == "en" for q in questions) >= 4


def test_both_halves_hold_every_category() -> None:
    questions = load_golden(REAL_DOCS)
    tune, test = split_golden(questions, "tune"), split_golden(questions, "test")
    assert {q.category for q in test} == {q.category for q in questions}
    assert len(tune) >= 15 and len(test) >= 15

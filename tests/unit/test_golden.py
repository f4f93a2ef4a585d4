"""The golden-set format and scoring rules of docs/evaluation.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.golden import GoldenSetError, answer_matches, load_golden, retrieval_metrics, supports
from assistant.text import normalize
from tests.conftest import GOLDEN, SHARED_EVAL

FRESH = GOLDEN.parent / "fresh.jsonl"  # written without reading the code, over documents/
REAL_FRESH = GOLDEN.parent / "real-fresh.jsonl"  # the same, over the real-document benchmark corpus
HOLDOUT = GOLDEN.parent / "holdout.jsonl"  # written last, read once: the final version's figures
REAL_HOLDOUT = GOLDEN.parent / "real-holdout.jsonl"


def test_normalization_follows_the_format() -> None:
    assert normalize("Huê") == "hue"
    assert normalize("  L’Accord\u00a0 signé\u202fen 1993 ") == "l'accord signe en 1993"
    assert normalize("« Français »") == '" francais "'


def test_evidence_and_patterns() -> None:
    assert supports("… l’Accord intergouvernemental signé en 1993 ne constitue …", ["l'accord intergouvernemental signe en 1993"])
    assert supports("18  postes  de  conseillers", ["18 postes de conseillers"])
    assert answer_matches("Près de 1 200 étudiants", ["1 ?200"])
    assert not answer_matches("Près de 1 300 étudiants", ["1 ?200"])


def test_retrieval_metrics() -> None:
    m = retrieval_metrics([1, 2, None, 6])
    assert m == {"hit@1": 0.25, "hit@3": 0.5, "hit@5": 0.5, "mrr@10": pytest.approx((1 + 0.5 + 1 / 6) / 4)}


def test_malformed_lines_are_named_and_the_rest_kept(tmp_path: Path) -> None:
    good = {
        "id": "a",
        "lang": "fr",
        "answerable": True,
        "question": "Q ?",
        "answer_patterns": ["x"],
        "evidence": ["y"],
        "extra": 1,
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({**good, "id": "b", "lang": "de"}),
        json.dumps({**good, "id": "c", "answer_patterns": ["(unclosed"]}),
        json.dumps({**good}),
        "",
        json.dumps({**good, "id": "d", "history": [{"role": "user", "content": "avant"}]}),
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(GoldenSetError) as err:
        load_golden(path)
    problems = "\n".join(err.value.problems)
    assert "ligne 2 : JSON invalide" in problems
    assert "ligne 3 : lang" in problems
    assert "ligne 4 :" in problems and "invalide" in problems
    assert "ligne 5 : identifiant « a » en double" in problems
    assert [q.id for q in err.value.questions] == ["a", "d"]
    assert err.value.questions[1].history[0].content == "avant"
    assert "--keep-going" in str(err.value)


@pytest.mark.parametrize("path", [GOLDEN, SHARED_EVAL, FRESH, REAL_FRESH, HOLDOUT, REAL_HOLDOUT])
def test_shipped_golden_sets_are_valid(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not present")
    questions = load_golden(path)
    assert len(questions) >= 10


def test_project_golden_set_has_what_the_issue_asks() -> None:
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    categories = [r.get("category") for r in rows]
    assert len(rows) >= 72
    assert sum(not r["answerable"] for r in rows) >= 12
    for needed in ("english", "follow-up", "paraphrase", "near-miss", "two-documents"):
        assert needed in categories
    assert all(r.get("history") for r in rows if r.get("category") == "follow-up")


def test_split_is_stratified_disjoint_and_stable() -> None:
    from collections import Counter

    from assistant.evaluation.golden import load_golden, split_golden

    questions = load_golden(GOLDEN)
    tune, test = split_golden(questions, "tune"), split_golden(questions, "test")
    assert {q.id for q in tune}.isdisjoint({q.id for q in test})
    assert len(tune) + len(test) == len(questions)
    assert [q.id for q in split_golden(questions, "test")] == [q.id for q in test]  # same on every run

    def kinds(qs):  # type: ignore[no-untyped-def]
        return Counter((q.category, q.answerable, q.lang, bool(q.history)) for q in qs)

    for kind in kinds(questions):
        assert kinds(test)[kind] - kinds(tune)[kind] in (0, 1), kind  # every kind halved, the odd one to test


def test_an_explicit_split_field_pins_a_question() -> None:
    from assistant.evaluation.golden import GoldenQuestion, split_golden

    qs = [
        GoldenQuestion(id=f"q{i}", lang="fr", answerable=True, question="?", category="fact", split="tune" if i == 0 else None)
        for i in range(6)
    ]
    assert "q0" in {q.id for q in split_golden(qs, "tune")}


@pytest.mark.parametrize("path", [FRESH, REAL_FRESH])
def test_fresh_sets_are_pinned_halves_with_many_unanswerable_questions(path: Path) -> None:
    questions = load_golden(path)
    assert all(q.split in ("tune", "test") for q in questions), "each question is pinned to its half"
    for half in ("tune", "test"):
        part = [q for q in questions if q.split == half]
        assert sum(not q.answerable for q in part) >= 0.4 * len(part), half
        assert {q.category for q in part} == {q.category for q in questions}, half


@pytest.mark.parametrize("path", [FRESH, HOLDOUT])
def test_fresh_evidence_is_in_the_sample_documents(path: Path) -> None:
    documents = [normalize(p.read_text(encoding="utf-8")) for p in sorted((GOLDEN.parents[2] / "documents").glob("*.txt"))]
    for q in load_golden(path):
        for phrase in q.evidence:
            assert any(normalize(phrase) in d for d in documents), (q.id, phrase)


@pytest.mark.parametrize("path", [HOLDOUT, REAL_HOLDOUT])
def test_holdout_sets_are_test_only_and_half_unanswerable(path: Path) -> None:
    questions = load_golden(path)
    assert {q.split for q in questions} == {"test"}, "nothing is tuned on them"
    assert sum(not q.answerable for q in questions) * 2 == len(questions)

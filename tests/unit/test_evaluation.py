"""Scoring is honest: a question that raised an error is counted, never left out."""

from __future__ import annotations

from assistant.answer import Answer
from assistant.citations import Citation
from assistant.evaluation.evaluate import QuestionResult, check_thresholds, score
from assistant.evaluation.golden import GoldenQuestion


def question(id_: str, answerable: bool, lang: str = "fr") -> GoldenQuestion:
    return GoldenQuestion(
        id=id_,
        lang=lang,  # type: ignore[arg-type]
        answerable=answerable,
        question="Quand l'accord a-t-il été signé ?",
        answer_patterns=["1993"] if answerable else [],
        evidence=["signé en 1993"] if answerable else [],
    )


def answer(text: str, abstained: bool = False, cited: str = "") -> Answer:
    citations = [Citation(1, "a.txt", "A", None, cited, "c1", cited)] if cited else []
    return Answer(
        text=text,
        citations=citations,
        abstained=abstained,
        language="fr",
        backend="scripted",
        backend_label="",
        passages=[],
        timings={"first_token": 1.0, "total": 2.0},
        question="q",
        standalone_question="q",
    )


REFUSAL = "Je ne trouve pas cette information dans les documents."


def test_an_error_counts_as_a_wrong_answer_and_not_as_an_abstention() -> None:
    results = [
        QuestionResult(question("ok", True), [], 1, answer("L'accord a été signé en 1993 [1].", cited="signé en 1993")),
        QuestionResult(question("broken", True), [], 1, None, "GenerationError: coupé"),
        QuestionResult(question("none", False), [], None, answer(REFUSAL, abstained=True)),
        QuestionResult(question("none-broken", False), [], None, None, "GenerationError: coupé"),
    ]
    m = score(results, with_answers=True)
    assert m["errors"] == 2
    assert m["answer_accuracy"] == 0.5, "the failed answerable question is wrong, not left out"
    assert m["abstention_recall"] == 0.5, "the failed unanswerable question did not abstain"
    assert m["false_abstention_rate"] == 0.0
    assert m["citation_recall"] == 0.5, "an error is an answer without a supporting citation"
    assert m["language_match"] == 0.5
    assert results[1].to_json()["correct"] is False and results[1].to_json()["abstained"] is False


def test_errors_are_gated_as_a_maximum() -> None:
    assert check_thresholds({"errors": 0}, {"errors": 0}) == []
    assert check_thresholds({"errors": 2}, {"errors": 0}) == ["errors = 2 > 0"]
    assert check_thresholds({"false_abstention_rate": 0.1}, {"false_abstention_rate": 0.05})
    assert check_thresholds({"abstention_recall": 0.8}, {"abstention_recall": 0.9})

"""Where each answer was lost: one stage per question, in the pipeline's order; and the oracle's passages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assistant.answer import Answer, Reason
from assistant.citations import CheckedSentence
from assistant.context import Excerpt
from assistant.diagnosis import diagnose
from assistant.evaluation.attribution import attribute
from assistant.evaluation.evaluate import QuestionResult, score, write_report
from assistant.evaluation.golden import GoldenQuestion
from assistant.evaluation.oracle import OracleAnswerer, OracleRetriever
from assistant.pipeline import Assistant
from assistant.relevance import Relevance
from assistant.retrieval import Passage, Retriever
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.fakes import HashEmbedder, ScriptedBackend

EVIDENCE = "L'accord a été signé en 1993 à Hanoï."
OTHER = "Le programme forme des internes depuis 2001."


def question(answerable: bool = True) -> GoldenQuestion:
    return GoldenQuestion(
        id="q",
        lang="fr",
        answerable=answerable,
        question="Quand l'accord a-t-il été signé ?",
        answer_patterns=["1993"] if answerable else [],
        evidence=["signé en 1993"] if answerable else [],
    )


def passage(rank: int, text: str, dense: float = 0.6) -> Passage:
    return Passage(rank, f"c{rank}", "a.txt", "A", 1, 0, len(text), text, 0.5, dense, 0.0)


def answer(
    text: str = "",
    *,
    passages: tuple[str, ...] = (EVIDENCE, OTHER),
    read: tuple[str, ...] | None = None,
    draft: str = "",
    second: str | None = None,
    reason: Reason = "",
    sentences: tuple[CheckedSentence, ...] = (),
) -> Answer:
    given = [passage(i, t) for i, t in enumerate(passages, start=1)]
    excerpts = [Excerpt(i, t, ()) for i, t in enumerate(passages if read is None else read, start=1)]
    return Answer(
        text=text or draft,
        citations=[],
        abstained=bool(reason),
        language="fr",
        backend="scripted",
        backend_label="",
        passages=given,
        timings={"first_token": 1.0, "total": 2.0},
        question="q",
        standalone_question="q",
        reason=reason,
        draft=draft,
        second_draft=second,
        read=excerpts,
        sentences=list(sentences),
    )


REFUSAL = "Je ne trouve pas cette information dans les documents."


def test_a_right_answer_is_lost_nowhere() -> None:
    assert attribute(question(), 1, answer(draft="Il a été signé en 1993 [1].")) is None


def test_evidence_never_found_is_a_retrieval_loss_and_found_too_low_a_ranking_loss() -> None:
    wrong = answer(passages=(OTHER,), draft="En 2001 [1].")
    assert attribute(question(), None, wrong).stage == "retrieval"  # type: ignore[union-attr]
    loss = attribute(question(), 6, wrong)
    assert loss is not None and loss.stage == "ranking" and "rang 6" in loss.detail


def test_the_gate_that_kept_the_model_from_answering_is_a_check() -> None:
    loss = attribute(question(), 1, answer(REFUSAL, reason="weak-retrieval"))
    assert loss is not None and (loss.stage, loss.detail.split(" ")[0]) == ("checks", "weak-retrieval")


def test_a_passage_read_without_its_evidence_sentence_is_an_excerpt_loss() -> None:
    loss = attribute(question(), 1, answer(read=("L'accord … à Hanoï.", OTHER), draft="En 2001 [2]."))
    assert loss is not None and loss.stage == "excerpt" and "[1]" in loss.detail


def test_evidence_read_and_a_wrong_or_refused_draft_is_a_generation_loss() -> None:
    wrong = attribute(question(), 1, answer(draft="Il a été signé en 1995 [1]."))
    refused = attribute(question(), 1, answer(REFUSAL, draft=REFUSAL, reason="model-refusal"))
    assert wrong is not None and (wrong.stage, wrong.detail) == ("generation", "brouillon faux")
    assert refused is not None and refused.stage == "generation" and refused.detail.startswith("model-refusal")


def test_a_right_draft_refused_is_lost_at_the_check_that_refused_it() -> None:
    loss = attribute(question(), 1, answer(REFUSAL, draft="Il a été signé en 1993 [1].", reason="off-topic"))
    assert loss is not None and (loss.stage, loss.detail) == ("checks", "off-topic")
    reread = answer("Il a été signé en 1995 [1].", draft="Il a été signé en 1993 [1].", second="Il a été signé en 1995 [1].")
    loss = attribute(question(), 1, reread)
    assert loss is not None and loss.stage == "checks" and "premier brouillon juste" in loss.detail


def test_an_invented_answer_is_blamed_on_the_check_that_let_it_through() -> None:
    supported = CheckedSentence("Il a été signé en 1993.", (1,), True, True)
    flagged = CheckedSentence("Il a été ratifié en 1994.", (), False, True)
    near_miss = attribute(question(False), None, answer(draft="x", sentences=(supported,)))
    partly = attribute(question(False), None, answer(draft="x", sentences=(supported, flagged)))
    assert near_miss is not None and near_miss.stage == "relevance"
    assert partly is not None and partly.stage == "support" and partly.detail.startswith("1 phrase(s) sur 2")
    assert attribute(question(False), None, answer(REFUSAL, reason="model-refusal")) is None


def test_losses_are_counted_in_the_metrics_and_tabled_in_the_report(tmp_path: Path) -> None:
    results = [
        QuestionResult(question(), [], 1, answer(draft="Il a été signé en 1993 [1].")),
        QuestionResult(question(), [], None, answer(passages=(OTHER,), draft="En 2001 [1].")),
        QuestionResult(question(), [], 1, answer(REFUSAL, draft="Il a été signé en 1993 [1].", reason="unsupported")),
        QuestionResult(question(), [], 1, None, "GenerationError: coupé"),
    ]
    metrics = score(results, with_answers=True)
    losses = metrics["losses"]
    assert losses["right"] == 1
    assert losses["answerable"] == {
        "retrieval": 1,
        "ranking": 0,
        "excerpt": 0,
        "generation": 0,
        "checks": 1,
        "error": 1,
    }
    assert losses["checks"] == {"unsupported": 1}
    write_report(tmp_path, metrics, results, None, {})
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert (
        "## Où les réponses se perdent" in report
        and "| recherche (aucun passage justificatif dans le top 10) | 1 | 25% |" in report
    )
    assert "perdue à l'étape **checks** : unsupported" in report


@pytest.fixture()
def retriever(docs: Path, tmp_path: Path, sqlite_state: IndexState) -> Retriever:
    embedder = HashEmbedder()
    store = Store.open(tmp_path / "data")
    Indexer(docs, sqlite_state, store, embedder).sync()
    return Retriever(store, embedder, sqlite_state, candidates=20, dense_weight=0.5)


@pytest.mark.parametrize("mode", ["gold", "gold-first"])
def test_the_oracle_hands_the_model_the_evidence_passages(retriever: Retriever, mode: str) -> None:
    golden = GoldenQuestion(
        id="o",
        lang="fr",
        answerable=True,
        question="Quels domaines la coopération couvre-t-elle ?",  # the evidence is not what search finds first
        answer_patterns=["1993"],
        evidence=["signé en 1993"],
    )
    assert not any("signé en 1993" in p.text for p in retriever.retrieve(golden.question, 1).passages)
    backend = ScriptedBackend(fn=lambda messages: "Il a été signé en 1993 [1].")
    oracle = OracleRetriever(retriever, mode)  # type: ignore[arg-type]
    assistant = Assistant(oracle, backend, abstain_below=0.0, similarity=lambda s, c: [0.0] * len(c))  # type: ignore[arg-type]
    answerer = OracleAnswerer(assistant, oracle, [golden])
    got = answerer.ask(golden.question)
    assert "signé en 1993" in got.passages[0].text and oracle.found >= 1
    prompt = backend.calls[-1][-1]["content"]
    if mode == "gold":
        assert all("signé en 1993" in p.text for p in got.passages), "gold: the evidence passages only"
        assert got.read[0].text == " ".join(got.passages[0].text.split()), "gold: read whole"
    else:
        assert len(got.passages) == assistant.top_k and any("signé en 1993" not in p.text for p in got.passages)
    assert "1993" in prompt
    # a question the golden set does not know (or an unanswerable one) gets the usual passages
    usual = answerer.ask("Qui finance le programme ?")
    assert oracle.found == 0 and [p.chunk_id for p in usual.passages] == [
        p.chunk_id for p in retriever.retrieve("Qui finance le programme ?", assistant.top_k).passages
    ]


def test_the_admins_are_told_where_an_unanswered_question_was_lost() -> None:
    weak = diagnose(answer(REFUSAL, reason="weak-retrieval"), 0.75)
    assert weak.startswith("Recherche :") and "0.60" in weak and "0.75" in weak
    refused = diagnose(answer(REFUSAL, draft=REFUSAL, reason="model-refusal"), 0.4)
    assert refused.startswith("Rédaction :") and "Brouillon refusé" not in refused
    flagged = CheckedSentence("Il a été ratifié en 1994.", (), False, True)
    unsupported = diagnose(answer(REFUSAL, draft="Ratifié en 1994 [1].", reason="unsupported", sentences=(flagged,)), 0.4)
    assert unsupported.startswith("Vérification des citations") and "ratifié en 1994" in unsupported
    assert unsupported.endswith("Brouillon refusé : « Ratifié en 1994 [1]. »")
    relevance = Relevance(coverage=0.2, document_coverage=0.2, similarity=0.3, missing=("Hanoï",), cross_language=False)
    off = diagnose(dataclasses.replace(answer(REFUSAL, draft="x", reason="off-topic"), relevance=relevance), 0.4)
    assert off.startswith("Vérification de pertinence") and "couverture 0.20" in off and "Hanoï" in off
    assert diagnose(answer(draft="Il a été signé en 1993 [1]."), 0.4) == ""


def test_the_oracle_modes_are_refused_where_the_model_does_not_write(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from coop_assistant.cli import app

    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "lang": "fr", "answerable": false, "question": "Quoi ?"}\n', encoding="utf-8")
    runner = CliRunner()
    base = ["eval", "--questions", str(questions), "--data", str(tmp_path / "data")]
    unknown = runner.invoke(app, [*base, "--context", "golden"])
    assert unknown.exit_code == 2 and "retrieved, gold ou gold-first" in unknown.output
    replayed = runner.invoke(app, [*base, "--context", "gold", "--replay", str(tmp_path / "results.json")])
    assert replayed.exit_code == 2 and "ni avec --replay ni avec --retrieval-only" in replayed.output
    assert not (tmp_path / "data").exists(), "refused before anything was opened"

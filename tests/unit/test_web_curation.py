"""The curation loop: feedback rows that keep the answer and its passages, golden questions curated from them
(valid per docs/evaluation.md, evidence that matches its passage after normalisation), admins only, escaped; the background
evaluation through the model queue, its history, its chart and its warnings."""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from assistant.evaluation.golden import answer_matches, load_golden, supports
from assistant.text import normalize
from tests.fakes import ScriptedBackend
from tests.unit.test_web_handlers import QUESTION, build_service, request
from web import handlers as h
from web.curation import CurationError, evidence_for, propose_pattern
from web.service import WebService

ROW_KEYS = {
    "id",
    "kind",
    "when",
    "user",
    "question",
    "standalone",
    "answer",
    "passages",
    "citations",
    "reason",
    "diagnosis",
    "comment",
    "liked",
}
WRONG = "Selon Gilles Angles, l’Accord intergouvernemental a été signé en 1993 [1]."
UNKNOWN = "Quelle est la capitale de l'Australie ?"


class Like:
    """What Gradio gives a like handler (gr.LikeData without its event)."""

    def __init__(self, index: int, value: Any, liked: bool) -> None:
        self.index, self.value, self.liked = index, value, liked


def thumbs_down(service: WebService, question: str, who: str = "bob") -> dict[str, Any]:
    """Ask, then give the answer a thumbs-down as Gradio does: the index of the bubble's first message (the
    sources block above the answer) and the contents of both; returns the admins' row."""
    *_, (messages, _, _, answer, _, conv) = h.respond(service, question, [], None, None, request(who))
    assert answer is not None and messages[-2]["metadata"]
    like = Like(len(messages) - 2, [messages[-2]["content"], messages[-1]["content"]], False)
    h.on_like(service, like, messages, conv, request(who))  # type: ignore[arg-type]
    row = next(r for r in service.problems() if r["kind"] == "avis négatif")
    assert row["question"] == question
    return row


@pytest.fixture()
def service(tmp_path: Path, docs: Path) -> WebService:
    return build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: WRONG))


def test_rows_keep_the_answer_and_passages_and_have_stable_ids(service: WebService) -> None:
    down = thumbs_down(service, QUESTION)
    assert set(down) == ROW_KEYS
    assert down["question"] == QUESTION and "1993" in down["answer"] and "\\" not in down["answer"], "as written, not as shown"
    assert len(down["passages"]) >= 2 and {"rank", "source", "title", "page", "location", "text"} == set(down["passages"][0])
    assert down["citations"] and down["citations"][0]["source"] in {p["source"] for p in down["passages"]}
    service.assistant.abstain_below = 0.99  # now every question abstains (weak retrieval)
    list(h.respond(service, UNKNOWN, [], None, None, request("alice")))
    abstention = next(r for r in service.problems() if r["kind"] == "abstention")
    assert abstention["kind"] == "abstention" and set(abstention) == ROW_KEYS
    assert abstention["passages"] and abstention["answer"].startswith("Je ne trouve pas"), "the closest passages are kept"
    assert service.feedback.get(down["id"]) == down and service.feedback.get("inconnu") is None


def test_curation_is_for_admins_only(service: WebService) -> None:
    row = thumbs_down(service, QUESTION)
    calls = [
        lambda r: h.curation_refresh(service, r),
        lambda r: h.curation_open(service, row["id"], r),
        lambda r: h.curation_passage(service, row["id"], 1, r),
        lambda r: h.curate_unanswerable(service, row["id"], "q", r),
        lambda r: h.curate_answerable(service, row["id"], "q", 1, "1993", "1993", r),
        lambda r: h.curation_remove(service, "cur-0001", r),
        lambda r: h.evaluate_now(service, r),
        lambda r: h.evaluation_poll(service, r),
        lambda r: h.problems_api(service, r),
        lambda r: h.curate_api(service, row["id"], False, "", None, "", "", r),
        lambda r: h.evaluate_api(service, r),
        lambda r: h.evaluation_api(service, r),
    ]
    for who in ("bob", None):
        for call in calls:
            with pytest.raises(gr.Error, match="réservée aux administrateurs"):
                call(request(who))
    assert service.curated.entries() == [] and not service.evaluations.running()


def test_a_row_is_shown_escaped_with_its_passages(service: WebService) -> None:
    hostile = "<img src=x onerror=alert(1)> ![](https://evil.example/x.png) [clic](https://evil.example)"
    *_, (messages, _, _, _, _, conv) = h.respond(service, QUESTION, [], None, None, request("bob"))
    h.on_comment(service, hostile, messages, conv, request("bob"))
    row = next(r for r in service.problems() if r["kind"] == "commentaire")
    picker, curated, _, _ = h.curation_refresh(service, request("alice"))
    assert (next(label for label, value in picker["choices"] if value == row["id"])).split(" · ")[1] == "commentaire"
    detail, passages, question, *_ = h.curation_open(service, row["id"], request("alice"))
    assert "onerror" in detail and QUESTION[:30] in detail and "Passages donnés au modèle" in detail
    assert "<img" not in detail and "![" not in detail and not re.search(r"(?<!\\)\]\s*[(:]", detail)
    assert question == QUESTION and [rank for _, rank in passages["choices"]] == [p["rank"] for p in row["passages"]]
    assert "Aucune question curée" in curated


def test_unanswerable_curation_writes_a_valid_golden_question(service: WebService) -> None:
    row = thumbs_down(service, UNKNOWN)
    saved, picker, curated, *_ = h.curate_unanswerable(
        service, row["id"], " Quelle est la capitale de l'Australie ? ", request("alice")
    )
    assert "cur-0001" in saved and "sans réponse" in saved and "cur-0001" in curated
    assert any("✔ cur-0001" in label for label, _ in picker["choices"]), "the row says it was curated"
    (question,) = load_golden(service.curated.path)  # what `python -m assistant eval --questions` reads
    assert question.id == "cur-0001" and not question.answerable and question.lang == "fr"
    assert question.question == UNKNOWN and question.category == "curated"
    line = json.loads(service.curated.path.read_text(encoding="utf-8"))
    assert line["source_feedback"] == row["id"] and line["curated_by"] == "alice"
    with pytest.raises(gr.Error, match="déjà dans le jeu"):
        h.curate_unanswerable(service, row["id"], UNKNOWN, request("alice"))


def test_answerable_curation_takes_evidence_from_the_passage_and_proposes_a_pattern(service: WebService) -> None:
    row = thumbs_down(service, "Combien d'entreprises françaises la French Healthcare Alliance China fédère-t-elle ?")
    passage = next(p for p in row["passages"] if "135" in p["text"])
    text = passage["text"]
    start = text.index("135")
    selected = text[start : start + len("135 entreprises")]
    words, pattern = h.curation_words_selected(
        service, gr.SelectData(None, {"value": selected, "index": [start, start + 15]}), request("alice")
    )
    assert words == selected and pattern == "135 entreprises"
    assert h.curation_passage(service, row["id"], passage["rank"], request("alice"))[0] == text
    saved, *_ = h.curate_answerable(service, row["id"], row["question"], passage["rank"], words, pattern, request("alice"))
    assert "avec réponse" in saved
    (question,) = load_golden(service.curated.path)
    assert question.answerable and question.answer_patterns == ["135 entreprises"]
    evidence = question.evidence[0]
    assert evidence in text and "135" in evidence, "copied from the passage"
    assert supports(text, question.evidence), "it matches the passage after the golden format's normalisation"
    assert answer_matches("La FHAC fédère 135 entreprises françaises.", question.answer_patterns)


def test_patterns_are_escaped_and_normalised_and_evidence_is_the_sentence() -> None:
    assert propose_pattern("3 000 médecins (formés)") == "3[ .,]?000 medecins \\(formes\\)"
    assert answer_matches("Près de 3000 médecins (formés) en France.", [propose_pattern("3 000 médecins (formés)")])
    assert answer_matches("3 000 médecins (formés)", [propose_pattern("3 000 médecins (formés)")])
    passage = "Le CHU de Hué a été fondé en 1894.\n\nPlus de 3\u00a0000 médecins vietnamiens y ont été formés. Ils exercent."
    assert evidence_for(passage, "3 000 médecins") == "Plus de 3\u00a0000 médecins vietnamiens y ont été formés."
    assert normalize(evidence_for(passage, "fondé en 1894. Plus")) in normalize(passage), "across two sentences"
    with pytest.raises(CurationError, match="pas dans le passage"):
        evidence_for(passage, "2005")


def test_curation_refuses_what_would_not_evaluate(service: WebService) -> None:
    row = thumbs_down(service, QUESTION)
    rank = row["passages"][0]["rank"]
    for args, message in (
        ((row["question"], rank, "mots absents du passage", ""), "pas dans le passage"),
        ((row["question"], None, "1993", ""), "Choisissez le passage"),
        ((row["question"], rank, row["passages"][0]["text"].split()[3], "(non fermé"), "expression régulière valide"),
        ((row["question"], rank, row["passages"][0]["text"].split()[3], "zzz"), "ne reconnaît pas les mots choisis"),
        (("  ", rank, "1993", ""), "question est vide"),
    ):
        with pytest.raises(gr.Error, match=message):
            h.curate_answerable(service, row["id"], *args, request("alice"))
    assert service.curated.entries() == []
    with pytest.raises(gr.Error, match="Choisissez d'abord une remontée"):
        h.curate_unanswerable(service, "inconnu", "q", request("alice"))


def test_curated_questions_survive_a_restart_and_a_rebuild(tmp_path: Path, docs: Path) -> None:
    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: WRONG))
    h.curate_unanswerable(service, thumbs_down(service, UNKNOWN)["id"], UNKNOWN, request("alice"))
    before = service.curated.path.read_text(encoding="utf-8")
    (docs / "nouveau.txt").write_text("Un nouveau document sur le jumelage entre Hué et Lyon, signé en 2024.", encoding="utf-8")
    restarted = WebService(service.settings, service.assistant, service.indexer, service.users)  # same data folder
    report = restarted.rebuild()
    assert report.added == ["nouveau.txt"]
    assert restarted.curated.path.read_text(encoding="utf-8") == before
    assert [q.id for q in load_golden(restarted.curated.path)] == ["cur-0001"]
    assert "cur-0001" in h.curation_refresh(restarted, request("alice"))[1]


def wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.02)
    assert condition()


def test_evaluate_now_runs_in_the_background_keeps_figures_and_draws_them(tmp_path: Path, docs: Path) -> None:
    replies = {"value": WRONG}
    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: replies["value"]))
    service.settings.eval_sample_questions = None  # the curated set only: a unit test stays fast
    service.evaluations.sets = [s for s in service.evaluations.sets if s.name == "curated"]
    row = thumbs_down(service, QUESTION)
    passage = next(p for p in row["passages"] if "1993" in p["text"])
    h.curate_answerable(service, row["id"], QUESTION, passage["rank"], "1993", "", request("alice"))
    h.curate_unanswerable(service, thumbs_down(service, UNKNOWN)["id"], UNKNOWN, request("alice"))
    status, chart, timer = h.evaluate_now(service, request("alice"))
    assert timer["active"] is True and "Le graphique apparaîtra" in chart
    assert service.evaluations.wait(60)
    status, chart, timer = h.evaluation_poll(service, request("alice"))
    assert timer["active"] is False
    (run,) = service.evaluations.history.runs("curated")
    assert run["questions"] == 2 and run["index_generation"] >= 1 and run["documents"] == 5 and run["when"]
    assert run["metrics"]["answer_accuracy"] == 1.0, "the scripted answer says 1993"
    assert "Jeu curé" in status and "| 1.00 |" in status
    png = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", chart)
    assert png, chart[:200]
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png.group(1))))
    assert image.size[0] > 500 and image.size[1] > 200
    assert (service.settings.data_dir / run["report"] / "report.md").exists(), "the failures can be read"
    # the index changes, the answers get worse: the next run says which figure dropped
    (service.settings.docs_dir / "nouveau.txt").write_text("Le jumelage entre Hué et Lyon date de 2024.", encoding="utf-8")
    h.rebuild(service, request("alice"), lambda *a, **k: None)  # type: ignore[arg-type]
    replies["value"] = "Je ne trouve pas cette information dans les documents."
    h.evaluate_now(service, request("alice"))
    assert service.evaluations.wait(60)
    status, chart, _ = h.evaluation_poll(service, request("alice"))
    first, second = service.evaluations.history.runs("curated")
    assert second["index_generation"] > first["index_generation"]
    assert any("exactitude des réponses" in w and "1.00 → 0.00" in w for w in second["warnings"]), second["warnings"]
    assert "⚠ **Baisse** : exactitude des réponses" in status
    assert [r["type"] for r in service.evaluations.history.rows()] == ["run", "rebuild", "run"]


def test_a_rebuild_can_start_the_evaluation_itself(tmp_path: Path, docs: Path) -> None:
    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: WRONG))
    service.settings.eval_after_rebuild = True
    service.evaluations.sets = [s for s in service.evaluations.sets if s.name == "curated"]
    h.curate_unanswerable(service, thumbs_down(service, UNKNOWN)["id"], UNKNOWN, request("alice"))
    service.rebuild()
    assert not service.evaluations.history.runs(), "a rebuild that changed nothing evaluates nothing"
    (docs / "nouveau.txt").write_text("Le jumelage entre Hué et Lyon date de 2024.", encoding="utf-8")
    service.rebuild()
    assert service.evaluations.wait(60)
    (run,) = service.evaluations.history.runs("curated")
    assert run["trigger"] == "reconstruction"


def test_the_evaluation_takes_its_turn_in_the_model_queue_and_never_holds_the_chat(tmp_path: Path, docs: Path) -> None:
    """A colleague's question is answered while a long evaluation is still running."""

    def slow(messages: list[dict[str, str]]) -> str:
        time.sleep(0.5)
        return WRONG

    service = build_service(tmp_path, docs, ScriptedBackend(fn=slow))
    rows = [thumbs_down(service, f"{QUESTION} ({i})") for i in range(8)]
    for row in rows:
        h.curate_unanswerable(service, row["id"], row["question"], request("alice"))
    service.evaluations.sets = [s for s in service.evaluations.sets if s.name == "curated"]
    assert service.evaluations.start("manuel", "alice")
    wait_for(lambda: service.evaluations.status().get("done", 0) >= 1)
    answered = threading.Event()

    def colleague() -> None:
        list(h.respond(service, "Combien d'entreprises françaises la FHAC fédère-t-elle ?", [], None, None, request("bob", "b")))
        answered.set()

    threading.Thread(target=colleague).start()
    assert answered.wait(10), "the colleague's question was answered"
    assert service.evaluations.running(), "while the evaluation still had questions to answer"
    done_then = service.evaluations.status()["done"]
    assert done_then < 8
    assert service.evaluations.cancel()
    assert service.evaluations.wait(20)
    assert service.evaluations.status().get("cancelled") and not service.evaluations.history.runs(), (
        "a stopped run keeps no figures"
    )


def test_the_sample_set_is_evaluated_beside_the_curated_one_each_in_its_panel(tmp_path: Path, docs: Path) -> None:
    from tests.conftest import GOLDEN

    base = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: WRONG))
    sample = tmp_path / "exemple.jsonl"
    sample.write_text("\n".join(GOLDEN.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    settings = base.settings.model_copy(update={"eval_sample_questions": sample})
    service = WebService(settings, base.assistant, base.indexer, base.users)  # as app.py builds it, from the settings
    assert [s.name for s in service.evaluations.sets] == ["curated", "sample"]
    status, _, _ = h.evaluate_now(service, request("alice"))
    assert service.evaluations.wait(60)
    status, chart, _ = h.evaluation_poll(service, request("alice"))
    assert [r["set"] for r in service.evaluations.history.runs()] == ["sample"], "an empty curated set is skipped"
    assert service.evaluations.history.runs("sample")[0]["questions"] == 3
    assert "Jeu d'exemple" in status and "img" in chart

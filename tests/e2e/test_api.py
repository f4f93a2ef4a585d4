"""The web chat through its HTTP API (gradio_client), as scripts and the browser use it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.e2e.conftest import RunningApp

QUESTION = "Combien de médecins et personnels de santé vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"


def text_of(message: dict) -> str:  # type: ignore[type-arg]
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_chat_streams_an_answer_with_sources(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    job = client.submit(QUESTION, None, api_name="/chat")
    updates = [out for out in job]
    history = job.result()[0]
    assert len(updates) >= 3, "the answer arrives in pieces"
    sources, answer = history[-2], history[-1]
    assert "72" in text_of(answer) and "[1]" in text_of(answer)
    assert sources["metadata"]["title"] == "Sources"
    assert "<mark>" in text_of(sources) and "004_2f689f248befe050.txt" in text_of(sources)
    early = [u[0] for u in updates if u and len(u[0]) == 3]
    assert early and early[0][1]["metadata"]["title"] == "Sources trouvées", "the sources are shown before the answer is written"


def test_follow_up_uses_the_conversation(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    first = client.predict(
        "Quand l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?", None, api_name="/chat"
    )[0]
    second = client.predict("Est-il prévu de le renouveler ?", None, api_name="/chat")[0]  # the session keeps the conversation
    assert "1993" in text_of(first[-1])
    # alone, "le" means nothing: only the conversation leads to the Franco-Vietnamese agreement
    sources, answer = text_of(second[-2]), text_of(second[-1])
    assert "Abstention" not in answer, answer
    assert "001_178c4dfcf0b6c658.txt" in sources and "Accord intergouvernemental" in sources


def test_api_ask_with_explicit_history(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    out = client.predict("Who won the 2022 football World Cup?", [], api_name="/ask")
    assert out["abstained"] and out["language"] == "en" and out["answer"].startswith("I cannot find")


CONCURRENT = [
    ("/chat", "Combien d'entreprises françaises la FHAC fédère-t-elle aujourd'hui ?", "135"),
    ("/ask", QUESTION, "72"),
    ("/chat", "En quelle année l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?", "1993"),
    ("/ask", "Qu'est-ce que le dispositif « se soigner » ?", ""),
]


def test_simultaneous_questions_through_every_endpoint_keep_their_own_sources(web_app: RunningApp) -> None:
    """Four clients at once, chat and API mixed: each answer comes with the sources of its own question."""
    retriever = web_app.service.assistant.retriever
    expected = {q: retriever.retrieve(q, 3).passages[0].source for _, q, _ in CONCURRENT}
    assert len(set(expected.values())) >= 3, "questions about different documents"
    results: dict[str, tuple[str, str]] = {}
    waits: list[str] = []
    barrier = threading.Barrier(len(CONCURRENT))

    def run(endpoint: str, question: str) -> None:
        client = Client(web_app.url, verbose=False)
        barrier.wait()
        if endpoint == "/ask":
            out = client.predict(question, [], api_name="/ask")
            results[question] = (out["answer"], " ".join(p["source"] for p in out["passages"][:1]))
            return
        job = client.submit(question, None, api_name="/chat")
        for update in job:
            waits.extend(text_of(m) for m in update[0] if "avant la vôtre" in text_of(m))
        history = job.result()[0]
        results[question] = (text_of(history[-1]), text_of(history[-2]))

    threads = [threading.Thread(target=run, args=(e, q)) for e, q, _ in CONCURRENT]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert len(results) == len(CONCURRENT), "every client got its answer"
    assert waits, "a question waiting for the model showed its place in the queue"
    for endpoint, question, fact in CONCURRENT:
        answer, sources = results[question]
        assert expected[question] in sources, (endpoint, question, sources[:300])
        if fact:
            assert fact in answer, (question, answer)
        for other_question, other_fact in ((q, f) for _, q, f in CONCURRENT if q != question and f):
            if expected[other_question] != expected[question]:
                assert other_fact not in answer, (question, answer)
    queue = web_app.service.assistant.model_queue
    assert queue.running() == 0 and queue.waiting() == 0


def test_upload_then_rebuild_then_ask_while_rebuilding(web_app: RunningApp, tmp_path: Path) -> None:
    new = tmp_path / "jumelage-lyon-hue.txt"
    new.write_text(
        "Jumelage hospitalier Lyon–Huê\n\nLe jumelage entre les Hospices civils de Lyon et l'hôpital central de Huê "
        "a été signé en 2019 et forme chaque année 14 infirmiers en réanimation néonatale.",
        encoding="utf-8",
    )
    bulk = []
    for i in range(12):  # enough text that the rebuild takes a while
        p = tmp_path / f"rapport-{i}.txt"
        p.write_text(
            f"Rapport annuel {i}.\n\n" + (f"Activité {i} du partenariat : formation, recherche et soins. " * 80), encoding="utf-8"
        )
        bulk.append(p)
    client = Client(web_app.url, verbose=False)
    report = client.predict([handle_file(str(new))] + [handle_file(str(p)) for p in bulk], False, api_name="/upload")[0]
    assert "ajouté : jumelage-lyon-hue.txt" in report
    with pytest.raises(Exception, match="existe déjà"):  # never silently overwritten
        client.predict([handle_file(str(new))], False, api_name="/upload")
    rebuild = client.submit(api_name="/rebuild")
    time.sleep(1.0)
    started = time.time()
    during = Client(web_app.url, verbose=False).predict(
        "Combien d'entreprises françaises la FHAC fédère-t-elle aujourd'hui ?", [], api_name="/ask"
    )
    answered_during = not rebuild.done()
    assert "135" in during["answer"], "chatting keeps working, on the previous index"
    result = rebuild.result(timeout=600)
    assert answered_during, f"the chat waited for the rebuild ({time.time() - started:.1f} s)"
    assert "ajouté : jumelage-lyon-hue.txt" in result[0]
    after = client.predict("Combien d'infirmiers le jumelage entre Lyon et Huê forme-t-il chaque année ?", [], api_name="/ask")
    # the new document is searchable (the 0.5B test model is too weak to trust its wording here)
    assert after["passages"][0]["source"] == "jumelage-lyon-hue.txt" and "14 infirmiers" in after["passages"][0]["text"]


def test_upload_refuses_path_escapes_and_wrong_types(web_app: RunningApp, tmp_path: Path) -> None:
    from web.errors import UploadError

    evil = tmp_path / "x.txt"
    evil.write_text("contenu")
    assert web_app.service.save_upload(evil, "../../etc/evil.txt") == "evil.txt"
    assert (web_app.docs / "evil.txt").exists() and not Path("/etc/evil.txt").exists()
    with pytest.raises(UploadError, match="format non accepté"):
        web_app.service.save_upload(evil, "script.exe")
    big = tmp_path / "gros.txt"
    big.write_bytes(b"a" * 1_200_000)
    with pytest.raises(UploadError, match="trop volumineux"):
        web_app.service.save_upload(big, "gros.txt")
    (web_app.docs / "evil.txt").unlink()


def test_server_refuses_oversized_upload(web_app: RunningApp) -> None:
    response = httpx.post(f"{web_app.url}gradio_api/upload", files={"files": ("gros.txt", b"a" * 1_500_000)}, timeout=30)
    assert response.status_code == 413

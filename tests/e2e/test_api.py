"""The web chat through its HTTP API (gradio_client), as scripts and the browser use it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.e2e.conftest import USERS, RunningApp

QUESTION = "Combien de médecins et personnels de santé vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"


def text_of(message: dict) -> str:  # type: ignore[type-arg]
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_chat_streams_an_answer_with_sources(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    job = client.submit(QUESTION, [], None, api_name="/chat")
    updates = [out for out in job]
    history = job.result()[0]
    assert len(updates) >= 3, "the answer arrives in pieces"
    answer, sources = history[-2], history[-1]
    assert "72" in text_of(answer) and "[1]" in text_of(answer)
    assert sources["metadata"]["title"] == "Sources"
    assert "<mark>" in text_of(sources) and "004_2f689f248befe050.txt" in text_of(sources)


def test_follow_up_uses_the_conversation(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    first = client.predict(
        "Quand l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?", [], None, api_name="/chat"
    )[0]
    second = client.predict("Est-il prévu de le renouveler ?", first, None, api_name="/chat")[0]
    assert "1993" in text_of(first[-2])
    # alone, "le" means nothing: only the conversation leads to the Franco-Vietnamese agreement
    answer, sources = text_of(second[-2]), text_of(second[-1])
    assert "Abstention" not in answer, answer
    assert "001_178c4dfcf0b6c658.txt" in sources and "Accord intergouvernemental" in sources


def test_api_ask_with_explicit_history(web_app: RunningApp) -> None:
    client = Client(web_app.url, verbose=False)
    out = client.predict("Who won the 2022 football World Cup?", [], api_name="/ask")
    assert out["abstained"] and out["language"] == "en" and out["answer"].startswith("I cannot find")


def test_two_concurrent_chats_do_not_mix(web_app: RunningApp) -> None:
    questions = {
        "a": ("Combien d'entreprises françaises la FHAC fédère-t-elle aujourd'hui ?", "135"),
        "b": (QUESTION, "72"),
    }
    results: dict[str, str] = {}

    def chat(key: str) -> None:
        client = Client(web_app.url, verbose=False)
        history = client.predict(questions[key][0], [], None, api_name="/chat")[0]
        results[key] = text_of(history[-2])

    threads = [threading.Thread(target=chat, args=(k,)) for k in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert "135" in results["a"] and "72" not in results["a"]
    assert "72" in results["b"] and "135" not in results["b"]


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
    assert "ajouté : `jumelage-lyon-hue.txt`" in report
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
    assert "ajouté : `jumelage-lyon-hue.txt`" in result[0]
    after = client.predict("Combien d'infirmiers le jumelage entre Lyon et Huê forme-t-il chaque année ?", [], api_name="/ask")
    # the new document is searchable (the 0.5B test model is too weak to trust its wording here)
    assert after["passages"][0]["source"] == "jumelage-lyon-hue.txt" and "14 infirmiers" in after["passages"][0]["text"]


def test_upload_refuses_path_escapes_and_wrong_types(web_app: RunningApp, tmp_path: Path) -> None:
    from assistant.service import UploadError

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


def test_login_protects_data_and_admin_functions(web_app_login: RunningApp) -> None:
    assert httpx.get(f"{web_app_login.url}config", timeout=10).status_code == 401
    bob = Client(web_app_login.url, auth=("bob", USERS["bob"][0]), verbose=False)
    out = bob.predict(QUESTION, [], api_name="/ask")
    assert "72" in out["answer"], "a signed-in user can chat"
    with pytest.raises(Exception, match="réservée aux administrateurs"):
        bob.predict(api_name="/rebuild")
    with pytest.raises(Exception, match="réservée aux administrateurs"):
        bob.predict(api_name="/status")
    alice = Client(web_app_login.url, auth=("alice", USERS["alice"][0]), verbose=False)
    status = alice.predict(api_name="/status")
    assert "5 documents" in status[0]
    with pytest.raises(ValueError, match="Could not login"):
        Client(web_app_login.url, auth=("bob", "mauvais"), verbose=False)

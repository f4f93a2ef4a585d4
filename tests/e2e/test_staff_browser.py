"""Staff workflow in a real headless Chromium: saved conversations, sharing an answer, and the curation loop
up to the chart of the figures. Fast fakes (bag-of-words embedder, a scripted model that cites passage [1])."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page as PlaywrightPage
from sqlalchemy import func, select

from database.schema import conversations as conversations_table
from tests.e2e.conftest import CHROMIUM, Page, RunningApp, start_app
from tests.e2e.test_browser import ask, log_in, wait_idle
from tests.fakes import HashEmbedder
from tests.unit.test_web_http import first_sentence_backend

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium missing: run `make setup-test`")

QUESTION = "En quelle année l'Accord intergouvernemental de coopération médicale Vietnam–France a-t-il été signé ?"
FOLLOW_UP = "Et qui l'a souligné ?"
UNKNOWN = "Quelle est la capitale de l'Australie ?"
HOSTILE_QUESTION = 'Accord de 1993 <img src=https://evil.example/t.png onerror="window.pwned=1"> ?'


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    for app in start_app(tmp_path_factory.mktemp("staff-browser"), HashEmbedder(), first_sentence_backend(), users=True):
        app.service.evaluations.sets = [s for s in app.service.evaluations.sets if s.name == "curated"]  # fast
        yield app


# a long document (its title comes first among the examples) whose title is hostile
HOSTILE_TITLE = 'Rapport &lt;img src=https://evil.example/e.png onerror="window.pwned=2"&gt; annuel des jumelages'
HOSTILE_DOC = (
    f"<!doctype html><html><head><title>{HOSTILE_TITLE}</title></head><body>"
    + "".join(
        f"<p>Le jumelage numéro {i} entre un hôpital français et un hôpital partenaire a formé {i + 3} soignants "
        "cette année, avec des missions croisées, des stages cliniques et des formations à distance suivies par les équipes "
        "des deux pays, dans le cadre des conventions de coopération hospitalière signées par les établissements.</p>"
        for i in range(40)
    )
    + "</body></html>"
)


@pytest.fixture(scope="module")
def local_app(tmp_path_factory) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    yield from start_app(
        tmp_path_factory.mktemp("local-browser"),
        HashEmbedder(),
        first_sentence_backend(),
        extra_docs={"rapport.html": HOSTILE_DOC},
    )


def conversation_titles(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.strip() for t in page.locator("#conversation-list label").all_inner_texts()]


def test_conversations_are_kept_reopened_followed_up_and_shared(staff_app: RunningApp, session: Page, artifacts: Path) -> None:
    page = session.page
    session.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, staff_app.url, "bob")
    assert page.title() == "Assistant documentaire · coopération santé"
    icon = page.evaluate("() => document.querySelector(\"link[rel='icon']\")?.href")
    assert icon and page.request.get(icon).headers["content-type"] == "image/png", "the favicon is ours"
    ask(page, QUESTION)
    wait_idle(page)
    page.locator("#conversation-list label", has_text="En quelle année").wait_for(timeout=30_000)
    page.reload()  # the conversation is on the server: a new page lists it
    page.locator("#conversation-list label", has_text="En quelle année").click()
    page.get_by_test_id("bot").first.wait_for(timeout=30_000)
    assert "1993" in page.get_by_test_id("bot").last.inner_text()
    ask(page, FOLLOW_UP)
    page.wait_for_function("() => document.querySelector('#share-text textarea').value.startsWith('# Et qui')", timeout=60_000)
    assert len(conversation_titles(page)) == 1, "the follow-up went into the opened conversation"
    page.wait_for_function("() => document.querySelectorAll('#conversation-list input:checked').length === 1", timeout=10_000)
    (saved,) = staff_app.service.conversations.list("bob")
    assert saved["turns"] == 2
    # one click copies the answer with its sources
    page.locator(
        "#share-text button[aria-label*='opier' i], #share-text button[title*='opier' i], #share-text button"
    ).first.click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("# Et qui l'a souligné ?") and "Sources :" in copied and "001_178c4dfcf0b6c658.txt" in copied
    # the conversation leaves the server as a download, never a page
    with page.expect_download() as download:
        page.locator("#download-conversation").click()
    name = download.value.suggested_filename
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert name.startswith("conversation-") and name.endswith(".md")
    assert text.count("## ") == 2 and QUESTION in text and FOLLOW_UP in text and "> « " in text
    served = page.request.get(download.value.url)
    assert served.headers["content-disposition"].startswith("attachment"), served.headers
    page.screenshot(path=str(artifacts / "conversations-and-sharing.png"), full_page=True, animations="disabled")
    # « Nouvelle conversation » keeps the list; rename, then delete (after confirming)
    page.locator("#new-chat").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=bot]').length === 0")
    assert len(conversation_titles(page)) == 1
    page.locator("#conversation-list label").first.click()
    page.get_by_test_id("bot").first.wait_for(timeout=30_000)
    page.locator("#conversation-title textarea, #conversation-title input").first.fill("Accord de 1993")
    page.locator("#rename-conversation").click()
    page.locator("#conversation-list label", has_text="Accord de 1993").wait_for(timeout=30_000)
    page.locator("#delete-conversation").click()
    page.locator("#confirm-delete").click()
    page.wait_for_function("() => document.querySelectorAll('#conversation-list label').length === 0", timeout=30_000)
    assert staff_app.service.conversations.list("bob") == []
    assert session.outside == [] and session.dialogs == []


def test_without_login_conversations_stay_in_this_browser(local_app: RunningApp, session: Page, artifacts: Path) -> None:
    page = session.page
    page.goto(local_app.url)
    page.locator("#conversations-note").get_by_text("restent dans ce navigateur").wait_for(timeout=30_000)
    example = page.locator("#examples button", has_text='<img src=https://evil.example/e.png onerror="window.pwned=2">')
    example.wait_for(timeout=30_000)  # the hostile title is an example, shown as text
    example.click()  # puts the question in the box
    page.wait_for_function("() => document.querySelector('#chat-input textarea').value.includes('Rapport <img')")
    ask(page, HOSTILE_QUESTION)
    page.get_by_test_id("bot").last.wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('#chat-input textarea').disabled", timeout=60_000)
    page.locator("#conversation-list label", has_text="onerror").wait_for(timeout=30_000)
    page.reload()
    page.locator("#conversation-list label", has_text="onerror").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.pwned") is None and page.locator("img[src*='evil']").count() == 0
    assert session.outside == [], "a question's title is shown as text, and fetches nothing"
    with local_app.service.db.engine.connect() as db:
        assert db.execute(select(func.count()).select_from(conversations_table)).scalar_one() == 0, "nothing on the server"
    stored = page.evaluate("() => Object.keys(localStorage)")
    assert "coop-assistant-conversations" in stored


def pick(page: PlaywrightPage, dropdown: str, words: str) -> None:
    """Choose the first option of a drop-down holding these words, as a keyboard user does: type, arrow down, Enter.

    Clicking the option failed in CI when the list opened below the fold ("element is outside of the
    viewport" however it scrolled); typing filters the list, the arrow makes its first option active, Enter takes it.
    """
    box = page.locator(f"{dropdown} input")
    box.click()
    box.fill(words)
    page.get_by_role("option", name=words).first.wait_for(timeout=30_000)
    box.press("ArrowDown")  # the first option of the filtered list becomes the active one
    box.press("Enter")


def test_an_admin_curates_a_thumbs_down_evaluates_and_sees_the_chart(
    staff_app: RunningApp,
    browser,
    session: Page,
    artifacts: Path,  # type: ignore[no-untyped-def]
) -> None:
    staff = Page(browser, artifacts)
    try:
        log_in(staff.page, staff_app.url, "bob")
        for question in (QUESTION, UNKNOWN):
            ask(staff.page, question)
            wait_idle(staff.page)
            staff.page.locator('#chatbot button[aria-label="Je n\'aime pas"]').last.click()
            staff.page.get_by_text("Merci pour votre avis").first.wait_for(timeout=30_000)
            staff.page.wait_for_timeout(300)
    finally:
        staff.context.close()
    admin = session.page
    log_in(admin, staff_app.url, "alice")
    admin.get_by_role("tab", name="Admin").click()
    pick(admin, "#curation-row", "Australie")
    admin.locator("#curation-detail").get_by_text("Australie").first.wait_for(timeout=30_000)
    admin.locator("#curate-unanswerable").click()
    admin.locator("#curation-saved").get_by_text("sans réponse dans les documents").wait_for(timeout=30_000)
    pick(admin, "#curation-row", "Vietnam")
    admin.locator("#curation-detail").get_by_text("Passages donnés au modèle").wait_for(timeout=30_000)
    admin.locator("#curation-passage label").first.click()
    area = admin.locator("#curation-passage-text textarea")
    admin.wait_for_function("() => document.querySelector('#curation-passage-text textarea').value.includes('1993')")
    start = area.input_value().index("signé en 1993")
    # the admin selects the words with the mouse: the page proposes the answer pattern from them
    area.evaluate(
        f"el => {{ el.focus(); el.setSelectionRange({start}, {start + 13}); el.dispatchEvent(new Event('select', {{bubbles: true}})); }}"
    )
    pattern = admin.locator("#curation-pattern textarea, #curation-pattern input").first
    admin.wait_for_function("() => document.querySelector('#curation-pattern textarea, #curation-pattern input').value")
    assert pattern.input_value() == "signe en 1993"
    admin.screenshot(path=str(artifacts / "curation-form.png"), full_page=True, animations="disabled")
    admin.locator("#curate-answerable").click()
    admin.locator("#curation-saved").get_by_text("avec réponse").wait_for(timeout=30_000)
    assert [e["answerable"] for e in staff_app.service.curated.entries()] == [False, True]
    history = staff_app.service.evaluations.history
    admin.locator("#evaluate-now").click()
    chart = admin.locator("#evaluation-chart img")
    chart.wait_for(timeout=120_000)
    assert "Jeu curé" in admin.locator("#evaluation-status").inner_text()
    # a new document, a rebuild, a second evaluation: the chart shows both runs and the rebuild between them
    (staff_app.docs / "jumelage.txt").write_text(
        "Le jumelage hospitalier entre Hué et Lyon a été signé en 2024.", encoding="utf-8"
    )
    admin.locator("#rebuild").click()
    admin.locator("#rebuild-report").get_by_text("jumelage.txt").wait_for(timeout=120_000)
    admin.wait_for_timeout(500)  # the chart drawn after the rebuild (its marker) is on the page
    before = chart.get_attribute("src")
    admin.locator("#evaluate-now").click()
    deadline = time.time() + 120
    while len(history.runs("curated")) < 2 and time.time() < deadline:
        time.sleep(0.2)
    admin.wait_for_function(
        "before => { const img = document.querySelector('#evaluation-chart img'); const s = document.querySelector('#evaluation-status');"
        " return img && img.src !== before && img.naturalWidth > 500 && !s.innerText.includes('en cours'); }",
        arg=before,
        timeout=60_000,
    )
    assert [r["type"] for r in history.rows()] == ["run", "rebuild", "run"]
    data = chart.get_attribute("src") or ""
    assert data.startswith("data:image/png;base64,") and len(base64.b64decode(data.split(",", 1)[1])) > 10_000
    chart.scroll_into_view_if_needed()
    admin.screenshot(path=str(artifacts / "evaluation-chart.png"), full_page=True, animations="disabled")
    chart.screenshot(path=str(artifacts / "evaluation-chart-only.png"))
    assert session.outside == [], f"nothing fetched outside: {session.outside}"


def test_the_document_filter_follows_the_index_for_everyone(staff_app: RunningApp, session: Page) -> None:
    """A page opened before another admin's rebuild offers its documents; a removed one is said, not searched around."""
    page = session.page
    log_in(page, staff_app.url, "bob")
    new = staff_app.docs / "filtre.txt"
    new.write_text("La convention de jumelage entre Hué et Nantes a été signée en 2019.", encoding="utf-8")
    staff_app.service.rebuild()  # by someone else, after this page was loaded
    page.locator("#doc-filter input").click()
    page.get_by_role("option", name="filtre.txt").click()
    page.keyboard.press("Escape")
    new.unlink()
    staff_app.service.rebuild()
    ask(page, "Quand la convention de jumelage entre Hué et Nantes a-t-elle été signée ?")
    page.get_by_test_id("bot").last.get_by_text("ne sont plus dans l'index").wait_for(timeout=60_000)
    assert "filtre.txt" in page.get_by_test_id("bot").last.inner_text()
    page.locator("#doc-filter input").click()
    page.wait_for_timeout(500)
    assert page.get_by_role("option", name="filtre.txt").count() == 0, "no longer offered"

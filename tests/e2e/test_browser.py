"""The web chat in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningApp

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium missing: run `make setup-test`")


@pytest.fixture(scope="module")
def browser() -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    yield page
    context.close()


def wait_idle(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#chat-input textarea").wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('#chat-input textarea').disabled", timeout=240_000)


def test_ask_see_answer_and_open_its_source(web_app: RunningApp, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(web_app.url)
    page.locator("#chat-input textarea").fill("Combien d'entreprises françaises la FHAC fédère-t-elle aujourd'hui ?")
    page.locator("#chat-input textarea").press("Enter")
    sources = page.locator(".thought-group", has_text="Sources")
    sources.wait_for(timeout=240_000)
    wait_idle(page)
    bot = page.get_by_test_id("bot").first
    assert "135" in bot.inner_text()
    assert "Modèle" in page.locator("#backend-line").inner_text()
    sources.locator(".title").first.click()
    content = sources.locator(".content")
    content.wait_for()
    assert "000_1bb8a8b098313e5b.txt" in content.inner_text()
    assert content.locator("mark").count() >= 1, "the quoted span is highlighted in its passage"
    page.locator("#source-pick label").first.click()
    viewer = page.locator("#viewer")
    viewer.locator("mark").wait_for(timeout=30_000)
    assert "135 entreprises françaises" in viewer.locator("mark").inner_text()
    assert page.locator("#download").is_visible()
    page.screenshot(path=str(artifacts / "chat-answer-with-sources.png"), full_page=True, animations="disabled")


def test_abstention_is_visible(web_app: RunningApp, page, artifacts: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(web_app.url)
    page.locator("#chat-input textarea").fill("Quelle est la capitale de l'Australie ?")
    page.locator("#chat-input textarea").press("Enter")
    page.locator(".thought-group", has_text="Passages les plus proches").wait_for(timeout=240_000)
    wait_idle(page)
    assert "Abstention" in page.get_by_test_id("bot").first.inner_text()
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

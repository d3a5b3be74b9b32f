"""The UI in a real headless Chromium: ask, read cited sources, upload, and stay XSS-proof.

Screenshots go to each test's tmp_path (chat.png, papers.png, index.png) for a human look.
"""

from __future__ import annotations

import pytest
from conftest import XSS_PAYLOAD, write_dump
from playwright.sync_api import Page, sync_playwright

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "How does zebrafish swimming gait change under stress?"
XSS_TITLE = f"Zebrafish swimming gait analysis {XSS_PAYLOAD}"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, ui_server) -> Page:
    """A fresh page on the app that records any dialog (alert/confirm) a payload might open."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(ui_server)
    page.wait_for_selector("#pc-question textarea")
    yield page
    context.close()


def assert_inert(page: Page) -> None:
    """No dialog fired and no element the payload would create exists."""
    page.wait_for_timeout(300)  # give a broken image's onerror time to fire, if there were one
    assert page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror],[onload]').length") == 0


def ask(page: Page, question: str) -> None:
    page.fill("#pc-question textarea", question)
    page.click("#pc-ask")
    page.wait_for_selector("#pc-chat .pc-footer", timeout=120_000)


def test_ask_shows_a_cited_answer_with_its_sources(page, tmp_path):
    ask(page, QUESTION)
    answer = page.locator("#pc-chat .pc-answer").last
    assert answer.locator("a.pc-cite-link").count() >= 1
    assert "extractive — no LLM configured" in answer.inner_text()
    cards = page.locator("#pc-sources .pc-card")
    assert cards.count() >= 1
    assert XSS_TITLE in page.locator("#pc-sources").inner_text()
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    # a citation jumps to the card with its number, opening that answer's source list
    link = answer.locator("a.pc-cite-link").first
    number = link.inner_text()
    link.click()
    target = page.url.split("#", 1)[1]
    card = page.locator(f"#{target}")
    assert card.is_visible()
    assert card.locator(".pc-num").inner_text() == f"[{number}]"
    # the abstract opens on demand
    first = cards.first
    assert not first.locator(".pc-abstract p").is_visible()
    first.locator(".pc-abstract summary").click()
    assert first.locator(".pc-abstract p").is_visible()
    page.screenshot(path=str(tmp_path / "chat-citation-clicked.png"), full_page=True)
    assert_inert(page)


def test_xss_payload_in_a_dump_renders_as_text(page, tmp_path):
    ask(page, QUESTION)
    chat_text = page.locator("#pc-chat").inner_text()
    assert XSS_PAYLOAD in chat_text  # the extractive answer quotes the abstract, literally
    assert XSS_TITLE in page.locator("#pc-sources").inner_text()
    page.get_by_role("tab", name="Papers").click()
    page.get_by_label("Filter").fill("zebrafish")
    page.locator("#pc-papers-count").get_by_text("1 of").wait_for()
    row = page.locator("#pc-papers").get_by_text(XSS_TITLE).filter(visible=True)
    row.first.click()
    detail = page.locator("#pc-paper-detail")
    detail.locator(".pc-similar li").first.wait_for()
    assert XSS_TITLE in detail.inner_text()
    page.screenshot(path=str(tmp_path / "papers.png"), full_page=True)
    assert_inert(page)


def test_upload_in_the_browser_shows_progress_then_the_summary(page, tmp_path):
    dump = write_dump(
        tmp_path / "browser_upload.txt",
        [(f"Svg payload <svg onload=alert(2)> paper {n}", f"Text {n} <b>b</b>") for n in (1, 2)],
    )
    page.get_by_role("tab", name="Index").click()
    page.locator("#pc-upload input[type=file]").set_input_files(str(dump))
    page.get_by_role("button", name="Index these dumps").click()
    page.locator("#pc-index-status progress").wait_for(timeout=30_000)
    report = page.locator("#pc-index-status .pc-report")
    report.wait_for(timeout=120_000)
    text = report.inner_text()
    assert ("added 2" in text and "browser_upload.txt" not in text) or "added 2" in text
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    page.get_by_role("tab", name="Papers").click()
    page.get_by_label("Filter").fill("svg payload")
    page.locator("#pc-papers").get_by_text("Svg payload <svg onload=alert(2)> paper 1").filter(
        visible=True
    ).first.wait_for()
    assert_inert(page)
    assert page.locator("svg[onload]").count() == 0


HOSTILE = [
    '"><script>alert(3)</script>',
    "<iframe srcdoc='<script>alert(4)</script>'></iframe>",
    "[click](javascript:alert(5)) {{7*7}} ${alert(6)}",
    "<svg/onload=alert(7)> <a href=javascript:alert(8)>x</a>",
]
LEMUR_TITLES = [
    f"Lemur vocalisation call types {HOSTILE[0]} {HOSTILE[3]}",
    f"Lemur vocalisation acoustic corpus {HOSTILE[1]} {HOSTILE[2]}",
]
LEMUR_QUESTION = "What call types do lemurs use in their vocalisation?"


def assert_no_payload_markup(page: Page) -> None:
    """assert_inert, and none of HOSTILE's elements or javascript: links exist anywhere."""
    assert_inert(page)
    assert page.locator("iframe[srcdoc], svg[onload], a[href^='javascript']").count() == 0
    scripts = page.evaluate("[...document.scripts].map(s => s.textContent).join(' ')")
    assert "alert(" not in scripts


def test_hostile_titles_are_inert_on_cards_papers_and_similar(page, tmp_path):
    """Every place a title shows: chat cards (panel and in-message), citation hover titles,
    the Papers table, the paper detail and another paper's similar list."""
    dump = write_dump(
        tmp_path / "lemurs.txt",
        [
            (LEMUR_TITLES[0], f"Ring-tailed lemurs use six vocalisation call types {HOSTILE[0]}."),
            (
                LEMUR_TITLES[1],
                f"A corpus of lemur vocalisation recordings {HOSTILE[1]} call types.",
            ),
        ],
    )
    page.get_by_role("tab", name="Index").click()
    page.locator("#pc-upload input[type=file]").set_input_files(str(dump))
    page.get_by_role("button", name="Index these dumps").click()
    page.locator("#pc-index-status .pc-report").wait_for(timeout=120_000)
    assert "added 2" in page.locator("#pc-index-status .pc-report").inner_text()

    page.get_by_role("tab", name="Chat").click()
    ask(page, LEMUR_QUESTION)
    panel = page.locator("#pc-sources").inner_text()
    message = page.locator("#pc-chat .pc-answer").last
    message.locator(".pc-msg-sources > summary").click()
    in_message = message.locator(".pc-msg-sources").inner_text()
    hover = message.locator("a.pc-cite-link").evaluate_all("links => links.map(a => a.title)")
    for title in LEMUR_TITLES:
        assert title in panel and title in in_message
    assert set(hover) <= set(LEMUR_TITLES) and hover
    assert "49" not in panel  # {{7*7}} was not evaluated by a template
    assert_no_payload_markup(page)

    page.get_by_role("tab", name="Papers").click()
    page.get_by_label("Filter").fill("lemur vocalisation")
    page.locator("#pc-papers-count").get_by_text("2 of").wait_for()
    table = page.locator("#pc-papers")
    for title in LEMUR_TITLES:
        table.get_by_text(title, exact=True).filter(visible=True).first.wait_for()
    table.get_by_text(LEMUR_TITLES[0], exact=True).filter(visible=True).first.click()
    detail = page.locator("#pc-paper-detail")
    similar = detail.locator(".pc-similar li .pc-title")
    similar.first.wait_for()
    assert detail.locator(".pc-title.pc-big").inner_text() == LEMUR_TITLES[0]
    assert LEMUR_TITLES[1] in similar.all_inner_texts()
    page.screenshot(path=str(tmp_path / "hostile-papers.png"), full_page=True)
    assert_no_payload_markup(page)

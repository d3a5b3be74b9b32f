"""The answer tools in headless Chromium (issue 10): the filter chips appear under an answer,
unticking one asks again without it (the browser runs the follow-up events that gradio_client
does not), and the download button saves the answer's Markdown. Screenshots go to the test's
tmp_path for a reader to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.slow

QUESTION = "Which face swapping papers came out in 2025?"
CHIP = "published 2025-01-01..2025-12-31"


@pytest.fixture
def page(browser, ui_server) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(ui_server)
    page.wait_for_selector("#pc-question textarea")
    yield page
    context.close()


def ask(page: Page, question: str) -> None:
    page.fill("#pc-question textarea", question)
    page.click("#pc-ask")
    page.wait_for_selector("#pc-chat .pc-footer", timeout=120_000)


def test_chip_removal_asks_again_and_the_answer_downloads(page, tmp_path):
    ask(page, QUESTION)
    chips = page.locator("#pc-question-filters")
    chips.get_by_text(CHIP).wait_for(timeout=30_000)
    assert chips.get_by_label(CHIP).is_checked()
    download_button = page.locator("#pc-download-answer")
    download_button.wait_for(state="visible")
    page.screenshot(path=str(tmp_path / "chat-question-filter-chip.png"), full_page=True)

    with page.expect_download() as info:
        download_button.click()
    markdown = info.value.path().read_text(encoding="utf-8")
    assert markdown.startswith(f"## {QUESTION}") and "### References" in markdown
    assert f"*Filters: {CHIP}.*" in markdown

    footers = page.locator("#pc-chat .pc-footer")
    chips.get_by_label(CHIP).uncheck()
    chips.wait_for(state="hidden", timeout=120_000)
    footers.first.wait_for(timeout=120_000)
    assert page.locator("#pc-chat .pc-answer").count() == 1  # the turn was replaced
    sources = page.locator("#pc-sources").inner_text()
    assert any(f"{year}-" in sources for year in ("2023", "2024", "2026"))
    page.screenshot(path=str(tmp_path / "chat-chip-removed.png"), full_page=True)

"""The UI in a real headless Chromium: ask, read cited sources, upload, and stay XSS-proof.

Screenshots go to each test's tmp_path (chat.png, papers.png, index.png, ...) for a human
look; each test prints its folder.
"""

from __future__ import annotations

import re

import pytest
from conftest import XSS_PAYLOAD, app_page, write_dump
from playwright.sync_api import Page

pytestmark = pytest.mark.slow

QUESTION = "How does zebrafish swimming gait change under stress?"
XSS_TITLE = f"Zebrafish swimming gait analysis {XSS_PAYLOAD}"


@pytest.fixture
def page(browser, ui_server) -> Page:
    """A fresh page on the app that records any dialog (alert/confirm) a payload might open."""
    with app_page(browser, ui_server) as page:
        yield page


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
    cards = page.locator("#pc-sources .pc-sources > .pc-card")  # the cited ones, shown open
    assert cards.count() >= 1
    assert XSS_TITLE in page.locator("#pc-sources").inner_text()
    folded = page.locator("#pc-sources .pc-more")
    if folded.count():  # papers retrieved and not cited: hidden until asked for
        assert not folded.locator(".pc-card").first.is_visible()
        folded.locator("> summary").click()
        assert folded.locator(".pc-card").first.is_visible()  # left open for the checks below
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    # a citation jumps to the card with its number, opening that answer's source list
    link = answer.locator("a.pc-cite-link").first
    number = link.inner_text()
    link.click()
    target = page.url.split("#", 1)[1]
    card = page.locator(f"#{target}")
    assert card.is_visible()
    assert card.locator(".pc-num").inner_text() == f"[{number}]"
    # the abstract opens on demand, in place of the snippet rather than below a copy of it
    # (a card whose snippet is the whole abstract has nothing to open)
    first = page.locator("#pc-sources .pc-card").filter(has=page.locator(".pc-abstract")).first
    assert not first.locator(".pc-abstract p").is_visible()
    assert first.locator(".pc-snippet").is_visible()
    first.locator(".pc-abstract summary").click()
    assert first.locator(".pc-abstract p").is_visible()
    assert not first.locator(".pc-snippet").is_visible()
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
    page.locator("#pc-similar tbody tr").first.wait_for()
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
    # {{7*7}} was not evaluated by a template (a dump name such as 004_...1949b0.txt may hold 49)
    assert not re.search(r"(?<!\w)49(?!\w)", panel)
    assert_no_payload_markup(page)

    page.get_by_role("tab", name="Papers").click()
    page.get_by_label("Filter").fill("lemur vocalisation")
    page.locator("#pc-papers-count").get_by_text("2 of").wait_for()
    table = page.locator("#pc-papers")
    for title in LEMUR_TITLES:
        table.get_by_text(title, exact=True).filter(visible=True).first.wait_for()
    table.get_by_text(LEMUR_TITLES[0], exact=True).filter(visible=True).first.click()
    detail = page.locator("#pc-paper-detail")
    similar = page.locator("#pc-similar tbody tr td:first-child")
    similar.first.wait_for()
    assert detail.locator(".pc-title.pc-big").inner_text() == LEMUR_TITLES[0]
    assert LEMUR_TITLES[1] in similar.all_inner_texts()
    page.screenshot(path=str(tmp_path / "hostile-papers.png"), full_page=True)
    assert_no_payload_markup(page)


# --- the polish list of issue 10 ("The UI, polished") ---------------------------------------

RECORD_STATES = """() => {
  window.pcStates = [];
  const chat = document.querySelector('#pc-chat');
  new MutationObserver(() => {
    const all = chat.querySelectorAll('.pc-answer');
    const last = all[all.length - 1];
    if (!last) return;
    const state = {cursor: last.innerText.includes('▌'), quotes: last.querySelectorAll('li').length,
                   done: !!last.querySelector('.pc-footer')};
    const prev = window.pcStates[window.pcStates.length - 1];
    if (!prev || JSON.stringify(prev) !== JSON.stringify(state)) window.pcStates.push(state);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


def test_extractive_answers_stream_quote_by_quote(page, tmp_path):
    print(f"screenshots: {tmp_path}")
    page.evaluate(RECORD_STATES)
    ask(page, "Which papers restore faces with diffusion priors?")
    states = page.evaluate("window.pcStates")
    streaming = [s for s in states if s["cursor"] and not s["done"]]
    assert any(s["quotes"] == 0 for s in streaming), states  # the lead line, alone
    assert any(s["quotes"] >= 1 for s in streaming), states  # a quote before the end
    page.screenshot(path=str(tmp_path / "streamed.png"), full_page=True)


def test_abstention_reads_once(page, tmp_path):
    print(f"screenshots: {tmp_path}")
    ask(page, "What is the best recipe for sourdough bread?")
    answer = page.locator("#pc-chat .pc-answer").last
    text = answer.inner_text()
    assert text.count("Not answered") == 1 and text.count("cover this") == 1
    assert "closest paper" in answer.locator(".pc-msg-sources > summary").inner_text()
    page.screenshot(path=str(tmp_path / "abstention.png"), full_page=True)


def test_filters_fit_and_min_upvotes_starts_empty(page, tmp_path):
    print(f"screenshots: {tmp_path}")
    page.click("#pc-filters")
    panel = page.locator("#pc-filters")
    page.locator(".pc-date-field button").first.wait_for()
    right = panel.bounding_box()["x"] + panel.bounding_box()["width"]
    for button in page.locator(".pc-date-field button").all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= right + 1, "a date-picker button is cut off"
    upvotes = page.locator("#pc-min-upvotes textarea, #pc-min-upvotes input").first
    assert upvotes.input_value() == "" and upvotes.get_attribute("placeholder") == "any"
    panel.screenshot(path=str(tmp_path / "filters.png"))


def test_question_box_keeps_its_width_on_a_narrow_screen(browser, ui_server, tmp_path):
    print(f"screenshots: {tmp_path}")
    context = browser.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    page.goto(ui_server)
    box = page.locator("#pc-question textarea")
    box.wait_for()
    size = box.bounding_box()
    assert size["width"] >= 300 and size["height"] >= 30, size
    page.screenshot(path=str(tmp_path / "narrow.png"))
    context.close()


def test_papers_open_from_a_list_and_from_their_similar_papers(page, tmp_path):
    print(f"screenshots: {tmp_path}")
    page.get_by_role("tab", name="Papers").click()
    table = page.locator("#pc-papers")
    table.locator("tbody tr").first.wait_for()
    assert page.locator("#pc-papers [role=columnheader] .cell-menu-button").count() == 0
    page.get_by_label("Filter").fill("LAFR")
    page.locator("#pc-papers-count").get_by_text("1 of").wait_for()
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers[-2:] == ["Authors", "Seen in"], headers
    cells = table.locator("tbody tr").filter(visible=True).first.locator("td")
    authors, seen_in = (c.strip() for c in cells.all_inner_texts()[-2:])
    assert authors.isdigit() and re.fullmatch(r"\d+ dumps?", seen_in), (authors, seen_in)
    table.get_by_text("LAFR", exact=False).filter(visible=True).first.click()
    detail = page.locator("#pc-paper-detail")
    detail.get_by_text("Find it on Hugging Face Papers").wait_for()
    title = detail.locator(".pc-big").inner_text()
    assert title.startswith("LAFR")
    href = detail.locator("a.pc-hf-link").get_attribute("href")
    assert href.startswith("https://huggingface.co/papers?q=LAFR%3A%20Efficient")
    assert "authors" in detail.locator(".pc-meta").inner_text()
    similar = page.locator("#pc-similar tbody tr")
    similar.first.wait_for()
    page.screenshot(path=str(tmp_path / "papers-detail.png"), full_page=True)
    # sort the similar papers by recency: dates descending (undated last)
    page.locator("#pc-sim-sort").get_by_text("Newest first").click()
    page.wait_for_timeout(1500)
    dates = [d for d in page.locator("#pc-similar tbody tr td:nth-child(2)").all_inner_texts()]
    dated = [d.strip() for d in dates if d.strip()]
    assert dated == sorted(dated, reverse=True)
    # a similar paper opens on click
    first = page.locator("#pc-similar tbody tr td:first-child").first.inner_text().strip()
    page.locator("#pc-similar tbody tr").first.click()
    page.wait_for_function(
        "t => document.querySelector('#pc-paper-detail .pc-big')?.innerText.trim() === t", arg=first
    )
    page.screenshot(path=str(tmp_path / "papers-similar-opened.png"), full_page=True)
    # a filter that hides the open paper closes it
    page.get_by_label("Filter").fill("zebrafish")
    page.locator("#pc-papers-count").get_by_text("1 of").wait_for()
    detail.get_by_text("Click a paper").wait_for()
    assert page.locator("#pc-similar").is_hidden()
    page.screenshot(path=str(tmp_path / "papers-filtered.png"), full_page=True)


def test_index_report_is_said_once_and_marks_inferred_dates(page, tmp_path):
    print(f"screenshots: {tmp_path}")
    dump = write_dump(tmp_path / "again.txt", [("Narwhal tusk sensing", "Tusks sense salinity.")])
    junk = tmp_path / "notes.txt"
    junk.write_text("milk\neggs\n", encoding="utf-8")
    page.get_by_role("tab", name="Index").click()
    status = page.locator("#pc-index-status")
    for files in ([dump, junk], [dump]):
        page.locator("#pc-upload input[type=file]").set_input_files([str(f) for f in files])
        page.get_by_role("button", name="Index these dumps").click()
        status.locator(".pc-report").wait_for(timeout=120_000)
        if len(files) == 2:
            text = status.inner_text()
            assert text.count("not a Hugging Face Daily Papers dump") == 1, text
            assert status.locator("pre").count() == 0
            page.screenshot(path=str(tmp_path / "index-errors.png"), full_page=True)
            page.locator("#pc-upload button[aria-label='Clear']").first.click()
            status.get_by_text("Indexed").first.wait_for()
    status.get_by_text("Nothing new: these dumps are already indexed").wait_for(timeout=120_000)
    assert "again.txt — already indexed, nothing new" in status.inner_text()
    assert "inferred)" in page.locator("#pc-stats").inner_text()
    page.screenshot(path=str(tmp_path / "index-unchanged.png"), full_page=True)

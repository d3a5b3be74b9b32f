"""Compare (Papers tab), the What's new digest and the Trends tab in a real headless Chromium,
over an index whose latest dump carries script payloads in its titles and abstracts.

Every place those show a title, a summary, a topic label or a quoted sentence must show the
payload as text and run nothing: no dialog, no `window.__xss`, no element the payload would
create. Screenshots go to each test's tmp_path (compare.png, compare-hostile.png,
whats-new-hostile.png, trends-hostile.png); each test prints its folder.
"""

from __future__ import annotations

import re

import pytest
from conftest import app_page, write_dump
from playwright.sync_api import Page
from whats_new_data import news_assistant, serve

from rag.compare import ASPECTS, NOT_STATED

pytestmark = pytest.mark.slow

SET_GLOBAL = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2;alert(2)</script>"
SVG = "<svg/onload=alert(3)>"
IFRAME = "\"><iframe srcdoc='<script>parent.__xss=4</script>'></iframe>"
LINK = "<a href=javascript:alert(5)>x</a> [y](javascript:alert(6)) {{7*7}}"

CALL_TYPES = f"Lemur vocalisation call types {SET_GLOBAL}"
CORPUS = f"Lemur vocalisation acoustic corpus {SCRIPT} {SVG}"
HOSTILE = [
    (
        CALL_TYPES,
        "Primate calls are hard to label at scale. "
        f"We propose CallNet, a call-type classifier for ring-tailed lemur vocalisation {SCRIPT}. "
        f"We collect a dataset of 9,000 annotated lemur calls {SVG}. "
        f"CallNet outperforms spectrogram baselines by 12% accuracy {IFRAME}. "
        f"A limitation is that it fails on overlapping calls {LINK}.",
    ),
    (
        CORPUS,
        "Lemur vocal repertoires are poorly documented. "
        f"We present a corpus of lemur vocalisation recordings from Madagascar {SET_GLOBAL}. "
        f"Experiments show call-type classifiers improve with more recordings {LINK}.",
    ),
    (
        f"Lemur vocalisation in the wild {IFRAME}",
        f"We introduce a passive acoustic monitor for lemur vocalisation {SVG} in rain forests.",
    ),
    (
        f"Coral reef bleaching detection from drones {LINK}",
        "Coral bleaching spreads quickly. "
        f"We propose ReefWatch, a drone survey method for coral reef bleaching {SET_GLOBAL}.",
    ),
    (
        f"Coral reef bleaching forecasts {SVG}",
        f"We develop a forecast of coral reef bleaching from sea temperature {SCRIPT}.",
    ),
]
HOSTILE_TITLES = {title for title, _ in HOSTILE}
SAVED_QUESTION = f"Which call types do lemurs use in their vocalisation? {SVG}"
NORMAL = [
    "Arc2Face: A Foundation Model of Human Faces",
    "LAFR: Efficient Diffusion-based Blind Face Restoration via Latent Codebook Alignment Adapter",
]


@pytest.fixture(scope="module")
def news(tmp_path_factory, _indexed_home_master, embedder):
    """(assistant, url): the sample index plus the hostile dump, indexed last (so it is what
    the digest shows), with a hostile saved question."""
    root = tmp_path_factory.mktemp("browser_hostile")
    ra = news_assistant(_indexed_home_master, root / "home", embedder, saved=(SAVED_QUESTION,))
    report = ra.index([write_dump(root / "hostile.txt", HOSTILE)])
    assert report.papers_added == len(HOSTILE), report.summary()
    demo = serve(ra)
    yield ra, demo.local_url.rstrip("/")
    demo.close()


@pytest.fixture
def page(browser, news) -> Page:
    """A fresh page on the app that records any dialog (alert/confirm) a payload might open."""
    with app_page(browser, news[1]) as page:
        yield page


def assert_inert(page: Page, *panels: str) -> None:
    """Nothing ran and no payload element exists; in `panels`, {{7*7}} stayed unevaluated."""
    page.wait_for_timeout(500)  # time for an onerror/onload/srcdoc to fire, if there were one
    assert page.dialogs == []
    assert page.evaluate("window.__xss") is None
    payload_markup = "img[src='x'], iframe[srcdoc], svg[onload], a[href^='javascript']"
    assert page.locator(payload_markup).count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror],[onload]').length") == 0
    scripts = page.evaluate("[...document.scripts].map(s => s.textContent).join(' ')")
    assert "__xss" not in scripts and "alert(" not in scripts
    for panel in panels:
        assert not re.search(r"(?<!\w)49(?!\w)", page.locator(panel).inner_text())


def normalized(text: str) -> str:
    return " ".join(text.split())


def compare(page: Page, titles: list[str]) -> None:
    """In the Papers tab: open "Compare papers", pick each title from the dropdown (typed,
    then clicked in the list), click Compare and wait for the table."""
    page.get_by_role("tab", name="Papers").click()
    page.locator("#pc-compare").get_by_text("Compare papers").click()
    box = page.get_by_role("combobox", name="Papers to compare")
    for title in titles:
        box.click()
        box.fill(title[:24])
        option = page.get_by_role("option").filter(has_text=title[:24])
        option.first.wait_for()
        assert option.count() == 1 and option.inner_text().strip() == title
        option.click()
    page.locator("#pc-compare-button").click()
    page.locator("#pc-compare-table table.pc-compare").wait_for(timeout=120_000)


def check_table(page: Page, titles: list[str], abstracts: dict[str, str]) -> list[str]:
    """A column per paper ([n] title, as text), a row per aspect; each cell is the paper's own
    sentence with its [n], or "not stated in the abstract". Returns the cells, row by row."""
    table = page.locator("#pc-compare-table table.pc-compare")
    rows = table.locator("tr")
    head = rows.first.locator("th").all_inner_texts()
    assert [h.strip() for h in head] == ["", *(f"[{n}] {t}" for n, t in enumerate(titles, 1))]
    assert rows.count() == 1 + len(ASPECTS)
    assert [rows.nth(i).locator("th").inner_text() for i in range(1, rows.count())] == list(ASPECTS)
    cells = []
    for i in range(1, rows.count()):
        tds = rows.nth(i).locator("td")
        assert tds.count() == len(titles)
        for n, title in enumerate(titles, start=1):
            td = tds.nth(n - 1)
            text = normalized(td.inner_text())
            if "pc-not-stated" in (td.get_attribute("class") or ""):
                assert text == NOT_STATED
            else:
                sentence = text.removesuffix(f" [{n}]")
                assert sentence != text, f"cell without its citation [{n}]: {text!r}"
                assert sentence in normalized(abstracts[title]), (title, sentence)
            cells.append(text)
    # the cards the [n] point at, below the table, in the same order
    cards = page.locator("#pc-compare-table .pc-card .pc-title").all_inner_texts()
    assert cards == titles
    return cells


def test_compare_two_papers_in_the_papers_tab(page, news, tmp_path):
    print(f"screenshots: {tmp_path}")
    abstracts = {p.title: p.abstract for p in news[0].papers() if p.title in NORMAL}
    compare(page, NORMAL)
    cells = check_table(page, NORMAL, abstracts)
    quoted = [c for c in cells if c != NOT_STATED]
    assert len(quoted) >= len(NORMAL), "the task, at least, is stated in every abstract"
    assert any(c.endswith(" [1]") for c in quoted) and any(c.endswith(" [2]") for c in quoted)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_hostile_papers_compare_as_text(page, news, tmp_path):
    print(f"screenshots: {tmp_path}")
    titles = [CALL_TYPES, CORPUS]
    abstracts = dict(HOSTILE)
    compare(page, titles)
    cells = check_table(page, titles, abstracts)
    text = page.locator("#pc-compare-table").inner_text()
    for payload in (SET_GLOBAL, SCRIPT, SVG, IFRAME, LINK):
        assert payload in text, payload  # each payload is quoted, literally
    assert NOT_STATED in cells  # the corpus paper states no limitation
    # the picked papers show as text in the dropdown too
    picked = page.locator("#pc-compare .wrap-inner").inner_text()
    assert CALL_TYPES in picked and CORPUS in picked
    page.screenshot(path=str(tmp_path / "compare-hostile.png"), full_page=True)
    assert_inert(page, "#pc-compare-table")


def test_hostile_digest_renders_titles_topics_and_summaries_as_text(page, news, tmp_path):
    print(f"screenshots: {tmp_path}")
    expected = news[0].digest()
    assert {p.title for p in expected.papers} == HOSTILE_TITLES
    page.get_by_role("tab", name="What's new").click()
    digest = page.locator("#pc-digest")
    digest.locator(".pc-digest-paper").nth(len(HOSTILE) - 1).wait_for(timeout=60_000)
    heads = [normalized(h) for h in digest.locator(".pc-topic-head").all_inner_texts()]
    assert len(heads) == len(expected.topics)
    for n, (head, topic) in enumerate(zip(heads, expected.topics, strict=True), start=1):
        assert head.startswith(f"{n}. {normalized(topic.label)} (")
    for paper in expected.papers:
        entry = digest.locator(f"#pc-digest-{paper.number}")
        assert entry.locator(".pc-title").inner_text() == paper.title
        summary = normalized(entry.locator(".pc-summary").inner_text())
        assert summary == normalized(paper.summary)  # "sentence [n]", the payload as text
    assert SCRIPT in digest.inner_text() and SET_GLOBAL in digest.inner_text()
    # the saved question (a payload too) and its hits, in the digest and in the saved list
    assert SAVED_QUESTION in digest.locator(".pc-saved-hits").inner_text()
    page.locator("#pc-saved-list").get_by_text(SAVED_QUESTION).wait_for()
    page.screenshot(path=str(tmp_path / "whats-new-hostile.png"), full_page=True)
    assert_inert(page, "#pc-digest")


def test_hostile_exemplar_titles_on_the_trends_tab_are_text(page, news, tmp_path):
    print(f"screenshots: {tmp_path}")
    trends = news[0].trends()
    exemplars = {e.title for t in trends.rising_topics() for e in t.exemplars}
    assert exemplars & HOSTILE_TITLES, "the hostile dump's topic is rising (latest month)"
    page.get_by_role("tab", name="Trends").click()
    rising = page.locator("#pc-rising .pc-rising")
    rising.locator("li").first.wait_for(timeout=120_000)
    shown = rising.locator(".pc-title").all_inner_texts()
    assert set(shown) == exemplars
    labels = [normalized(t) for t in rising.locator(".pc-topic-head").all_inner_texts()]
    assert labels == [normalized(t.label) for t in trends.rising_topics()]
    page.locator("#pc-trends-plot svg").first.wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "trends-hostile.png"), full_page=True)
    assert_inert(page, "#pc-rising")

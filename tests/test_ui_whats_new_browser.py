"""The What's new and Trends tabs in a real headless Chromium.

Screenshots go to the test's tmp_path (whats-new.png, whats-new-saved.png, trends.png) for a
human look; the test prints the folder.
"""

from __future__ import annotations

import pytest
from whats_new_data import GLACIER, GLACIER_QUESTION, PROTEIN, news_assistant, serve, write_new_dump

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, _indexed_home_master, embedder):
    root = tmp_path_factory.mktemp("browser_news")
    ra = news_assistant(_indexed_home_master, root / "home", embedder, saved=(GLACIER_QUESTION,))
    assert ra.index([write_new_dump(root / "new.txt")]).papers_added == 3
    demo = serve(ra)
    yield demo.local_url
    demo.close()


def test_whats_new_and_trends_tabs_render(app_url, browser, tmp_path):
    print(f"screenshots in {tmp_path}")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("#pc-question textarea")

    page.get_by_role("tab", name="What's new").click()
    digest = page.locator("#pc-digest")
    digest.locator(".pc-topic").nth(1).wait_for(timeout=60_000)
    assert digest.locator(".pc-topic").count() == 2
    assert digest.locator(".pc-digest-head").inner_text() == (
        "What's new: 3 new papers in 2 topics"
    )
    hits = digest.locator(".pc-saved-hits")
    assert GLACIER_QUESTION in hits.inner_text() and GLACIER in hits.inner_text()
    # the saved question's hit links to the paper's entry in the digest
    hits.locator("a.pc-cite-link").first.click()
    target = page.url.split("#", 1)[1]
    assert target == "pc-digest-2" and GLACIER in page.locator(f"#{target}").inner_text()
    page.screenshot(path=str(tmp_path / "whats-new.png"), full_page=True)

    page.locator("#pc-saved-question textarea").fill("Which papers design protein backbones?")
    page.locator("#pc-saved-add").click()
    page.locator("#pc-saved-list").get_by_text("design protein backbones").wait_for()
    hits.get_by_text(PROTEIN).wait_for(timeout=60_000)  # the new question's hit appears
    page.screenshot(path=str(tmp_path / "whats-new-saved.png"), full_page=True)

    page.get_by_role("tab", name="Trends").click()
    page.locator("#pc-rising .pc-rising li").first.wait_for(timeout=120_000)
    plot = page.locator("#pc-trends-plot")
    plot.locator("svg").first.wait_for(timeout=60_000)
    lines = plot.locator("svg g.mark-line path")
    assert lines.count() >= 2, "one line per plotted topic"
    legend = plot.locator("svg g.mark-text.role-legend-label, svg .role-legend-label text")
    assert legend.count() >= 2
    page.screenshot(path=str(tmp_path / "trends.png"), full_page=True)
    page.close()

"""The What's new and Trends tabs, driven through gradio_client against the launched app:
digest, saved questions, the trends plot's data, and the Index tab's arrivals line."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from whats_new_data import (
    GLACIER,
    GLACIER_QUESTION,
    NEW_TITLES,
    SEA_ICE,
    news_assistant,
    serve,
    write_new_dump,
)

from ui.render import escape_text


@pytest.fixture(scope="module")
def news(tmp_path_factory, _indexed_home_master, embedder):
    """(assistant, client): the sample plus the three-paper dump, one saved question."""
    root = tmp_path_factory.mktemp("ui_news")
    ra = news_assistant(_indexed_home_master, root / "home", embedder, saved=(GLACIER_QUESTION,))
    report = ra.index([write_new_dump(root / "new.txt")])
    assert report.papers_added == 3, report.summary()
    demo = serve(ra)
    yield ra, Client(demo.local_url, verbose=False)
    demo.close()


def test_digest_shows_the_new_papers_by_topic_with_saved_hits(news):
    _, client = news
    panel, download = client.predict(None, api_name="/digest")

    assert "What's new: " + escape_text("3 new papers in 2 topics") in panel
    for title in NEW_TITLES:
        assert escape_text(title) in panel
    assert panel.count('class="pc-topic"') == 2
    topics = panel.split('class="pc-topic"', 1)[1]
    assert topics.index(escape_text(SEA_ICE)) < topics.index(escape_text(GLACIER))  # upvotes
    # each summary cites its own entry, and the saved question links to the glacier paper
    assert 'href="#pc-digest-1"' in panel and 'id="pc-digest-1"' in panel
    saved = panel.split('class="pc-saved-hits"', 1)[1].split('class="pc-topic"', 1)[0]
    assert escape_text(GLACIER_QUESTION) in saved and escape_text(GLACIER) in saved
    assert 'href="#pc-digest-2"' in saved  # the glacier paper is [2]
    path = download.get("value") if isinstance(download, dict) else download  # an update
    with open(path, encoding="utf-8") as handle:
        markdown = handle.read()
    assert markdown.startswith("# What's new: 3 new papers in 2 topics")
    assert "## References" in markdown


def test_digest_since_a_date(news):
    ra, client = news
    panel, _ = client.predict("2026-06-01", api_name="/digest")
    expected = ra.digest(since="2026-06-01")
    assert escape_text(expected.headline()) in panel
    assert "first captured on or after 2026&#45;06&#45;01" in panel
    assert escape_text(SEA_ICE) not in panel


def test_saving_and_removing_a_question_updates_the_list_and_the_digest(news):
    ra, client = news
    question = "Which papers design protein backbones?"
    listing, choices, box, panel, _ = client.predict(question, None, api_name="/saved_add")
    assert question in str(choices)  # the remove list offers it
    assert box == ""
    assert escape_text(question) in listing
    assert escape_text(question) in panel.split('class="pc-topic"', 1)[0]  # a saved hit now
    entry = next(q for q in ra.saved_list() if q.question == question)

    listing, _, _, panel, _ = client.predict(entry.id, None, api_name="/saved_remove")
    assert escape_text(question) not in listing
    assert escape_text(question) not in panel
    assert [q.question for q in ra.saved_list()] == [GLACIER_QUESTION]


def test_the_trends_endpoint_returns_plot_data_and_the_rising_topics(news):
    ra, client = news
    plot, rising = client.predict("Share of papers", api_name="/trends")
    trends = ra.trends()

    assert plot["columns"] == ["month", "topic", "share (%)", "papers"]
    plotted = {row[1] for row in plot["data"]}
    assert plotted == set(trends.rising[:5])
    assert {row[0] for row in plot["data"]} == set(trends.months)
    assert "Rising fastest" in rising
    for label in trends.rising:
        assert escape_text(label) in rising
    upvotes, _ = client.predict("Share of upvotes", api_name="/trends")
    assert all(row[2] is not None for row in upvotes["data"])


def test_an_upload_ends_with_the_arrivals_line(tmp_path, _indexed_home_master, embedder):
    home = tmp_path / "home"
    ra = news_assistant(_indexed_home_master, home, embedder, saved=(GLACIER_QUESTION,))
    demo = serve(ra)
    try:
        client = Client(demo.local_url, verbose=False)
        dump = write_new_dump(tmp_path / "upload.txt")
        status, _ = client.predict([handle_file(dump)], api_name="/index_uploads")
        line = "3 new papers arrived, in 2 topics: see them in the What's new tab"
        assert status.endswith(f'<div class="pc-arrival-line">{escape_text(line)}</div></div>')
        saved = f'saved question "{GLACIER_QUESTION}": 1 new relevant paper'
        assert escape_text(saved) in status
        panel, _ = client.predict(None, api_name="/digest")  # the page shows them too
        assert escape_text(GLACIER) in panel
    finally:
        demo.close()

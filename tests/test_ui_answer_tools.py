"""The chat tab's answer tools (issue 10), driven through gradio_client on the launched UI:
filters from the question as removable chips, the Markdown download, metadata answers and
the source cards' metadata."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from gradio_client import Client

from rag.models import Source
from ui.render import source_card

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)


def message_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def card_years(sources_html: str) -> set[str]:
    """The publication years on the source cards (the panel escapes "-" as an entity)."""
    return set(re.findall(r'class="pc-date">(\d{4})-', html.unescape(sources_html)))


def tools(client: Client) -> tuple[dict, str | None]:
    """(chips update, downloaded file or None) for the session's last answer."""
    chips, download = client.predict(api_name="/answer_tools")
    path = download.get("value") if isinstance(download, dict) else download
    return chips, path


@pytest.fixture
def client(ui_server) -> Client:
    """A fresh client per test: one session, so the last answer is this test's."""
    return Client(ui_server, verbose=False)


def test_question_filters_are_chips_and_unticking_one_asks_again(client):
    chat, sources, _ = client.predict(
        "Which face swapping papers came out in 2025?", [], api_name="/ask"
    )
    assert card_years(sources) == {"2025"}
    chips, _ = tools(client)
    assert chips["visible"] is True
    assert chips["choices"] == [["published 2025-01-01..2025-12-31", "dates"]]
    assert chips["value"] == ["dates"]

    again, sources, _ = client.predict([], chat, api_name="/reask")
    assert len(again) == len(chat)  # the turn is replaced, not repeated
    assert message_text(again[-2]) == message_text(chat[-2])
    assert card_years(sources) - {"2025"}, "without the filter, other years come back"
    chips, _ = tools(client)
    assert chips["visible"] is False and chips["choices"] == []


def test_look_alikes_make_no_chips(client):
    client.predict("What were the results of the 2025 challenge?", [], api_name="/ask")
    chips, _ = tools(client)
    assert chips["visible"] is False


def test_download_gives_the_answers_markdown(client):
    chat, sources, _ = client.predict(
        "How many authors does the Lookahead paper have?", [], api_name="/ask"
    )
    answer = html.unescape(message_text(chat[-1]))
    assert "4 authors" in answer and "from the papers' metadata in the index" in answer
    assert "4 authors" in sources and "Seen in 2 dumps" in html.unescape(sources)
    _, path = tools(client)
    markdown = Path(path).read_text(encoding="utf-8")
    assert path.endswith(".md")
    assert markdown.startswith("## How many authors does the Lookahead paper have?")
    assert "4 authors [1]" in markdown
    assert f"[1] **{LOOKAHEAD}**, published 2023-12-19" in markdown


def test_new_chat_hides_the_tools(client):
    client.predict("face swapping from ByteDance", [], api_name="/ask")
    chips, path = tools(client)
    assert chips["choices"] == [["org ByteDance", "org"]] and path
    client.predict(api_name="/new_chat")
    chips, path = tools(client)
    assert chips["visible"] is False and not path


def test_source_cards_show_authors_and_dumps(make_sources, sample_papers_by_title):
    (source,) = make_sources([LOOKAHEAD])
    paper = sample_papers_by_title[LOOKAHEAD]
    source = Source(
        **{**source.model_dump(), "authors_count": paper.authors_count, "dumps": paper.dumps}
    )
    card = html.unescape(source_card(source, "t"))
    assert "4 authors" in card and "2023-12-19" in card
    assert "Seen in 2 dumps: 000_253eb8ca2fc9d003.txt, 001_a8350dbcb0d16345.txt" in card


def test_papers_tab_detail_shows_the_metadata(client):
    from rag.papers import make_paper_id

    detail = html.unescape(client.predict(make_paper_id(LOOKAHEAD), api_name="/paper"))
    assert "2023-12-19" in detail and "4 authors" in detail
    assert "Seen in 2 dumps: 000_253eb8ca2fc9d003.txt, 001_a8350dbcb0d16345.txt" in detail

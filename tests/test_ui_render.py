"""ui.render: dump text is inert everywhere, citations point at their cards, panels say it all."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from pydantic import Field

from rag.models import Answer, Citation, FileIssue, IndexReport, PaperHit, Source
from ui import render

XSS = "<img src=x onerror=alert(1)>"
NASTY = [
    XSS,
    '"><script>alert(1)</script>',
    "[click](javascript:alert(1)) **bold** _it_ `code` $$x^2$$ ${alert(1)} {{constructor}}",
    "# heading\n> quote\n- item | a | b |",
    "R&D 93.3\\% ~ISR <b>bold</b> ü 𝔘 https://example.org/a?b=1&c=2",
]


def source(number: int, title: str = "A paper", **extra) -> Source:
    fields = {
        "paper_id": f"p{number}",
        "score": 0.5,
        "published": "2025-10-16",
        "org": "ByteDance",
        "upvotes": 9,
        "snippet": "evidence text",
        "abstract": "full abstract",
    }
    fields.update(extra)
    return Source(number=number, title=title, **fields)


def tags(markup: str) -> set[str]:
    return set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", markup))


@pytest.mark.parametrize("text", NASTY)
def test_escape_text_is_inert_and_shows_the_same_characters(text):
    escaped = render.escape_text(text)
    assert html.unescape(escaped) == text
    # outside character references, nothing an HTML, Markdown, KaTeX or template parser would
    # act on survives
    bare = re.sub(r"&(?:#\d+|#x[0-9a-fA-F]+|amp|lt|gt|quot);", "", escaped)
    assert not set(bare) & set("<>\"'`*_[]()$\\{}|~#&:")


def test_escape_multiline_keeps_line_breaks():
    assert render.escape_multiline("a\nb<") == "a<br>b&lt;"


def test_citations_link_to_the_card_with_the_same_number():
    sources = [source(1, "First"), source(2, XSS)]
    answer = Answer(
        text="X does this [1]. Y does that [2]; both agree [1, 2]. Nothing is [7].",
        sources=sources,
        citations=[Citation(number=1, paper_id="p1", title="First")],
    )
    message = render.answer_message(answer, "t1", "extractive — no LLM configured")
    targets = re.findall(r'href="#([^"]+)"', message)
    assert targets == ["pc-t1-src-1", "pc-t1-src-2", "pc-t1-src-1", "pc-t1-src-2"]
    for target in set(targets):
        assert message.count(f'id="{target}"') == 1
    # an unknown number is left as text, not turned into a dead link
    assert "&#91;7&#93;" in message
    # the hover title of [2] is the escaped XSS title, never markup
    assert "<img" not in message
    assert f'title="{render.escape_text(XSS)}"' in message


def test_source_card_shows_every_field_and_the_abstract_on_expand():
    card = render.source_card(
        source(3, XSS, score=0.8123, snippet="snippet " + XSS, abstract="abstract " + XSS), "x"
    )
    assert 'id="pc-x-src-3"' in card
    assert "[3]" in card
    assert "2025&#45;10&#45;16" in card and "ByteDance" in card and "▲ 9 upvotes" in card
    assert "relevance 0.81" in card
    assert "<details" in card and "<summary>Full abstract</summary>" in card
    assert tags(card) <= {"div", "span", "details", "summary", "p", "br"}
    assert html.unescape(re.sub(r"<[^>]+>", "", card)).count(XSS) == 3


def test_missing_metadata_is_left_out():
    card = render.source_card(source(1, published=None, org=None, upvotes=None), "x")
    assert "upvotes" not in card and "pc-org" not in card and "pc-date" not in card


def test_sources_panel_marks_uncited_sources():
    answer = Answer(
        text="Only [2].",
        sources=[source(1), source(2)],
        citations=[Citation(number=2, paper_id="p2", title="A paper")],
    )
    panel = render.sources_panel(answer)
    first, second = panel.split('id="pc-panel-src-2"')  # renumbered: the cited one is [1]
    assert "pc-uncited" not in first and "pc-uncited" in second


def test_uncited_papers_stay_collapsed_below_the_cited_ones():
    """Only the cited sources are shown open; papers the answer did not use are folded away,
    best first, so a weak one does not read as a source."""
    answer = Answer(
        text="See [3].",
        sources=[source(1, "weak", score=0.1), source(2, "close", score=0.7), source(3, "used")],
        citations=[Citation(number=3, paper_id="p3", title="used")],
    )
    panel = render.sources_panel(answer)
    shown, folded = panel.split('<details class="pc-more">')
    assert re.findall(r'class="pc-title">(\w+)<', shown) == ["used"]
    assert "2 more papers retrieved, not cited" in folded
    assert re.findall(r'class="pc-title">(\w+)<', folded) == ["close", "weak"]


def test_abstention_is_shown_as_an_abstention():
    answer = Answer(text="I cannot answer that from the papers.", abstained=True)
    message = render.answer_message(answer, "t", "extractive — no LLM configured")
    assert "Not answered" in message and "pc-abstain" in message
    assert "relevant enough" in render.sources_panel(answer)


def test_abstention_says_it_once_and_lists_the_closest_papers_by_relevance():
    answer = Answer(
        text="The indexed papers don't seem to cover this.",
        abstained=True,
        sources=[
            source(1, "low", score=0.1),
            source(2, "high", score=0.4),
            source(3, "mid", score=0.2),
        ],
    )
    message = render.answer_message(answer, "t", "m")
    assert message.count("cover this") == 1 and message.count("Not answered") == 1
    panel = render.sources_panel(answer)
    order = re.findall(r'<span class="pc-title">(\w+)</span>', panel)
    assert order == ["high", "mid", "low"]
    assert re.findall(r'class="pc-num">\[(\d)\]', panel) == ["1", "2", "3"]


def test_uncited_answer_carries_a_warning():
    answer = Answer(text="Some claim.", sources=[source(1)], uncited=True)
    assert "cites no source" in render.answer_message(answer, "t", "m")


def test_footer_shows_mode_and_small_timings():
    answer = Answer(text="a [1]", sources=[source(1)], timings={"retrieve": 0.1234, "generate": 2})
    footer = render.answer_footer(answer, "extractive — no LLM configured")
    assert "<small>" in footer
    assert "extractive — no LLM configured" in footer
    assert "retrieve 0.12 s" in footer and "generate 2.00 s" in footer
    llm = Answer(text="a", mode="llm", model="gpt-4o-mini")
    assert "gpt&#45;4o&#45;mini" in render.answer_footer(llm, "LLM: other")


def test_stats_panel_lists_numbers_and_dumps():
    stats = {
        "papers": 141,
        "chunks": 290,
        "dumps": [{"name": XSS + ".txt", "captured": "2025-06-17", "papers": 40}],
        "date_range": ("2023-01-02", "2025-10-16"),
        "embedding_model": "all-MiniLM-L6-v2",
        "embedding_dimension": 384,
        "store": "/data/chroma",
        "mode": "extractive — no LLM configured",
    }
    panel = render.stats_panel(stats)
    assert '<td class="pc-stat-papers">141</td>' in panel
    assert '<td class="pc-stat-dumps">1</td>' in panel
    assert "384 dims" in panel and "2025&#45;10&#45;16" in panel
    assert "<img" not in panel and render.escape_text(XSS) in panel


def test_index_report_shows_the_counts_and_each_files_errors_once():
    report = IndexReport(
        files=["/up/good.txt", "/up/bad.txt"],
        papers_added=3,
        chunks_embedded=7,
        errors=[
            FileIssue(file="/up/bad.txt", message="no paper entries found"),
            FileIssue(file="/up/good.txt", line=12, message=XSS, level="warning"),
        ],
    )
    panel = render.index_report_panel(report, {"/up/bad.txt": "bad.txt", "/up/good.txt": "g.txt"})
    assert "Indexed with errors" in panel
    assert "added 3" in panel and "chunks embedded 7" in panel
    assert "<pre" not in panel  # no monospace copy of the CLI lines
    assert panel.count("no paper entries found") == 1
    assert panel.count(render.escape_text(XSS)) == 1
    assert "<strong>bad.txt</strong> — failed" in panel
    assert "<strong>g.txt</strong> — indexed" in panel and "line 12" in panel
    assert "/up/" not in panel and "<img" not in panel


def test_an_unchanged_reupload_says_nothing_new():
    report = IndexReport(files=["/up/same.txt"], papers_unchanged=4, seconds=0.4)
    panel = render.index_report_panel(report, {"/up/same.txt": "same.txt"})
    assert "Nothing new: these dumps are already indexed" in panel
    assert "<strong>same.txt</strong> — already indexed, nothing new" in panel
    assert "— indexed" not in panel


def test_dump_list_marks_inferred_capture_dates_like_the_cli():
    stats = {
        "dumps": [
            {"name": "a.txt", "captured": "2025-06-17", "captured_inferred": True, "papers": 1},
            {"name": "b.txt", "captured": "2025-06-18", "captured_inferred": False, "papers": 2},
        ]
    }
    panel = render.stats_panel(stats)
    assert "a.txt (captured 2025&#45;06&#45;17, inferred) — 1 paper<" in panel
    assert "b.txt (captured 2025&#45;06&#45;18) — 2 papers<" in panel


def test_progress_panel_is_a_progress_bar_in_words():
    assert '<progress value="3" max="8">' in render.progress_panel("embedding", 3, 8)
    assert "embedding: 3/8" in render.progress_panel("embedding", 3, 8)
    first = render.progress_panel("checking the uploaded files", 0, 0, elapsed=0.0)
    assert "checking the uploaded files… (0 s)" in first


class HitWithDumps(PaperHit):
    """PaperHit as it will be once rag exposes the dumps a paper was seen in."""

    dumps: list[str] = Field(default_factory=list)


def test_paper_detail_shows_authors_dumps_and_a_title_search_link():
    hit = HitWithDumps(
        paper_id="p1",
        title=XSS + " & co",
        score=0,
        abstract="abs " + XSS,
        upvotes=1,
        authors_count=4,
        dumps=["000_a.txt", "004_b.txt"],
    )
    detail = render.paper_detail(hit)
    assert "▲ 1 upvote<" in detail and "4 authors" in detail
    assert "Seen in 2 dumps: 000&#95;a.txt, 004&#95;b.txt" in detail
    href = html.unescape(re.search(r'href="([^"]+)"', detail).group(1))
    assert href == "https://huggingface.co/papers?q=" + quote(XSS + " & co", safe="")
    assert 'rel="noopener noreferrer"' in detail and "<img" not in detail
    plain = render.paper_detail(PaperHit(paper_id="p2", title="T", score=0, authors_count=1))
    assert "1 author<" in plain and "Seen in" not in plain


def test_similar_list_is_escaped():
    other = PaperHit(paper_id="p2", title="Other " + XSS, score=0.734, org="Org")
    listing = render.similar_list([other])
    assert "similarity 0.73" in listing and "Similar papers" in listing
    assert "<img" not in listing
    assert "No similar papers" in render.similar_list([])


def test_counts_read_as_english():
    assert render.plural(1, "upvote") == "1 upvote" and render.plural(2, "upvote") == "2 upvotes"
    one = Answer(text="none", abstained=True, sources=[source(1)])
    assert "<summary>1 closest paper</summary>" in render.answer_message(one, "t", "m")
    many = Answer(text="a [1]", sources=[source(1), source(2)])
    assert "<summary>2 sources</summary>" in render.answer_message(many, "t", "m")
    assert "▲ 1 upvote<" in render.source_card(source(1, upvotes=1), "x")


def test_full_abstract_shows_the_snippet_in_place_instead_of_repeating_it():
    abstract = "First sentence. The evidence <b>here</b>. Last sentence."
    card = render.source_card(
        source(1, snippet="The evidence <b>here</b>.", abstract=abstract), "x"
    )
    inside = card.split("<details", 1)[1]
    assert "<mark>The evidence &lt;b&gt;here&lt;&#47;b&gt;.</mark>" in inside or (
        "<mark>" in inside and inside.count("evidence") == 1
    )
    whole = render.source_card(source(1, snippet=abstract, abstract=abstract), "x")
    assert "<details" not in whole  # nothing more to show


def test_answer_markdown_is_formatted_but_quoted_dump_text_stays_text():
    text = (
        "Quoted from the abstracts:\n\n"
        f"- **{XSS} Title** [1]: uses $$x$$ and {{{{constructor}}}}.\n"
        "- **Other** [2]: see [here](javascript:alert(1)) ![p](http://evil/x.png) <b>hi</b>\n"
    )
    body = render.answer_html(text, [source(1, XSS), source(2)], "t")
    assert "<ul>" in body and body.count("<li>") == 2 and "<strong>" in body
    assert tags(body) == {"p", "ul", "li", "strong", "sup", "a"}
    assert body.count('class="pc-cite-link"') == 2
    assert "\n" not in body  # one HTML block for the chat's own Markdown pass
    visible = html.unescape(re.sub(r"<[^>]+>", "", body))
    assert f"{XSS} Title" in visible and "<b>hi</b>" in visible
    assert "[here](javascript:alert(1))" in visible and "![p](http://evil/x.png)" in visible


def test_streaming_message_shows_the_partial_text_with_a_cursor():
    message = render.streaming_message("Partial **answer** [1")
    assert "<strong>answer</strong>" in message and message.endswith("▌</p></div></div>")

"""What's new (`ResearchAssistant.digest`) on the real sample index: which papers, topics from
their stored vectors, one cited contribution sentence each, the order, JSON and Markdown."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from whats_new_data import (
    GLACIER,
    GLACIER_CONTRIBUTION,
    NEW_TITLES,
    PROTEIN,
    PROTEIN_CONTRIBUTION,
    SEA_ICE,
    SEA_ICE_CONTRIBUTION,
    write_new_dump,
)

from rag.digest import contribution_sentence, digest_markdown


def assistant_on(home: Path, embedder):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    ra = ResearchAssistant(Settings(home=home, reranker="none"))
    ra.__dict__["embedder"] = embedder
    return ra


@pytest.fixture(scope="module")
def after_new_dump(tmp_path_factory, _indexed_home_master, embedder):
    """(assistant, report) after indexing the three-paper dump into a copy of the sample."""
    import shutil

    home = tmp_path_factory.mktemp("digest") / "home"
    shutil.copytree(_indexed_home_master, home)
    ra = assistant_on(home, embedder)
    dump = write_new_dump(tmp_path_factory.mktemp("dumps") / "new.txt")
    report = ra.index([dump])
    assert report.ok and report.papers_added == 3, report.summary()
    return ra, report, dump


def test_the_digest_holds_what_the_last_run_added_in_topics(after_new_dump):
    ra, report, _ = after_new_dump
    digest = ra.digest()

    assert {p.title for p in digest.papers} == NEW_TITLES
    assert "latest index run" in digest.scope
    # the two altimetry papers share a topic, the protein paper has its own; larger first,
    # then papers by upvotes (sea ice 30 > glacier 12)
    assert [t.papers for t in digest.topics] == [[SEA_ICE, GLACIER], [PROTEIN]]
    assert "altimetry" in digest.topics[0].label
    assert digest.topics[0].upvotes == 42
    assert [p.number for p in digest.papers] == [1, 2, 3]
    assert [p.topic for p in digest.papers] == [digest.topics[0].label] * 2 + [
        digest.topics[1].label
    ]
    # the report said as much, in the same numbers
    assert sorted(report.added_paper_ids) == sorted(p.paper_id for p in digest.papers)
    assert report.new_topics == len(digest.topics) == 2
    last = report.summary().splitlines()[-1]
    assert last == "3 new papers arrived, in 2 topics: see them with `paperchat digest`"


def test_each_paper_has_its_contribution_sentence_cited(after_new_dump):
    ra, _, _ = after_new_dump
    by_title = {p.title: p for p in ra.digest().papers}

    expected = {
        SEA_ICE: SEA_ICE_CONTRIBUTION,
        GLACIER: GLACIER_CONTRIBUTION,
        PROTEIN: PROTEIN_CONTRIBUTION,
    }
    for title, sentence in expected.items():
        paper = by_title[title]
        assert paper.summary == f"{sentence} [{paper.number}]"
    sea_ice = by_title[SEA_ICE]
    assert (sea_ice.published, sea_ice.upvotes) == ("2025-11-28", 30)


def test_a_run_that_adds_nothing_keeps_the_last_arrivals(after_new_dump):
    ra, _, dump = after_new_dump
    again = ra.index([dump])

    assert again.papers_added == 0 and again.added_paper_ids == []
    assert again.summary().splitlines()[-1] == "no new papers arrived"
    assert {p.title for p in ra.digest().papers} == NEW_TITLES


def test_since_selects_papers_by_their_first_capture(assistant, sample_dump_files):
    from rag.dump_parser import parse_dump

    since = date(2026, 6, 1)
    first: dict[str, date] = {}
    for path in sample_dump_files:  # computed from the dumps, not from the catalog
        parsed = parse_dump(path, max_abstract_chars=20_000)
        for paper in parsed.papers:
            seen = first.get(paper.title)
            first[paper.title] = min(seen, parsed.captured) if seen else parsed.captured
    expected = {title for title, day in first.items() if day >= since}
    assert 0 < len(expected) < len(first)  # the date really splits the sample

    digest = assistant.digest(since="2026-06-01")

    assert {p.title for p in digest.papers} == expected
    assert digest.since == "2026-06-01" and "on or after 2026-06-01" in digest.scope
    assert all(p.first_captured >= "2026-06-01" for p in digest.papers)
    # every paper is in exactly one topic, and each topic lists its papers by upvotes
    listed = [title for topic in digest.topics for title in topic.papers]
    assert sorted(listed) == sorted(p.title for p in digest.papers)
    sizes = [len(t.papers) for t in digest.topics]
    assert sizes == sorted(sizes, reverse=True)
    by_title = {p.title: p for p in digest.papers}
    for topic in digest.topics:
        votes = [by_title[t].upvotes or 0 for t in topic.papers]
        assert votes == sorted(votes, reverse=True)


def test_the_fixture_index_was_one_run_so_its_digest_is_every_paper(assistant):
    digest = assistant.digest()
    assert len(digest.papers) == 141
    assert 5 <= len(digest.topics) <= 40
    labels = [t.label for t in digest.topics]
    assert len(set(labels)) == len(labels) and all(labels)


def test_topics_are_deterministic(assistant):
    first = assistant.digest(since=date(2026, 3, 1))
    second = assistant.digest(since=date(2026, 3, 1))
    assert first.topics == second.topics
    assert first.papers == second.papers


def test_json_has_exactly_the_documented_shape(after_new_dump):
    ra, _, _ = after_new_dump
    shape = ra.digest().as_json()

    assert set(shape) == {"papers", "topics", "saved", "summaries"}
    assert shape["summaries"] == "summaries quoted from each paper's abstract"
    keys = {"title", "published", "upvotes", "org", "topic", "summary"}
    assert all(set(paper) == keys for paper in shape["papers"])
    assert all(set(topic) == {"label", "papers"} for topic in shape["topics"])


def test_markdown_lists_topics_then_numbered_references(after_new_dump):
    ra, _, _ = after_new_dump
    text = digest_markdown(ra.digest())

    assert text.startswith("# What's new: 3 new papers in 2 topics\n")
    assert "## 1. " in text and "(2 papers)" in text and "## 2. " in text
    assert f"- **{SEA_ICE}**: {SEA_ICE_CONTRIBUTION} [1]" in text
    references = text.split("## References", 1)[1]
    assert f"[1] **{SEA_ICE}**, published 2025-11-28, 30 upvotes" in references
    assert f"[3] **{PROTEIN}**, published 2025-11-27, 5 upvotes" in references


def test_a_bad_since_is_a_clear_error(assistant):
    from rag.errors import InputError

    with pytest.raises(InputError, match="not a date"):
        assistant.digest(since="last tuesday")


def test_contribution_sentence_prefers_the_stated_contribution():
    abstract = (
        "Large models are slow. Prior work caches keys. This paper presents SpecCache, a cache "
        "for speculative decoding. We show that it decodes twice as fast. Code: https://github.com/x/y"
    )
    assert contribution_sentence("SpecCache", abstract) == (
        "This paper presents SpecCache, a cache for speculative decoding."
    )
    # without a stated contribution: the sentence that shares most words with the title
    plain = (
        "Mountain regions have warmed for decades now. Tiny glaciers melt faster in warm "
        "winters than large ones do. Field measurements were scarce until recently."
    )
    assert contribution_sentence("Why tiny glaciers melt", plain) == (
        "Tiny glaciers melt faster in warm winters than large ones do."
    )


# --- summaries written by an LLM (rag.digest_summaries), against the tests' OpenAI server ----


def _number_in(prompt: str) -> int:
    return int(re.search(r'<source id="(\d+)">', prompt).group(1))


def _digest_model(request):
    """A model that reads its prompt: one cited sentence, a refusal for the protein paper, an
    HTTP 500 for the glacier paper."""
    from openai_server import Scripted

    prompt = request.prompt
    if PROTEIN in prompt:
        return Scripted(text="The indexed papers do not cover this.")
    if GLACIER in prompt:
        return Scripted(status=500)
    return Scripted(
        text=f"It retrieves sea ice thickness with a diffusion prior [{_number_in(prompt)}]."
    )


def test_an_llm_writes_checked_cited_summaries_and_quotes_the_rest(
    after_new_dump, openai_server, embedder
):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    ra, _, _ = after_new_dump
    openai_server.responder = _digest_model
    settings = Settings(
        home=ra.settings.index.home,
        reranker="none",
        openai_base_url=openai_server.base_url,
        llm_model="test-model",
        llm_timeout=5.0,
        llm_max_retries=0,
    )
    with_llm = ResearchAssistant(settings)
    with_llm.__dict__["embedder"] = embedder
    digest = with_llm.digest()

    by_title = {p.title: p for p in digest.papers}
    sea_ice = by_title[SEA_ICE]
    assert sea_ice.summary_by == "llm"
    assert (
        sea_ice.summary
        == f"It retrieves sea ice thickness with a diffusion prior. [{sea_ice.number}]"
    )
    for title, sentence in ((PROTEIN, PROTEIN_CONTRIBUTION), (GLACIER, GLACIER_CONTRIBUTION)):
        paper = by_title[title]
        assert (paper.summary_by, paper.summary) == ("abstract", f"{sentence} [{paper.number}]")
    assert digest.summaries.startswith("summaries written by test-model")
    assert "2 quoted from the abstract instead" in digest.summaries
    assert (
        "did not cite just that paper" in digest.summaries and "request failed" in digest.summaries
    )
    assert digest.as_json()["summaries"] == digest.summaries
    assert digest.summaries in digest_markdown(digest)
    # each request holds one paper, as data inside its source block, numbered as in the digest
    prompts = [r.prompt for r in openai_server.requests]
    assert len(prompts) == 3
    for paper in digest.papers:
        (prompt,) = [p for p in prompts if paper.title in p]
        assert _number_in(prompt) == paper.number and f"[{paper.number}]" in prompt
        assert sum(other.title in prompt for other in digest.papers) == 1

    again = with_llm.digest()  # what was written is remembered; failures are asked again
    assert again.papers == digest.papers and len(openai_server.requests) == 5
    papers = with_llm.paper_index.get_papers([sea_ice.paper_id])
    renumbered, report = with_llm.summary_writer.write([(7, sea_ice.paper_id)], papers)
    assert renumbered[sea_ice.paper_id].endswith("diffusion prior. [7]") and report.written == 1
    assert len(openai_server.requests) == 5  # remembered without its old number
    quoted = with_llm.digest(extractive=True)
    assert {p.summary_by for p in quoted.papers} == {"abstract"} and len(
        openai_server.requests
    ) == 5


@pytest.mark.parametrize(
    "reply",
    [
        "It does many things.",  # no citation
        "It retrieves sea ice [1] and forecasts glaciers [2].",  # cites another paper
        "It " + "really " * 70 + "retrieves sea ice [1].",  # not one short sentence
        "The abstract does not mention this [1].",
    ],
)
def test_a_summary_that_does_not_cite_just_its_paper_is_refused(reply):
    from rag.digest_summaries import checked
    from rag.models import Source

    source = Source(number=1, paper_id="p", title=SEA_ICE, score=0.0, abstract="Sea ice.")
    assert checked(reply, source) is None
    assert checked("Sea ice [1] from radar altimetry.", source) == "Sea ice from radar altimetry."

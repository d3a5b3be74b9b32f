"""Applying the filters written in a question (rag.question_reading): explicit filters win,
removed kinds are not applied, chips and upvote ordering. The facts come from the real catalog
rows of the sample dumps (rag.index_facts.read_facts over parsed, merged papers)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rag.index_facts import IndexFacts, read_facts
from rag.models import Source
from rag.question_reading import filter_chips, order_by_upvotes, read_question
from vectorstore.catalog import DumpRecord
from vectorstore.filters import SearchFilters

F = SearchFilters
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "dumps"


@pytest.fixture(scope="module")
def facts(sample_papers_by_title) -> IndexFacts:
    from rag.dump_parser import parse_dump

    records = []
    for path in sorted(SAMPLE.glob("*.txt")):
        dump = parse_dump(path, max_abstract_chars=20_000)
        records.append(
            DumpRecord.from_file(path, dump.captured, dump.captured_inferred, len(dump.papers))
        )
    return read_facts([p.to_doc().metadata for p in sample_papers_by_title.values()], records)


def test_facts_hold_the_indexed_orgs_and_the_newest_capture(facts):
    assert {"ByteDance", "StepFun", "stepfun-ai"} <= set(facts.orgs)
    captures = [info.captured for info in facts.dumps.values()]
    assert facts.newest_capture == max(captures) and len(captures) == 5
    assert facts.dump_label("000_253eb8ca2fc9d003.txt").startswith("000_253eb8ca2fc9d003.txt (")


def test_phrases_become_filters_and_leave_the_question(facts):
    read = read_question("Which face swapping papers came out in 2025?", None, facts)
    assert read.filters == F(since=date(2025, 1, 1), until=date(2025, 12, 31))
    assert read.from_question == read.filters
    assert read.question == "Which face swapping papers?"


def test_orgs_are_matched_against_the_index(facts):
    assert read_question("face swapping from ByteDance", None, facts).filters == F(org="ByteDance")
    unknown = read_question("face swapping from Nvidia", None, facts)
    assert unknown.filters is None and unknown.question == "face swapping from Nvidia"


def test_relative_dates_follow_the_newest_capture_not_the_clock(facts):
    newest = facts.newest_capture
    read = read_question("face swapping papers this year", None, facts)
    assert read.filters == F(since=date(newest.year, 1, 1), until=newest)
    other = IndexFacts(facts.orgs, date(2024, 3, 10), facts.dumps)
    assert read_question("face swapping last month", None, other).filters == F(
        since=date(2024, 2, 1), until=date(2024, 2, 29)
    )


def test_explicit_filters_win_field_by_field(facts):
    explicit = F(org="StepFun", min_upvotes=2)
    read = read_question("face swapping from ByteDance in 2025", explicit, facts)
    assert read.filters == F(
        since=date(2025, 1, 1), until=date(2025, 12, 31), org="StepFun", min_upvotes=2
    )
    assert read.from_question == F(since=date(2025, 1, 1), until=date(2025, 12, 31))


def test_a_phrase_fully_overridden_leaves_the_question_as_typed(facts):
    read = read_question("face swapping from ByteDance", F(org="StepFun"), facts)
    assert read.filters == F(org="StepFun")
    assert read.from_question is None and read.question == "face swapping from ByteDance"


def test_removed_kinds_are_not_applied(facts):
    question = "face swapping from ByteDance in 2025"
    read = read_question(question, None, facts, ignore=["dates"])
    assert read.filters == F(org="ByteDance") and read.from_question == F(org="ByteDance")
    nothing = read_question(question, None, facts, ignore=["all"])
    assert nothing.filters is None and nothing.question == question
    both = read_question(question, None, facts, ignore=["dates", "org"])
    assert both.filters is None and both.question == "face swapping"


def test_removing_every_chip_keeps_the_phrases_out_of_the_text(facts):
    """Unticked chips mean "no filter", not "search for 'in 2025'": the text stays stripped,
    whichever chip went last."""
    question = "most upvoted face swapping papers from ByteDance in 2025"
    read = read_question(question, None, facts, ignore=["dates", "org", "sort"])
    assert read.filters is None and read.sort is None
    assert read.question == "face swapping papers"
    untouched = read_question("face swapping from ByteDance", None, facts, ignore=["dates"])
    assert untouched.question == "face swapping" and untouched.filters == F(org="ByteDance")


@pytest.mark.parametrize(
    "question",
    [
        "What were the results of the 2025 challenge?",
        "How does GPT-4 compare on identity confusion?",
        "papers from the CVPR 2024 workshop on faces",
        "training a face model from scratch",
        "portraits in 2025 style",
        "what is the most popular method?",
    ],
)
def test_look_alikes_apply_nothing(facts, question):
    read = read_question(question, None, facts)
    assert (read.filters, read.from_question, read.sort) == (None, None, None)
    assert read.question == question


def test_chips_name_each_restriction_with_its_kind():
    found = F(since=date(2025, 1, 1), until=date(2025, 12, 31), org="ByteDance", min_upvotes=51)
    assert filter_chips(found, "upvotes") == [
        ("published 2025-01-01..2025-12-31", "dates"),
        ("org ByteDance", "org"),
        ("at least 51 upvotes", "min_upvotes"),
        ("most upvoted first", "sort"),
    ]
    assert filter_chips(None, None) == []


def test_most_upvoted_promotes_only_relevant_papers(make_sources, sample_papers_by_title):
    # InstantID 8, DreamID 9, PhotoVerse 6 upvotes; Barlow Twins none (dump 001 only).
    titles = [
        "InstantID: Zero-shot Identity-Preserving Generation in Seconds",
        "DreamID: High-Fidelity and Fast diffusion-based Face Swapping via Triplet ID Group "
        "Learning",
        "PhotoVerse: Tuning-Free Image Customization with Text-to-Image Diffusion Models",
    ]
    barlow = "Barlow Twins: Self-Supervised Learning via Redundancy Reduction"
    made = make_sources([*titles, barlow], scores=[0.9, 0.8, 0.2, 0.7])
    sources: list[Source] = [
        s.model_copy(update={"upvotes": sample_papers_by_title[s.title].upvotes}) for s in made
    ]
    assert [s.upvotes for s in sources] == [8, 9, 6, None]
    ordered = order_by_upvotes(sources, threshold=0.5)
    assert [s.title for s in ordered] == [titles[1], titles[0], barlow, titles[2]]
    assert [s.number for s in ordered] == [1, 2, 3, 4]
    relevant = [s for s in ordered if s.score >= 0.5]
    assert [s.title for s in ordered[: len(relevant)]] == [s.title for s in relevant]
    known = [s.upvotes for s in relevant if s.upvotes is not None]
    assert known == sorted(known, reverse=True)
    assert relevant[-1].title == barlow  # relevant, but its upvotes are unknown: last of them
    assert ordered[-1].title == titles[2]  # irrelevant stays behind, however many upvotes

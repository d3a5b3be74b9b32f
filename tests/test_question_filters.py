"""Filters written in the question (issue 10): what is recognised, what must not be."""

from __future__ import annotations

from datetime import date

import pytest

from rag.question_filters import (
    QuestionFilters,
    applied_from_question,
    describe,
    extract_filters,
    filter_labels,
    merge,
)
from vectorstore.filters import SearchFilters

# The newest capture of the sample dumps (dump 002, header "Jun 25", year inferred). A Thursday.
NEWEST = date(2026, 6, 25)
ORGS = ["ByteDance", "StepFun", "stepfun-ai", "Google"]
F = SearchFilters


def extract(question: str, newest: date | None = NEWEST) -> QuestionFilters:
    return extract_filters(question, orgs=ORGS, newest_capture=newest)


# question -> (filters, sort, question left for retrieval)
POSITIVES = [
    (
        "Which face swapping papers came out in 2025?",
        F(since=date(2025, 1, 1), until=date(2025, 12, 31)),
        None,
        "Which face swapping papers?",
    ),
    (
        "papers since March 2025 on identity preservation",
        F(since=date(2025, 3, 1)),
        None,
        "papers on identity preservation",
    ),
    ("face recognition before 2021", F(until=date(2020, 12, 31)), None, "face recognition"),
    (
        "After 2024, what is new in LLM unlearning?",
        F(since=date(2025, 1, 1)),
        None,
        "what is new in LLM unlearning?",
    ),
    ("before March 2024 talking heads", F(until=date(2024, 2, 29)), None, "talking heads"),
    ("after March 2025 face aging", F(since=date(2025, 4, 1)), None, "face aging"),
    (
        "papers published in Oct. 2025 about ID consistency",
        F(since=date(2025, 10, 1), until=date(2025, 10, 31)),
        None,
        "papers about ID consistency",
    ),
    (
        "person search papers between 2023 and 2024",
        F(since=date(2023, 1, 1), until=date(2024, 12, 31)),
        None,
        "person search papers",
    ),
    (
        "diffusion face swapping in 2024 or 2025",
        F(since=date(2024, 1, 1), until=date(2025, 12, 31)),
        None,
        "diffusion face swapping",
    ),
    ("since 2025-03-05, which papers?", F(since=date(2025, 3, 5)), None, "which papers?"),
    ("identity documents until 2021", F(until=date(2021, 12, 31)), None, "identity documents"),
    (
        "What came out last month on unlearning?",
        F(since=date(2026, 5, 1), until=date(2026, 5, 31)),
        None,
        "What came out on unlearning?",
    ),
    (
        "talking head papers this week",
        F(since=date(2026, 6, 22), until=NEWEST),
        None,
        "talking head papers",
    ),
    (
        "face swapping last week",
        F(since=date(2026, 6, 15), until=date(2026, 6, 21)),
        None,
        "face swapping",
    ),
    (
        "personalization papers this year",
        F(since=date(2026, 1, 1), until=NEWEST),
        None,
        "personalization papers",
    ),
    (
        "unlearning last year",
        F(since=date(2025, 1, 1), until=date(2025, 12, 31)),
        None,
        "unlearning",
    ),
    (
        "face restoration in the past 30 days",
        F(since=date(2026, 5, 26), until=NEWEST),
        None,
        "face restoration",
    ),
    (
        "since last month, anything on face aging?",
        F(since=date(2026, 5, 1), until=NEWEST),
        None,
        "anything on face aging?",
    ),
    (
        "Which papers have more than 50 upvotes?",
        F(min_upvotes=51),
        None,
        "Which papers?",
    ),
    (
        "face swapping papers with at least 10 upvotes",
        F(min_upvotes=10),
        None,
        "face swapping papers",
    ),
    ("identity papers with 5+ upvotes", F(min_upvotes=5), None, "identity papers"),
    ("identity papers with over 1,000 upvotes", F(min_upvotes=1001), None, "identity papers"),
    ("the most upvoted papers on face swapping", F(), "upvotes", "the papers on face swapping"),
    ("face restoration, sorted by upvotes", F(), "upvotes", "face restoration"),
    ("face swapping from ByteDance", F(org="ByteDance"), None, "face swapping"),
    ("image generation by stepfun", F(org="StepFun"), None, "image generation"),
    (
        "papers by stepfun-ai on ID consistency",
        F(org="stepfun-ai"),
        None,
        "papers on ID consistency",
    ),
    (
        "What did ByteDance publish on face swapping this year?",
        F(since=date(2026, 1, 1), until=NEWEST, org="ByteDance"),
        None,
        "What did they publish on face swapping?",
    ),
    (
        "In 2026, which papers from ByteDance got more than 5 upvotes?",
        F(since=date(2026, 1, 1), until=date(2026, 12, 31), org="ByteDance", min_upvotes=6),
        None,
        "which papers?",
    ),
    (
        "most upvoted face swapping papers since 2024 with at least 2 upvotes",
        F(since=date(2024, 1, 1), min_upvotes=2),
        "upvotes",
        "face swapping papers",
    ),
]


@pytest.mark.parametrize(("question", "filters", "sort", "rest"), POSITIVES)
def test_recognised_phrases_become_exact_filters(question, filters, sort, rest):
    found = extract(question)
    assert found.filters == filters
    assert found.sort == sort
    assert found.question == rest
    assert found.found and all(phrase in question for phrase in found.phrases)


NEGATIVES = [
    "What were the results of the 2025 challenge?",
    "How does GPT-4 compare on identity confusion?",
    "papers from the CVPR 2024 workshop on faces",
    "CVPR 2024 workshop results",
    "portraits in 2025 style",
    "in 2025-style renderings",
    "what did the 2025's winners use",
    "training a face model from scratch",
    "learning identity from images",
    "top-5 accuracy on face recognition",
    "a 50 upvotes-style ranking of methods",
    "50 upvotes",
    "the last month of training",
    "during the last year of the PhD program",
    "last year's challenge winners",
    "papers this weekend",
    "Which model has 2048 dimensions in 2048 dimensions?",
    "trained in 1000 steps",
    "by Googlers",
    "Google's identity papers",
    "from ByteDance or StepFun",
    "face swapping from ByteDance, StepFun",
    "what is the most popular method?",
    "sorted by relevance",
    "ID-Booth: identity-consistent face generation",
    "since the 2025 challenge",
]


@pytest.mark.parametrize("question", NEGATIVES)
def test_look_alikes_do_not_become_filters(question):
    found = extract(question)
    assert found.phrases == ()
    assert not found.filters.active and found.sort is None
    assert found.question == question
    assert describe(found) == ""


def test_orgs_only_when_indexed():
    question = "face swapping from ByteDance"
    assert extract_filters(question, orgs=["StepFun"], newest_capture=NEWEST).phrases == ()
    assert extract_filters(question, orgs=[], newest_capture=NEWEST).question == question
    found = extract_filters("papers FROM bytedance", orgs=["ByteDance"], newest_capture=None)
    assert found.filters.org == "ByteDance"  # the indexed spelling, matched ignoring case


def test_relative_phrases_need_the_newest_capture_and_follow_it():
    question = "talking heads last month"
    untouched = extract(question, newest=None)
    assert untouched.phrases == () and untouched.question == question
    # Anchored on the capture date, not the wall clock: another index, another month.
    assert extract(question, newest=date(2025, 1, 10)).filters == F(
        since=date(2024, 12, 1), until=date(2024, 12, 31)
    )
    # Absolute phrases do not need it.
    assert extract("talking heads in 2025", newest=None).filters.since == date(2025, 1, 1)


def test_question_left_empty_keeps_the_original_text():
    for question in ("in 2025", "Most upvoted?", "from ByteDance this week"):
        found = extract(question)
        assert found.question == question
        assert found.found


def test_contradicting_date_phrases_keep_the_first():
    found = extract("papers in 2024, since 2026")
    assert (found.filters.since, found.filters.until) == (date(2024, 1, 1), date(2024, 12, 31))


def test_found_filters_select_the_right_sample_papers(sample_papers_by_title):
    """End to end with real metadata: the found filters pass exactly the papers they should."""
    found = extract("face swapping from ByteDance in 2026 with more than 5 upvotes")
    metadata = {title: p.to_doc().metadata for title, p in sample_papers_by_title.items()}
    passing = [title for title, meta in metadata.items() if found.filters.matches(meta)]
    assert len(passing) == 1 and passing[0].startswith("DreamID-V")
    before = extract("identity documents before 2021").filters
    old = {t for t, meta in metadata.items() if before.matches(meta)}
    assert any(t.startswith("MIDV-500") for t in old)
    assert not any(t.startswith("MIDV-2020") for t in old)  # published 2021-07-01


def test_merge_explicit_wins_field_by_field():
    found = extract("face swapping from ByteDance in 2025 with at least 3 upvotes")
    explicit = F(since=date(2025, 6, 1), org="StepFun")
    assert merge(explicit, found) == F(
        since=date(2025, 6, 1), until=date(2025, 12, 31), org="StepFun", min_upvotes=3
    )
    assert merge(None, found) == found.filters
    assert merge(explicit, None) == explicit
    assert merge(None, None) is None
    assert merge(F(org="  ", min_upvotes=0), extract("face swapping").filters) is None
    # The UI's untouched widgets (empty org, 0 upvotes) do not cancel the question's filters.
    assert merge(F(org="", min_upvotes=0), found) == found.filters


def test_merge_drops_found_dates_that_would_invert_the_explicit_range():
    found = extract("identity documents before 2021")
    assert merge(F(since=date(2026, 1, 1)), found) == F(since=date(2026, 1, 1))


def test_applied_from_question_leaves_out_what_explicit_filters_overrode():
    found = extract("face swapping from ByteDance in 2025")
    applied = applied_from_question(F(org="StepFun"), found)
    assert applied == F(since=date(2025, 1, 1), until=date(2025, 12, 31))
    assert describe(applied) == "filters from your question: published 2025-01-01..2025-12-31"


def test_describe_and_labels():
    assert describe(extract("face swapping in 2025")) == (
        "filters from your question: published 2025-01-01..2025-12-31"
    )
    found = extract("most upvoted papers from ByteDance since 2024 with more than 1 upvote")
    assert filter_labels(found.filters, found.sort) == [
        "published since 2024-01-01",
        "org ByteDance",
        "at least 2 upvotes",
        "most upvoted first",
    ]
    assert filter_labels(F(until=date(2020, 12, 31), min_upvotes=1)) == [
        "published until 2020-12-31",
        "at least 1 upvote",
    ]
    assert describe(None) == "" and describe(F()) == ""

"""Filters written in the question (issue 10), end to end through ResearchAssistant on the
indexed sample dumps: they restrict the sources like the explicit filters, are taken out of
the question, are recorded in Answer.filters, lose to explicit filters, and look-alikes never
become filters."""

from __future__ import annotations

from datetime import date

import pytest

from vectorstore.filters import SearchFilters

F = SearchFilters
YEAR_2025 = F(since=date(2025, 1, 1), until=date(2025, 12, 31))


def newest_capture(assistant) -> date:
    return max(date.fromisoformat(d["captured"]) for d in assistant.stats().dumps)


def test_a_year_in_the_question_filters_the_sources(assistant):
    answer = assistant.ask("Which face swapping papers came out in 2025?")
    assert answer.filters == YEAR_2025 and answer.question_filters == YEAR_2025
    assert answer.standalone_question == "Which face swapping papers?"
    assert answer.sources and not answer.abstained
    assert all(s.published and s.published.startswith("2025-") for s in answer.sources)
    unfiltered = assistant.ask("Which face swapping papers?")
    assert any(not (s.published or "").startswith("2025-") for s in unfiltered.sources)


def test_an_indexed_org_in_the_question(assistant):
    answer = assistant.ask("What did ByteDance publish on face swapping?")
    assert answer.filters == F(org="ByteDance")
    assert answer.sources and {s.org for s in answer.sources} == {"ByteDance"}


def test_upvote_phrases(assistant):
    answer = assistant.ask("identity-preserving generation papers with more than 5 upvotes")
    assert answer.filters == F(min_upvotes=6)
    assert answer.sources and all(s.upvotes is not None and s.upvotes >= 6 for s in answer.sources)
    question = "the most upvoted papers on identity-preserving text-to-image generation"
    ranked = assistant.ask(question, k=10)
    assert ranked.sort == "upvotes" and ranked.filters is None
    relevant = [s for s in ranked.sources if s.score >= 0.5]
    known = [s.upvotes for s in relevant if s.upvotes is not None]
    assert len(known) >= 3 and known == sorted(known, reverse=True)
    assert [s.upvotes is None for s in relevant] == sorted(s.upvotes is None for s in relevant)
    assert [s.number for s in ranked.sources] == list(range(1, 11))


def test_relative_dates_follow_the_newest_capture(assistant):
    newest = newest_capture(assistant)
    answer = assistant.ask("identity-preserving generation papers this year")
    assert answer.filters == F(since=date(newest.year, 1, 1), until=newest)


def test_explicit_filters_win(assistant):
    answer = assistant.ask("face swapping papers from ByteDance", org="StepFun")
    assert answer.filters == F(org="StepFun") and answer.question_filters is None
    assert {s.org for s in answer.sources} <= {"StepFun"}
    mixed = assistant.ask("face swapping papers in 2025", min_upvotes=3)
    assert mixed.filters == F(since=date(2025, 1, 1), until=date(2025, 12, 31), min_upvotes=3)
    assert mixed.question_filters == YEAR_2025


def test_removed_filters_are_not_applied(assistant):
    question = "Which face swapping papers came out in 2025?"
    answer = assistant.ask(question, ignore_question_filters=["dates"])
    assert answer.filters is None and answer.question_filters is None
    # the removed filter's phrase stays out of what is searched: no filter, not "2025"
    assert answer.standalone_question == "Which face swapping papers?"


def test_the_chain_takes_the_same_input(assistant):
    payload = {"question": "face swapping from ByteDance", "filters": {"min_upvotes": 1}}
    answer = assistant.chain.invoke(payload)
    assert answer.filters == F(org="ByteDance", min_upvotes=1)
    final = list(assistant.chain.stream({"question": "face swapping in 2025"}))[-1]
    assert final.filters == YEAR_2025


def test_an_impossible_question_filter_abstains_and_says_which(assistant):
    answer = assistant.ask("face swapping papers before 2019")
    assert answer.abstained and answer.filters == F(until=date(2018, 12, 31))
    assert "filters from your question: published until 2018-12-31" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What were the results of the 2025 challenge?",
        "How does GPT-4 compare on identity confusion?",
        "papers from the CVPR 2024 workshop on faces",
        "training a face model from scratch",
        "portraits in 2025 style",
        "last year's challenge winners in face recognition",
        "face swapping from ByteDance or StepFun",
    ],
)
def test_look_alikes_do_not_become_filters(assistant, question):
    answer = assistant.ask(question)
    assert answer.filters is None and answer.question_filters is None and answer.sort is None
    assert answer.standalone_question == question

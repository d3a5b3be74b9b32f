"""Trends (`ResearchAssistant.trends`) on the real sample index: months of first capture,
shares that add up, momentum, rising topics with exemplars, and the cache."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date

import numpy as np
import pytest
from whats_new_data import NEW_TITLES, write_new_dump

from rag.trends import momentum


@pytest.fixture(scope="module")
def first_months(sample_dump_files) -> Counter:
    """Papers per month of first capture, from the dumps themselves (not the catalog)."""
    from rag.dump_parser import parse_dump

    first: dict[str, date] = {}
    for path in sample_dump_files:
        parsed = parse_dump(path, max_abstract_chars=20_000)
        for paper in parsed.papers:
            seen = first.get(paper.paper_id)
            first[paper.paper_id] = min(seen, parsed.captured) if seen else parsed.captured
    return Counter(day.strftime("%Y-%m") for day in first.values())


def test_months_and_shares_describe_the_sample(assistant, first_months):
    trends = assistant.trends()

    assert trends.months == sorted(first_months)
    assert trends.month_papers == [first_months[m] for m in trends.months]
    assert trends.undated == 0
    assert sum(t.papers for t in trends.topics) == 141
    assert 2 <= len(trends.topics) <= 12
    for m, month in enumerate(trends.months):
        assert all(t.months[m].month == month for t in trends.topics)
        shares = [t.months[m].paper_share for t in trends.topics]
        assert sum(shares) == pytest.approx(1.0, abs=1e-3)
        assert sum(t.months[m].papers for t in trends.topics) == trends.month_papers[m]
        upvote_shares = [t.months[m].upvote_share for t in trends.topics]
        if trends.month_upvotes[m]:
            assert sum(upvote_shares) == pytest.approx(1.0, abs=1e-3)
        else:  # no upvotes recorded that month: no share, rather than a made-up 0
            assert set(upvote_shares) == {None}


def test_rising_topics_are_those_gaining_share_fastest_with_exemplars(assistant):
    trends = assistant.trends()
    rising = trends.rising_topics()

    assert rising, "some topic of the sample gains share"
    assert [t.momentum for t in rising] == sorted((t.momentum for t in rising), reverse=True)
    assert all(t.momentum > 0 for t in rising)
    gaining = [t for t in trends.topics if t.momentum > 0]
    assert len(rising) == min(5, len(gaining))
    assert min(t.momentum for t in rising) >= max(
        (t.momentum for t in gaining if t not in rising), default=-1
    )
    recent = set(trends.months[-trends.window :])
    for topic in rising:
        assert 1 <= len(topic.exemplars) <= 3
        assert all(e.month in recent for e in topic.exemplars)
        months = [e.month for e in topic.exemplars]
        assert months == sorted(months, reverse=True)  # the latest month's papers first


def test_momentum_is_a_weighted_slope_in_points_per_month():
    months = ["2025-01", "2025-02", "2025-03"]
    rising = np.array([0.1, 0.2, 0.3])
    assert momentum(rising, np.array([10, 10, 10]), months, 6) == pytest.approx(10.0)
    assert momentum(rising[::-1], np.array([10, 10, 10]), months, 6) == pytest.approx(-10.0)
    # a jump in a month of 2 papers moves it less than the same jump in a month of 50
    jump = np.array([0.1, 0.1, 0.5])
    small = momentum(jump, np.array([50, 50, 2]), months, 6)
    large = momentum(jump, np.array([50, 50, 50]), months, 6)
    assert 0 < small < large
    assert momentum(np.array([0.4]), np.array([5]), months[:1], 6) is None  # one month only
    # months without upvotes (NaN shares) are skipped, not read as zero
    assert momentum(np.array([0.1, np.nan, 0.3]), np.array([10, 0, 10]), months, 6) == (
        pytest.approx(10.0)
    )


def test_trends_are_cached_until_the_index_changes(_indexed_home_master, tmp_path, embedder):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(_indexed_home_master, home)
    ra = ResearchAssistant(Settings(home=home, reranker="none"))
    ra.__dict__["embedder"] = embedder
    before = ra.trends()
    assert ra.trends() == before  # served from the cache

    report = ra.index([write_new_dump(tmp_path / "new.txt")], captured=date(2026, 10, 2))
    assert report.papers_added == len(NEW_TITLES)

    after = ra.trends()
    assert after.months == [*before.months, "2026-10"]
    assert after.month_papers[-1] == 3 and sum(after.month_papers) == 144

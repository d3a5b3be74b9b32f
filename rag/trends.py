"""Trends: which topics are gaining ground, month by month of capture.

Every indexed paper is put in a topic (rag.topics, over all papers; at most TREND_TOPICS so a
plot stays readable) and in the month it was first captured (the earliest capture date of the
dumps it was seen in: when it reached the reader's feed, which is what a trend over a feed is
about; its published date may be years earlier). Per month, each topic gets its share of that
month's papers and of that month's upvotes (upvotes are the newest capture's, counted in the
paper's first month; dumps without metadata carry none, so a month may have no upvote share).

Momentum: how fast a topic's share of papers grows over the last `window` capture months, in
percentage points per month (a weighted least-squares slope: a month with few papers counts
less, so one small dump cannot make a topic "rising" on its own). The topics rising fastest
are those with the largest positive momentum; each comes with exemplar papers: its most
upvoted papers of the latest month, then of the months before.

At 40,000 papers the cost is reading ~90k vectors from Chroma, clustering (KMeans above 2,000
papers) and labelling from at most 200 papers a topic; benchmarks/bench_trends.py measures it.
Results are cached per index state (the paper count and the dump records, which every index
run rewrites), so the UI's plot redraws without recomputing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from rag.digest import first_captures
from rag.topics import Idf, Topic, find_topics, index_idf
from vectorstore.documents import PaperDoc

if TYPE_CHECKING:
    from rag.assistant import ResearchAssistant

TREND_TOPICS = 12
WINDOW_MONTHS = 6
RISING = 5
EXEMPLARS = 3


class MonthShare(BaseModel):
    """One topic in one capture month; shares are fractions of that month's totals."""

    month: str
    papers: int
    upvotes: int
    paper_share: float
    upvote_share: float | None = None


class Exemplar(BaseModel):
    title: str
    month: str
    published: str | None = None
    upvotes: int | None = None


class TrendTopic(BaseModel):
    """A topic over the months; momentum in percentage points per month (module docstring)."""

    label: str
    papers: int
    upvotes: int
    months: list[MonthShare]
    momentum: float = 0.0
    upvote_momentum: float | None = None
    exemplars: list[Exemplar] = Field(default_factory=list)


class Trends(BaseModel):
    """What `ResearchAssistant.trends()` returns: topics largest first, `rising` the labels
    of those rising fastest, fastest first."""

    months: list[str] = Field(default_factory=list)
    month_papers: list[int] = Field(default_factory=list)
    month_upvotes: list[int] = Field(default_factory=list)
    topics: list[TrendTopic] = Field(default_factory=list)
    rising: list[str] = Field(default_factory=list)
    window: int = WINDOW_MONTHS
    undated: int = 0
    seconds: float = 0.0

    def rising_topics(self) -> list[TrendTopic]:
        by_label = {t.label: t for t in self.topics}
        return [by_label[label] for label in self.rising]

    def rows(self) -> list[dict[str, Any]]:
        """One row per (topic, month): the long table a plot reads (ui.trends_tab)."""
        return [
            {
                "topic": topic.label,
                "month": share.month,
                "papers": share.papers,
                "paper_share": share.paper_share,
                "upvote_share": share.upvote_share,
            }
            for topic in self.topics
            for share in topic.months
        ]


def compute_trends(
    ids: Sequence[str],
    vectors: np.ndarray,
    papers: dict[str, PaperDoc],
    dumps: Sequence[Any],
    idf: Idf,
    max_topics: int = TREND_TOPICS,
    window: int = WINDOW_MONTHS,
) -> Trends:
    """The trends of these papers (row i of `vectors` is paper `ids[i]`)."""
    started = time.perf_counter()
    captures = first_captures({pid: papers[pid] for pid in ids}, dumps)
    dated = [i for i, pid in enumerate(ids) if captures.get(pid) is not None]
    if not dated:
        return Trends(undated=len(ids), window=window)
    dated_ids = [ids[i] for i in dated]
    month_of = [captures[pid].strftime("%Y-%m") for pid in dated_ids]  # type: ignore[union-attr]
    texts = [(papers[p].title, papers[p].abstract) for p in dated_ids]
    topics = find_topics(vectors[dated], texts, idf, max_topics)
    months = sorted(set(month_of))
    counts, upvotes = _tallies(topics, dated_ids, month_of, months, papers)
    trend_topics = [
        _trend_topic(t, counts[n], upvotes[n], counts, upvotes, months, window)
        for n, t in enumerate(topics)
    ]
    for topic, trend in zip(topics, trend_topics, strict=True):
        trend.exemplars = _exemplars(topic, dated_ids, month_of, months, papers, window)
    return Trends(
        months=months,
        month_papers=[int(v) for v in counts.sum(axis=0)],
        month_upvotes=[int(v) for v in upvotes.sum(axis=0)],
        topics=trend_topics,
        rising=_rising(trend_topics),
        window=window,
        undated=len(ids) - len(dated),
        seconds=round(time.perf_counter() - started, 3),
    )


def _tallies(
    topics: list[Topic],
    ids: list[str],
    month_of: list[str],
    months: list[str],
    papers: dict[str, PaperDoc],
) -> tuple[np.ndarray, np.ndarray]:
    """(papers, upvotes) per topic (rows) and month (columns)."""
    column = {month: i for i, month in enumerate(months)}
    counts = np.zeros((len(topics), len(months)))
    upvotes = np.zeros((len(topics), len(months)))
    for n, topic in enumerate(topics):
        for row in topic.members:
            m = column[month_of[row]]
            counts[n, m] += 1
            upvotes[n, m] += int(papers[ids[row]].metadata.get("upvotes") or 0)
    return counts, upvotes


def _shares(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """values / totals per month; NaN where the month has no total (no upvotes recorded)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, values / np.where(totals > 0, totals, 1), np.nan)


def momentum(
    shares: np.ndarray, weights: np.ndarray, months: list[str], window: int
) -> float | None:
    """How fast the share grows over the last `window` capture months: the slope of a
    least-squares line through (month, share), each month weighted by its total (so a month
    of four papers moves it less than one of sixty), in percentage points per month. None
    when fewer than two months of the window have a share."""
    recent = slice(-max(window, 2), None)
    x = np.array([_ordinal(m) for m in months], dtype=float)[recent]
    y, w = shares[recent], weights[recent]
    keep = ~np.isnan(y) & (w > 0)
    if keep.sum() < 2:
        return None
    x, y, w = x[keep], y[keep], w[keep]
    dx = x - np.average(x, weights=w)
    spread = float(np.sum(w * dx * dx))
    if spread == 0:
        return None
    slope = float(np.sum(w * dx * (y - np.average(y, weights=w)))) / spread
    return round(100 * slope, 3)


def _ordinal(month: str) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number)


def _trend_topic(
    topic: Topic,
    count: np.ndarray,
    upvote: np.ndarray,
    counts: np.ndarray,
    upvotes: np.ndarray,
    months: list[str],
    window: int,
) -> TrendTopic:
    paper_share = _shares(count, counts.sum(axis=0))
    upvote_share = _shares(upvote, upvotes.sum(axis=0))
    shares = [
        MonthShare(
            month=month,
            papers=int(count[m]),
            upvotes=int(upvote[m]),
            paper_share=round(float(paper_share[m]), 4),
            upvote_share=None if np.isnan(upvote_share[m]) else round(float(upvote_share[m]), 4),
        )
        for m, month in enumerate(months)
    ]
    return TrendTopic(
        label=topic.label,
        papers=int(count.sum()),
        upvotes=int(upvote.sum()),
        months=shares,
        momentum=momentum(paper_share, counts.sum(axis=0), months, window) or 0.0,
        upvote_momentum=momentum(upvote_share, upvotes.sum(axis=0), months, window),
    )


def _rising(topics: list[TrendTopic]) -> list[str]:
    gaining = [t for t in topics if t.momentum > 0]
    gaining.sort(key=lambda t: (-t.momentum, -(t.upvote_momentum or 0.0), t.label))
    return [t.label for t in gaining[:RISING]]


def _exemplars(
    topic: Topic,
    ids: list[str],
    month_of: list[str],
    months: list[str],
    papers: dict[str, PaperDoc],
    window: int,
) -> list[Exemplar]:
    """Most upvoted papers of the latest month, then of the earlier months of the window;
    within a month, nearest the topic's centre first (members are in that order)."""
    recent = months[-max(window, 1) :]
    rank = {month: i for i, month in enumerate(reversed(recent))}
    members = [r for r in topic.members if month_of[r] in rank]

    def order(row: int) -> tuple[int, int]:
        return rank[month_of[row]], -int(papers[ids[row]].metadata.get("upvotes") or 0)

    chosen = sorted(members, key=order)[:EXEMPLARS]  # stable: centre order breaks ties
    return [
        Exemplar(
            title=papers[ids[r]].title,
            month=month_of[r],
            published=papers[ids[r]].metadata.get("published"),
            upvotes=papers[ids[r]].metadata.get("upvotes"),
        )
        for r in chosen
    ]


# --- from an assistant, cached ---------------------------------------------------------------


def index_trends(ra: ResearchAssistant, max_topics: int, window: int) -> Trends:
    """Trends of every indexed paper of `ra` (timed from the first read)."""
    started = time.perf_counter()
    index = ra.paper_index
    ids, vectors = index.paper_vectors()
    papers = index.get_papers(ids)
    trends = compute_trends(
        ids, vectors, papers, index.dumps(), index_idf(index.keyword_index), max_topics, window
    )
    trends.seconds = round(time.perf_counter() - started, 3)
    return trends


def cached_trends(ra: ResearchAssistant, max_topics: int, window: int) -> Trends:
    """index_trends, recomputed only when an index run has changed the index since."""
    index = ra.paper_index
    dumps = tuple((d.name, d.sha256, d.captured, d.indexed_at) for d in index.dumps())
    key = (index.catalog.count_papers(), dumps, max_topics, window)
    cache = ra.__dict__.setdefault("_trends_cache", {})
    if cache.get("key") != key:
        cache["value"] = index_trends(ra, max_topics, window)
        cache["key"] = key
    return cache["value"].model_copy(deep=True)

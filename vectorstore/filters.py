"""Search filters: which papers a query may return (published date range, org, min upvotes).

One small value object shared by the CLI, the UI and the retriever. It can answer the question
both ways the retriever needs: as a Python predicate over a paper's metadata (for post-filtering
over-fetched hits and for the BM25 side), and as a Chroma `where` clause (for the fallback
pre-filter when post-filtering leaves too few hits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

ORG_KEYS = ("org", "org_handle")


def date_number(day: date) -> int:
    """YYYYMMDD as an int: the form of `published_ts`, because Chroma compares numbers only."""
    return day.year * 10_000 + day.month * 100 + day.day


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions on the papers a search may return; None means "no restriction".

    `org` matches the org display name or its hub handle, case-insensitively. A paper without
    the field (e.g. from a dump without metadata) never passes a filter on that field: the user
    asked for papers known to satisfy it.
    """

    since: date | None = None
    until: date | None = None
    org: str | None = None
    min_upvotes: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or (self.org and self.org.strip()) or self.min_upvotes)

    def matches(self, metadata: dict[str, Any]) -> bool:
        """True when a paper (its catalog or chunk metadata) satisfies every restriction."""
        published = metadata.get("published_ts")
        if self.since and (published is None or int(published) < date_number(self.since)):
            return False
        if self.until and (published is None or int(published) > date_number(self.until)):
            return False
        if self.min_upvotes is not None and self.min_upvotes > 0:
            upvotes = metadata.get("upvotes")
            if upvotes is None or int(upvotes) < self.min_upvotes:
                return False
        if self.org and self.org.strip():
            wanted = self.org.strip().casefold()
            names = {str(metadata.get(key, "")).casefold() for key in ORG_KEYS}
            if wanted not in names:
                return False
        return True

    def chroma_where(self, org_names: Iterable[str] = ()) -> dict[str, Any] | None:
        """The same restrictions as a Chroma `where` clause (None when there are none).

        Chroma compares strings exactly, so the caller passes `org_names`: the org names and
        handles actually indexed that match `org` case-insensitively (see `matching_orgs`).
        """
        clauses: list[dict[str, Any]] = []
        if self.since:
            clauses.append({"published_ts": {"$gte": date_number(self.since)}})
        if self.until:
            clauses.append({"published_ts": {"$lte": date_number(self.until)}})
        if self.min_upvotes is not None and self.min_upvotes > 0:
            clauses.append({"upvotes": {"$gte": int(self.min_upvotes)}})
        if self.org and self.org.strip():
            names = sorted({self.org.strip(), *org_names})
            clauses.append({"$or": [{"org": {"$in": names}}, {"org_handle": {"$in": names}}]})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matching_orgs(self, metadatas: Iterable[dict[str, Any]]) -> set[str]:
        """The indexed org names/handles equal to `org` up to case, for `chroma_where`."""
        if not (self.org and self.org.strip()):
            return set()
        wanted = self.org.strip().casefold()
        return {
            str(m[key])
            for m in metadatas
            for key in ORG_KEYS
            if m.get(key) is not None and str(m[key]).casefold() == wanted
        }


class FilterColumns:
    """The filtered fields of every indexed paper as arrays, so that a filter is a few numpy
    comparisons over all papers instead of `SearchFilters.matches` called 40,000 times per
    question (the BM25 side of a filtered search at 40,000 papers spent most of its time
    there). `mask` gives the same answer as `matches`, paper by paper (a test checks it)."""

    def __init__(self, table: Mapping[str, Mapping[str, Any]]) -> None:
        self.paper_ids = list(table)
        self.position = {pid: i for i, pid in enumerate(self.paper_ids)}
        metas = list(table.values())
        self.published = _int_column(metas, "published_ts")
        self.upvotes = _int_column(metas, "upvotes")
        self.orgs = [
            np.asarray([str(m.get(key, "")).casefold() for m in metas], dtype=object)
            for key in ORG_KEYS
        ]
        self._rows: tuple[Sequence[str] | None, np.ndarray] = (None, np.zeros(0, np.int64))
        self._names = sorted({str(m[k]) for m in metas for k in ORG_KEYS if m.get(k) is not None})

    def mask(self, filters: SearchFilters) -> np.ndarray:
        """A bool per paper (in `paper_ids` order): does it pass `filters`?"""
        keep = np.ones(len(self.paper_ids), dtype=bool)
        known = self.published >= 0
        if filters.since:
            keep &= known & (self.published >= date_number(filters.since))
        if filters.until:
            keep &= known & (self.published <= date_number(filters.until))
        if filters.min_upvotes is not None and filters.min_upvotes > 0:
            keep &= (self.upvotes >= 0) & (self.upvotes >= filters.min_upvotes)
        if filters.org and filters.org.strip():
            wanted = filters.org.strip().casefold()
            keep &= np.logical_or.reduce([column == wanted for column in self.orgs])
        return keep

    def mask_of(self, paper_ids: Sequence[str], filters: SearchFilters) -> np.ndarray:
        """`mask` for these papers, in their order (a paper not in the table never passes).
        Their positions are looked up once per list: the keyword index passes the same list
        object until its rows change, so a question does not look up 40,000 ids again."""
        known, rows = self._rows  # one read: another thread may replace the pair meanwhile
        if known is not paper_ids:
            rows = self._positions(paper_ids)
            self._rows = (paper_ids, rows)
        return self._mask_at(rows, filters)

    def passes(self, paper_ids: Sequence[str], filters: SearchFilters) -> np.ndarray:
        """`mask_of` for a short list seen once (one query's hits): not remembered, so the
        keyword index's long list keeps its looked-up positions."""
        return self._mask_at(self._positions(paper_ids), filters)

    def _positions(self, paper_ids: Sequence[str]) -> np.ndarray:
        """Each paper's row in the table; -1 for a paper not in it."""
        return np.asarray([self.position.get(pid, -1) for pid in paper_ids], dtype=np.int64)

    def _mask_at(self, rows: np.ndarray, filters: SearchFilters) -> np.ndarray:
        return np.append(self.mask(filters), False)[rows]  # row -1: an unknown paper fails

    def matching_orgs(self, filters: SearchFilters) -> set[str]:
        """`SearchFilters.matching_orgs` over the indexed names, without reading every paper."""
        if not (filters.org and filters.org.strip()):
            return set()
        wanted = filters.org.strip().casefold()
        return {name for name in self._names if name.casefold() == wanted}


def _int_column(metas: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """The field as int64; -1 where a paper lacks it (dates and upvotes are never negative)."""
    values = [m.get(key) for m in metas]
    return np.asarray([-1 if v is None else int(v) for v in values], dtype=np.int64)

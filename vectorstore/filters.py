"""Search filters: which papers a query may return (published date range, org, min upvotes).

One small value object shared by the CLI, the UI and the retriever. It can answer the question
both ways the retriever needs: as a Python predicate over a paper's metadata (for post-filtering
over-fetched hits and for the BM25 side), and as a Chroma `where` clause (for the fallback
pre-filter when post-filtering leaves too few hits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

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

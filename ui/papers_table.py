"""Filter and sort the indexed papers for the Papers tab (pure functions over PaperHit)."""

from __future__ import annotations

from rag.models import PaperHit

SORTS = ("Newest first", "Most upvoted", "Title A–Z")
SIMILAR_SORTS = ("Most similar", "Newest first", "Most upvoted")
COLUMNS = ["Title", "Published", "Organisation", "Upvotes", "Authors", "Seen in"]
SIMILAR_COLUMNS = ["Similar paper", "Published", "Upvotes"]
MAX_ROWS = 500
PAGE_ROWS = 15


def filter_papers(papers: list[PaperHit], text: str | None) -> list[PaperHit]:
    """Papers whose title, organisation or abstract contains every word of `text`."""
    words = (text or "").casefold().split()
    if not words:
        return list(papers)

    def matches(p: PaperHit) -> bool:
        haystack = f"{p.title} {p.org or ''} {p.abstract}".casefold()
        return all(w in haystack for w in words)

    return [p for p in papers if matches(p)]


def sort_papers(papers: list[PaperHit], by: str) -> list[PaperHit]:
    """Sort by date (undated last), upvotes (unknown last) or title."""
    if by == "Most upvoted":
        return sorted(papers, key=lambda p: (p.upvotes is None, -(p.upvotes or 0), p.title))
    if by == "Title A–Z":
        return sorted(papers, key=lambda p: p.title.casefold())
    dated = sorted((p for p in papers if p.published), key=lambda p: p.published, reverse=True)
    return dated + sorted((p for p in papers if not p.published), key=lambda p: p.title)


def table_rows(papers: list[PaperHit]) -> list[list[str]]:
    """Rows for the paper list, one cell per COLUMNS entry (blank where the dumps carried no
    metadata: dumps 001-003 print no org, upvotes or authors)."""
    return [
        [
            p.title,
            p.published or "",
            p.org or "",
            _number(p.upvotes),
            _number(p.authors_count),
            _dumps_seen(p.dumps),
        ]
        for p in papers[:MAX_ROWS]
    ]


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _dumps_seen(dumps: list[str]) -> str:
    """How many dumps a paper was seen in (the names are in its detail pane)."""
    if not dumps:
        return ""
    return "1 dump" if len(dumps) == 1 else f"{len(dumps)} dumps"


def org_choices(papers: list[PaperHit]) -> list[str]:
    """Organisations present in the index, for the org filter."""
    return sorted({p.org for p in papers if p.org}, key=lambda org: (org.casefold(), org))


def sort_similar(papers: list[PaperHit], by: str) -> list[PaperHit]:
    """Similar papers by similarity (the order they came in), recency or upvotes."""
    if by == "Most similar":
        return list(papers)
    return sort_papers(papers, by)


def similar_rows(papers: list[PaperHit]) -> list[list[str]]:
    """Rows for the clickable similar-papers list."""
    return [
        [p.title, p.published or "", "" if p.upvotes is None else str(p.upvotes)] for p in papers
    ]

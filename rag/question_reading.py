"""Read a question before retrieval: the filters written in it, and what to search with.

The chain's `read_question` step. rag.question_filters finds the phrases ("in 2025", "from
ByteDance", "with more than 50 upvotes", "most upvoted"); this module applies them the way the
widgets and flags are applied: explicit filters win field by field, the phrases are taken out
of the text retrieval sees (left in, "2025" matches every abstract naming a 2025 benchmark),
and whatever the user asked to drop (the UI's removed chips) is not applied. The answer
records both the filters applied and the part that came from the question, so the CLI can
print one line and the UI can show one removable chip per restriction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rag.index_facts import IndexFacts
from rag.models import QuestionFilterKind, Source
from rag.question_filters import (
    QuestionFilters,
    Sort,
    applied_from_question,
    extract_filters,
    filter_labels,
    merge,
)
from vectorstore.filters import SearchFilters

FILTER_KINDS: tuple[QuestionFilterKind, ...] = ("dates", "org", "min_upvotes", "sort")


@dataclass(frozen=True)
class ReadQuestion:
    """A question read for retrieval.

    `question`: the text to answer from (phrases that were applied taken out); `filters`: all
    filters to apply (None: none); `from_question`: the part of them the phrases gave (None:
    none); `sort`: "upvotes" when the question asked for the most upvoted first."""

    question: str
    filters: SearchFilters | None
    from_question: SearchFilters | None
    sort: Sort | None


def read_question(
    question: str,
    explicit: SearchFilters | None,
    facts: IndexFacts,
    ignore: Iterable[QuestionFilterKind] = (),
) -> ReadQuestion:
    """Apply the filters written in `question` under the `explicit` ones (which win)."""
    ignored = set(ignore)
    if "all" in ignored:
        return ReadQuestion(question, _active(explicit), None, None)
    found = extract_filters(question, orgs=facts.orgs, newest_capture=facts.newest_capture)
    kept = without_kinds(found, ignored)
    applied = applied_from_question(explicit, kept.filters)
    sort = kept.sort
    if not applied.active and sort is None:
        # Nothing of the question's applies. Phrases the user removed as chips stay out of the
        # text (they asked for no filter, not for those words); otherwise keep it as typed.
        text = kept.question if ignored & found_kinds(found) else question
        return ReadQuestion(text, _active(explicit), None, None)
    merged = merge(explicit, kept.filters)
    return ReadQuestion(kept.question, merged, applied if applied.active else None, sort)


def found_kinds(found: QuestionFilters) -> set[QuestionFilterKind]:
    """The kinds of restriction the question's phrases gave."""
    filters = found.filters
    kinds: set[QuestionFilterKind] = set()
    if filters.since or filters.until:
        kinds.add("dates")
    if filters.org:
        kinds.add("org")
    if filters.min_upvotes is not None:
        kinds.add("min_upvotes")
    if found.sort:
        kinds.add("sort")
    return kinds


def without_kinds(found: QuestionFilters, ignored: set[QuestionFilterKind]) -> QuestionFilters:
    """`found` less the kinds of restriction the user removed."""
    filters = found.filters
    if "dates" in ignored:
        filters = replace(filters, since=None, until=None)
    if "org" in ignored:
        filters = replace(filters, org=None)
    if "min_upvotes" in ignored:
        filters = replace(filters, min_upvotes=None)
    sort = None if "sort" in ignored else found.sort
    return replace(found, filters=filters, sort=sort)


def filter_chips(
    from_question: SearchFilters | None, sort: Sort | None
) -> list[tuple[str, QuestionFilterKind]]:
    """(label, kind) per restriction that came from the question: the UI's removable chips.

    The labels are rag.question_filters.filter_labels', so a chip reads like the CLI's line."""
    chips: list[tuple[str, QuestionFilterKind]] = []
    if from_question is not None:
        parts: list[tuple[SearchFilters, QuestionFilterKind]] = [
            (SearchFilters(since=from_question.since, until=from_question.until), "dates"),
            (SearchFilters(org=from_question.org), "org"),
            (SearchFilters(min_upvotes=from_question.min_upvotes), "min_upvotes"),
        ]
        chips += [(label, kind) for part, kind in parts for label in filter_labels(part)]
    if sort == "upvotes":
        chips += [(label, "sort") for label in filter_labels(None, sort)]
    return chips


def order_by_upvotes(sources: Sequence[Source], threshold: float) -> list[Source]:
    """For "most upvoted": the relevant sources (score >= threshold) by upvotes, unknown last,
    then the rest by relevance; renumbered [1]..[n] in that order.

    Only relevant papers are promoted: a paper with many upvotes that does not match the
    question must not become [1]."""
    relevant = [s for s in sources if s.score >= threshold]
    rest = [s for s in sources if s.score < threshold]
    relevant.sort(key=lambda s: (s.upvotes is None, -(s.upvotes or 0)))
    ordered = relevant + rest
    return [s.model_copy(update={"number": n}) for n, s in enumerate(ordered, start=1)]


def _active(filters: SearchFilters | None) -> SearchFilters | None:
    return filters if filters is not None and filters.active else None

"""Renumber an answer's sources 1..n for display, consistently in its text, links and cards.

The chain numbers sources by retrieval rank and keeps only the citations it could check, so an
answer may cite [1], [3] and [4]. Readers take gaps as missing sources. The UI therefore shows
the cited sources as 1..m in the order the text first cites them, then the uncited ones (most
relevant first); an abstention cites nothing, so its closest papers simply go by relevance.
The chain's own numbering is untouched: this is presentation only.
"""

from __future__ import annotations

import re

from rag.models import Answer, Source

CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def marker_numbers(match: re.Match[str]) -> list[int]:
    """The numbers of one [n] or [n, m] marker."""
    return [int(n) for n in re.split(r"\s*,\s*", match.group(1))]


def cited_in_order(text: str, known: set[int]) -> list[int]:
    """Source numbers in the order the text first cites them (markers naming only known ones)."""
    order: list[int] = []
    for match in CITATION.finditer(text):
        numbers = marker_numbers(match)
        if all(n in known for n in numbers):
            order.extend(n for n in numbers if n not in order)
    return order


def display_order(answer: Answer) -> list[int]:
    """Old source numbers in display order: cited first (by first citation), then by relevance."""
    known = {s.number for s in answer.sources}
    cited = [] if answer.abstained else cited_in_order(answer.text, known)
    cited += [c.number for c in answer.citations if c.number in known and c.number not in cited]
    rest = sorted((s for s in answer.sources if s.number not in cited), key=_by_relevance)
    return cited + [s.number for s in rest]


def _by_relevance(source: Source) -> tuple[float, int]:
    return (-source.score, source.number)  # ties keep the chain's order


def remap_text(text: str, mapping: dict[int, int]) -> str:
    """Rewrite every marker whose numbers are all mapped; others (e.g. [9]) stay as written."""

    def replace(match: re.Match[str]) -> str:
        numbers = marker_numbers(match)
        if not all(n in mapping for n in numbers):
            return match.group(0)
        return "[" + ", ".join(str(mapping[n]) for n in numbers) + "]"

    return CITATION.sub(replace, text)


def renumber(answer: Answer) -> Answer:
    """A copy of `answer` whose sources are numbered 1..n in display order, text and citations
    rewritten to match (so links, hover titles, cards and history all agree)."""
    mapping = {old: new for new, old in enumerate(display_order(answer), start=1)}
    sources = sorted(
        (s.model_copy(update={"number": mapping[s.number]}) for s in answer.sources),
        key=lambda s: s.number,
    )
    citations = sorted(
        (
            c.model_copy(update={"number": mapping[c.number]})
            for c in answer.citations
            if c.number in mapping
        ),
        key=lambda c: c.number,
    )
    text = remap_text(answer.text, mapping)
    return answer.model_copy(update={"text": text, "sources": sources, "citations": citations})

"""Check an answer's [n] citations against the numbered sources it was given.

Models cite in several shapes — [2], [1, 3], [1][3], [2-4], [2–4] — and sometimes cite numbers
that were never given. Invalid numbers are removed from the text (a reader must never follow a
citation to nothing), and the papers really cited become `Answer.citations`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.models import Answer, Citation, Source

# A bracket holding only numbers, commas/semicolons and ranges: [3], [1, 2], [2-4], [1; 5].
CITATION_RE = re.compile(r"\[\s*\d+(?:\s*(?:[,;]|[-–—]|,\s*and)\s*\d+)*\s*\]")
_RANGE_RE = re.compile(r"^(\d+)\s*[-–—]\s*(\d+)$")
_MAX_RANGE = 50  # "[1-2024]" is not a citation range; take its end points only

# Phrases by which a model says the sources do not answer the question.
NOT_COVERED_RE = re.compile(
    r"\b(?:not covered|(?:do|does|did)\s*(?:n['’]t|not)\s+"
    r"(?:cover|contain|mention|address|discuss|answer|provide|include)"
    r"|no (?:relevant )?information|cannot (?:be )?answer(?:ed)?|can['’]t (?:be )?answer(?:ed)?"
    r"|unable to answer|not (?:mentioned|addressed|discussed) in the (?:provided )?sources)",
    re.IGNORECASE,
)


@dataclass
class CitationCheck:
    """The cleaned text, the papers cited (first appearance order) and what was removed."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    @property
    def cited_numbers(self) -> list[int]:
        return [c.number for c in self.citations]


def parse_numbers(bracket: str) -> list[int]:
    """The source numbers in one citation bracket, ranges expanded, in written order."""
    numbers: list[int] = []
    inner = bracket.strip()[1:-1].replace("and", ",")
    for part in re.split(r"[,;]", inner):
        part = part.strip()
        if not part:
            continue
        match = _RANGE_RE.match(part)
        if match:
            start, end = int(match.group(1)), int(match.group(2))
            if start <= end and end - start <= _MAX_RANGE:
                numbers.extend(range(start, end + 1))
            else:
                numbers.extend([start, end])
        else:
            numbers.append(int(part))
    return numbers


def find_citations(text: str) -> list[int]:
    """Every cited number in order of appearance (with repeats)."""
    return [n for m in CITATION_RE.finditer(text) for n in parse_numbers(m.group(0))]


def format_bracket(numbers: Sequence[int]) -> str:
    """[1], [1, 3], and runs of three or more as [2-4]."""
    parts: list[str] = []
    run: list[int] = []
    for n in [*numbers, None]:
        if run and (n is None or n != run[-1] + 1):
            parts.extend([f"{run[0]}-{run[-1]}"] if len(run) >= 3 else map(str, run))
            run = []
        if n is not None:
            run.append(n)
    return "[" + ", ".join(parts) + "]"


def check_citations(text: str, sources: Sequence[Source]) -> CitationCheck:
    """Drop citations outside 1..n from `text`; list the cited papers, deduplicated."""
    by_number = {s.number: s for s in sources}
    removed: list[int] = []
    cited: dict[int, Citation] = {}

    def rewrite(match: re.Match[str]) -> str:
        numbers = list(dict.fromkeys(parse_numbers(match.group(0))))
        valid = [n for n in numbers if n in by_number]
        removed.extend(n for n in numbers if n not in by_number)
        for n in valid:
            source = by_number[n]
            cited.setdefault(n, Citation(number=n, paper_id=source.paper_id, title=source.title))
        if not valid:
            return ""
        return match.group(0) if valid == numbers else format_bracket(valid)

    cleaned = CITATION_RE.sub(rewrite, text)
    if removed:
        cleaned = _tidy(cleaned)
    return CitationCheck(text=cleaned, citations=list(cited.values()), removed=removed)


def says_not_covered(text: str) -> bool:
    """True when the answer states that the sources do not answer the question."""
    return bool(NOT_COVERED_RE.search(text))


def _tidy(text: str) -> str:
    """Remove the gaps a deleted citation leaves: 'claim [9].' -> 'claim.'."""
    text = re.sub(r"[ \t]+([.,;:!?)])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text)


def split_cited(answer: Answer) -> tuple[list[Source], list[Source]]:
    """The sources to show, and the retrieved papers the answer did not cite, best first.

    An answer that cites some sources shows those; the rest stay collapsed, so a paper far
    below the best one does not read as a source. An abstention (the closest papers) or an
    answer that cites nothing shows every paper: there is nothing to tell them apart by."""
    by_number = sorted(answer.sources, key=lambda s: s.number)
    cited = {c.number for c in answer.citations}
    if answer.abstained or not cited:
        return by_number, []
    others = [s for s in by_number if s.number not in cited]
    return [s for s in by_number if s.number in cited], sorted(others, key=lambda s: -s.score)

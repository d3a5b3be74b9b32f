"""Filters written in the question: "in 2025", "from ByteDance", "with more than 50 upvotes".

People type restrictions into the question instead of the filter widgets. Left in, such phrases
only add noise to retrieval ("2025" matches every abstract that mentions a 2025 benchmark) and
restrict nothing. `extract_filters` turns them into the same `SearchFilters` the widgets and
flags produce and returns the question without them; `merge` combines them with explicit
filters (explicit ones win); `describe` / `filter_labels` say what was found, for the CLI line
and the UI's chips.

Being wrong is worse than missing a phrase: a false filter silently hides the right papers. So
every rule is anchored on a cue word ("in", "since", "before", "from", "upvotes") directly
before the value, and a date phrase must be followed by the end of the question, punctuation or
a word from a short list that can follow a date ("in 2025 with", "in 2025 about", but not
"in 2025 style"). An org counts only when it is one of the indexed orgs. Relative phrases
("last month") are resolved against the newest capture date in the index, never the wall clock:
a dump captured in June answers "this week" about the week of that capture.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from rag.dump_parser import MONTHS
from vectorstore.filters import SearchFilters

Sort = Literal["upvotes"]
DateRange = tuple[date | None, date | None]

# Words that may follow a date phrase while it still reads as a date restriction.
_FOLLOWER_WORDS = """and or but with without on about regarding concerning related that which who
whose where what how why when from by for in at into to using use uses used do does did is are
was were has have had having got get show list find give tell only please since before after
until till through most more over above top highest sorted ranked"""
_DATE_FOLLOWERS = frozenset(_FOLLOWER_WORDS.split())
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
# A point in time: an ISO date, "March 2025" / "Mar. 2025" / "March, 2025", or a bare year.
_POINT = rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH},?\s+\d{{4}}|\d{{4}})"
_VERB = r"(?:(?:published|released|posted|appeared|came\s+out|submitted)\s+)?"
_NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
_END = r"(?![\w'’-])"  # not glued to a word, a possessive or a hyphen ("2025-style", "2025's")
_FIRST_YEAR, _LAST_YEAR = 1990, 2099


@dataclass(frozen=True)
class QuestionFilters:
    """What `extract_filters` found: the cleaned question, the filters, and the phrases.

    `question` is the question with the filter phrases taken out (the original text when
    nothing else would be left). `filters` is empty (not `active`) when nothing was found.
    `sort` is "upvotes" for "most upvoted": SearchFilters restricts, it does not order.
    """

    question: str
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: Sort | None = None
    phrases: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.phrases)


@dataclass(frozen=True)
class _Hit:
    """One recognised phrase: its span in the question and what it restricts."""

    start: int
    end: int
    since: date | None = None
    until: date | None = None
    org: str | None = None
    min_upvotes: int | None = None
    sort: Sort | None = None
    replacement: str = ""  # what takes the phrase's place in the question


# --- public API -----------------------------------------------------------------------------


def extract_filters(
    question: str, *, orgs: Iterable[str] = (), newest_capture: date | None = None
) -> QuestionFilters:
    """Find the filter phrases in `question` and return them as filters plus the rest.

    `orgs` are the indexed org display names and hub handles (matched case-insensitively);
    `newest_capture` anchors "last month" / "this week"; without it such phrases stay in the
    question. Two different orgs ("from ByteDance or StepFun") cannot be one SearchFilters, so
    then no org filter is made and both stay in the question.
    """
    hits = _without_overlaps(
        [
            *_date_hits(question),
            *_relative_hits(question, newest_capture),
            *_upvote_hits(question),
            *_org_hits(question, orgs),
        ]
    )
    hits = _single_org(hits)
    if not hits:
        return QuestionFilters(question=question)
    filters, sort = _combine(hits)
    phrases = tuple(question[h.start : h.end].strip() for h in hits)
    cleaned = _strip(question, hits)
    return QuestionFilters(
        question=cleaned if re.search(r"\w", cleaned) else question,
        filters=filters,
        sort=sort,
        phrases=phrases,
    )


def merge(
    explicit: SearchFilters | None, found: SearchFilters | QuestionFilters | None
) -> SearchFilters | None:
    """Explicit filters (widgets, flags, API) win over those found in the question, field by
    field; None when neither restricts anything.

    An unset field is None, an empty org or a min_upvotes of 0 (what the UI sends when the
    widget is untouched; SearchFilters treats them as no restriction too). If a found date bound
    would invert the explicit range (explicit since 2026, question "before 2021"), the found
    bound is dropped: the explicit one is what the user set on purpose.
    """
    if isinstance(found, QuestionFilters):
        found = found.filters
    explicit = explicit or SearchFilters()
    found = found or SearchFilters()
    since = explicit.since or found.since
    until = explicit.until or found.until
    if since and until and since > until:
        since, until = explicit.since, explicit.until
    org = explicit.org if explicit.org and explicit.org.strip() else found.org
    upvotes = explicit.min_upvotes if explicit.min_upvotes else found.min_upvotes
    merged = SearchFilters(since=since, until=until, org=org, min_upvotes=upvotes)
    return merged if merged.active else None


def applied_from_question(
    explicit: SearchFilters | None, found: SearchFilters | QuestionFilters | None
) -> SearchFilters:
    """The part of `found` that survives `merge` (what the UI's removable chips and the CLI's
    line should show): a phrase overridden by an explicit filter was not applied."""
    if isinstance(found, QuestionFilters):
        found = found.filters
    merged = merge(explicit, found) or SearchFilters()
    found = found or SearchFilters()
    return SearchFilters(
        since=found.since if found.since and merged.since == found.since else None,
        until=found.until if found.until and merged.until == found.until else None,
        org=found.org if found.org and merged.org == found.org else None,
        min_upvotes=found.min_upvotes
        if found.min_upvotes and merged.min_upvotes == found.min_upvotes
        else None,
    )


def filter_labels(filters: SearchFilters | None, sort: Sort | None = None) -> list[str]:
    """One short label per restriction, e.g. "published 2025-01-01..2025-12-31": the UI's
    chips and the parts of `describe`."""
    labels: list[str] = []
    if filters is not None:
        labels += _date_label(filters.since, filters.until)
        if filters.org and filters.org.strip():
            labels.append(f"org {filters.org.strip()}")
        if filters.min_upvotes:
            unit = "upvote" if filters.min_upvotes == 1 else "upvotes"
            labels.append(f"at least {filters.min_upvotes} {unit}")
    if sort == "upvotes":
        labels.append("most upvoted first")
    return labels


def describe(found: QuestionFilters | SearchFilters | None, sort: Sort | None = None) -> str:
    """The CLI's line, e.g. "filters from your question: published 2025-01-01..2025-12-31";
    "" when there is nothing to say (so the caller prints nothing)."""
    if isinstance(found, QuestionFilters):
        found, sort = found.filters, sort or found.sort
    labels = filter_labels(found, sort)
    return "filters from your question: " + ", ".join(labels) if labels else ""


# --- recognisers ----------------------------------------------------------------------------


def _date_label(since: date | None, until: date | None) -> list[str]:
    if since and until:
        return [f"published {since.isoformat()}..{until.isoformat()}"]
    if since:
        return [f"published since {since.isoformat()}"]
    if until:
        return [f"published until {until.isoformat()}"]
    return []


def _point_range(text: str) -> DateRange:
    """First and last day of a point: "2025" -> the year, "March 2025" -> the month."""
    text = text.strip().lower()
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        try:
            day = date(*map(int, iso.groups()))
        except ValueError:
            return None, None
        return day, day
    parts = re.fullmatch(rf"({_MONTH}),?\s+(\d{{4}})", text)
    if parts:
        year, month = int(parts.group(2)), MONTHS[parts.group(1).rstrip(".")]
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            return None, None
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    year = int(text)
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return None, None
    return date(year, 1, 1), date(year, 12, 31)


def _day_before(day: date | None) -> date | None:
    return day - timedelta(days=1) if day else None


def _day_after(day: date | None) -> date | None:
    return day + timedelta(days=1) if day else None


# cue -> (pattern, how the point(s) become a range). Longest cues first: "from X to Y" must be
# tried before "from X".
_DATE_RULES: list[tuple[str, Callable[[DateRange, DateRange], DateRange]]] = [
    (
        rf"\b{_VERB}(?:between|from)\s+(?P<a>{_POINT})\s+(?:and|to|until|till|through)\s+(?P<b>{_POINT})",
        lambda a, b: (a[0], b[1]),
    ),
    (
        rf"\b{_VERB}(?:in|during|throughout)\s+(?P<a>{_POINT})\s*(?:-|–|to|and|or)\s*(?P<b>{_POINT})",
        lambda a, b: (a[0], b[1]),
    ),
    (
        rf"\b{_VERB}(?:since|from)\s+(?P<a>{_POINT})\s+(?:onwards?|and\s+later|or\s+later)",
        lambda a, _: (a[0], None),
    ),
    (rf"\b{_VERB}(?:in|during|throughout|from)\s+(?P<a>{_POINT})", lambda a, _: a),
    (rf"\b{_VERB}since\s+(?P<a>{_POINT})", lambda a, _: (a[0], None)),
    (rf"\b{_VERB}after\s+(?P<a>{_POINT})", lambda a, _: (_day_after(a[1]), None)),
    (rf"\b{_VERB}before\s+(?P<a>{_POINT})", lambda a, _: (None, _day_before(a[0]))),
    (
        rf"\b{_VERB}(?:until|till|through|up\s+to)\s+(?P<a>{_POINT})",
        lambda a, _: (None, a[1]),
    ),
]


def _followed_by_date_end(question: str, end: int) -> bool:
    """True when what follows a date phrase lets it read as a date restriction: the end, a
    punctuation mark, or a word from `_DATE_FOLLOWERS` ("in 2025 about ..." yes, "in 2025
    style" no)."""
    rest = question[end:].lstrip()
    if not rest or rest[0] in "?.!,;:)]":
        return True
    word = re.match(r"[A-Za-z]+", rest)
    return bool(word) and word.group(0).lower() in _DATE_FOLLOWERS


def _date_hits(question: str) -> list[_Hit]:
    """Absolute dates: "in 2025", "since March 2025", "before 2021", "between 2023 and 2024"."""
    hits: list[_Hit] = []
    for pattern, to_range in _DATE_RULES:
        for match in re.finditer(pattern + _END, question, re.IGNORECASE):
            points = [p for p in match.groupdict().values() if p]
            if points[-1].isdigit() and not _followed_by_date_end(question, match.end()):
                continue  # only a bare year is ambiguous: "in 2025 style", not "in March 2025"
            ranges = [_point_range(point) for point in points]
            if (None, None) in ranges:
                continue
            since, until = to_range(ranges[0], ranges[-1])
            if since and until and since > until:
                continue
            hits.append(_Hit(match.start(), match.end(), since=since, until=until))
    return hits


_RELATIVE = re.compile(
    r"\b(?P<lead>(?:(?:in|during|over|within|from|since)\s+)?(?:the\s+)?)"
    r"(?P<which>this|last|past|previous)\s+"
    r"(?:(?P<n>\d{1,3}|a|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+)?"
    r"(?P<unit>day|week|month|year)s?" + _END,
    re.IGNORECASE,
)


def _relative_hits(question: str, newest: date | None) -> list[_Hit]:
    """ "this week", "last month", "this year", "in the past 30 days", anchored on `newest`."""
    if newest is None:
        return []
    hits: list[_Hit] = []
    for match in _RELATIVE.finditer(question):
        if not _followed_by_date_end(question, match.end()):
            continue
        span = _relative_range(match, newest)
        if span is not None:
            hits.append(_Hit(match.start(), match.end(), since=span[0], until=span[1]))
    return hits


def _relative_range(match: re.Match[str], newest: date) -> tuple[date, date] | None:
    """Calendar periods for "this/last <unit>", rolling windows for "the past/last N <unit>s".

    "last month" is the calendar month before the newest capture's month, "this week" runs from
    that week's Monday to the capture; "the past 30 days" ends at the capture.
    """
    which, unit = match.group("which").lower(), match.group("unit").lower()
    count = match.group("n")
    with_the = "the" in match.group("lead").lower().split()
    if count or which == "past" or with_the:
        if which == "this":
            return None
        number = _NUMBER_WORDS.get(count.lower(), 0) if count else 1
        number = number or int(count)
        return _back(newest, unit, number), newest
    if match.group(0).lower().endswith("s"):  # "last months" without a count: not a period
        return None
    period = _calendar_period(newest, unit, which)
    if period and match.group("lead").lower().startswith("since"):
        return period[0], newest  # "since last month": from its first day up to now
    return period


def _back(day: date, unit: str, number: int) -> date:
    """The day `number` units before `day` (months and years move by the calendar)."""
    if unit == "day":
        return day - timedelta(days=number)
    if unit == "week":
        return day - timedelta(weeks=number)
    months = number * (12 if unit == "year" else 1)
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _calendar_period(newest: date, unit: str, which: str) -> tuple[date, date] | None:
    """The current ("this") or previous ("last", "previous") day/week/month/year of `newest`."""
    if unit == "day":
        day = newest if which == "this" else newest - timedelta(days=1)
        return day, day
    if unit == "week":
        monday = newest - timedelta(days=newest.weekday())
        if which == "this":
            return monday, newest
        return monday - timedelta(weeks=1), monday - timedelta(days=1)
    if unit == "month":
        first = newest.replace(day=1)
        if which == "this":
            return first, newest
        last = first - timedelta(days=1)
        return last.replace(day=1), last
    if which == "this":
        return date(newest.year, 1, 1), newest
    return date(newest.year - 1, 1, 1), date(newest.year - 1, 12, 31)


_UPVOTE_WORD = r"up-?votes?"
_UPVOTE_LEAD = (
    r"(?:(?:with|having|(?:that|which|who)\s+(?:have|has|had|got|get|received)|"
    r"got|received|has|have|had)\s+)?"
)
_UPVOTE_RULES: list[tuple[str, int]] = [
    (rf"(?:more\s+than|over|above|greater\s+than|>)\s*(?P<n>\d[\d,]*)\s+{_UPVOTE_WORD}", 1),
    (
        rf"(?:at\s+least|no\s+(?:fewer|less)\s+than|a\s+minimum\s+of|minimum|min\.?|>=|≥)\s*"
        rf"(?P<n>\d[\d,]*)\s+{_UPVOTE_WORD}",
        0,
    ),
    (rf"(?P<n>\d[\d,]*)\s*(?:\+|or\s+more)\s+{_UPVOTE_WORD}", 0),
]
_SORT = re.compile(
    r"(?:\b(?:most|highest|top)[\s-]+(?:up-?voted|voted)|"
    r"\b(?:with\s+)?(?:the\s+)?most\s+up-?votes|\b(?:sorted|ranked|ordered)\s+by\s+up-?votes)"
    + _END,
    re.IGNORECASE,
)


def _upvote_hits(question: str) -> list[_Hit]:
    """ "with more than 50 upvotes" (51 or more), "at least 10 upvotes", "most upvoted"."""
    hits: list[_Hit] = []
    for pattern, offset in _UPVOTE_RULES:
        full = re.compile(rf"(?<![\w-]){_UPVOTE_LEAD}{pattern}{_END}", re.IGNORECASE)
        for match in full.finditer(question):
            number = int(match.group("n").replace(",", "")) + offset
            hits.append(_Hit(match.start(), match.end(), min_upvotes=number))
    hits += [_Hit(m.start(), m.end(), sort="upvotes") for m in _SORT.finditer(question)]
    return hits


def _org_hits(question: str, orgs: Iterable[str]) -> list[_Hit]:
    """ "from ByteDance", "by Google", "what did StepFun publish": only orgs that are indexed,
    so "from scratch" or "from images" never become an org filter. A list of orgs ("from
    ByteDance or StepFun") gives a hit per org, which `_single_org` then drops."""
    names = {n.strip() for n in orgs if n and len(n.strip()) >= 2 and not n.strip().isdigit()}
    if not names:
        return []
    canonical = {name.casefold(): name for name in sorted(names)}
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    org = rf"(?:the\s+)?(?P<org>{alt})(?![\w'’-])"
    more = rf"(?P<more>(?:\s*(?:,|/|&|\bor\b|\band\b)\s*(?:(?:from|by)\s+)?(?:{alt})(?![\w'’-]))*)"
    hits: list[_Hit] = []
    for m in re.finditer(rf"\b{_VERB}(?:from|by)\s+{org}{more}", question, re.IGNORECASE):
        hits.append(_Hit(m.start(), m.end("org"), org=canonical[m.group("org").casefold()]))
        for other in re.finditer(alt, m.group("more"), re.IGNORECASE):
            hits.append(_Hit(m.end("org"), m.end(), org=canonical[other.group(0).casefold()]))
    verb = r"(?:publish|release|put\s+out|post|propose|introduce)"
    for m in re.finditer(rf"\b(?:did|has|have)\s+{org}\s+{verb}", question, re.IGNORECASE):
        name = canonical[m.group("org").casefold()]
        hits.append(_Hit(m.start("org"), m.end("org"), org=name, replacement="they"))
    return hits


# --- combining and stripping ----------------------------------------------------------------


def _without_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Keep the longest of overlapping phrases ("from 2023 to 2025" over "from 2023")."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (-(h.end - h.start), h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def _single_org(hits: list[_Hit]) -> list[_Hit]:
    """Drop the org phrases when they name more than one org (no OR in SearchFilters)."""
    orgs = {h.org.casefold() for h in hits if h.org}
    return hits if len(orgs) <= 1 else [h for h in hits if not h.org]


def _combine(hits: list[_Hit]) -> tuple[SearchFilters, Sort | None]:
    """All phrases together: dates intersect (the latest since, the earliest until)."""
    sinces = [h.since for h in hits if h.since]
    untils = [h.until for h in hits if h.until]
    since, until = max(sinces, default=None), min(untils, default=None)
    if since and until and since > until:  # contradictory phrases: keep the first one's range
        first = next(h for h in hits if h.since or h.until)
        since, until = first.since, first.until
    org = next((h.org for h in hits if h.org), None)
    upvotes = max((h.min_upvotes for h in hits if h.min_upvotes is not None), default=None)
    sort = next((h.sort for h in hits if h.sort), None)
    return SearchFilters(since=since, until=until, org=org, min_upvotes=upvotes), sort


def _strip(question: str, hits: list[_Hit]) -> str:
    """The question without the phrases, tidied: no doubled spaces, no space before
    punctuation, no comma or "and" left dangling where a phrase was."""
    text = question
    for hit in reversed(hits):
        text = f"{text[: hit.start]} {hit.replacement} {text[hit.end :]}"
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"(?:[,;:]|\b(?:and|or|but))\s*(?=[?.!]|$)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(and|or)\s+(?:and|or)\b", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"^\s*(?:[,;:]|(?:and|or)\b)\s*", "", text, flags=re.IGNORECASE)
    return re.sub(r"\s+([?.!])", r"\1", text).strip()

"""Parse a saved Hugging Face "Daily Papers" page (a text dump) into papers.

The format (see DESIGN.md): a page header ending with the capture date (`Jun 17`), then entries
separated by blank lines::

    <title line>

    <abstract: one long line>

      • 8 authors          optional
    ByteDance ByteDance    optional org line: "<hub handle> <display name>"
    ·
    Apr 20, 2025 9         date, with a year only for earlier years; optional upvote count

Telling a title from an abstract: an abstract is the line that follows a title; metadata lines
follow an abstract. When a short, title-like line is followed by another title-like line and then
by an abstract-like line (long, or several sentences), the first one is a title whose abstract is
missing: it is skipped with a warning instead of shifting every later entry by one line.

Capture date inference (the header prints month and day only):
  * `captured=` (the CLI's `--captured YYYY-MM-DD`) wins and is not marked inferred.
  * The page prints a year only for dates in years before the capture. So every date with an
    explicit year is earlier than the capture year, and yearless dates lie in the capture year,
    on or before the capture month/day. We take the smallest capture year consistent with that:
    (largest explicit year) + 1, moved forward only when a Feb 29 needs a leap year.
  * Without any explicit year (no dates at all, or yearless ones only) nothing bounds the year
    from the content. If the file name holds a `YYYY-MM` / `YYYY-MM-DD` that matches the header's
    month (and day), that year is used; otherwise the most recent occurrence of the month/day not
    after the file's modification time (today's date for text without a file).
  * An inferred capture date is marked `captured_inferred=True`, on the dump and on its papers.
Yearless paper dates resolve to the capture year and are marked `published_inferred=True`.

Bad input never raises: a file-level problem is a FileIssue(level="error") with no papers; a
skipped entry is a FileIssue(level="warning") with its 1-based line number.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from charset_normalizer import from_bytes

from rag.models import FileIssue
from rag.papers import Paper, merge_papers, normalize_title

# Longest real title seen in 40k papers is 226 characters; the shortest abstract is 303.
TITLE_MAX_CHARS = 300
ORG_MAX_CHARS = 100
# The page header must start within this many non-blank lines.
HEADER_SCAN = 50
# Share of control characters above which decoded "text" is taken to be binary data.
BINARY_CONTROL_SHARE = 0.01

MONTHS = {  # month names and abbreviations -> number (also read by question_filters)
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_RE = re.compile(
    rf"^(?P<month>{_MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}})(?:,\s*(?P<year>\d{{4}}))?"
    r"(?:\s+(?P<upvotes>\d+))?$",
    re.IGNORECASE,
)
_AUTHORS_RE = re.compile(r"^[•·∙*-]?\s*(?P<n>\d+)\s+authors?$", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"^[·•∙⋅]$")
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
_SENTENCE_END_RE = re.compile(r"[.!?](?:\s|$)")
_NAME_DATE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?P<year>(?:19|20)\d\d)[-_.](?P<month>\d\d)(?:[-_.](?P<day>\d\d))?(?!\d)"
)
_HTML_RE = re.compile(
    r"^\s*(?:<!doctype\s+html|<html[\s>]|<\?xml[^>]*>\s*<(?:!doctype|html))", re.I
)
_HEADER_LINES = frozenset(
    normalize_title(line)
    for line in (
        "new",
        "Get trending papers in your email inbox!",
        "Subscribe",
        "Daily Papers",
        "byAK and the research community",
    )
)


@dataclass
class ParsedDump:
    """The outcome of parsing one dump: its papers (unique within the dump) and any issues."""

    file: str
    name: str
    captured: date | None
    captured_inferred: bool
    papers: list[Paper] = field(default_factory=list)
    issues: list[FileIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when the file as a whole failed (an error); warnings alone keep it ok."""
        return not any(issue.level == "error" for issue in self.issues)


# --- entry points ---------------------------------------------------------------------------


def parse_dump(
    path: str | Path, *, captured: date | None = None, max_abstract_chars: int
) -> ParsedDump:
    """Parse the dump at `path`; never raises on bad input (see the module docstring)."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
        modified = date.fromtimestamp(path.stat().st_mtime)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        return _failed(file, path.name, f"cannot read the file: {reason}")
    return _parse_bytes(
        raw, file=file, name=path.name, captured=captured, limit=max_abstract_chars, ref=modified
    )


def parse_text(
    text: str | bytes, *, name: str, captured: date | None = None, max_abstract_chars: int
) -> ParsedDump:
    """Parse dump text that has no file (an upload, a test); bytes are decoded like a file's."""
    if isinstance(text, bytes):
        return _parse_bytes(
            text, file=name, name=name, captured=captured, limit=max_abstract_chars, ref=None
        )
    return _Parser(name, name, captured, max_abstract_chars, None).parse(text, [])


def _parse_bytes(
    raw: bytes, *, file: str, name: str, captured: date | None, limit: int, ref: date | None
) -> ParsedDump:
    issues: list[FileIssue] = []
    text = _decode(raw, file, issues)
    if text is None:
        return ParsedDump(file, Path(name).name, captured, False, [], issues)
    return _Parser(file, Path(name).name, captured, limit, ref).parse(text, issues)


def _failed(file: str, name: str, message: str) -> ParsedDump:
    return ParsedDump(file, name, None, False, [], [FileIssue(file=file, message=message)])


# --- decoding -------------------------------------------------------------------------------

_UTF_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(raw: bytes, file: str, issues: list[FileIssue]) -> str | None:
    """UTF-8 (BOM or not) silently; UTF-16/32 with a BOM, mostly-UTF-8 and cp1252/latin-1 with
    a warning saying what was assumed; None (with an error) when it cannot be text."""

    def error(message: str) -> None:
        issues.append(FileIssue(file=file, message=message))

    def warn(message: str, line: int | None = None) -> None:
        issues.append(FileIssue(file=file, line=line, message=message, level="warning"))

    if not raw.strip():
        error("the file is empty: a dump holds the text of a Daily Papers page")
        return None
    if (decoded := _decode_bom(raw)) is not None:
        text, encoding = decoded
        warn(f"the file is {encoding.upper()} text, not UTF-8; decoded as {encoding.upper()}")
        return text
    if b"\x00" in raw:
        offset = raw.index(b"\x00")
        error(
            "this is a binary file, not a text dump "
            f"(it contains NUL bytes, the first at byte {offset})"
        )
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        bad_byte = raw[exc.start]
    lenient = raw.decode("utf-8-sig", errors="replace")
    replaced = lenient.count("\ufffd")
    valid_non_ascii = sum(1 for ch in lenient if ord(ch) > 127) - replaced
    if valid_non_ascii > replaced:
        # Mostly real UTF-8 with a few damaged bytes: a single-byte code page would garble the
        # many good characters to save the few bad ones.
        warn(
            f"the file is not valid UTF-8 (byte 0x{bad_byte:02x} at line {bad_line}); decoded as "
            f"UTF-8 with {replaced} invalid byte sequence(s) replaced by '\ufffd'",
            bad_line,
        )
        return lenient
    best = from_bytes(raw, cp_isolation=["cp1252", "latin_1"]).best()
    if best is None:
        error(
            "this looks like a binary file, not a text dump: it is neither UTF-8 nor "
            "cp1252/latin-1 text"
        )
        return None
    encoding = {"cp1252": "cp1252 (Windows-1252)", "latin_1": "latin-1 (ISO-8859-1)"}.get(
        best.encoding, best.encoding
    )
    warn(
        f"the file is not UTF-8 (byte 0x{bad_byte:02x} at line {bad_line}); assumed {encoding}; "
        "check accented characters, or save the dump as UTF-8",
        bad_line,
    )
    return str(best)


def _decode_bom(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) for UTF-16/32 text that announces itself with a byte-order mark."""
    for bom, encoding in _UTF_BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                return None
    return None


def _binary_share(text: str) -> float:
    """Share of characters that never occur in text: controls other than whitespace, U+FFFD."""
    sample = text[:200_000]
    return len(_CONTROL_RE.findall(sample)) / max(len(sample), 1)


# --- lines, units and metadata ---------------------------------------------------------------


@dataclass
class _Line:
    number: int  # 1-based
    text: str  # stripped
    block: int  # lines of one block are separated by no blank line


@dataclass
class _DateLine:
    line: int
    text: str
    month: int
    day: int
    year: int | None
    upvotes: int | None


@dataclass
class _Meta:
    line: int
    authors_count: int | None = None
    org_handle: str | None = None
    org: str | None = None
    date: _DateLine | None = None


@dataclass
class _Entry:
    title: _Line
    abstract: _Line
    meta: _Meta | None


_Kind = Literal["authors", "separator", "date", "org", "text"]


def _lines(text: str) -> list[_Line]:
    """Non-blank lines, stripped, numbered from 1, tagged with their blank-line-separated block."""
    lines: list[_Line] = []
    block = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            lines.append(_Line(number, stripped, block))
        else:
            block += 1
    return lines


def _blocks(lines: list[_Line]) -> Iterator[list[_Line]]:
    """Group consecutive lines of the same block."""
    block: list[_Line] = []
    for line in lines:
        if block and line.block != block[-1].block:
            yield block
            block = []
        block.append(line)
    if block:
        yield block


def _match_date(text: str, line: int) -> _DateLine | None:
    m = _DATE_RE.match(text)
    if m is None:
        return None
    return _DateLine(
        line=line,
        text=text,
        month=MONTHS[m["month"].lower()],
        day=int(m["day"]),
        year=int(m["year"]) if m["year"] else None,
        upvotes=int(m["upvotes"]) if m["upvotes"] else None,
    )


def _kinds(block: list[_Line]) -> list[_Kind]:
    """Classify the lines of one block. An org line has no form of its own ("ByteDance
    ByteDance" could be a title), so it is recognised by position: a short line right before
    the "·" separator."""
    kinds: list[_Kind] = []
    for line in block:
        if _SEPARATOR_RE.match(line.text):
            kinds.append("separator")
        elif _AUTHORS_RE.match(line.text):
            kinds.append("authors")
        elif _DATE_RE.match(line.text):
            kinds.append("date")
        else:
            kinds.append("text")
    for i in range(len(block) - 1):
        if (
            kinds[i] == "text"
            and kinds[i + 1] == "separator"
            and len(block[i].text) <= ORG_MAX_CHARS
        ):
            kinds[i] = "org"
    return kinds


def _units(blocks: Iterator[list[_Line]]) -> Iterator[_Line | _Meta]:
    """Text lines one by one, and each run of metadata lines as one _Meta."""
    meta: _Meta | None = None
    for block in blocks:
        for line, kind in zip(block, _kinds(block), strict=True):
            if kind == "text":
                if meta is not None:
                    yield meta
                    meta = None
                yield line
                continue
            meta = meta or _Meta(line=line.number)
            if kind == "authors":
                meta.authors_count = int(_AUTHORS_RE.match(line.text)["n"])  # type: ignore[index]
            elif kind == "org":
                handle, _, display = line.text.partition(" ")
                meta.org_handle, meta.org = handle, (display.strip() or handle)
            elif kind == "date" and meta.date is None:
                meta.date = _match_date(line.text, line.number)
    if meta is not None:
        yield meta


def _sentences(text: str) -> int:
    return len(_SENTENCE_END_RE.findall(text))


def _abstract_like(text: str) -> bool:
    return len(text) > TITLE_MAX_CHARS or _sentences(text) >= 2


def _title_like(text: str) -> bool:
    return len(text) <= TITLE_MAX_CHARS and _sentences(text) < 2


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    """One parse of one dump; collects issues as it goes."""

    def __init__(
        self, file: str, name: str, captured: date | None, limit: int, ref: date | None
    ) -> None:
        self.file = file
        self.name = name
        self.given = captured
        self.limit = limit
        self.ref = ref
        self.issues: list[FileIssue] = []
        self.skipped = 0  # entries skipped with a warning

    def error(self, message: str, line: int | None = None) -> None:
        self.issues.append(FileIssue(file=self.file, line=line, message=message, level="error"))

    def warn(self, message: str, line: int | None = None) -> None:
        self.issues.append(FileIssue(file=self.file, line=line, message=message, level="warning"))

    def skip(self, message: str, line: int) -> None:
        """Warn about an entry that is left out; the rest of the file is still parsed."""
        self.skipped += 1
        self.warn(message, line)

    def result(self, captured: date | None, inferred: bool, papers: list[Paper]) -> ParsedDump:
        return ParsedDump(self.file, self.name, captured, inferred, papers, self.issues)

    def parse(self, text: str, issues: list[FileIssue]) -> ParsedDump:
        self.issues = issues
        text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            self.error("the file is empty: a dump holds the text of a Daily Papers page")
            return self.result(self.given, False, [])
        if _HTML_RE.match(text):
            self.error(
                "this is an HTML page, not a text dump: open the page in a browser and save it "
                "as text (Save Page As… → Text Files), or copy all of its text into a .txt file"
            )
            return self.result(self.given, False, [])
        if "\x00" in text or _binary_share(text) > BINARY_CONTROL_SHARE:
            self.error("this looks like a binary file, not a text dump (control characters)")
            return self.result(self.given, False, [])

        lines = _lines(text)
        start, header_date = self.header(lines)
        if start is None:
            self.error(
                'this is not a Hugging Face Daily Papers dump: the page header ("Get trending '
                'papers in your email inbox!", "byAK and the research community", then the '
                'capture date such as "Jun 17") was not found at the start of the file'
            )
            return self.result(self.given, False, [])
        entries = self.entries(_units(_blocks(lines[start:])))
        if not entries:
            if not self.skipped:
                self.error("the page header is there but no paper entries follow it")
            else:
                self.error("no usable paper entries (every entry was skipped; see the warnings)")
            return self.result(self.given, False, [])
        dates = [e.meta.date for e in entries if e.meta is not None and e.meta.date is not None]
        captured, inferred = self.capture_date(header_date, dates)
        papers = self.papers(entries, captured, inferred, dates)
        if not papers:
            self.error("no usable paper entries (every entry was skipped; see the warnings)")
        return self.result(captured, inferred, papers)

    # --- header ------------------------------------------------------------------------

    def header(self, lines: list[_Line]) -> tuple[int | None, _DateLine | None]:
        """Index of the first body line, and the header's capture date line if any.

        Returns (None, None) when there is no header at all: then this is not a dump. Lines
        before the header (site navigation a browser may save too) are skipped with a warning."""
        known = [normalize_title(line.text) in _HEADER_LINES for line in lines[:HEADER_SCAN]]
        first = known.index(True) if True in known else 0
        i = first
        while i < len(lines) and normalize_title(lines[i].text) in _HEADER_LINES:
            i += 1
        date_line = _match_date(lines[i].text, lines[i].number) if i < len(lines) else None
        found_date = date_line is not None and date_line.upvotes is None
        if i == first and not found_date:
            return None, None
        if first > 0:
            self.warn(
                f"{first} line(s) before the page header ignored (lines {lines[0].number}-"
                f"{lines[first - 1].number})",
                lines[0].number,
            )
        if found_date:
            return i + 1, date_line
        if self.given is None:
            self.warn(
                'the page header has no capture date (a line such as "Jun 17" after "byAK and '
                'the research community"); give it with --captured YYYY-MM-DD',
                lines[i - 1].number,
            )
        return i, None

    # --- entries -----------------------------------------------------------------------

    def entries(self, units: Iterator[_Line | _Meta]) -> list[_Entry]:
        """Pair titles with abstracts (see the module docstring) and attach metadata."""
        items = list(units)
        entries: list[_Entry] = []
        i = 0
        while i < len(items):
            item = items[i]
            if isinstance(item, _Meta):
                self.warn(
                    "metadata lines (authors/date) without a paper before them; ignored", item.line
                )
                i += 1
                continue
            nxt = items[i + 1] if i + 1 < len(items) else None
            after = items[i + 2] if i + 2 < len(items) else None
            if len(item.text) > TITLE_MAX_CHARS:
                self.skip(
                    f"expected a paper title but found a {len(item.text):,}-character line "
                    "(an abstract whose title is missing?); entry skipped",
                    item.number,
                )
                i += 2 if isinstance(nxt, _Meta) else 1
                continue
            if nxt is None or isinstance(nxt, _Meta):
                self.skip_no_abstract(item)
                i += 2 if nxt is not None else 1
                continue
            if _title_like(nxt.text) and isinstance(after, _Line) and _abstract_like(after.text):
                self.skip_no_abstract(item)
                i += 1
                continue
            meta = after if isinstance(after, _Meta) else None
            entries.append(_Entry(item, nxt, meta))
            i += 3 if meta is not None else 2
        return entries

    def skip_no_abstract(self, title: _Line) -> None:
        self.skip(
            f"title {_quote(title.text)} has no abstract after it; entry skipped", title.number
        )

    # --- dates -------------------------------------------------------------------------

    def capture_date(
        self, header: _DateLine | None, dates: list[_DateLine]
    ) -> tuple[date | None, bool]:
        """The capture date and whether it was inferred (rule in the module docstring)."""
        explicit = [d.year for d in dates if d.year is not None]
        if self.given is not None:
            if explicit and max(explicit) >= self.given.year:
                self.warn(
                    f"the given capture date {self.given.isoformat()} is not after the year "
                    f"{max(explicit)} printed on some dates; pages print a year only for earlier "
                    "years, so the capture date may be wrong"
                )
            return self.given, False
        if header is None:
            return None, False
        if header.year is not None:
            return self.valid_date(header.year, header.month, header.day, header), False
        yearless = [(d.month, d.day) for d in dates if d.year is None]
        hint = _year_from_name(self.name, header.month, header.day)
        ref = self.ref or date.today()
        if explicit:  # smallest year after every printed year
            years = list(range(max(explicit) + 1, max(explicit) + 10))
        elif hint:
            years = [hint]
        else:  # most recent occurrence not after the reference date
            years = [
                y
                for y in range(ref.year, ref.year - 10, -1)
                if (header.month, header.day) <= (ref.month, ref.day) or y < ref.year
            ]
        for year in years:
            candidate = _safe_date(year, header.month, header.day)
            if candidate is not None and all(_safe_date(year, m, d) for m, d in yearless):
                return candidate, True
        self.warn(f"cannot infer a year for the capture date {header.text!r}", header.line)
        return None, False

    def valid_date(self, year: int, month: int, day: int, where: _DateLine) -> date | None:
        value = _safe_date(year, month, day)
        if value is None:
            self.warn(f"{where.text!r} is not a valid date; ignored", where.line)
        return value

    def fallback_year(self, dates: list[_DateLine]) -> int:
        """Year for yearless dates when there is no capture date at all."""
        explicit = [d.year for d in dates if d.year is not None]
        return max(explicit) + 1 if explicit else (self.ref or date.today()).year

    def published(
        self, line: _DateLine, captured: date | None, year: int
    ) -> tuple[date | None, bool]:
        if line.year is not None:
            return self.valid_date(line.year, line.month, line.day, line), False
        if captured is not None and (line.month, line.day) > (captured.month, captured.day):
            self.warn(
                f"date {line.text!r} has no year, so it should not be after the capture date "
                f"{captured:%b} {captured.day}; assumed {year} anyway",
                line.line,
            )
        return self.valid_date(year, line.month, line.day, line), True

    # --- papers ------------------------------------------------------------------------

    def papers(
        self,
        entries: list[_Entry],
        captured: date | None,
        inferred: bool,
        dates: list[_DateLine],
    ) -> list[Paper]:
        year = captured.year if captured is not None else self.fallback_year(dates)
        papers: list[Paper] = []
        first_seen: dict[str, int] = {}
        for entry in entries:
            title, abstract = entry.title.text, entry.abstract.text
            if len(abstract) > self.limit:
                self.skip(
                    f"the abstract of {_quote(title)} is {len(abstract):,} characters, over the "
                    f"limit max_abstract_chars={self.limit:,}; entry refused",
                    entry.title.number,
                )
                continue
            if not normalize_title(title):
                self.skip(
                    f"title {_quote(title)} has no letters or digits; entry skipped",
                    entry.title.number,
                )
                continue
            paper = Paper.new(
                title, abstract, captured=captured, captured_inferred=inferred, dumps=[self.name]
            )
            if entry.meta is not None:
                self.apply_meta(paper, entry.meta, captured, year)
            if paper.paper_id in first_seen:
                self.warn(
                    f"{_quote(title)} appears again (first at line {first_seen[paper.paper_id]}); "
                    "the later entry wins",
                    entry.title.number,
                )
            first_seen.setdefault(paper.paper_id, entry.title.number)
            papers.append(paper)
        return merge_papers([], papers) if len(first_seen) < len(papers) else papers

    def apply_meta(self, paper: Paper, meta: _Meta, captured: date | None, year: int) -> None:
        paper.authors_count = meta.authors_count
        paper.org_handle, paper.org = meta.org_handle, meta.org
        if meta.date is not None:
            paper.published, paper.published_inferred = self.published(meta.date, captured, year)
            paper.published_inferred = paper.published_inferred and paper.published is not None
            paper.upvotes = meta.date.upvotes


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year_from_name(name: str, month: int, day: int) -> int | None:
    """A year from a `YYYY-MM[-DD]` in the file name, if it agrees with the header's date."""
    for m in _NAME_DATE_RE.finditer(name):
        if int(m["month"]) == month and (m["day"] is None or int(m["day"]) == day):
            return int(m["year"])
    return None


def _quote(title: str, limit: int = 80) -> str:
    return repr(title if len(title) <= limit else title[: limit - 1] + "…")

"""The dump parser on the five sample dumps and on crafted good and bad input."""

from __future__ import annotations

import os
import random
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from rag.dump_parser import ParsedDump, parse_dump, parse_text
from rag.papers import merge_papers
from rag.settings import Settings

LIMIT = Settings().max_abstract_chars
HEADER_DATE_RE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}$")


# --- helpers ---------------------------------------------------------------------------------


def header(day: str = "Jun 17") -> str:
    return (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
        f"byAK and the research community\n\n{day}\n\n"
    )


def abstract(n: int | str) -> str:
    return f"We study problem {n} in depth. Our method improves results; code: https://x.org/{n}."


def entry(title: str, *meta: str, text: str | None = None) -> str:
    block = f"{title}\n\n{abstract(title) if text is None else text}\n\n"
    return block + ("\n".join(meta) + "\n\n" if meta else "")


def line_of(text: str, line: str) -> int:
    return text.split("\n").index(line) + 1


def parse(text: str, *, name: str = "crafted.txt", **kwargs) -> ParsedDump:
    kwargs.setdefault("max_abstract_chars", LIMIT)
    return parse_text(text, name=name, **kwargs)


def write(tmp_path: Path, name: str, data: str | bytes, mtime: date | None = None) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    if mtime is not None:
        stamp = datetime(mtime.year, mtime.month, mtime.day, 12).timestamp()
        os.utime(path, (stamp, stamp))
    return path


def titles(dump: ParsedDump) -> list[str]:
    return [p.title for p in dump.papers]


def only_issue(dump: ParsedDump, level: str):
    assert len(dump.issues) == 1, [str(i) for i in dump.issues]
    assert dump.issues[0].level == level
    return dump.issues[0]


def file_error(dump: ParsedDump, path: Path | str):
    issue = only_issue(dump, "error")
    assert issue.file == str(path)
    assert dump.papers == [] and not dump.ok
    return issue


# --- the sample dumps -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(sample_dump_files) -> list[ParsedDump]:
    return [parse_dump(f, max_abstract_chars=LIMIT) for f in sample_dump_files]


def test_samples_parse_without_issues_to_141_papers_57_shared(sample) -> None:
    assert len(sample) == 5
    assert all(dump.issues == [] and dump.ok for dump in sample)
    merged = merge_papers([], [p for dump in sample for p in dump.papers])
    assert len(merged) == 141
    shared = [p for p in merged if len(p.dumps) > 1]
    assert len(shared) == 57
    for paper in shared:
        abstracts = {p.abstract for d in sample for p in d.papers if p.paper_id == paper.paper_id}
        assert abstracts == {paper.abstract}


def test_sample_titles_and_abstracts_are_exact_whole_lines(sample) -> None:
    for dump in sample:
        lines = [line.strip() for line in Path(dump.file).read_text(encoding="utf-8").split("\n")]
        for paper in dump.papers:
            i = lines.index(paper.title)
            assert lines[i + 1] == "" and lines[i + 2] == paper.abstract
            assert len(paper.abstract) > len(paper.title)
        separators = lines.count("·")
        if separators:  # every metadata block has one "·" line, every entry a metadata block
            assert len(dump.papers) == separators
            assert all(p.published is not None for p in dump.papers)
        else:  # only the header, titles and abstracts
            header_end = next(i for i, line in enumerate(lines) if HEADER_DATE_RE.match(line))
            body = [line for line in lines[header_end + 1 :] if line]
            assert len(body) == 2 * len(dump.papers)
            assert all(p.published is None and p.upvotes is None for p in dump.papers)


def test_sample_metadata_matches_the_metadata_lines(sample) -> None:
    for dump in sample:
        text = Path(dump.file).read_text(encoding="utf-8")
        authors = [int(n) for n in re.findall(r"^\s*• (\d+) authors?$", text, re.M)]
        assert sorted(p.authors_count for p in dump.papers if p.authors_count) == sorted(authors)
        date_lines = re.findall(r"^[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?(?: (\d+))?$", text, re.M)
        votes = [int(v) for v in date_lines[1:] if v]  # [0] is the header's capture date
        assert sorted(p.upvotes for p in dump.papers if p.upvotes is not None) == sorted(votes)
        orgs = [p for p in dump.papers if p.org is not None]
        for paper in orgs:
            assert f"{paper.org_handle} {paper.org}" in text.split("\n")
        assert all(p.org_handle is not None for p in orgs)


def test_named_papers(sample) -> None:
    by_dump = {d.name[:3]: {p.title.split(":")[0]: p for p in d.papers} for d in sample}
    dreamid = by_dump["000"]["DreamID-V"]
    assert (dreamid.org, dreamid.org_handle, dreamid.upvotes) == ("ByteDance", "ByteDance", 6)
    for dump in ("000", "004"):
        withanyone = by_dump[dump]["WithAnyone"]
        assert withanyone.published == date(2025, 10, 16)
        assert (withanyone.org_handle, withanyone.org) == ("stepfun-ai", "StepFun")
    assert by_dump["000"]["WithAnyone"].published_inferred is False  # "Oct 16, 2025 3"
    assert by_dump["004"]["WithAnyone"].published_inferred is True  # "Oct 16 3"


def test_sample_capture_dates_follow_the_documented_inference(sample) -> None:
    for dump in sample:
        assert dump.captured_inferred is True
        lines = Path(dump.file).read_text(encoding="utf-8").split("\n")
        month_day = next(line for line in lines if HEADER_DATE_RE.match(line))
        assert f"{dump.captured:%b} {dump.captured.day}" == month_day
        assert all(p.captured == dump.captured and p.captured_inferred for p in dump.papers)
        explicit = [
            p.published.year for p in dump.papers if p.published and not p.published_inferred
        ]
        yearless = [p.published for p in dump.papers if p.published and p.published_inferred]
        if explicit:
            assert dump.captured.year == max(explicit) + 1
        else:  # no dates at all: the latest such day not after the file's modification time
            modified = date.fromtimestamp(Path(dump.file).stat().st_mtime)
            assert dump.captured <= modified
            assert dump.captured.replace(year=dump.captured.year + 1) > modified
        for published in yearless:
            assert published.year == dump.captured.year and published <= dump.captured


# --- capture date inference -------------------------------------------------------------------


def test_capture_without_dates_is_the_latest_day_not_after_mtime(tmp_path: Path) -> None:
    text = header("Mar 17") + entry("Paper One") + entry("Paper Two")
    before = parse_dump(write(tmp_path, "a.txt", text, date(2024, 3, 16)), max_abstract_chars=LIMIT)
    assert (before.captured, before.captured_inferred) == (date(2023, 3, 17), True)
    on_day = parse_dump(write(tmp_path, "b.txt", text, date(2024, 3, 17)), max_abstract_chars=LIMIT)
    assert on_day.captured == date(2024, 3, 17)
    assert parse(header(f"{date.today():%b} {date.today().day}") + entry("P")).captured == (
        date.today()
    )


def test_capture_year_from_a_dated_file_name(tmp_path: Path) -> None:
    text = header("Jan 31") + entry("Paper One", "  • 3 authors", "·", "Jan 25 6")
    path = write(tmp_path, "papers-2024-01.txt", text, date(2026, 11, 1))
    dump = parse_dump(path, max_abstract_chars=LIMIT)
    assert (dump.captured, dump.captured_inferred) == (date(2024, 1, 31), True)
    assert dump.papers[0].published == date(2024, 1, 25)


def test_capture_year_is_the_smallest_consistent_one() -> None:
    text = (
        header("Mar 1")
        + entry("Leap Paper", "  • 2 authors", "·", "Feb 29 3")
        + entry("Old Paper", "  • 2 authors", "·", "Dec 1, 2025 2")
    )
    dump = parse(text)
    assert (dump.captured, dump.captured_inferred) == (date(2028, 3, 1), True)
    leap, old = dump.papers
    assert (leap.published, leap.published_inferred) == (date(2028, 2, 29), True)
    assert (old.published, old.published_inferred) == (date(2025, 12, 1), False)
    assert dump.issues == []


def test_given_capture_date_overrides_and_is_not_inferred() -> None:
    text = header("May 1") + entry("A", "·", "Apr 2 5") + entry("B", "·", "Apr 2, 2024")
    dump = parse(text, captured=date(2030, 5, 1))
    assert (dump.captured, dump.captured_inferred) == (date(2030, 5, 1), False)
    assert [(p.published, p.published_inferred) for p in dump.papers] == [
        (date(2030, 4, 2), True),
        (date(2024, 4, 2), False),
    ]
    assert all(p.captured == date(2030, 5, 1) and not p.captured_inferred for p in dump.papers)
    wrong = parse(text, captured=date(2024, 5, 1))
    assert "2024" in only_issue(wrong, "warning").message


def test_yearless_date_after_the_capture_day_is_flagged() -> None:
    text = header("Jun 17") + entry("A", "·", "Jul 3 2") + entry("B", "·", "Jun 1, 2024")
    dump = parse(text)
    issue = only_issue(dump, "warning")
    assert issue.line == line_of(text, "Jul 3 2")
    assert dump.papers[0].published == date(2025, 7, 3)


# --- entry structure --------------------------------------------------------------------------


def test_metadata_variants() -> None:
    text = (
        header("Jun 17")
        + entry("Both", "  • 8 authors", "ByteDance ByteDance", "·", "Apr 20, 2025 9")
        + entry("Org Only", "stepfun-ai StepFun", "·", "Jan 4 6")
        + entry("Authors Only", "  • 1 author", "·", "Jun 16 3")
        + entry("Date Only", "·", "May 5, 2025")
        + entry("Nothing")
        + entry("Handle Only", "solo", "·", "Mar 3")
    )
    dump = parse(text)
    assert dump.issues == [] and dump.captured == date(2026, 6, 17)
    got = {
        p.title: (p.authors_count, p.org_handle, p.org, p.published, p.upvotes) for p in dump.papers
    }
    assert got == {
        "Both": (8, "ByteDance", "ByteDance", date(2025, 4, 20), 9),
        "Org Only": (None, "stepfun-ai", "StepFun", date(2026, 1, 4), 6),
        "Authors Only": (1, None, None, date(2026, 6, 16), 3),
        "Date Only": (None, None, None, date(2025, 5, 5), None),
        "Nothing": (None, None, None, None, None),
        "Handle Only": (None, "solo", "solo", date(2026, 3, 3), None),
    }


def test_titles_and_abstracts_are_kept_verbatim() -> None:
    tricky = (
        "We reach 93.3\\% accuracy with ~ISR on $\\mathcal{O}(n)$ steps, see "
        "https://github.com/a/b?x=1&y=2#z. Les résultats — naïvement ∑ — sont “bons”. 日本語も。"
    )
    title = "Ünïcode Title: 3D-µNet — Fast & Small?"
    text = header() + f"  {title}  \n\n{tricky}   \n\n  • 2 authors\n·\nJun 1 4\n"
    (paper,) = parse(text).papers
    assert (paper.title, paper.abstract) == (title, tricky)


def test_title_without_abstract_is_skipped_with_its_line(tmp_path: Path) -> None:
    text = (
        header()
        + entry("First Paper", "  • 3 authors", "·", "May 1, 2025 2")
        + "Orphan Title\n\n"
        + entry("Second Paper", "  • 4 authors", "·", "Jun 2 7")
        + entry("Third Paper")
    )
    path = write(tmp_path, "orphan.txt", text)
    dump = parse_dump(path, max_abstract_chars=LIMIT)
    issue = only_issue(dump, "warning")
    assert (issue.file, issue.line) == (str(path), line_of(text, "Orphan Title"))
    assert "Orphan Title" in issue.message and "abstract" in issue.message
    assert titles(dump) == ["First Paper", "Second Paper", "Third Paper"]
    second = dump.papers[1]
    assert (second.abstract, second.authors_count, second.upvotes) == (
        abstract("Second Paper"),
        4,
        7,
    )
    assert dump.ok


def test_title_followed_by_title_without_metadata() -> None:
    text = header() + entry("One") + "Two Lost\n\n" + entry("Three") + entry("Four") + "Tail\n"
    dump = parse(text)
    assert titles(dump) == ["One", "Three", "Four"]
    assert [(i.level, i.line) for i in dump.issues] == [
        ("warning", line_of(text, "Two Lost")),
        ("warning", line_of(text, "Tail")),
    ]
    assert [p.abstract for p in dump.papers] == [abstract(t) for t in titles(dump)]


def test_title_followed_by_metadata_and_missing_title() -> None:
    lost_abstract = "A long abstract whose title was lost. " * 10
    text = (
        header()
        + "No Abstract Here\n\n  • 2 authors\n·\nJun 1 5\n\n"
        + lost_abstract
        + "\n\n  • 2 authors\n·\nJun 2 6\n\n"
        + entry("Kept", "·", "Jun 3 7")
    )
    dump = parse(text)
    assert titles(dump) == ["Kept"]
    assert dump.papers[0].upvotes == 7
    assert [i.line for i in dump.issues] == [
        line_of(text, "No Abstract Here"),
        line_of(text, lost_abstract),
    ]
    assert all(i.level == "warning" for i in dump.issues)


def test_absurdly_long_abstract_is_refused_and_the_rest_kept() -> None:
    huge = "word " * 500
    text = header() + entry("Fine A") + entry("Too Long", text=huge) + entry("Fine B")
    dump = parse(text, max_abstract_chars=1000)
    issue = only_issue(dump, "warning")
    assert issue.line == line_of(text, "Too Long")
    assert "max_abstract_chars" in issue.message and "1,000" in issue.message
    assert titles(dump) == ["Fine A", "Fine B"]
    assert titles(parse(text, max_abstract_chars=len(huge))) == ["Fine A", "Too Long", "Fine B"]


def test_repeated_title_within_a_dump_gives_one_paper() -> None:
    text = header() + entry("Same Paper", "·", "Jun 1 2") + entry("same paper!", "·", "Jun 1 5")
    dump = parse(text)
    assert [(p.title, p.upvotes) for p in dump.papers] == [("same paper!", 5)]
    assert only_issue(dump, "warning").line == line_of(text, "same paper!")


# --- line endings and encodings ---------------------------------------------------------------


def test_crlf_parses_identically_to_lf(sample_dump_files, tmp_path: Path) -> None:
    stamp = date(2026, 1, 1)
    for source in sample_dump_files:
        text = source.read_text(encoding="utf-8")
        (tmp_path / "lf").mkdir(exist_ok=True)
        (tmp_path / "crlf").mkdir(exist_ok=True)
        lf = write(tmp_path / "lf", source.name, text, stamp)
        crlf = write(tmp_path / "crlf", source.name, text.replace("\n", "\r\n"), stamp)
        assert b"\r\n" in crlf.read_bytes()
        a, b = (parse_dump(p, max_abstract_chars=LIMIT) for p in (lf, crlf))
        assert a.papers == b.papers and b.issues == [] and len(a.papers) > 0
        assert a.captured == b.captured


def test_cp1252_text_is_decoded_with_a_warning(tmp_path: Path) -> None:
    text = header() + entry("Café Résumé – Naïve “Models”") + entry("Plain Title")
    path = write(tmp_path, "win.txt", text.encode("cp1252"))
    dump = parse_dump(path, max_abstract_chars=LIMIT)
    issue = only_issue(dump, "warning")
    assert "cp1252" in issue.message and issue.file == str(path)
    assert titles(dump) == ["Café Résumé – Naïve “Models”", "Plain Title"]


def test_utf8_bom_and_utf16_decode_to_the_same_papers(tmp_path: Path) -> None:
    text = header() + entry("Ωmega Paper", "  • 2 authors", "·", "Jun 1 3") + entry("Second")
    plain = parse(text).papers
    bom = parse_dump(
        write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + text.encode()), max_abstract_chars=LIMIT
    )
    assert bom.issues == [] and [p.title for p in bom.papers] == [p.title for p in plain]
    utf16 = parse_dump(write(tmp_path, "u16.txt", text.encode("utf-16")), max_abstract_chars=LIMIT)
    assert "UTF-16" in only_issue(utf16, "warning").message
    assert [(p.title, p.abstract) for p in utf16.papers] == [(p.title, p.abstract) for p in plain]


def test_mostly_utf8_with_a_stray_byte_keeps_the_good_characters(tmp_path: Path) -> None:
    text = header() + entry("Ωmega — Paper") + entry("Broken Paper")
    data = text.encode().replace(b"Broken", b"Bro\xffken")
    dump = parse_dump(write(tmp_path, "stray.txt", data), max_abstract_chars=LIMIT)
    issue = only_issue(dump, "warning")
    assert issue.line == line_of(text, "Broken Paper")
    assert titles(dump) == ["Ωmega — Paper", "Bro\ufffdken Paper"]


def test_bytes_given_to_parse_text_are_decoded_like_a_file() -> None:
    text = header() + entry("Café Paper")
    assert titles(parse_text(text.encode("cp1252"), name="up.txt", max_abstract_chars=LIMIT)) == [
        "Café Paper"
    ]


# --- files that are not dumps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"  \n\r\n\t\n", "empty"),
        (bytes(range(256)) * 8, "binary"),
        (random.Random(7).randbytes(4096).replace(b"\x00", b"\x01"), "binary"),
        (b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(2000), "binary"),
        (b"<!DOCTYPE html>\n<html><body><p>Daily Papers</p></body></html>", "HTML"),
        (b"\n  <html lang='en'>\n<head><title>Daily Papers</title></head></html>", "HTML"),
        (header().encode(), "no paper entries"),
        (
            b"Once upon a time there was a model.\n\nIt learned many things from the data "
            b"it was given, and then it wrote a long story about itself.\n",
            "not a Hugging Face Daily Papers dump",
        ),
    ],
    ids=[
        "empty",
        "blank",
        "nul-bytes",
        "random-bytes",
        "png",
        "doctype",
        "html",
        "header",
        "prose",
    ],
)
def test_file_level_failures_name_the_file(tmp_path: Path, data: bytes, expected: str) -> None:
    path = write(tmp_path, "bad.txt", data)
    issue = file_error(parse_dump(path, max_abstract_chars=LIMIT), path)
    assert expected in issue.message
    assert issue.line is None
    if expected == "HTML":
        assert "save" in issue.message and "text" in issue.message


def test_unreadable_paths_are_reported_not_raised(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.txt", tmp_path):
        assert "cannot read" in file_error(parse_dump(path, max_abstract_chars=LIMIT), path).message


def test_a_dump_whose_every_entry_is_bad_fails() -> None:
    text = header() + "Only A Title\n"
    dump = parse(text)
    assert dump.papers == [] and not dump.ok
    assert [i.level for i in dump.issues] == ["warning", "error"]
    assert dump.issues[0].line == line_of(text, "Only A Title")


def test_lines_before_the_header_are_skipped_with_a_warning() -> None:
    text = "Hugging Face\n\nModels\n\n" + header("Jun 17") + entry("Kept Paper")
    dump = parse(text)
    assert titles(dump) == ["Kept Paper"]
    issue = only_issue(dump, "warning")
    assert issue.line == 1 and "before the page header" in issue.message
    assert dump.captured is not None and dump.captured.month == 6


def test_header_without_capture_date_asks_for_it() -> None:
    text = header("Jun 17").replace("Jun 17\n\n", "") + entry("A Paper", "·", "May 2, 2024 4")
    dump = parse(text)
    assert "--captured" in only_issue(dump, "warning").message
    assert dump.captured is None and dump.papers[0].published == date(2024, 5, 2)
    given = parse(text, captured=date(2025, 1, 2))
    assert given.issues == [] and given.papers[0].captured == date(2025, 1, 2)


def test_metadata_before_any_paper_is_ignored_with_a_warning() -> None:
    text = header() + "  • 3 authors\n·\nJun 1 4\n\n" + entry("Real Paper", "·", "Jun 2 5")
    dump = parse(text)
    assert only_issue(dump, "warning").line == line_of(text, "  • 3 authors")
    assert [(p.title, p.upvotes) for p in dump.papers] == [("Real Paper", 5)]


def test_decode_warning_does_not_hide_a_header_without_entries(tmp_path: Path) -> None:
    data = header().encode().replace(b"Subscribe", b"Subscribe\xa0")  # NBSP in cp1252
    dump = parse_dump(write(tmp_path, "h.txt", data), max_abstract_chars=LIMIT)
    assert [i.level for i in dump.issues] == ["warning", "error"]
    assert "no paper entries" in dump.issues[1].message

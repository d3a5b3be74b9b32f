"""The paper model: title identity, ids, the PaperDoc round trip, and merging sightings."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date

from rag.dump_parser import parse_dump
from rag.papers import Paper, make_paper_id, merge_papers, normalize_title
from rag.settings import Settings

LIMIT = Settings().max_abstract_chars


def test_normalize_title_folds_case_punctuation_whitespace_and_unicode_forms() -> None:
    base = normalize_title("Self-Taught Evaluators: A Study")
    assert base == "self taught evaluators a study"
    assert normalize_title("  self taught   EVALUATORS -- a study!  ") == base
    assert normalize_title("Self\u2010Taught\tEvaluators \u2014 A Study") == base
    assert normalize_title("ＳＥＬＦ-TAUGHT Evaluators: A Study") == base  # full-width letters
    assert normalize_title("E\ufb03cient Models") == "efficient models"  # the ffi ligature
    assert normalize_title("Hölder Policy Optimisation") == "hölder policy optimisation"
    assert normalize_title("STRASSE") == normalize_title("Straße")  # casefold, not lower
    assert normalize_title("Qwen2.5 Technical Report") != normalize_title("Qwen25 Technical Report")


def test_paper_id_is_short_stable_and_title_derived() -> None:
    title = "WithAnyone: Towards Controllable and ID Consistent Image Generation"
    paper_id = make_paper_id(title)
    assert re.fullmatch(r"p[0-9a-f]{15}", paper_id)
    expected = "p" + hashlib.sha1(normalize_title(title).encode()).hexdigest()[:15]
    assert paper_id == expected
    assert make_paper_id(title.upper().replace(":", " -")) == paper_id
    assert make_paper_id(title + " v2") != paper_id


def _paper(title: str = "A Paper", **fields) -> Paper:
    fields.setdefault("abstract", "An abstract.")
    return Paper.new(title, fields.pop("abstract"), **fields)


def test_to_doc_round_trip_and_missing_values_left_out() -> None:
    full = _paper(
        published=date(2025, 10, 16),
        published_inferred=True,
        authors_count=8,
        org_handle="stepfun-ai",
        org="StepFun",
        upvotes=3,
        captured=date(2025, 12, 8),
        captured_inferred=True,
        dumps=["b.txt", "a.txt"],
    )
    doc = full.to_doc()
    assert doc.paper_id == full.paper_id and doc.title == full.title
    assert doc.metadata["published"] == "2025-10-16"
    assert doc.metadata["published_ts"] == 20251016
    assert doc.metadata["year"] == 2025
    assert doc.metadata["published_inferred"] is True
    assert doc.metadata["org"] == "StepFun" and doc.metadata["org_handle"] == "stepfun-ai"
    assert doc.metadata["captured"] == "2025-12-08"
    assert doc.metadata["dumps"] == ["a.txt", "b.txt"]
    assert "dumps" not in doc.chunk_metadata()  # lists stay in the catalog, off the chunks
    back = Paper.from_doc(doc)
    assert back == replace(full, dumps=["a.txt", "b.txt"])

    bare = _paper()
    bare_doc = bare.to_doc()
    assert bare_doc.metadata == {}
    assert None not in bare_doc.metadata.values()
    assert Paper.from_doc(bare_doc) == bare


def test_merge_newest_capture_wins_per_field_and_metadata_is_never_wiped() -> None:
    old = _paper(
        upvotes=3,
        authors_count=5,
        org="Org",
        org_handle="org",
        published=date(2025, 1, 2),
        captured=date(2025, 6, 1),
        dumps=["old.txt"],
    )
    newer = _paper(upvotes=9, captured=date(2025, 7, 1), dumps=["new.txt"])
    newest_no_meta = _paper(
        abstract="Revised abstract.", captured=date(2025, 8, 1), dumps=["plain.txt"]
    )
    (merged,) = merge_papers([old], [newest_no_meta, newer])
    assert merged.upvotes == 9  # newest capture with upvotes
    assert merged.authors_count == 5 and merged.org == "Org" and merged.org_handle == "org"
    assert merged.published == date(2025, 1, 2)
    assert merged.abstract == "Revised abstract."  # newest capture that has an abstract
    assert merged.dumps == ["new.txt", "old.txt", "plain.txt"]
    assert merged.captured == date(2025, 7, 1)  # the capture the newest metadata came from


def test_merge_org_handle_and_name_travel_together_and_ties_go_to_later() -> None:
    a = _paper(org_handle="h1", org="One", captured=date(2025, 1, 1), upvotes=1)
    b = _paper(org_handle="h2", org=None, captured=date(2025, 1, 1), upvotes=2)
    (merged,) = merge_papers([a], [b])
    assert (merged.org_handle, merged.org, merged.upvotes) == ("h2", None, 2)
    undated = _paper(upvotes=100, captured=None)
    (merged,) = merge_papers([a], [undated])
    assert merged.upvotes == 1  # an unknown capture date counts as the oldest


def test_merge_keeps_distinct_papers_in_first_seen_order() -> None:
    x, y = _paper("Paper X"), _paper("Paper Y")
    same_as_x = _paper("paper   x!", upvotes=4, captured=date(2025, 1, 1))
    merged = merge_papers([x], [y, same_as_x])
    assert [p.title for p in merged] == ["paper   x!", "Paper Y"]
    assert merged[0].upvotes == 4 and merged[0].paper_id == x.paper_id
    assert x.upvotes is None  # inputs are not modified


def test_merged_sample_dumps_take_upvotes_from_the_newest_capture(sample_dump_files) -> None:
    parsed = [parse_dump(f, max_abstract_chars=LIMIT) for f in sample_dump_files]
    sightings: dict[str, list[Paper]] = {}
    for dump in parsed:
        for paper in dump.papers:
            sightings.setdefault(paper.paper_id, []).append(paper)
    merged = {p.paper_id: p for p in merge_papers([], [p for d in parsed for p in d.papers])}
    for paper_id, seen in sightings.items():
        with_votes = [p for p in seen if p.upvotes is not None]
        if with_votes:
            newest = max(with_votes, key=lambda p: p.captured)
            assert merged[paper_id].upvotes == newest.upvotes
        dated = [p for p in seen if p.published is not None]
        if dated:  # no metadata-less dump wiped the date; the newest dated capture gave it
            assert merged[paper_id].published == max(dated, key=lambda p: p.captured).published
        assert merged[paper_id].dumps == sorted(p.dumps[0] for p in seen)

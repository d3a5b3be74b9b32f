"""Citation checking: every [n] form models write, invalid numbers removed, papers mapped."""

from __future__ import annotations

import pytest

from rag.citations import check_citations, find_citations, format_bracket, says_not_covered
from rag.models import Source


def sources(n: int) -> list[Source]:
    return [
        Source(number=i, paper_id=f"p{i:03d}", title=f"Paper {i}", score=0.5)
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("A claim [2].", [2]),
        ("Two papers agree [1, 3].", [1, 3]),
        ("Semicolons too [1; 3].", [1, 3]),
        ("A range [2-4] and an en dash range [5–6].", [2, 3, 4, 5, 6]),
        ("Adjacent brackets [3][1].", [3, 1]),
        ("Spaces inside [ 2 , 4 ].", [2, 4]),
        ("Not citations: [CLS] tokens, [a], [x1], and [].", []),
    ],
)
def test_find_citations_reads_every_form(text: str, numbers: list[int]) -> None:
    assert find_citations(text) == numbers


def test_valid_citations_map_to_papers_in_order_of_first_appearance() -> None:
    check = check_citations("B does it [3]. A too [1, 3]. Again B [3].", sources(3))
    assert [(c.number, c.paper_id, c.title) for c in check.citations] == [
        (3, "p003", "Paper 3"),
        (1, "p001", "Paper 1"),
    ]
    assert check.text == "B does it [3]. A too [1, 3]. Again B [3]."
    assert check.removed == []


def test_out_of_range_citation_is_removed_from_the_text() -> None:
    check = check_citations("Supported [1]. Invented [9]. Zero [0].", sources(3))
    assert check.text == "Supported [1]. Invented. Zero."
    assert check.cited_numbers == [1]
    assert check.removed == [9, 0]


def test_mixed_brackets_keep_only_valid_numbers() -> None:
    check = check_citations("Mixed [1, 9] and range [2-7] here.", sources(3))
    assert check.text == "Mixed [1] and range [2, 3] here."
    assert check.cited_numbers == [1, 2, 3]


def test_an_answer_without_valid_citations_cites_nothing() -> None:
    check = check_citations("Only invented ones [4] [5].", sources(3))
    assert check.citations == []
    assert "[" not in check.text


def test_format_bracket_compresses_runs() -> None:
    assert format_bracket([1, 2, 3, 5]) == "[1-3, 5]"
    assert format_bracket([2, 3]) == "[2, 3]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The indexed papers do not cover this.", True),
        ("The sources don't contain any information about robots.", True),
        ("This question cannot be answered from the sources.", True),
        ("Lookahead speeds up decoding with a trie [1].", False),
    ],
)
def test_not_covered_detection(text: str, expected: bool) -> None:
    assert says_not_covered(text) is expected

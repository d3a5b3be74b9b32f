"""ui.numbering: cited sources shown as 1..n, the same numbers in text, links and cards."""

from __future__ import annotations

import re

from rag.models import Answer, Citation, Source
from ui import render
from ui.numbering import renumber


def source(number: int, score: float = 0.5) -> Source:
    return Source(number=number, paper_id=f"p{number}", title=f"Paper {number}", score=score)


def cite(number: int) -> Citation:
    return Citation(number=number, paper_id=f"p{number}", title=f"Paper {number}")


GAPPED = Answer(
    text="A does it [3]. B too [1]; both [1, 3]. C [4]. Unknown [9].",
    sources=[source(1, 0.9), source(2, 0.8), source(3, 0.7), source(4, 0.6), source(5, 0.95)],
    citations=[cite(1), cite(3), cite(4)],
)


def test_cited_sources_become_1_to_n_in_first_citation_order_then_uncited_by_relevance():
    shown = renumber(GAPPED)
    assert shown.text == "A does it [1]. B too [2]; both [2, 1]. C [3]. Unknown [9]."
    by_number = {s.number: s.paper_id for s in shown.sources}
    assert by_number == {1: "p3", 2: "p1", 3: "p4", 4: "p5", 5: "p2"}
    assert [(c.number, c.paper_id) for c in shown.citations] == [(1, "p3"), (2, "p1"), (3, "p4")]
    assert renumber(shown) == shown  # idempotent: rendering may apply it again


def test_the_rendered_message_links_each_new_number_to_the_card_with_that_paper():
    message = render.answer_message(GAPPED, "t", "m")
    links = re.findall(r'href="#pc-t-src-(\d)" title="Paper (\d)"', message)
    assert links == [("1", "3"), ("2", "1"), ("2", "1"), ("1", "3"), ("3", "4")]
    cards = re.findall(r'class="pc-num">\[(\d)\]</span> <span class="pc-title">Paper (\d)', message)
    assert cards == [("1", "3"), ("2", "1"), ("3", "4"), ("4", "5"), ("5", "2")]
    assert "&#91;9&#93;" in message  # an unknown marker stays visible text

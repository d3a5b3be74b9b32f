"""The whole product path in zero-config mode: indexed sample dumps -> hybrid retrieval ->
chain -> extractive answer, through ResearchAssistant's public API."""

from __future__ import annotations

from rag.citations import find_citations
from rag.extractive import LEAD, split_sentences
from rag.followup import assistant_turn
from rag.models import Answer

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)


def test_ask_answers_extractively_from_the_right_paper(assistant) -> None:
    answer = assistant.ask(
        "Which paper speeds up LLM inference by drafting several token branches from a trie "
        "and verifying them, without changing the output?"
    )

    assert answer.mode == "extractive" and not answer.abstained and not answer.uncited
    assert answer.text.startswith(LEAD)
    assert answer.citations[0].title == LOOKAHEAD
    top = next(s for s in answer.sources if s.title == LOOKAHEAD)
    assert answer.citations[0].number == top.number
    assert set(find_citations(answer.text)) <= {s.number for s in answer.sources}
    bullet = next(line for line in answer.text.splitlines() if f"[{top.number}]: " in line)
    for sentence in split_sentences(bullet.split("]: ", 1)[1]):
        assert sentence.rstrip(" …") in " ".join(top.abstract.split())
    assert answer.timings["retrieve"] > 0 and answer.timings["generate"] > 0


def test_stream_and_follow_up_resolve_the_previous_papers(assistant) -> None:
    first = assistant.ask("Which papers generate talking-head videos driven by speech audio?")
    assert len(first.citations) >= 2
    second_title = first.citations[1].title

    history = [{"role": "user", "content": first.question}, assistant_turn(first)]
    events = list(assistant.stream("Which dataset did the second one use?", history))

    answer = events[-1]
    assert isinstance(answer, Answer)
    assert all(isinstance(e, str) for e in events[:-1]) and len(events) >= 3
    assert second_title in answer.standalone_question
    assert answer.citations[0].title == second_title


def test_out_of_scope_question_abstains(assistant) -> None:
    answer = assistant.ask("What is a good hydration ratio for sourdough bread?")
    assert answer.abstained
    assert answer.citations == []
    assert "paperchat index" in answer.text

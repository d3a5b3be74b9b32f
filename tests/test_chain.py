"""The chain in its zero-config mode (extractive, no LLM): the LCEL steps end to end."""

from __future__ import annotations

from datetime import date

import pytest

from rag.chain import ABSTAIN_EMPTY_MESSAGE, ABSTAIN_MESSAGE, build_chain, stream_answer
from rag.extractive import LEAD, Quote, compose, split_sentences
from rag.models import Answer
from rag.settings import Settings
from vectorstore.filters import SearchFilters

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
MARS = "MARS: Paying more attention to visual attributes for text-based person search"
CROSS_VIDEO = "Cross-video Identity Correlating for Person Re-identification Pre-training"


@pytest.fixture
def settings(tmp_path) -> Settings:
    settings = Settings(home=tmp_path, top_k=3)
    assert not settings.llm_configured
    return settings


def test_extractive_answer_end_to_end(settings, make_sources, recording_search, embedder) -> None:
    sources = make_sources([MARS, CROSS_VIDEO, LOOKAHEAD])
    search = recording_search(sources)
    chain = build_chain(search, settings, embedder)

    question = "How does MARS deal with the vagueness of text descriptions of people?"
    answer = chain.invoke({"question": question, "history": []})

    assert isinstance(answer, Answer)
    assert answer.mode == "extractive" and answer.model is None
    assert answer.text.startswith(LEAD)
    assert not answer.abstained and not answer.uncited
    assert search.calls == [(question, 3, None)]  # k from settings.top_k
    assert [s.number for s in answer.sources] == [1, 2, 3]
    assert answer.citations[0].number == 1
    assert answer.citations[0].paper_id == sources[0].paper_id
    cited = {c.number for c in answer.citations}
    assert cited <= {1, 2, 3}
    assert LOOKAHEAD not in answer.text  # unrelated paper not quoted
    first = next(line for line in answer.text.splitlines() if line.startswith("- "))
    for sentence in split_sentences(first.split("]: ", 1)[1]):  # quoted, not paraphrased
        assert sentence.rstrip(" …") in " ".join(sources[0].abstract.split())
    assert set(answer.timings) >= {"retrieve", "generate"}
    assert all(t >= 0 for t in answer.timings.values())


def test_extractive_stream_yields_pieces_then_the_answer(
    settings, make_sources, recording_search, embedder
) -> None:
    chain = build_chain(recording_search(make_sources([MARS, CROSS_VIDEO])), settings, embedder)
    events = list(stream_answer(chain, {"question": "text-based person search", "k": 2}))

    pieces, final = events[:-1], events[-1]
    assert isinstance(final, Answer)
    assert len(pieces) >= 2 and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip() == final.text


def test_an_empty_index_abstains_with_how_to_index(settings, recording_search, embedder) -> None:
    search = recording_search([])
    chain = build_chain(search, settings, embedder)
    events = list(stream_answer(chain, {"question": "robot grasping of cloth", "history": []}))

    answer = events[-1]
    assert answer.abstained and answer.text == ABSTAIN_EMPTY_MESSAGE
    assert events[:-1] == [ABSTAIN_EMPTY_MESSAGE]
    assert answer.sources == [] and answer.citations == []
    assert not answer.uncited
    assert "paperchat index" in answer.text


def test_low_relevance_sources_abstain(settings, make_sources, recording_search, embedder) -> None:
    weak = make_sources([MARS, CROSS_VIDEO], scores=[0.0, 0.0])
    answer = build_chain(recording_search(weak), settings, embedder).invoke(
        {"question": "What is the boiling point of water on Mars?"}
    )
    assert answer.abstained and answer.text == ABSTAIN_MESSAGE
    assert answer.citations == []
    assert [s.title for s in answer.sources] == [MARS, CROSS_VIDEO]  # the closest papers


def test_abstain_threshold_setting_overrides(tmp_path, make_sources, recording_search, embedder):
    strict = Settings(home=tmp_path, abstain_threshold=0.95)
    sources = make_sources([MARS], scores=[0.9])
    answer = build_chain(recording_search(sources), strict, embedder).invoke(
        {"question": "text-based person search"}
    )
    assert answer.abstained


def test_filters_and_k_reach_the_search(settings, make_sources, recording_search, embedder):
    search = recording_search(make_sources([MARS, CROSS_VIDEO]))
    filters = SearchFilters(since=date(2025, 1, 1), org="ByteDance")
    build_chain(search, settings, embedder).invoke(
        {"question": "person search", "k": 1, "filters": filters}
    )
    # A mapping of the same fields (ISO dates) is validated into the same filters.
    build_chain(search, settings, embedder).invoke(
        {"question": "person search", "filters": {"since": "2025-01-01", "org": "ByteDance"}}
    )
    assert search.calls == [("person search", 1, filters), ("person search", 3, filters)]


def test_duplicate_papers_are_numbered_once(settings, make_sources, recording_search, embedder):
    mars, cross = make_sources([MARS, CROSS_VIDEO])
    search = recording_search([mars, mars.model_copy(update={"number": 7}), cross])
    answer = build_chain(search, settings, embedder).invoke({"question": "person search"})
    assert [(s.number, s.title) for s in answer.sources] == [(1, MARS), (2, CROSS_VIDEO)]


def test_follow_up_is_rewritten_before_retrieval(
    settings, make_sources, recording_search, embedder
):
    sources = make_sources([MARS, CROSS_VIDEO])
    # The previous turn: an extractive answer quoting both papers.
    previous = "".join(compose([Quote(s, [s.abstract.split(". ")[0] + "."], 1.0) for s in sources]))
    search = recording_search(sources)
    follow = build_chain(search, settings, embedder).invoke(
        {
            "question": "Which dataset did the second one use?",
            "history": [
                {"role": "user", "content": "Which papers are about finding people in images?"},
                {"role": "assistant", "content": previous},
            ],
        }
    )
    assert search.calls[0][0] == f'Which dataset did "{CROSS_VIDEO}" use?'
    assert follow.standalone_question == search.calls[0][0]
    assert follow.question == "Which dataset did the second one use?"


@pytest.mark.parametrize(
    "bad",
    [
        {"question": "   "},
        {"history": []},
        {"question": "ok", "history": [{"role": "system", "content": "x"}]},
        {"question": "ok", "k": -2},
        {"question": "ok", "k": 0},
        {"question": "ok", "k": True},
    ],
)
def test_bad_input_is_a_clear_value_error(settings, recording_search, embedder, bad) -> None:
    chain = build_chain(recording_search([]), settings, embedder)
    with pytest.raises(ValueError, match=r"question|history|k"):
        chain.invoke(bad)


def test_chain_composes_with_lcel(settings, make_sources, recording_search, embedder) -> None:
    from langchain_core.runnables import RunnableLambda

    chain = build_chain(recording_search(make_sources([MARS])), settings, embedder)
    cited = chain | RunnableLambda(lambda answer: [c.title for c in answer.citations])
    assert cited.invoke({"question": "text-based person search"}) == [MARS]
    answers = chain.batch([{"question": "person search"}, {"question": "visual attributes"}])
    assert [a.question for a in answers] == ["person search", "visual attributes"]

"""Questions about a paper's metadata (issue 10), answered from the catalog with a citation:
the recogniser, and end to end through ResearchAssistant on the indexed sample dumps."""

from __future__ import annotations

import asyncio
import re

import pytest

from rag.metadata_answers import recognise

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
LOOKAHEAD_DEFI = "LookAhead: Preventing DeFi Attacks via Unveiling Adversarial Contracts"
DREAMID_V = (
    "DreamID-V:Bridging the Image-to-Video Gap for High-Fidelity Face Swapping via Diffusion "
    "Transformer"
)
INSTANTID = "InstantID: Zero-shot Identity-Preserving Generation in Seconds"
WITHANYONE = "WithAnyone: Towards Controllable and ID Consistent Image Generation"
BARLOW = "Barlow Twins: Self-Supervised Learning via Redundancy Reduction"
SAMPLE_DUMPS = [
    "000_253eb8ca2fc9d003.txt",
    "001_a8350dbcb0d16345.txt",
    "002_811bb136f3f28795.txt",
    "003_cb87e58c69e4c2e6.txt",
    "004_562a4d38be1949b0.txt",
]


# --- the recogniser -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "field", "subject"),
    [
        ("How many authors does the Lookahead paper have?", "authors", "Lookahead"),
        ("how many upvotes does DreamID-V have", "upvotes", "DreamID-V"),
        ("When was Barlow Twins published?", "published", "Barlow Twins"),
        ("What is the publication date of InstantID?", "published", "InstantID"),
        ("Which organisation published WithAnyone?", "org", "WithAnyone"),
        ("Who released WithAnyone?", "org", "WithAnyone"),
        ("Which dumps was InstantID seen in?", "dumps", "InstantID"),
        ("In which dumps does Vec2Face appear?", "dumps", "Vec2Face"),
        ("Who wrote PhotoVerse?", "authors", "PhotoVerse"),
    ],
)
def test_metadata_questions_are_recognised(question, field, subject):
    asked = recognise(question)
    assert asked is not None
    assert (asked.field, asked.subject) == (field, subject)


@pytest.mark.parametrize(
    "question",
    [
        "Which papers are about face swapping?",
        "How do the authors evaluate identity preservation?",
        "When did diffusion models become popular for faces?",
        "Which datasets are used for person re-identification?",
        "What were the results of the 2025 challenge?",
        "How does Lookahead verify the branches it drafts?",
    ],
)
def test_ordinary_questions_are_not_metadata_questions(question):
    assert recognise(question) is None


# --- end to end: ResearchAssistant on the sample index --------------------------------------


def cited_titles(answer) -> list[str]:
    return [c.title for c in answer.citations]


def test_authors_count_from_the_catalog(assistant):
    """The issue's example: two papers are called Lookahead; the one whose entry carries an
    author count is [1], the other is named and said to have no metadata."""
    answer = assistant.ask("How many authors does the Lookahead paper have?")
    assert "4 authors [1]" in answer.text
    assert answer.answered_from == "catalog" and not answer.abstained and not answer.uncited
    assert answer.sources[0].title == LOOKAHEAD and answer.sources[0].authors_count == 4
    assert cited_titles(answer)[0] == LOOKAHEAD
    assert LOOKAHEAD_DEFI in answer.text and "no metadata" in answer.text


def test_upvotes_are_the_newest_captures(assistant):
    answer = assistant.ask("How many upvotes does DreamID-V have?")
    assert answer.text.startswith(f"**{DREAMID_V}** has 6 upvotes [1]")
    assert "as of the newest capture" in answer.text
    assert cited_titles(answer) == [DREAMID_V]


def test_published_date_org_and_dumps(assistant):
    published = assistant.ask("When was InstantID published?")
    assert f"**{INSTANTID}** was published on 2024-01-15 [1]" in published.text
    org = assistant.ask("Which organisation published WithAnyone?")
    assert f"**{WITHANYONE}** is from StepFun [1]" in org.text
    dumps = assistant.ask("Which dumps was InstantID seen in?")
    assert "was seen in 5 dumps [1]" in dumps.text
    assert all(name in dumps.text for name in SAMPLE_DUMPS)
    assert dumps.sources[0].dumps == SAMPLE_DUMPS
    assert {a.answered_from for a in (published, org, dumps)} == {"catalog"}


def test_missing_metadata_is_said_plainly_without_quotes(assistant, sample_papers_by_title):
    """Barlow Twins is only in dump 001, which has titles and abstracts only."""
    answer = assistant.ask("How many authors does Barlow Twins have?")
    assert answer.answered_from == "catalog" and cited_titles(answer) == [BARLOW]
    assert "no metadata" in answer.text and "number of authors is not known" in answer.text
    assert "001_a8350dbcb0d16345.txt" in answer.text
    words = re.findall(r"\w+", sample_papers_by_title[BARLOW].abstract)
    runs = {" ".join(words[i : i + 6]) for i in range(len(words) - 5)}
    text = " ".join(re.findall(r"\w+", answer.text))
    assert not any(run in text for run in runs), "no sentence of the abstract is quoted"


def test_a_field_missing_from_an_entry_with_metadata(assistant):
    """Lookahead's entry in dump 000 has authors and a date but no organisation line."""
    answer = assistant.ask(
        "Which organisation published Lookahead, the inference acceleration framework?"
    )
    assert answer.sources[0].title == LOOKAHEAD
    assert f"The Daily Papers entry for **{LOOKAHEAD}** [1] shows no organisation" in answer.text


def test_follow_up_about_it(assistant):
    first = assistant.ask("What does the Lookahead inference acceleration framework do?")
    assert first.answered_from == "abstracts"
    history = [
        {"role": "user", "content": first.question},
        {"role": "assistant", "content": first.text},
    ]
    follow = assistant.ask("How many authors does it have?", history=history)
    assert follow.text == f"**{LOOKAHEAD}** has 4 authors [1]."


def test_a_paper_that_is_not_indexed_abstains(assistant):
    answer = assistant.ask("How many authors does the IDMirror paper have?")
    assert answer.abstained and answer.answered_from == "abstracts" and not answer.citations


def test_streaming_gives_the_same_catalog_answer(assistant):
    events = list(assistant.stream("How many upvotes does DreamID-V have?"))
    final = events[-1]
    assert final.answered_from == "catalog"
    assert "".join(e for e in events[:-1] if isinstance(e, str)) == final.text


def test_async_chain_gives_the_catalog_answer(assistant):
    question = {"question": "When was InstantID published?"}
    answer = asyncio.run(assistant.chain.ainvoke(question))
    assert "2024-01-15 [1]" in answer.text and answer.answered_from == "catalog"

"""Saved questions: the JSON store, and the index run (and digest) that reports the new papers
relevant to each one, with the chain's own relevance and answer threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from whats_new_data import FACES_QUESTION, GLACIER, GLACIER_QUESTION, write_new_dump

from rag.abstention import ABSTAIN_THRESHOLD
from rag.errors import InputError
from rag.saved import SavedQuestions


def test_add_list_remove_by_number_id_or_text(tmp_path: Path) -> None:
    saved = SavedQuestions(tmp_path)
    first = saved.add("  Which papers   restore faces? ")
    second = saved.add("How is glacier flow forecast?")
    assert saved.add("which papers restore FACES?") == first  # same text, folded: kept once
    assert [q.question for q in saved.list()] == [
        "Which papers restore faces?",
        "How is glacier flow forecast?",
    ]
    assert saved.remove("2") == second  # by its number in the list
    third = saved.add("Speculative decoding?")
    assert saved.remove(third.id) == third  # by id
    assert saved.remove("which papers restore faces?") == first  # by text
    assert saved.list() == []
    with pytest.raises(InputError, match="No saved question matches"):
        saved.remove("1")


def test_the_file_is_plain_json_written_whole(tmp_path: Path) -> None:
    saved = SavedQuestions(tmp_path)
    entry = saved.add("Which papers do face swapping?")
    data = json.loads((tmp_path / "saved_questions.json").read_text(encoding="utf-8"))
    assert data["questions"] == [entry.model_dump()]
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed into place


def test_bad_input_and_a_corrupt_file_are_clear_errors(tmp_path: Path) -> None:
    saved = SavedQuestions(tmp_path)
    with pytest.raises(InputError, match="cannot be empty"):
        saved.add("   ")
    (tmp_path / "saved_questions.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"saved_questions\.json is not valid JSON"):
        saved.list()


@pytest.fixture
def ra(_indexed_home_master, tmp_path, embedder):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    home = tmp_path / "home"
    shutil.copytree(_indexed_home_master, home)
    assistant = ResearchAssistant(Settings(home=home, reranker="none"))
    assistant.__dict__["embedder"] = embedder
    return assistant


def test_an_index_run_reports_the_new_papers_that_answer_a_saved_question(ra, tmp_path):
    glacier = ra.saved_add(GLACIER_QUESTION)
    ra.saved_add(FACES_QUESTION)  # the sample answers it, but no NEW paper does
    assert [q.question for q in ra.saved_list()] == [GLACIER_QUESTION, FACES_QUESTION]

    report = ra.index([write_new_dump(tmp_path / "new.txt")])

    assert [m.question for m in report.saved] == [GLACIER_QUESTION]
    match = report.saved[0]
    assert match.id == glacier.id and match.papers[0].title == GLACIER
    threshold = ra.settings.retrieval.abstain_threshold or ABSTAIN_THRESHOLD
    assert all(p.relevance >= threshold for p in match.papers)
    # the relevance is the one `search` (and so `ask`) gives the same paper
    hits = {h.title: h.score for h in ra.search(GLACIER_QUESTION, k=5)}
    assert match.papers[0].relevance == pytest.approx(hits[GLACIER], abs=1e-6)
    lines = report.summary().splitlines()
    assert lines[-2].startswith(f'saved question "{GLACIER_QUESTION}": 1 new relevant paper')
    assert lines[-1].startswith("3 new papers arrived")


def test_the_digest_carries_every_saved_question_with_its_new_papers(ra, tmp_path):
    ra.index([write_new_dump(tmp_path / "new.txt")])
    ra.saved_add(GLACIER_QUESTION)  # saved after the run: the digest still answers it
    ra.saved_add(FACES_QUESTION)

    saved = ra.digest().saved

    assert [m.question for m in saved] == [GLACIER_QUESTION, FACES_QUESTION]
    assert [p.title for p in saved[0].papers][:1] == [GLACIER]
    assert saved[1].papers == []
    assert ra.saved_remove(1).question == GLACIER_QUESTION
    assert [m.question for m in ra.digest().saved] == [FACES_QUESTION]


def test_a_filter_written_in_a_saved_question_applies(ra, tmp_path):
    # the new papers carry no org; "from ByteDance" (an indexed org) must leave none of them
    ra.saved_add("Papers from ByteDance on glacier surface velocity from satellite altimetry")
    report = ra.index([write_new_dump(tmp_path / "new.txt")])
    assert report.saved == []

"""Out-of-scope questions that an added distractor answers are left out, and only while it is
indexed; each label names a real distractor paper and quotes its abstract."""

import json
from pathlib import Path

from benchmarks.added_answers import ANSWERED, answered_here, answering_papers
from benchmarks.bench_reader import SETS
from benchmarks.corpus_split import held_out_papers


def _words(text: str) -> str:
    return " ".join(text.split())


def _labels(tmp_path: Path) -> Path:
    path = tmp_path / "answered.jsonl"
    rows = [
        {"set": "probes_mixed", "id": "m1", "answers": [{"paper_id": "pa", "evidence": "x"}]},
        {"set": "near_oos", "id": "n1", "answers": [{"paper_id": "pb", "evidence": "y"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_question_is_left_out_only_while_its_answering_paper_is_indexed(tmp_path):
    path = _labels(tmp_path)
    assert answered_here([], path) == set()
    assert answered_here(["pz", "pa"], path) == {("probes_mixed", "m1")}
    assert answered_here(["pa", "pb"], path) == {("probes_mixed", "m1"), ("near_oos", "n1")}


def test_every_label_is_an_out_of_scope_question_answered_by_a_quoted_distractor():
    labels = answering_papers()
    assert labels, f"{ANSWERED} holds no labels"
    questions = {
        (name, row["id"]): row
        for name, path in SETS.items()
        for row in map(json.loads, path.read_text().splitlines())
    }
    # The benchmarks draw at most 10,000 distractors, seeded, from the held-out months.
    drawn = {p.paper_id: p for p in held_out_papers(10_000, 0)}
    for line in ANSWERED.read_text().splitlines():
        row = json.loads(line)
        question = questions[(row["set"], row["id"])]
        assert not question["gold_titles"], f"{row['id']} is an in-scope question"
        assert row["answers"], f"{row['id']} names no answering paper"
        for answer in row["answers"]:
            paper = drawn[answer["paper_id"]]
            assert _words(answer["evidence"]) in _words(paper.abstract), (
                f"{row['id']}: the evidence is not in {paper.title!r}"
            )

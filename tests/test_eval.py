"""rag.evaluation on a tiny crafted question set with a scripted search function."""

from __future__ import annotations

import json

import pytest

from rag.errors import InputError
from rag.evaluation import format_report, run_eval
from rag.models import PaperHit

QUESTIONS = [
    {"id": "a", "question": "qa", "gold_titles": ["Alpha"], "kind": "paraphrase"},
    {"id": "b", "question": "qb", "gold_titles": ["Beta"], "kind": "paraphrase"},
    {"id": "c", "question": "qc", "gold_titles": ["Gamma", "Delta"], "kind": "multi"},
    {"id": "d", "question": "qd", "gold_titles": [], "kind": "out_of_scope"},
    {"id": "e", "question": "qe", "gold_titles": [], "kind": "out_of_scope"},
]
FILLER = [f"Filler {i}" for i in range(12)]
# question -> (ranked titles, relevance of the top hit)
HYBRID = {
    "qa": (["alpha", *FILLER], 0.9),  # rank 1 (title matched after normalisation)
    "qb": ([*FILLER[:2], "Beta", *FILLER[2:]], 0.2),  # rank 3, wrongly abstains
    "qc": (["Gamma", *FILLER[:6], "Delta", *FILLER[6:]], 0.8),  # ranks 1 and 8
    "qd": (FILLER, 0.1),  # abstains: right
    "qe": (FILLER, 0.7),  # answers: wrong
}
DENSE = {q: (FILLER, 0.1) for q in HYBRID}


def _search(table):
    def search(question, k):
        titles, top = table[question]
        return [
            PaperHit(paper_id=f"p{i}", title=t, score=top if i == 0 else 0.0)
            for i, t in enumerate(titles[:k])
        ]

    return search


@pytest.fixture
def questions_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n", encoding="utf-8")
    return path


def test_metrics_per_kind_and_overall(questions_file):
    report = run_eval(_search(HYBRID), questions_file, baseline_fn=_search(DENSE))
    hybrid = report.systems["hybrid"]
    para = hybrid.per_kind["paraphrase"]
    assert para.questions == 2
    assert para.recall_at_1 == 0.5
    assert para.recall_at_5 == 1.0
    assert para.mrr == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    multi = hybrid.per_kind["multi"]
    assert (multi.recall_at_1, multi.recall_at_5, multi.recall_at_10) == (0.5, 0.5, 1.0)
    assert multi.mrr == 1.0
    assert hybrid.overall.questions == 3
    assert hybrid.overall.recall_at_5 == pytest.approx((1 + 1 + 0.5) / 3, abs=1e-4)
    assert hybrid.abstention.abstained_out_of_scope == 1
    assert hybrid.abstention_accuracy == 0.5
    assert hybrid.false_abstention_rate == pytest.approx(1 / 3, abs=1e-4)
    dense = report.systems["dense"]
    assert dense.overall.recall_at_10 == 0.0 and dense.overall.mrr == 0.0
    assert dense.abstention_accuracy == 1.0 and dense.false_abstention_rate == 1.0


def test_k_max_limits_what_counts(questions_file):
    report = run_eval(_search(HYBRID), questions_file, k_max=5)
    multi = report.systems["hybrid"].per_kind["multi"]
    assert multi.recall_at_10 == 0.5  # Delta at rank 8 is beyond k_max


def test_custom_abstain_function_and_threshold(questions_file):
    never = run_eval(_search(HYBRID), questions_file, abstain_fn=lambda hits: False)
    assert never.systems["hybrid"].abstention_accuracy == 0.0
    strict = run_eval(_search(HYBRID), questions_file, threshold=0.95)
    assert strict.systems["hybrid"].abstention_accuracy == 1.0


def test_format_report_lists_systems_and_abstention(questions_file):
    text = format_report(run_eval(_search(HYBRID), questions_file, baseline_fn=_search(DENSE)))
    assert "hybrid   paraphrase" in text
    assert "dense    multi" in text
    assert "abstention on out-of-scope: 1/2" in text


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:2"):
        run_eval(_search(HYBRID), path)
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(InputError, match=r"missing\.jsonl"):
        run_eval(_search(HYBRID), missing)


def test_declined_at_counts_out_of_scope_below_the_threshold_a_false_rate_allows() -> None:
    from rag.evaluation import declined_at, threshold_at

    in_scope = [0.2, 0.6, 0.7, 0.8, 0.9] * 8  # 40: 3 % allows one false abstention
    out_scope = [0.1, 0.15, 0.3, 0.65]
    assert declined_at(in_scope, out_scope, 0.03) == 2  # threshold 0.2: 0.1 and 0.15 below
    assert declined_at(in_scope, out_scope, 0.2) == 3  # threshold 0.6
    assert declined_at([], out_scope, 0.03) == 0
    assert threshold_at(in_scope, 0.03) == 0.2 and threshold_at(in_scope, 0.2) == 0.6

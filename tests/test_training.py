"""The reader's training script runs on the CPU at a tiny size and reports held-out figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_training_runs_small_and_reports_held_out_metrics(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "training" / "train_reader.py")]
    command += ["--max-pairs", "32", "--max-held", "6", "--out", str(tmp_path / "reader")]
    command += ["--max-tokens", "64", "--init", str(ROOT / "vectorstore" / "reader_model")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-2])
    for system in ("reader", "cosine"):
        figures = report["held_out"][system]
        assert figures["questions"] == 6
        assert 0.0 <= figures["sentence_top1"] <= 1.0
        assert "oos_at_3pct_false" in figures  # selection reads abstention where it matters
    assert report["pairs"]["paper"] > 0 and report["pairs"]["sentence"] > 0
    assert (tmp_path / "reader" / "config.json").is_file()  # a loadable CrossEncoder folder
    # The product reads the reader at the length it was trained on.
    sys.path.insert(0, str(ROOT))
    from vectorstore.reader import CrossEncoderReader

    assert CrossEncoderReader(tmp_path / "reader")._load().max_length == 64


def test_training_can_start_from_the_bundled_reader_in_fp32() -> None:
    """The bundled reader is stored in fp16; continuing to train it in fp16 loses updates."""
    import torch
    from safetensors.torch import load_file

    sys.path.insert(0, str(ROOT))
    from training.train_reader import load_model
    from vectorstore.reader import BUNDLED_PATH

    tokenizer, model = load_model(str(BUNDLED_PATH), "cpu", 256)
    assert tokenizer.model_max_length == 256
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    stored = load_file(str(BUNDLED_PATH / "model.safetensors"))
    name = next(k for k in stored if k.endswith("classifier.weight"))
    assert torch.equal(model.state_dict()[name], stored[name].float())  # its weights, not base


def test_a_detail_question_is_trained_on_a_window_that_holds_its_answer() -> None:
    """The best-overlap window can miss the answering sentence; the positive must not."""
    import random
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT))
    from training.train_reader import Corpus

    abstract = " ".join(f"Sentence {word} is here." for word in "abcdefghi")
    papers = [SimpleNamespace(paper_id="p1", title="T", abstract=abstract)]
    papers.append(SimpleNamespace(paper_id="p2", title="U", abstract="Other words entirely."))
    corpus = Corpus(papers)
    rng = random.Random(0)
    for answer, sentence in enumerate(corpus.sentences["p1"]):
        assert sentence in corpus.answer_passage("p1", answer, rng)
    assert corpus.other_window("sentence a", "p1", rng) != corpus.paper_passage("sentence a", "p1")
    assert corpus.other_window("other", "p2", rng) is None  # one window: nothing else to read


def test_focus_trains_on_every_focused_pair_and_fills_up_with_the_others() -> None:
    """Continued training adds a kind of question; --max-pairs must not cut it, and the old
    questions still come along so the reader keeps them."""
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT))
    from training.train_reader import Corpus, build_pairs, training_pairs

    papers = [
        SimpleNamespace(paper_id=f"p{i}", title=f"T{i}", abstract=f"Topic {i} words. More {i}.")
        for i in range(16)
    ]
    corpus = Corpus(papers)
    members = {"a:c00": ["p0", "p1", "p2", "p3"], "a:c01": ["p4", "p5", "p6", "p7"]}

    def row(n: int, file: str, gold: str) -> dict:
        key = "a:c00" if gold in members["a:c00"] else "a:c01"
        return {
            "question": f"question about topic {gold[1:]} number {n}",
            "gold": [gold],
            "kind": "paraphrase",
            "sentence": None,
            "cluster_key": key,
            "file": file,
        }

    rows = [row(n, "long/packet_00.jsonl", f"p{n}") for n in range(4)]
    rows += [row(n, "packet_00.jsonl", f"p{4 + n % 4}") for n in range(12)]
    as_set = lambda ps: {(p.question, p.text, p.label) for p in ps}  # noqa: E731
    focused = as_set(build_pairs(rows[:4], corpus, members, 0))
    args = SimpleNamespace(focus="long/*", max_pairs=len(focused) + 5, seed=0)
    pairs = training_pairs(rows, corpus, members, args)
    assert len(pairs) == len(focused) + 5
    assert focused <= as_set(pairs)
    assert as_set(pairs) - focused  # and some of the other questions' pairs
    args.focus = None
    assert len(training_pairs(rows, corpus, members, args)) == len(focused) + 5


def test_questions_glob_picks_the_files_a_reader_was_trained_on() -> None:
    """The bundled reader was trained on the top-level packets only; --questions must be able
    to name exactly those, or its recipe cannot be rerun now that long/ exists."""
    sys.path.insert(0, str(ROOT))
    from training.train_reader import QUESTIONS, load_questions

    top = {p.name for p in QUESTIONS.glob("packet_*.jsonl")}
    bundled = load_questions("packet_*.jsonl")
    assert {r["file"] for r in bundled} == top
    everything = load_questions()
    assert len(everything) > len(bundled)
    assert {r["file"] for r in load_questions("long/*")} == {
        r["file"] for r in everything if r["file"].startswith("long/")
    }


def test_whole_abstract_pairs_are_added_and_read_only_when_asked() -> None:
    """--whole trains on title + whole abstract for the gold paper (1) and every negative (0),
    and the held-out report reads that passage too; without it nothing changes."""
    import random
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT))
    from training.train_reader import Corpus, pairs_for

    papers = [
        SimpleNamespace(
            paper_id=f"p{i}",
            title=f"T{i}",
            abstract=" ".join(f"Sentence {k} of paper {i} says something new." for k in range(6)),
        )
        for i in range(16)
    ]
    row = {"question": "topic 1 part 1", "gold": ["p1"], "kind": "paraphrase", "sentence": None}
    members = ["p0", "p1", "p2", "p3"]
    plain = pairs_for(row, Corpus(papers), members, random.Random(0), row["question"])
    assert not [p for p in plain if p.kind == "whole"]
    corpus = Corpus(papers, whole=True)
    whole = pairs_for(row, corpus, members, random.Random(0), row["question"])
    labelled = {(p.text.split("\n")[0], p.label) for p in whole if p.kind == "whole"}
    assert ("T1", 1.0) in labelled
    assert {("T0", 0.0), ("T2", 0.0), ("T3", 0.0)} <= labelled
    assert corpus.window_passages("p1")[-1] == "T1\n" + papers[1].abstract
    assert "T1\n" + papers[1].abstract not in Corpus(papers).window_passages("p1")


@pytest.mark.slow
@pytest.mark.timeout(900)  # three tiny training runs, each loading the training corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus")
def test_the_judge_recipe_chains_its_three_stages_in_one_command(tmp_path: Path) -> None:
    """training/train_judge.sh: 256 from the bundled reader, then the long questions, then
    whole abstracts, each stage starting from the last one's weights and reporting held out."""
    out = tmp_path / "judge"
    command = ["bash", str(ROOT / "training" / "train_judge.sh"), str(out), "--no-bench"]
    command += ["--max-pairs", "32", "--max-held", "6", "--max-tokens", "64"]
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"held')]
    assert len(reports) == 3
    first, long, whole = (r["args"] for r in reports)
    assert first["init"] == "vectorstore/reader_model" and not first["whole"]
    assert first["questions"] == "packet_*.jsonl" and long["questions"] == "*.jsonl"
    assert long["focus"] == "long/*" and long["init"] == first["out"]
    assert whole["whole"] and whole["init"] == long["out"] and whole["out"] == str(out)
    assert reports[2]["pairs"]["whole"] > 0 and reports[0]["pairs"]["whole"] == 0
    assert all(r["held_out"]["reader"]["questions"] == 6 for r in reports)
    assert (out / "config.json").is_file() and not (out / "judge.json").exists()

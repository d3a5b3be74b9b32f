"""Out-of-scope questions that a paper added as a distractor really answers.

The out-of-scope questions were written against the sample dumps. With thousands of corpus
papers added, some of them find a paper that does answer: "Which papers do crop yield
prediction from satellite imagery?" finds a crop-yield benchmark from satellite images.
Answering those is right, so counting them as failed abstentions would make abstention look
worse than it is, and scope ROC-AUC with it. A benchmark therefore leaves a question out of
its out-of-scope counts while a paper that answers it is in the index, and says which.

The labels (ANSWERED) were made by reading: for every out-of-scope question, the first four
distractor papers of the fused top 10 at 10,000 distractors and the first three at 3,000 (the
seeded draw of benchmarks/corpus_split.py, so the 3,000 draw is its first 3,000), each judged
strictly from its abstract; each answer records the abstract sentence that shows it. A paper
further down that also answers is not listed, so a question can still count as out of scope
where it is not: the figures lean towards too few left out, not too many.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

ANSWERED = Path(__file__).resolve().parent / "questions" / "oos_answered_by_distractors.jsonl"


def answering_papers(path: Path = ANSWERED) -> dict[tuple[str, str], set[str]]:
    """(question set, question id) -> the paper ids that answer it."""
    if not path.exists():
        return {}
    out: dict[tuple[str, str], set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[(row["set"], row["id"])] = {a["paper_id"] for a in row["answers"]}
    return out


def answered_here(indexed: Iterable[str], path: Path = ANSWERED) -> set[tuple[str, str]]:
    """The labelled questions that an indexed paper answers: out of scope no longer."""
    ids = set(indexed)
    return {key for key, papers in answering_papers(path).items() if papers & ids}

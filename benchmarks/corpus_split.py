"""Which corpus months the reader trains on, and which stay unseen for distractors.

The reader (training/) learns from questions over papers of TRAIN_MONTHS only; every
distractor a benchmark mixes into the index comes from the other months, so no benchmark
measures the reader on papers it was trained on.
"""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TRAIN_MONTHS = ("2024-", "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")


def is_training_month(path: Path) -> bool:
    return path.stem.removeprefix("papers-").startswith(TRAIN_MONTHS)


def corpus_files(training: bool) -> list[Path]:
    files = sorted((SHARED / "corpus").glob("papers-*.txt"))
    return [f for f in files if is_training_month(f) == training]


def held_out_papers(count: int, seed: int) -> list:
    """`count` papers from the held-out months, sampled reproducibly (merged, deduplicated)."""
    from rag.dump_parser import parse_dump
    from rag.papers import merge_papers

    papers = []
    for path in corpus_files(training=False):
        papers.extend(parse_dump(path, max_abstract_chars=20_000).papers)
    papers = merge_papers([], papers)
    papers.sort(key=lambda p: p.paper_id)
    random.Random(seed).shuffle(papers)
    return papers[:count]

"""Re-order the best fused candidates with a reader, as far as measurement supports it.

A reader (vectorstore.reader) scores the question against each of the top `top_n` papers'
best window. How much that score may move the fused order depends on the reader:

- the bundled reader: not at all (weight 0, so search does not even read). Measured with
  benchmarks/bench_reader.py on the sample dumps with 0 and 3,000 held-out distractors, its
  paper judgement is weaker than fusion on the long paraphrase questions of the probe sets
  (reader-alone MRR 0.61-0.67 against fusion's 0.989), and blending it in gained one dev
  question at 3,000 distractors while costing paraphrase MRR at higher weights. Where it
  does beat the bi-encoder is choosing the sentence that answers, which the extractive
  answerer uses (rag.extractive).
- any other reader (a CrossEncoder the user names, a /rerank server): its own order, on the
  view that a user who configured a real reranker wants it to rank;
- a reader with a `judge.json` beside its weights (vectorstore.judge): the weight it names.

Relevance (for abstention) stays fusion's for the first two; a judge's reader judges it.
With the bundled reader's score added, held-out false abstention rose from 2/104 to 12/104 on
the sample index, for 17 instead of 13 of 27 near-topic out-of-scope questions declined at
3,000 distractors. Combined with fusion's own signals (cosine, coverage, unseen name) and held
to one threshold at 3 % false abstention, it declined fewer out-of-scope questions than fusion
alone (bench_reader's "combined" system, BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from langchain_core.documents import Document

from vectorstore.defaults import RERANK_TOP_N
from vectorstore.errors import ReaderUnavailable
from vectorstore.judge import Judge, question_window
from vectorstore.reader import BUNDLED_PATH, Reader, logit, passage

log = logging.getLogger(__name__)

BUNDLED_WEIGHT = 0.0
OTHER_WEIGHT = math.inf  # the reader's order alone


def weight_for(reader: Reader | None, judge: Judge | None = None) -> float:
    """How far the reader's score may move the fused order (see the module docstring); a
    reader with fitted judging constants says so itself (vectorstore.judge)."""
    if reader is None:
        return 0.0
    if judge is not None:
        return judge.rank_weight
    return BUNDLED_WEIGHT if reader.name == str(BUNDLED_PATH) else OTHER_WEIGHT


def paper_passage(question: str, doc: Document) -> str:
    """What the reader reads of one paper: its title and best window of the abstract."""
    return passage(doc.metadata["title"], question_window(question, doc))


def rerank(
    question: str,
    docs: Sequence[Document],
    reader: Reader,
    top_n: int = RERANK_TOP_N,
    weight: float = OTHER_WEIGHT,
) -> list[Document]:
    """`docs` (fusion order) with the top `top_n` re-ordered by fused score + weight x the
    reader's standardised log-odds; unchanged, with a warning, if the reader fails."""
    head, tail = list(docs[:top_n]), list(docs[top_n:])
    if not head or weight <= 0:
        return list(docs)
    try:
        scores = reader.score(question, [paper_passage(question, d) for d in head])
    except ReaderUnavailable as exc:
        log.warning("%s; ranking by fusion alone for this question", exc)
        return list(docs)
    for doc, probability in zip(head, scores, strict=True):
        doc.metadata["reader_score"] = round(probability, 6)
    keys = _keys(head, scores, weight)
    order = sorted(range(len(head)), key=lambda i: (-keys[i], i))
    return [head[i] for i in order] + tail


def _keys(head: Sequence[Document], scores: Sequence[float], weight: float) -> np.ndarray:
    reader = np.asarray([logit(p) for p in scores])
    if math.isinf(weight):
        return reader
    spread = reader.std() or 1.0
    fused = np.asarray([float(d.metadata.get("fused_score", 0.0)) for d in head])
    return fused + weight * (reader - reader.mean()) / spread

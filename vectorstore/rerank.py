"""Re-read the best fused candidates with the reader: new order, and relevance that is a judgement.

Fusion (vectorstore.fusion) ranks well when the question uses the paper's words, but its
relevance was a logistic of cosine and IDF coverage: IDF moves whenever papers are added, and
neither signal can tell a near-topic paper from one that answers. Here the reader scores the
question against each of the top `top_n` papers' best window, and the paper's relevance
becomes

    relevance = sigmoid(READER_WEIGHT * logit(reader) + COSINE_WEIGHT * cosine + BIAS)

a calibrated probability that this paper answers this question, computed from the question
and the paper alone (the best chunk's cosine is the one pool-independent fusion signal), so
adding or removing other papers cannot move it. Cosine stays in because the reader was
trained on a few thousand questions and the bi-encoder adds what it has not seen
("combine, don't replace"). The constants come from benchmarks/fit_reader.py, which fits them
on held-out questions and prints the cross-validated figures.

Papers below the top `top_n` are not read; their relevance is capped below the weakest read
paper so that an unread paper can never look better than a read one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from langchain_core.documents import Document

from vectorstore.errors import ReaderUnavailable
from vectorstore.reader import Reader, best_window, logit, passage
from vectorstore.text import split_sentences

log = logging.getLogger(__name__)

READER_WEIGHT = 1.0
COSINE_WEIGHT = 0.0
BIAS = 0.0
RERANK_TOP_N = 10


def relevance(reader_probability: float, cosine: float) -> float:
    """The calibrated probability that the paper answers (see the module docstring)."""
    z = READER_WEIGHT * logit(reader_probability) + COSINE_WEIGHT * cosine + BIAS
    return 1.0 / (1.0 + math.exp(-z))


def paper_passage(question: str, doc: Document) -> str:
    """What the reader reads of one paper: its title and best window of the abstract."""
    meta = doc.metadata
    sentences = split_sentences(meta.get("abstract") or doc.page_content)
    return passage(meta["title"], best_window(question, sentences))


def rerank(
    question: str, docs: Sequence[Document], reader: Reader, top_n: int = RERANK_TOP_N
) -> list[Document]:
    """`docs` (fusion order) re-ordered by the reader's relevance; unchanged if it fails."""
    head, tail = list(docs[:top_n]), list(docs[top_n:])
    if not head:
        return []
    try:
        scores = reader.score(question, [paper_passage(question, d) for d in head])
    except ReaderUnavailable as exc:
        log.warning("%s; ranking by fusion alone for this question", exc)
        return list(docs)
    for doc, probability in zip(head, scores, strict=True):
        meta = doc.metadata
        meta["fusion_relevance"] = meta.get("relevance")
        meta["reader_score"] = round(probability, 6)
        meta["relevance"] = round(relevance(probability, float(meta.get("dense_score", 0))), 6)
    head.sort(key=lambda d: (-d.metadata["relevance"], -d.metadata.get("score", 0.0)))
    floor = head[-1].metadata["relevance"]
    for doc in tail:
        doc.metadata["fusion_relevance"] = doc.metadata.get("relevance")
        doc.metadata["relevance"] = min(float(doc.metadata.get("relevance", 0.0)), floor)
    return head + tail

"""Decide when retrieval found nothing relevant enough to answer from.

Each Source.score carries the paper's calibrated `relevance` in [0, 1] (vectorstore.fusion):
a logistic combination of the best chunk's cosine similarity, the IDF-weighted share of the
question's content words present in the paper, and a penalty when the question names
something (e.g. "IDMirror") that the index has never seen. 0.5 is its decision boundary.
A reader with judging constants fitted for it (vectorstore.judge) gives the relevance instead,
its 0.5 moved to the threshold that was held out at 3 % false abstention.

The formula and its 0.5 boundary are fitted and cross-validated by
benchmarks/fit_abstention.py (which also records how they were arrived at).
A threshold is not re-fitted per question set: `Settings.abstain_threshold` overrides it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rag.models import Source

ABSTAIN_THRESHOLD = 0.5


def abstains(relevances: Iterable[float], threshold: float | None = None) -> bool:
    """True when no relevance reaches the threshold (and when there is nothing at all)."""
    limit = ABSTAIN_THRESHOLD if threshold is None else threshold
    best = max(relevances, default=None)
    return best is None or best < limit


def should_abstain(sources: Sequence[Source], threshold: float | None = None) -> bool:
    """True when no source is relevant enough: the best Source.score is below the threshold."""
    return abstains((s.score for s in sources), threshold)

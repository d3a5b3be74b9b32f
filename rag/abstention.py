"""Decide when retrieval found nothing relevant enough to answer from.

Each Source.score carries the paper's calibrated `relevance` in [0, 1] (vectorstore.fusion):
a logistic combination of the best chunk's cosine similarity, the IDF-weighted share of the
question's content words present in the paper, and a penalty when the question names
something (e.g. "IDMirror") that the index has never seen. 0.5 is its decision boundary.

How the threshold was chosen: the relevance formula was fitted on 58 probe questions written
for this purpose (33 answerable, 25 out-of-scope, including made-up benchmark and method names
in the same domain as the sample dumps) and then checked, unchanged, on the 30 dev questions:
out-of-scope abstention 4/4 on dev and 25/25 on the probes, false abstention 1/26 on dev and
1/33 on the probes; with 3,000 distractor papers indexed, false abstention stayed at 2/59.
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

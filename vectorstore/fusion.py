"""How dense and BM25 evidence become one ranking and one calibrated relevance per paper.

Ranking: standardised score fusion of three per-paper signals, each turned into z-scores over
the same candidate set (the union of both retrievers' top papers, each scored exactly by all
three) and added with equal weights:
- dense: the best chunk's cosine similarity to the question;
- bm25: the best chunk's BM25 score;
- coverage: the IDF-weighted share of the question's content words that occur anywhere in the
  paper (title and all chunks). BM25 rewards a chunk that repeats a few query words; coverage
  rewards the paper that mentions most of the question's distinct, rare concepts, which is what
  separates a paraphrased question's paper from close neighbours on the same topic.
A signal whose best paper stands far above the rest (BM25 on a rare name or number, dense on a
paraphrase) then dominates that query, while one that sees no clear winner adds little, which
unweighted reciprocal rank fusion cannot do (benchmarks/bench_retrieval.py measures both).

Relevance (for abstention): an absolute, per-paper estimate in [0, 1] that does not depend on
the other candidates, because "nothing relevant" must be detectable when every candidate is bad:

    evidence = cosine + 0.4 * coverage - 0.1 * unseen_name
    relevance = sigmoid((evidence - 0.57) / 0.04)

- cosine: the paper's best chunk cosine similarity to the question (semantic match);
- coverage: the same coverage signal as in the ranking (lexical match; a word the index has
  never seen gets the largest IDF, so made-up names count heavily);
- unseen_name: the question names something (CamelCase, ACRONYM, name-with-digits such as
  "IDMirror" or "FaceVault-9K") that occurs nowhere in the index.
The weights and offset are round values of a logistic-regression fit "answerable vs
out-of-scope"; relevance 0.5 is the decision boundary. benchmarks/fit_abstention.py refits
them, prints the cross-validated abstention, and tells how they were arrived at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping

import numpy as np

COSINE_WEIGHT = 1.0
COVERAGE_WEIGHT = 0.4
UNSEEN_NAME_PENALTY = 0.1
EVIDENCE_MIDPOINT = 0.57
EVIDENCE_SCALE = 0.04

# Words that look like names: at least two capitals (IDMirror, WOUAF, ZetaID) or letters mixed
# with digits (Vec2Face, FaceVault-9K). Plain numbers with units ("1.39x", "93.3%") are not names.
_WORD = re.compile(r"[A-Za-z0-9][\w\-+.]*[\w+]|[A-Za-z0-9]")
_NUMBER = re.compile(r"[\d.,]+[A-Za-z%]{0,2}")
_ALNUM = re.compile(r"[^\W_]+")


def zscores(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores standardised over the candidate set; all zeros when the scores do not vary."""
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    spread = float(values.std())
    if spread < 1e-12:
        return dict.fromkeys(scores, 0.0)
    mean = float(values.mean())
    return {key: (value - mean) / spread for key, value in scores.items()}


def fuse(*signals: Mapping[str, float]) -> dict[str, float]:
    """Fused score per paper: the sum of each signal's z-scores over the union of candidates.

    Every signal should score every candidate (a missing one counts as score 0)."""
    keys = list(dict.fromkeys(key for signal in signals for key in signal))
    fused = dict.fromkeys(keys, 0.0)
    for signal in signals:
        for key, value in zscores({key: signal.get(key, 0.0) for key in keys}).items():
            fused[key] += value
    return fused


def names_in(question: str) -> list[str]:
    """Name-like words of a question (see module docstring)."""
    found = []
    for word in _WORD.findall(question):
        core = word.strip("-+.")
        if len(core) < 4 or _NUMBER.fullmatch(core):
            continue
        capitals = sum(ch.isupper() for ch in core)
        has_digit = any(ch.isdigit() for ch in core)
        has_alpha = any(ch.isalpha() for ch in core)
        if capitals >= 2 or (has_digit and has_alpha):
            found.append(core)
    return found


def has_unseen_name(question: str, known: Callable[[str], bool]) -> bool:
    """True when a name-like word of the question has a part the index has never seen.

    `known(part)` says whether a lower-cased alphanumeric part occurs in the index."""
    return any(
        not known(part) for name in names_in(question) for part in _ALNUM.findall(name.casefold())
    )


def coverage(query_weights: Mapping[str, float], paper_tokens: Iterable[str]) -> float:
    """IDF-weighted share of the query's tokens that occur in the paper (0 when no tokens)."""
    total = sum(query_weights.values())
    if total <= 0:
        return 0.0
    present = set(paper_tokens)
    return sum(w for token, w in query_weights.items() if token in present) / total


def relevance(cosine: float, coverage_share: float, unseen_name: bool) -> float:
    """Calibrated probability-like relevance in [0, 1]; 0.5 is the abstention boundary."""
    evidence = (
        COSINE_WEIGHT * cosine
        + COVERAGE_WEIGHT * coverage_share
        - UNSEEN_NAME_PENALTY * float(unseen_name)
    )
    return 1.0 / (1.0 + math.exp(-(evidence - EVIDENCE_MIDPOINT) / EVIDENCE_SCALE))


def idf(document_frequency: int, documents: int) -> float:
    """BM25's IDF; a token the index has never seen (df 0) gets the largest value."""
    return math.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))

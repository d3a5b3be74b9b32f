"""Group papers into topics by their embeddings, and name each topic by its papers' key terms.

The digest ("what's new") and the trends both need topics, so both come from here:

- Clustering: each paper is its mean chunk vector from Chroma (vectorstore.paper_vectors;
  nothing is re-embedded). Up to AGGLOMERATIVE_MAX papers, scikit-learn's agglomerative
  clustering with complete linkage and a cosine-distance threshold decides how many topics
  there are, with one rule that holds at any size: two papers share a topic only if their
  cosine similarity is at least MIN_COSINE. On the 141 sample papers that gives 14 topics that
  read as topics (face editing, person re-identification, identity documents, LLM
  unlearning, ...); average linkage chained 122 of them into one blob, and Ward's threshold
  grows with cluster size, so it merged any two or three new papers, however unrelated (a
  glacier paper and a protein paper at cosine 0.22 became "1 topic"). The pairwise distances
  need n^2 memory, so beyond AGGLOMERATIVE_MAX it is KMeans with a fixed seed. Both are
  deterministic: the same index gives the same topics.
- Labels: a topic's terms are the words and two-word phrases that many of ITS papers use and
  few of the OTHER papers do, weighted by how rare they are in the whole index (the BM25
  index's document frequencies, vectorstore.text's tokeniser, stop words and stemmer). Title
  words count more than abstract words: a title is the paper's own summary of its topic.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vectorstore.fusion import idf
from vectorstore.text import STOPWORDS, WORD_RE, is_filler, stem

AGGLOMERATIVE_MAX = 2000  # pairwise distances: 2000 papers ~ 32 MB; above, KMeans
MIN_COSINE = 0.3  # least similarity of two papers of one topic (read off the sample: doc)
KMEANS_TOPICS = 24  # topics for a large set when the caller sets no maximum
LABEL_TERMS = 3
LABEL_SAMPLE = 200  # papers per topic read for its label (those nearest its centre)
ABSTRACT_WEIGHT = 0.3  # a term in the abstract only counts this much of a title term
PHRASE_BONUS = 1.3  # "person re-identification" reads better than "re-identification"
# Words that say how a paper is written rather than what it is about.
LABEL_SKIP = frozenset({
    "via", "towards", "toward", "novel", "framework", "frameworks", "existing", "results",
    "performance", "state-of-the-art", "sota", "task", "tasks", "achieve", "achieves",
    "introduce", "introduces", "present", "presents", "proposes", "demonstrate", "extensive",
    "experiments", "significantly", "effectively", "effective", "improve", "improves",
    "improved", "outperforms", "various", "however", "without", "first", "high", "well",
    "large-scale", "leveraging", "leverage", "enhancing", "enhanced", "beyond",
    "learning", "data", "dataset", "benchmark", "github", "available", "code", "publicly",
})  # fmt: skip
_URL_RE = re.compile(r"https?://\S+|\b\S+\.(?:com|org|io|net)\b\S*", re.IGNORECASE)

Idf = Callable[[str], float]


@dataclass(frozen=True)
class Term:
    """A label candidate: `key` (stems, what is compared), `surface` (as a reader sees it)."""

    key: str
    surface: str
    stems: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    """One group of papers: `members` are row numbers of the clustered set, nearest the
    topic's centre first; `label` is its terms joined, e.g. "face swapping, editing"."""

    label: str
    members: list[int]
    terms: list[str]


def cluster(vectors: np.ndarray, max_topics: int | None = None) -> np.ndarray:
    """A topic number per row of `vectors` (unit-length paper vectors); deterministic."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=int)
    if n <= AGGLOMERATIVE_MAX:
        from sklearn.cluster import AgglomerativeClustering

        def complete(**size: float | None) -> np.ndarray:
            model = AgglomerativeClustering(metric="cosine", linkage="complete", **size)
            return np.asarray(model.fit_predict(vectors))

        labels = complete(n_clusters=None, distance_threshold=1.0 - MIN_COSINE)
        if max_topics is not None and len(set(labels.tolist())) > max_topics:
            labels = complete(n_clusters=max(1, max_topics))
        return labels
    from sklearn.cluster import KMeans

    k = min(max_topics or KMEANS_TOPICS, n)
    return np.asarray(KMeans(n_clusters=k, random_state=0, n_init=3).fit_predict(vectors))


def groups(labels: np.ndarray, vectors: np.ndarray) -> list[list[int]]:
    """Rows per topic, each nearest its centre first (ties by row), largest topic first."""
    found: list[list[int]] = []
    for value in sorted(set(labels.tolist())):
        rows = np.flatnonzero(labels == value)
        centre = vectors[rows].mean(axis=0)
        closeness = vectors[rows] @ centre
        order = sorted(range(len(rows)), key=lambda i: (-closeness[i], rows[i]))
        found.append([int(rows[i]) for i in order])
    return sorted(found, key=lambda rows: (-len(rows), rows[0]))


def find_topics(
    vectors: np.ndarray,
    texts: Sequence[tuple[str, str]],
    idf: Idf,
    max_topics: int | None = None,
) -> list[Topic]:
    """Cluster the papers (row i of `vectors` is the paper whose (title, abstract) is
    `texts[i]`) and label each topic; largest topic first."""
    if len(vectors) == 0:
        return []
    rows_per_topic = groups(cluster(vectors, max_topics), vectors)
    sampled = [rows[:LABEL_SAMPLE] for rows in rows_per_topic]
    terms = {row: paper_terms(*texts[row]) for rows in sampled for row in rows}
    chosen = label_groups(sampled, terms, idf)
    labels = unique([", ".join(t.surface for t in best) or "other" for best in chosen])
    return [
        Topic(label=label, members=rows, terms=[t.surface for t in best])
        for label, rows, best in zip(labels, rows_per_topic, chosen, strict=True)
    ]


def unique(labels: list[str]) -> list[str]:
    """Labels are how topics are named and told apart (in JSON too): a repeat gets " (2)"."""
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


# --- labels -------------------------------------------------------------------------------


def paper_terms(title: str, abstract: str) -> dict[str, tuple[Term, float]]:
    """key -> (term, weight) for one paper: 1.0 for a term of the title, ABSTRACT_WEIGHT for
    one found only in the abstract. Terms are content words (hyphenated compounds kept whole:
    "zero-shot") and pairs of adjacent content words ("face swapping")."""
    found: dict[str, tuple[Term, float]] = {}
    for text, weight in ((abstract, ABSTRACT_WEIGHT), (title, 1.0)):
        for term in _terms(_URL_RE.sub(" ", text)):
            if term.key not in found or found[term.key][1] < weight:
                found[term.key] = (term, weight)
    return found


def _terms(text: str) -> Iterable[Term]:
    words = [_word(match.group()) for match in WORD_RE.finditer(text)]
    yield from (w for w in words if w is not None)
    for first, second in itertools.pairwise(words):
        if first is not None and second is not None and first.key != second.key:
            yield Term(
                f"{first.key} {second.key}",
                f"{first.surface} {second.surface}",
                first.stems + second.stems,
            )


def _word(raw: str) -> Term | None:
    """A content word as a Term, or None for a stop word, filler, number or fragment."""
    if raw.endswith("s") and raw[:-1].isupper() and len(raw) > 2:
        raw = raw[:-1]  # "LLMs" is "LLM"
    low = raw.lower()
    if len(low) < 3 or low in LABEL_SKIP or is_filler(low) or any(c.isdigit() for c in low):
        return None
    parts = [p for p in low.split("-") if p and p not in STOPWORDS]
    if not parts:
        return None
    stems = tuple(stem(p) for p in parts)
    acronym = any(c.isupper() for part in raw.split("-") for c in part[1:])  # LLM, FaceID
    return Term("-".join(stems), raw if acronym else low, stems)


def label_groups(
    sampled: Sequence[Sequence[int]],
    terms: dict[int, dict[str, tuple[Term, float]]],
    idf: Idf,
) -> list[list[Term]]:
    """The LABEL_TERMS best terms of each group: used by many of its papers, by few of the
    other groups' papers, and rare in the index; a term sharing a word with a better one is
    skipped, so a label never says "video, video generation"."""
    total = sum(len(rows) for rows in sampled)
    presence = Counter(key for rows in sampled for row in rows for key in terms[row])
    labels = []
    for rows in sampled:
        stats = _GroupTerms(rows, terms)
        labels.append(_best_terms(stats.scores(presence, total, idf), stats))
    return labels


class _GroupTerms:
    """One group's terms: summed weight, papers having each, stems and surface forms."""

    def __init__(self, rows: Sequence[int], terms: dict[int, dict[str, tuple[Term, float]]]):
        self.size = len(rows)
        self.weight: Counter[str] = Counter()
        self.papers: Counter[str] = Counter()
        self.surfaces: dict[str, Counter[str]] = {}
        self.stems: dict[str, tuple[str, ...]] = {}
        for row in rows:
            for key, (term, w) in terms[row].items():
                self.weight[key] += w
                self.papers[key] += 1
                self.surfaces.setdefault(key, Counter())[term.surface] += 1
                self.stems[key] = term.stems

    def scores(self, presence: Counter[str], total: int, idf: Idf) -> dict[str, float]:
        """inside x rarity x distinctiveness, where inside is the group's (title-weighted)
        share of papers using the term and distinctiveness compares it with the others'."""
        others = max(total - self.size, 1)
        found: dict[str, float] = {}
        for key, w in self.weight.items():
            phrase = " " in key
            if phrase and self.size > 1 and self.papers[key] < 2:
                continue  # a phrase only one paper uses is that paper's, not the topic's
            inside = w / self.size
            outside = (presence[key] - self.papers[key]) / others
            rarity = sum(idf(s) for s in self.stems[key]) / len(self.stems[key])
            bonus = PHRASE_BONUS if phrase else 1.0
            found[key] = inside * rarity * bonus * inside / (inside + outside)
        return found


def _best_terms(scores: dict[str, float], stats: _GroupTerms) -> list[Term]:
    chosen: list[Term] = []
    used: set[str] = set()
    for key in sorted(scores, key=lambda k: (-scores[k], k)):
        stems = stats.stems[key]
        if used & set(stems):
            continue
        chosen.append(Term(key, stats.surfaces[key].most_common(1)[0][0], stems))
        used.update(stems)
        if len(chosen) == LABEL_TERMS:
            break
    return chosen


class DocumentFrequencies(Protocol):
    """What labels read from the BM25 index (vectorstore.keyword_index.KeywordIndex)."""

    def __len__(self) -> int: ...

    def document_frequency(self, token: str) -> int: ...


def index_idf(keyword_index: DocumentFrequencies) -> Idf:
    """IDF of a stem from the BM25 index's document frequencies, so a label word is "rare"
    in the same sense search weighs it (vectorstore.fusion.idf)."""
    documents = max(len(keyword_index), 1)
    cache: dict[str, float] = {}

    def weigh(token: str) -> float:
        if token not in cache:
            cache[token] = idf(keyword_index.document_frequency(token), documents)
        return cache[token]

    return weigh

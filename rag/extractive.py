"""The zero-config answerer: quote the most relevant sentences of the top papers' abstracts.

Without an LLM nothing may be paraphrased, so the answer is made of quotations, clearly
labelled as such. What makes it useful rather than an abstract dump is the selection: for each
of the best few papers, only the sentence that answers (the reader, vectorstore.reader, reads
the question with each sentence), with a neighbour when it answers too, cited as [n]. Without a
reader (PAPERCHAT_RERANKER=none) sentences are chosen by embedding similarity plus overlap
with the question's own words, which catches names and acronyms small embedding models blur;
only each paper's few best sentences by words are embedded, since embedding was nearly all of
a first answer's time.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.citations import CITATION_RE
from rag.models import Source
from vectorstore.errors import ReaderUnavailable
from vectorstore.reader import Reader, passage
from vectorstore.text import WORD_RE, is_filler, split_sentences, stem

log = logging.getLogger(__name__)

LEAD = "Extractive answer (no LLM configured) — quoted from the most relevant abstracts:"
MAX_PAPERS = 4
MAX_SENTENCES = 2
MAX_QUOTE_CHARS = 480
MAX_SENTENCE_CHARS = 360
KEYWORD_WEIGHT = 0.35
SPECIFIC_WEIGHT = 3.0  # numbers and names count three times an ordinary word
SPECIFIC_BONUS = 0.15  # ... and carrying all of the question's numbers and names adds this
SECOND_SENTENCE_MARGIN = 0.08  # a second sentence must score almost as well as the best
READER_SECOND_MARGIN = 0.1  # the same, on the reader's probability scale
SHORTLIST = 3  # sentences per paper embedded for cosine: the three best by shared words
# A paper after the first is quoted only when it is nearly as relevant as the top paper
# (Source.score, the retriever's calibrated relevance) and its best sentence nearly as good.
PAPER_KEEP_RATIO = 0.75
RELEVANCE_KEEP_RATIO = 0.5

# The abstract's own references ("[2]", "[ 2 ]", "[1—3]"): the very pattern the citation check
# reads, so nothing quoted can pass for a citation of ours.
_INLINE_REF_RE = re.compile(r"\s*" + CITATION_RE.pattern)
_URL_RE = re.compile(r"https?://\S+|\bgithub\.com/\S+", re.IGNORECASE)
_CONTRIBUTION_RE = re.compile(
    r"\b(?:we (?:propose|present|introduce|develop|show|find|demonstrate|achieve|release)"
    r"|this (?:paper|work) (?:proposes|presents|introduces)|our (?:method|model|approach))\b",
    re.IGNORECASE,
)


@dataclass
class Quote:
    """The sentences chosen from one source, in the abstract's order, and how well they fit."""

    source: Source
    sentences: list[str]
    score: float


def clean_sentence(sentence: str) -> str:
    """Drop the abstract's own bracketed references (they would read as our citations)."""
    sentence = _INLINE_REF_RE.sub("", sentence).strip()
    if len(sentence) > MAX_SENTENCE_CHARS:
        sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return sentence


def keywords(text: str) -> set[str]:
    """Content words, stemmed so 'models'/'modeling' meet 'model' (vectorstore.text)."""
    return {stem(w) for w in WORD_RE.findall(text.lower()) if not is_filler(w)}


def weighted_keywords(text: str) -> dict[str, float]:
    """Content words with a weight: numbers ("25.93") and names ("SymFace", "CLIP") are what a
    small embedding model blurs and what pins down the one sentence that answers."""
    weights: dict[str, float] = {}
    for word in WORD_RE.findall(text):
        if is_filler(word):
            continue
        specific = any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:])
        key = stem(word.lower())
        weights[key] = max(weights.get(key, 0.0), SPECIFIC_WEIGHT if specific else 1.0)
    return weights


def select_quotes(
    question: str,
    sources: Sequence[Source],
    scorer: SentenceScorer | Embeddings,
    *,
    max_papers: int = MAX_PAPERS,
    max_sentences: int = MAX_SENTENCES,
) -> list[Quote]:
    """For each of the top papers, its best one or two sentences; weak papers are left out.

    A paper far less relevant than the top one is left out before its sentences are scored:
    scoring is the answer's one real cost (a paper's first quote embeds every sentence)."""
    if not isinstance(scorer, SentenceScorer):
        scorer = SentenceScorer(scorer)
    candidates = [
        (source, split_sentences(source.abstract or source.snippet))
        for source in sources[:max_papers]
    ]
    candidates = _relevant_enough([(source, sents) for source, sents in candidates if sents])
    if not candidates:
        return []
    scores, by_reader = scorer.score(focus(question, sources), candidates)
    pick = _reader_sentences if by_reader else _best_sentences
    quotes = [
        pick(source, sents, own, max_sentences)
        for (source, sents), own in zip(candidates, scores, strict=True)
    ]
    best = max(q.score for q in quotes)
    first = quotes[0]
    return [first, *(q for q in quotes[1:] if q.score >= PAPER_KEEP_RATIO * best)]


def _relevant_enough(
    candidates: list[tuple[Source, list[str]]],
) -> list[tuple[Source, list[str]]]:
    """The first paper, and those after it nearly as relevant as the most relevant one."""
    if not candidates:
        return []
    top = max(source.score for source, _ in candidates)
    first, *rest = candidates
    return [first, *(c for c in rest if c[0].score >= RELEVANCE_KEEP_RATIO * top)]


class SentenceScorer:
    """How sentences are scored for quoting: by the reader when there is one (it reads the
    question with each sentence, so it tells the sentence that answers from the background
    sentence that restates the question), else by embedding cosine plus shared words."""

    def __init__(self, embedder: Embeddings, reader: Reader | None = None) -> None:
        self.embedder = embedder
        self.reader = reader

    def score(
        self, question: str, candidates: Sequence[tuple[Source, list[str]]]
    ) -> tuple[list[np.ndarray], bool]:
        """Per source, one score per sentence; and whether the reader gave them."""
        sizes = [len(sents) for _, sents in candidates]
        flat: list[float] | np.ndarray | None = None
        if self.reader is not None:
            texts = [passage(src.title, s) for src, sents in candidates for s in sents]
            try:
                flat = self.reader.score(question, texts)
            except ReaderUnavailable as exc:
                log.warning("%s; choosing quotes by embedding similarity", exc)
        bounds = np.cumsum([0, *sizes])
        if flat is None:
            sentences = [s for _, sents in candidates for s in sents]
            return self._embedding_scores(question, sentences, bounds), False
        values = np.asarray(flat, dtype=np.float32)
        return [values[a:b] for a, b in itertools.pairwise(bounds)], True

    def _embedding_scores(
        self, question: str, sentences: list[str], bounds: np.ndarray
    ) -> list[np.ndarray]:
        """Word scores for every sentence, plus cosine for each paper's SHORTLIST best by
        words; the rest cannot be quoted. Embedding a paper's sentences was nearly all of a
        first answer's time, and on the labelled detail questions the shortlist quoted the
        answering sentence as often as embedding every sentence (BENCHMARKS.md)."""
        words = _word_scores(question, sentences)
        chosen = [
            a + i
            for a, b in itertools.pairwise(bounds)
            for i in sorted(np.argsort(-words[a:b], kind="stable")[:SHORTLIST].tolist())
        ]
        values = np.full(len(sentences), -np.inf, dtype=np.float32)
        cosine = _cosines(question, [sentences[i] for i in chosen], self.embedder)
        values[chosen] = words[chosen] + cosine
        return [values[a:b] for a, b in itertools.pairwise(bounds)]


def _reader_sentences(
    source: Source, sentences: list[str], scores: np.ndarray, max_sentences: int
) -> Quote:
    """The answering sentence, plus a neighbour only when the reader rates it nearly as high:
    a short contiguous passage, never a run of background."""
    best = int(np.argmax(scores))
    chosen = [best]
    for i in (best - 1, best + 1):
        near = 0 <= i < len(sentences) and len(chosen) < max_sentences
        good = near and scores[i] >= max(0.5, scores[best] - READER_SECOND_MARGIN)
        if good and len(sentences[best]) + len(sentences[i]) <= MAX_QUOTE_CHARS:
            chosen.append(i)
    chosen.sort()
    return Quote(
        source=source,
        sentences=[clean_sentence(sentences[i]) for i in chosen],
        score=float(scores[best]),
    )


def focus(question: str, sources: Sequence[Source]) -> str:
    """The question without paper titles a follow-up rewrite put in ('Which dataset did "T"
    use?'): a title matches every sentence of its own paper and would drown what is asked."""
    for source in sources:
        question = question.replace(f'(about "{source.title}")', "")
        question = question.replace(f'"{source.title}"', "the paper")
    return question.strip()


def _cosines(question: str, sentences: list[str], embedder: Embeddings) -> np.ndarray:
    """Cosine of each sentence to the question."""
    q_vec = np.asarray(embedder.embed_query(question), dtype=np.float32)
    s_vecs = sentence_vectors(embedder, sentences)  # a new array: normalised in place
    q_vec /= np.linalg.norm(q_vec) or 1.0
    s_vecs /= np.where((n := np.linalg.norm(s_vecs, axis=1, keepdims=True)) == 0, 1.0, n)
    return s_vecs @ q_vec


def _word_scores(question: str, sentences: list[str]) -> np.ndarray:
    """Bonuses for shared words (more for the question's numbers and names), and small
    nudges: up for stated contributions, down for bare links. Cosine is added to these."""
    q_words = weighted_keywords(question)
    q_total = sum(q_words.values())
    q_specific = {w for w, weight in q_words.items() if weight > 1.0}
    asks_for_code = bool(re.search(r"\b(code|github|repo|release|available)\b", question, re.I))
    scores = []
    for sentence in sentences:
        shared = q_words.keys() & keywords(sentence)
        overlap = sum(q_words[w] for w in shared) / q_total if q_total else 0.0
        specific = len(shared & q_specific) / len(q_specific) if q_specific else 0.0
        score = KEYWORD_WEIGHT * overlap + SPECIFIC_BONUS * specific
        if _CONTRIBUTION_RE.search(sentence):
            score += 0.05
        if _URL_RE.search(sentence) and not asks_for_code:
            score -= 0.2
        scores.append(score)
    return np.asarray(scores, dtype=np.float32)


def _best_sentences(
    source: Source, sentences: list[str], scores: np.ndarray, max_sentences: int
) -> Quote:
    order = np.argsort(-scores)
    chosen = [int(order[0])]
    for i in order[1:max_sentences]:
        fits = len(sentences[chosen[0]]) + len(sentences[int(i)]) <= MAX_QUOTE_CHARS
        if scores[i] >= scores[order[0]] - SECOND_SENTENCE_MARGIN and fits:
            chosen.append(int(i))
    chosen.sort()
    return Quote(
        source=source,
        sentences=[clean_sentence(sentences[i]) for i in chosen],
        score=float(scores[order[0]]),
    )


LEAD_PIECE = LEAD + "\n\n"


def bullet(quote: Quote) -> str:
    """One quoted paper: its title, its citation and the chosen sentences."""
    return f"- **{quote.source.title}** [{quote.source.number}]: {' '.join(quote.sentences)}\n"


def compose(quotes: Sequence[Quote]) -> list[str]:
    """The answer as pieces (lead line, then one bullet per paper) so it can be streamed."""
    return [LEAD_PIECE, *(bullet(q) for q in quotes)]


def extractive_answer(
    question: str, sources: Sequence[Source], embedder: SentenceScorer | Embeddings
) -> list[str]:
    """Pieces of a cited, quoted answer to `question` from `sources` (joined: the full text)."""
    return compose(select_quotes(question, sources, embedder))


def stream_extractive_answer(
    question: str, sources: Sequence[Source], embedder: SentenceScorer | Embeddings
) -> Iterator[str]:
    """The same pieces, the lead line first: it goes out before the sentences are embedded
    (the only slow part), so a chat shows the answer starting at once."""
    yield LEAD_PIECE
    for quote in select_quotes(question, sources, embedder):
        yield bullet(quote)


class SentenceCache(Embeddings):
    """Remembers sentence vectors, by sentence text: follow-up questions in a chat hit the
    same papers again, and embedding their sentences is the extractive answerer's only real
    cost (benchmarks/bench_ask.py: most of a first answer's time; nothing on a repeat).

    Vectors are kept as float32 arrays, 1.6 KiB each for 384 dimensions: as lists of Python
    floats (what Embeddings return, 12.6 KiB each) the 20,000 entries took 245 MiB, not 32.
    The values are the embedder's own, so a quote is chosen as without the cache."""

    def __init__(self, embedder: Embeddings, max_entries: int = 20_000) -> None:
        self.embedder = embedder
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def matrix(self, texts: list[str]) -> np.ndarray:
        """One float32 row per text, embedding only the texts not seen before."""
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = np.asarray(self.embedder.embed_documents(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[text] = known[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.matrix(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def sentence_vectors(embedder: Embeddings, sentences: list[str]) -> np.ndarray:
    """The sentences' vectors as one float32 matrix, from the cache when there is one."""
    if isinstance(embedder, SentenceCache):
        return embedder.matrix(sentences)
    return np.asarray(embedder.embed_documents(sentences), dtype=np.float32)

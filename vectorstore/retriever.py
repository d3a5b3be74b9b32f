"""Hybrid paper search: dense (Chroma) + BM25, fused, one hit per paper with its best chunks.

One query does:
1. embed the question; fetch the best `depth` chunks from Chroma and from BM25;
2. apply filters (see "Filters" below);
3. group chunks by paper (a paper scores its best chunk) and take the union of both
   retrievers' top papers as candidates;
4. score every candidate exactly by BOTH retrievers (chunks the other retriever did not fetch
   are scored from their stored vectors / BM25), so the fusion never guesses a missing score,
   and by its coverage of the question's words (title and all chunks);
5. rank by standardised fusion of the three scores and attach a calibrated `relevance`
   (vectorstore.fusion);
6. where the reader has judging constants fitted for it, the returned papers' relevance is
   its judgement instead (vectorstore.judge);
7. return one LangChain Document per paper, best first.

Filters: Chroma's `where` pre-filter costs 90-170 ms at 85k chunks against ~9 ms unfiltered,
so by default ("auto") a filter that passes few chunks (an org's papers) has those chunks
scored exactly from their stored vectors; otherwise we over-fetch unfiltered chunks, as many
as the filter's share of the index says will leave about `depth` passing, and keep those whose
paper passes (judged from the catalog's columns, vectorstore.filters). Only when too few
papers survive do we fall back to the `where` query. The BM25 side is
post-filtered the same way, falling back to a mask of the allowed chunks. All paths give the
same papers; `filter_strategy` forces one for benchmarks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import numpy as np
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict

from vectorstore import fusion
from vectorstore.catalog import ChunkRow
from vectorstore.defaults import RERANK_TOP_N
from vectorstore.documents import PaperDoc, paper_of
from vectorstore.filters import FilterColumns, SearchFilters
from vectorstore.judge import judged, load_judge
from vectorstore.keyword_index import KeywordIndex
from vectorstore.reader import Reader
from vectorstore.rerank import rerank as reranked
from vectorstore.rerank import weight_for
from vectorstore.text import STOPWORDS, index_terms, stem, topic_of

Mode = Literal["hybrid", "dense", "bm25"]
FilterStrategy = Literal["auto", "post", "where"]

DEPTH = 100  # chunks fetched from each retriever, and papers taken from each into the pool
OVERFETCH = 5  # with filters: unfiltered chunks fetched per chunk wanted, before falling back
BM25_FETCH = 1000  # BM25 chunks scored per query (all of them on small indexes)
# Measured at 85k chunks: reading N stored vectors back costs about 0.04 ms each (300: 12 ms);
# an unfiltered nearest-N costs 6 ms for 500 and 25 ms for 4,000.
EXACT_CHUNKS = 300  # a filter passing at most this many chunks scores them all exactly
MAX_FETCH = 4000  # else over-fetch enough for ~DEPTH passing chunks, at most this many
EVIDENCE_CHUNKS = 2


@dataclass
class Candidate:
    """One paper's evidence for one query, while search scores it; never leaves this module.

    `fused` is the rank score (z-score fusion, comparable only within one query); `relevance`
    is the calibrated, pool-independent probability-like score that results call `score`."""

    paper_id: str
    dense: float = 0.0
    bm25: float = 0.0
    chunk_dense: dict[str, float] = field(default_factory=dict)
    chunk_bm25: dict[str, float] = field(default_factory=dict)
    coverage: float = 0.0
    fused: float = 0.0
    relevance: float = 0.0


class SearchStore(Protocol):
    """What search reads from an index (vectorstore.paper_store.PaperStore implements it).

    Search depends on this and nothing else, so the way an index is kept (catalog, Chroma,
    locks) can change without touching the algorithm, and a test can search a fake store.
    Implementations raise PaperchatError subclasses (e.g. StoreUnavailable), never transport
    errors."""

    keywords: KeywordIndex

    def embed_query(self, text: str) -> np.ndarray: ...

    def nearest(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]: ...

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]: ...

    def chunks(self, paper_ids: Iterable[str]) -> list[ChunkRow]: ...

    def papers(self, paper_ids: Iterable[str] | None = None) -> dict[str, PaperDoc]: ...

    def paper_metadata(self) -> dict[str, dict[str, Any]]: ...


class PaperSearch:
    """The search algorithm over one SearchStore (dense + BM25 + coverage, then the reader).

    `reader` re-reads the top `rerank_top_n` fused papers (vectorstore.rerank); None: fusion
    order only."""

    def __init__(
        self, store: SearchStore, reader: Reader | None = None, rerank_top_n: int = RERANK_TOP_N
    ):
        self.store = store
        self.reader = reader
        self.judge = load_judge(reader)  # relevance by the reader, where fitted for it
        self.rerank_top_n = rerank_top_n
        self._columns: tuple[str, FilterColumns] | None = None  # (index signature, columns)
        self._columns_lock = threading.Lock()

    # --- public --------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        *,
        mode: Mode = "hybrid",
        depth: int = DEPTH,
        filter_strategy: FilterStrategy = "auto",
        rerank: bool = True,
    ) -> list[Document]:
        """Papers for `query`, best first, at most `k`, one Document per paper.

        With a reader that may rank (and `rerank`), the top `rerank_top_n` fused papers are
        re-read and re-ordered (vectorstore.rerank says which readers, and why)."""
        if not query or not query.strip() or k <= 0:
            return []
        filters = filters if filters is not None and filters.active else None
        question, query = query, topic_of(query)  # search reads the topic; the reader, all
        qvec = self.store.embed_query(query)
        pool: dict[str, Candidate] = {}
        if mode in ("hybrid", "dense"):
            dense = self._dense_chunks(qvec, depth, k, filters, filter_strategy)
            _add(pool, dense, "dense", depth)
        if mode in ("hybrid", "bm25"):
            keyword = self._bm25_chunks(query, k, filters, filter_strategy)
            _add(pool, keyword, "bm25", depth)
        if not pool:
            return []
        lexical = _LexicalEvidence(self.store.keywords, query)
        self._score_exactly(pool, qvec, lexical)
        reader = self.reader if rerank and mode == "hybrid" else None
        weight = weight_for(reader, self.judge)
        depth_read = max(k, self.rerank_top_n) if weight > 0 else k
        docs = self._documents(self._rank(pool, mode)[:depth_read], lexical)
        if reader is not None and weight > 0:
            docs = reranked(question, docs, reader, self.rerank_top_n, weight)
        return self._judged(question, docs[:k], mode)

    def similar(self, paper_id: str, k: int = 5) -> list[Document]:
        """Papers closest to `paper_id` (mean of its chunk vectors), itself excluded."""
        rows = self.store.chunks([paper_id])
        stored = self.store.vectors([r.chunk_id for r in rows])
        if not stored:
            return []
        qvec = np.mean(list(stored.values()), axis=0)
        qvec /= np.linalg.norm(qvec) or 1.0
        pool: dict[str, Candidate] = {}
        hits = self.store.nearest(qvec, DEPTH + len(rows), None)
        _add(pool, hits, "dense", DEPTH)
        pool.pop(paper_id, None)
        for cand in pool.values():
            cand.fused = cand.dense
            cand.relevance = max(0.0, min(1.0, cand.dense))
        ranked = sorted(pool.values(), key=lambda c: -c.fused)[:k]
        return self._documents(ranked, None)

    def score_papers(self, query: str, paper_ids: Iterable[str]) -> list[Document]:
        """Exactly these papers scored for `query`, by relevance, best first: no retrieval.

        For a saved question asked of the papers an index run just added: search would meet
        them only if they made its candidate pool (the top chunks of the whole index), yet a
        new paper can clear the answer threshold while a hundred older chunks are closer.
        The relevance is the one search gives the same paper (cosine, coverage, unseen)."""
        pool = {pid: Candidate(pid) for pid in dict.fromkeys(paper_ids)}
        if not pool or not query.strip():
            return []
        question, query = query, topic_of(query)
        qvec = self.store.embed_query(query)
        lexical = _LexicalEvidence(self.store.keywords, query)
        self._score_exactly(pool, qvec, lexical)
        for cand in pool.values():
            cand.fused = fusion.relevance(cand.dense, cand.coverage, lexical.unseen)
        docs = self._judged(question, self._documents(list(pool.values()), lexical), "hybrid")
        return sorted(docs, key=lambda d: (-d.metadata["relevance"], d.metadata["paper_id"]))

    def _judged(self, question: str, docs: list[Document], mode: Mode) -> list[Document]:
        """`docs` with the judge's relevance where this reader has one (vectorstore.judge);
        hybrid search only, as the reader reads only there."""
        if self.judge is None or self.reader is None or mode != "hybrid" or not docs:
            return docs
        return judged(question, docs, self.reader, self.judge)

    # --- dense ---------------------------------------------------------------------------
    def _dense_chunks(
        self,
        qvec: np.ndarray,
        depth: int,
        k: int,
        filters: SearchFilters | None,
        strategy: FilterStrategy,
    ) -> list[tuple[str, float]]:
        if filters is None:
            return self.store.nearest(qvec, depth, None)
        if strategy == "where":
            return self._dense_where(qvec, depth, filters)
        fetch = depth * OVERFETCH
        if strategy == "auto":
            columns = self._filter_columns()
            passing, allowed = self.store.keywords.chunks_of(
                lambda ids: columns.mask_of(ids, filters), at_most=EXACT_CHUNKS
            )
            if passing <= EXACT_CHUNKS:
                return self._dense_exact(qvec, allowed, depth)
            share = passing / max(len(self.store.keywords), 1)
            fetch = int(min(MAX_FETCH, max(fetch, depth / share)))  # ~depth chunks pass
        fetched = self.store.nearest(qvec, fetch, None)
        kept = self._passing(fetched, filters)
        exhausted = len(fetched) < fetch  # we saw every chunk there is
        if strategy == "post" or exhausted or _papers(kept) >= k:
            return kept[:depth]
        return self._dense_where(qvec, depth, filters)

    def _dense_exact(
        self, qvec: np.ndarray, chunk_ids: list[str], depth: int
    ) -> list[tuple[str, float]]:
        """The `depth` best of these chunks by cosine, from their stored vectors: for a
        filter so selective that an over-fetch would find too few and Chroma's `where` would
        scan the whole collection (an org's few papers among 40,000)."""
        stored = self.store.vectors(chunk_ids)
        if not stored:
            return []
        ids = list(stored)
        scores = np.stack(list(stored.values())) @ qvec
        return [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")[:depth]]

    def _dense_where(
        self, qvec: np.ndarray, depth: int, filters: SearchFilters
    ) -> list[tuple[str, float]]:
        where = filters.chroma_where(self._filter_columns().matching_orgs(filters))
        return self.store.nearest(qvec, depth, where)

    def _passing(
        self, hits: list[tuple[str, float]], filters: SearchFilters
    ) -> list[tuple[str, float]]:
        """The hits whose paper passes `filters`, judged from the paper table's columns."""
        if not hits:
            return []
        passed = self._filter_columns().passes([paper_of(c) for c, _ in hits], filters)
        return [hit for hit, ok in zip(hits, passed, strict=True) if ok]

    # --- BM25 ----------------------------------------------------------------------------
    def _bm25_chunks(
        self, query: str, k: int, filters: SearchFilters | None, strategy: FilterStrategy
    ) -> list[tuple[str, float]]:
        keywords = self.store.keywords
        text = query  # the index's own tokenizer; dropping question words measured worse
        if filters is None:
            return keywords.search(text, k=BM25_FETCH)
        if strategy != "where":
            found = keywords.search(text, k=BM25_FETCH)
            kept = self._passing(found, filters)
            if strategy == "post" or len(found) < BM25_FETCH or _papers(kept) >= k:
                return kept
        columns = self._filter_columns()
        return keywords.search(
            text, k=BM25_FETCH, papers=lambda paper_ids: columns.mask_of(paper_ids, filters)
        )

    # --- scoring ---------------------------------------------------------------------------
    def _score_exactly(
        self, pool: dict[str, Candidate], qvec: np.ndarray, lexical: _LexicalEvidence
    ) -> None:
        """Give every candidate all three scores over ALL its chunks: dense from stored vectors,
        BM25 from the full BM25 ranking (an unranked chunk scores 0), coverage from its text.

        Chunk ids and their words come from the keyword index; only a paper it does not hold
        yet (an index run between writing Chroma and the keyword index) is read from the
        catalog, with its chunk texts."""
        keywords = self.store.keywords
        chunk_ids = keywords.chunks_by_paper(pool)
        unkeyed = self.store.chunks([pid for pid in pool if pid not in chunk_ids])
        for row in unkeyed:
            chunk_ids.setdefault(row.paper_id, []).append(row.chunk_id)
        missing = [
            c for pid, ids in chunk_ids.items() for c in ids if c not in pool[pid].chunk_dense
        ]
        for cid, vec in self.store.vectors(missing).items():
            pool[paper_of(cid)].chunk_dense[cid] = float(vec @ qvec)
        words: dict[str, set[str]] = {}
        held = keywords.terms_held([c for ids in chunk_ids.values() for c in ids], lexical.weights)
        for row in unkeyed:
            held.setdefault(row.chunk_id, set(index_terms(row.document)))
        for pid, ids in chunk_ids.items():
            for cid in ids:
                pool[pid].chunk_bm25.setdefault(cid, 0.0)
                words.setdefault(pid, set()).update(held.get(cid, ()))
        for cand in pool.values():
            cand.coverage = lexical.coverage(words.get(cand.paper_id, set()))
            cand.dense = max(cand.chunk_dense.values(), default=0.0)
            cand.bm25 = max(cand.chunk_bm25.values(), default=0.0)

    def _rank(self, pool: dict[str, Candidate], mode: Mode) -> list[Candidate]:
        if mode == "dense":
            fused = {pid: c.dense for pid, c in pool.items()}
        elif mode == "bm25":
            fused = {pid: c.bm25 for pid, c in pool.items()}
        else:
            fused = fusion.fuse(
                {pid: c.dense for pid, c in pool.items()},
                {pid: c.bm25 for pid, c in pool.items()},
                {pid: c.coverage for pid, c in pool.items()},
            )
        for pid, value in fused.items():
            pool[pid].fused = value
        return sorted(pool.values(), key=lambda c: (-c.fused, -c.dense, c.paper_id))

    # --- results ---------------------------------------------------------------------------
    def _documents(
        self, ranked: Sequence[Candidate], lexical: _LexicalEvidence | None
    ) -> list[Document]:
        papers = self.store.papers([c.paper_id for c in ranked])
        rows = self.store.chunks([c.paper_id for c in ranked])
        texts = {r.chunk_id: _chunk_text(r.document) for r in rows}
        docs = []
        for cand in ranked:
            paper = papers.get(cand.paper_id)
            if paper is None:  # removed between the query and now
                continue
            if lexical is not None:
                cand.relevance = fusion.relevance(cand.dense, cand.coverage, lexical.unseen)
            docs.append(_paper_document(cand, paper, _best_chunks(cand, texts), lexical))
        return docs

    def _filter_columns(self) -> FilterColumns:
        """Every indexed paper's filtered fields as arrays (vectorstore.filters.FilterColumns),
        rebuilt when the index changes: from the metadata alone (they were built from every
        paper's abstract too), by one thread while the others wait (each chat searching just
        after a re-index built its own copy)."""
        key = self.store.keywords.signature or ""
        built = self._columns
        if built is not None and built[0] == key:
            return built[1]
        with self._columns_lock:
            built = self._columns
            if built is None or built[0] != key:
                built = (key, FilterColumns(self.store.paper_metadata()))
                self._columns = built
            return built[1]


class _LexicalEvidence:
    """Per-query lexical features for relevance: IDF weights of the question's content words
    (from the BM25 index's document frequencies) and whether it names something unseen."""

    def __init__(self, keywords: KeywordIndex, query: str):
        documents = len(keywords)
        df = keywords.document_frequency

        self.weights = {
            t: fusion.idf(df(t), max(documents, 1)) for t in dict.fromkeys(index_terms(query))
        }
        self.unseen = fusion.has_unseen_name(
            query,
            lambda part: len(part) < 2 or part in STOPWORDS or df(stem(part)) > 0,
        )

    def coverage(self, paper_words: set[str]) -> float:
        return fusion.coverage(self.weights, paper_words)


def _paper_document(
    cand: Candidate, paper: PaperDoc, evidence: list[str], lexical: _LexicalEvidence | None
) -> Document:
    """One search result: PaperHit's fields as metadata (`score` = relevance, see
    HybridRetriever), plus the ranking signals under their own names."""
    meta = paper.metadata
    relevance = round(cand.relevance, 6)
    return Document(
        id=cand.paper_id,
        page_content=evidence[0] if evidence else paper.abstract,
        metadata={
            "paper_id": cand.paper_id,
            "title": paper.title,
            "score": relevance,
            "relevance": relevance,  # the name evaluation and benchmarks read
            "published": meta.get("published"),
            "org": meta.get("org"),
            "upvotes": meta.get("upvotes"),
            "authors_count": meta.get("authors_count"),
            "dumps": list(meta.get("dumps") or []),
            "captured": meta.get("captured"),
            "published_inferred": bool(meta.get("published_inferred", False)),
            "abstract": paper.abstract,
            "evidence": evidence,
            "fused_score": round(cand.fused, 6),
            "dense_score": round(cand.dense, 6),
            "bm25_score": round(cand.bm25, 6),
            "coverage": round(cand.coverage, 6),
            "unseen_name": bool(lexical is not None and lexical.unseen),
        },
    )


def _add(
    pool: dict[str, Candidate], hits: Sequence[tuple[str, float]], side: str, depth: int
) -> None:
    """Group chunk hits by paper and add the first `depth` papers of this retriever."""
    papers: list[str] = []
    for chunk_id, score in hits:
        pid = paper_of(chunk_id)
        if pid not in pool:
            if len(papers) >= depth:
                continue
            pool[pid] = Candidate(pid)
        if pid not in papers:
            papers.append(pid)
        target = pool[pid].chunk_dense if side == "dense" else pool[pid].chunk_bm25
        target[chunk_id] = max(score, target.get(chunk_id, score))


def _papers(hits: Sequence[tuple[str, float]]) -> int:
    return len({paper_of(c) for c, _ in hits})


def _chunk_text(document: str) -> str:
    """Stored documents are `title\\nchunk text`; evidence is the chunk text."""
    return document.split("\n", 1)[1] if "\n" in document else document


def _best_chunks(cand: Candidate, texts: dict[str, str]) -> list[str]:
    """The paper's chunks most related to the query: dense similarity plus BM25 share."""
    top_bm25 = max(cand.chunk_bm25.values(), default=0.0) or 1.0
    chunk_ids = set(cand.chunk_dense) | set(cand.chunk_bm25)
    order = sorted(
        chunk_ids,
        key=lambda c: -(cand.chunk_dense.get(c, 0.0) + cand.chunk_bm25.get(c, 0.0) / top_bm25),
    )
    return [texts[c] for c in order if c in texts][:EVIDENCE_CHUNKS]


class HybridRetriever(BaseRetriever):
    """LangChain retriever over a PaperSearch: one Document per paper, best first.

    This is what ResearchAssistant's chain retrieves with, and what a user may put in a
    pipeline of their own. Each Document has `id` = paper_id, the best evidence chunk as
    `page_content`, and PaperHit's fields as metadata (`score` is the calibrated relevance in
    [0, 1], as in PaperHit), plus the ranking signals (`fused_score`, `dense_score`,
    `bm25_score`, `coverage`). `k` and `filters` are defaults; a call may override them:
    `retriever.invoke(question, k=3, filters={"since": "2025-01-01"})`.
    `mode` "dense" / "bm25" give the single-retriever baselines.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search_engine: PaperSearch
    k: int = 5
    filters: SearchFilters | None = None
    mode: Mode = "hybrid"
    filter_strategy: FilterStrategy = "auto"

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: SearchFilters | Mapping[str, Any] | None = None,
    ) -> list[Document]:
        return self._search(query, k, filters)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: SearchFilters | Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """The search is CPU and local I/O: run it off the event loop (the base class would
        too, but would drop `k` and `filters`)."""
        return await run_in_executor(None, self._search, query, k, filters)

    def _search(
        self, query: str, k: int | None, filters: SearchFilters | Mapping[str, Any] | None
    ) -> list[Document]:
        return self.search_engine.search(
            query,
            self.k if k is None else k,
            self.filters if filters is None else as_filters(filters),
            mode=self.mode,
            filter_strategy=self.filter_strategy,
        )


def as_filters(value: SearchFilters | Mapping[str, Any] | None) -> SearchFilters | None:
    """Filters as given to the retriever: a SearchFilters, or a mapping of its fields with
    dates as `date` or ISO strings (what a user writes in a JSON-ish chain input)."""
    if value is None or isinstance(value, SearchFilters):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"filters must be SearchFilters or a mapping, got {type(value).__name__}")
    fields = dict(value)
    for key in ("since", "until"):
        if isinstance(fields.get(key), str):
            fields[key] = date.fromisoformat(fields[key])
    return SearchFilters(**fields)

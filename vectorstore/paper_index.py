"""`PaperIndex`: the one object rag uses to store, update and inspect the paper index.

It ties together the catalog (source of truth, `<home>/catalog.sqlite3`), the Chroma collection
(`<home>/chroma` or a server), the BM25 index (`<home>/bm25/`) and the write lock
(`<home>/index.lock`). See indexer.py for how a sync stays incremental and crash-safe.
Search lives with the retrieval code (vectorstore.retriever) and reads the index only through
a `PaperStore` (vectorstore.paper_store), whose calls run under the Chroma guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from vectorstore import defaults
from vectorstore.catalog import Catalog, DumpRecord
from vectorstore.chroma_store import (
    DIMENSION_KEY,
    MODEL_KEY,
    ChromaStore,
    connect,
)
from vectorstore.chunking import Chunker
from vectorstore.documents import PaperDoc
from vectorstore.embeddings import as_embedder
from vectorstore.filters import SearchFilters
from vectorstore.indexer import Indexer, Progress, SyncReport
from vectorstore.keyword_index import KeywordIndex
from vectorstore.locking import WriteLock
from vectorstore.paper_store import PaperStore
from vectorstore.paper_vectors import paper_vectors
from vectorstore.reader import Reader
from vectorstore.retriever import HybridRetriever, PaperSearch

__all__ = ["DumpRecord", "IndexStats", "PaperIndex", "SyncReport"]


@dataclass(frozen=True)
class IndexStats:
    """What `paperchat stats` shows. `store` is the Chroma path or server URL."""

    papers: int
    chunks: int
    dumps: list[DumpRecord] = field(default_factory=list)
    embedding_model: str = ""
    dimension: int | None = None
    store: str = ""
    published_min: str | None = None
    published_max: str | None = None
    keyword_chunks: int = 0


class PaperIndex:
    """Facade over catalog + Chroma + BM25 for one data directory.

    `embedder` is the project's Embedder or any LangChain `Embeddings`; the collection records
    its name and dimension and refuses to be searched or extended by another model."""

    def __init__(
        self,
        home: Path,
        *,
        embedder: Embeddings,
        chroma_url: str | None = None,
        chroma_timeout: float = defaults.CHROMA_TIMEOUT,
        collection: str = defaults.COLLECTION,
        chunk_tokens: int = defaults.CHUNK_TOKENS,
        chunk_overlap_tokens: int = defaults.CHUNK_OVERLAP_TOKENS,
        add_batch_size: int = 64,
        reader: Reader | None = None,
        rerank_top_n: int = defaults.RERANK_TOP_N,
    ):
        self.home = Path(home).expanduser()
        self.home.mkdir(parents=True, exist_ok=True)
        # Any LangChain Embeddings: wrapped so the chunker can count tokens and the model guard
        # has a name (vectorstore.embeddings.LangChainEmbedder).
        self.embedder = embedder = as_embedder(embedder)
        self.chroma_url = chroma_url
        self.collection_name = collection
        # StoreUnavailable if down; chroma_timeout bounds every request to a server.
        client, self.location = connect(self.home, chroma_url, chroma_timeout)
        self.store = ChromaStore(client, collection, self.location, chroma_timeout)
        self.catalog = Catalog(self.home / "catalog.sqlite3")
        self.keyword_index = KeywordIndex(self.home / "bm25", rows=self._chunk_texts)
        self.chunker = Chunker(embedder, chunk_tokens, chunk_overlap_tokens)
        self.indexer = Indexer(
            self.catalog, self.store, self.keyword_index, self.chunker, embedder, add_batch_size
        )
        self.paper_store = PaperStore(self.store, self.catalog, self.keyword_index, embedder)
        # The reader (vectorstore.reader) re-reads the top fused papers; None: fusion only.
        self.searcher = PaperSearch(self.paper_store, reader, rerank_top_n)
        self._lock = WriteLock(self.home)

    # --- for the retriever -----------------------------------------------------------------
    @property
    def collection(self) -> Collection:
        """The Chroma collection, checked against the embedder (EmbeddingModelMismatch)."""
        return self.paper_store.collection

    def papers(self) -> dict[str, PaperDoc]:
        """Every indexed paper, from the catalog (incl. catalog-only metadata such as dumps)."""
        return self.catalog.papers()

    def paper_metadata(self) -> dict[str, dict[str, Any]]:
        """Every indexed paper's metadata, without the abstracts (a third of the memory)."""
        return self.catalog.paper_metadata()

    def paper_ids(self) -> set[str]:
        return self.catalog.paper_ids()

    def get_papers(self, paper_ids: Iterable[str]) -> dict[str, PaperDoc]:
        """Just these papers: cheaper than papers() when answering one query."""
        return self.catalog.papers(paper_ids)

    def dumps(self) -> list[DumpRecord]:
        return self.catalog.dumps()

    # --- search (the algorithm lives in vectorstore/retriever.py) ---------------------------
    def retriever(self, k: int = 5, filters: SearchFilters | None = None) -> HybridRetriever:
        """A LangChain retriever returning one Document per paper (see retriever.py)."""
        return HybridRetriever(search_engine=self.searcher, k=k, filters=filters)

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None
    ) -> list[Document]:
        """Hybrid search: one Document per paper, best first, with score and relevance."""
        return self.searcher.search(query, k, filters)

    def similar(self, paper_id: str, k: int = 5) -> list[Document]:
        """Papers nearest to an indexed paper, itself excluded."""
        return self.searcher.similar(paper_id, k)

    def score_papers(self, query: str, paper_ids: Iterable[str]) -> list[Document]:
        """These papers' relevance to `query`, best first (saved questions on new papers)."""
        return self.searcher.score_papers(query, paper_ids)

    def paper_vectors(self, paper_ids: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(paper ids, mean chunk vector of each) from Chroma: topics without re-embedding."""
        return paper_vectors(self.paper_store, paper_ids)

    # --- writing ---------------------------------------------------------------------------
    @contextmanager
    def write_lock(self, timeout: float = 0) -> Iterator[None]:
        """Exclusive right to write this data directory; IndexBusyError if another run has it."""
        with self._lock.hold(timeout):
            yield

    def sync(
        self,
        docs: Iterable[PaperDoc],
        *,
        remove_ids: Iterable[str] = (),
        dumps: Iterable[DumpRecord] = (),
        progress: Progress | None = None,
        lock_timeout: float = 0,
    ) -> SyncReport:
        """Make the index hold `docs` (added/updated as needed) minus `remove_ids`.

        Papers not mentioned are kept (dumps are partial views); unchanged papers cost no
        embedding. Safe to interrupt: the next sync finishes what a killed one started."""
        with self.write_lock(lock_timeout):
            self.paper_store.forget_collection()
            return self.indexer.sync(docs, remove_ids=remove_ids, dumps=dumps, progress=progress)

    def rebuild(self, progress: Progress | None = None, lock_timeout: float = 0) -> SyncReport:
        """Re-embed every indexed paper with the current embedder and chunk settings."""
        with self.write_lock(lock_timeout):
            self.paper_store.forget_collection()
            return self.indexer.rebuild(progress)

    def _chunk_texts(self) -> tuple[list[str], list[str]]:
        """Every chunk id and document, from the catalog: what BM25 indexes."""
        rows = self.catalog.chunks()
        return [r.chunk_id for r in rows], [r.document for r in rows]

    # --- inspection ------------------------------------------------------------------------
    def stats(self) -> IndexStats:
        """Counts and configuration; works even when the configured model does not match."""
        existing = self.store.existing()
        meta = (existing.metadata or {}) if existing is not None else {}
        low, high = self.catalog.published_range()
        dimension = meta.get(DIMENSION_KEY)
        return IndexStats(
            papers=self.catalog.count_papers(),
            chunks=self.store.count(existing) if existing is not None else 0,
            dumps=self.catalog.dumps(),
            embedding_model=str(meta.get(MODEL_KEY, self.embedder.model_name)),
            dimension=int(dimension) if dimension is not None else self.embedder.dimension,
            store=self.location,
            published_min=low,
            published_max=high,
            keyword_chunks=self.keyword_index.count,
        )

    def verify(self) -> list[str]:
        """Inconsistencies between catalog, Chroma and BM25; empty when all agree."""
        return self.indexer.verify(self.collection)

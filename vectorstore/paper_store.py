"""`PaperStore`: the read side of one index, as search needs it and no more.

Search (vectorstore.retriever) must not know how the index is kept: it asks for the query
vector, the nearest chunks, stored vectors, chunk rows, papers and the keyword index. Every
call that reaches Chroma runs under the store's guard here, so a lost or timed-out server is
`StoreUnavailable` (a PaperchatError) for every caller, without wrappers around search.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from chromadb.api.models.Collection import Collection

from vectorstore.catalog import Catalog, ChunkRow
from vectorstore.chroma_store import ChromaStore
from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.keyword_index import KeywordIndex

ChunkHit = tuple[str, float]  # chunk id, cosine similarity


class PaperStore:
    """Catalog + Chroma collection + BM25 index + embedder, read-only, for one data dir."""

    def __init__(
        self, chroma: ChromaStore, catalog: Catalog, keywords: KeywordIndex, embedder: Embedder
    ):
        self.chroma = chroma
        self.catalog = catalog
        self.keywords = keywords
        self.embedder = embedder
        self._collection: Collection | None = None

    @property
    def collection(self) -> Collection:
        """The Chroma collection, checked against the embedder (EmbeddingModelMismatch) and
        against its owner: a collection another data directory writes is not searched from
        this one, whose catalog does not describe it (CollectionOwnedElsewhere; see
        vectorstore.chroma_store)."""
        if self._collection is None:
            collection = self.chroma.open(self.embedder)
            where = f"{self.catalog.path.parent} on {socket.gethostname()}"
            self.chroma.check_reader(collection, self.catalog.home_id(), where)
            self._collection = collection
        return self._collection

    def forget_collection(self) -> None:
        """Drop the cached collection: a writer may replace it (sync, rebuild)."""
        self._collection = None

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_query(text), dtype=np.float32)

    def nearest(self, vector: np.ndarray, n: int, where: dict[str, Any] | None) -> list[ChunkHit]:
        """The `n` chunks nearest to `vector` (cosine), optionally pre-filtered by `where`.

        Ids and distances only: search filters by paper from the catalog's columns, and
        reading 500 chunks' metadata back from Chroma's SQLite was most of a filtered query."""
        with self.chroma.guard():
            # No count() first: it cost 9 ms a query at 85k chunks, and Chroma returns fewer
            # than n (none for an empty collection) by itself.
            result = self.collection.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where=where,
                include=["distances"],
            )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        # cosine space: distance = 1 - cosine similarity
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(ids, distances, strict=True)]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these chunks (those that exist)."""
        if not chunk_ids:
            return {}
        with self.chroma.guard():
            got = self.collection.get(ids=list(chunk_ids), include=["embeddings"])
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        return dict(zip(got["ids"], matrix, strict=True))

    def chunks(self, paper_ids: Iterable[str]) -> list[ChunkRow]:
        return self.catalog.chunks(paper_ids)

    def papers(self, paper_ids: Iterable[str] | None = None) -> dict[str, PaperDoc]:
        """These papers (all of them when None), from the catalog."""
        return self.catalog.papers(paper_ids)

    def paper_metadata(self) -> dict[str, dict[str, Any]]:
        """Every paper's metadata, without reading its abstract."""
        return self.catalog.paper_metadata()

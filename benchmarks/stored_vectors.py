"""Vectors an existing index already holds, for benchmarks that build indexes of its papers.

The 3,000- and 10,000-distractor indexes of bench_retrieval/bench_reader/bench_relevance hold
the sample dumps plus corpus papers. Every corpus chunk is already embedded in the full-corpus
index (issue 11 builds it once, in over an hour), with the same model and chunker, so its
chunk texts are identical. `StoredVectors` hands those vectors back by text and lets the model
embed only the texts it lacks (the sample dumps'): the distractor indexes then build in
minutes, and what they hold is exactly what embedding would have produced.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vectorstore.defaults import COLLECTION
from vectorstore.embeddings import SentenceTransformerEmbedder, load_embedder

PAGE = 5_000


class StoredVectors(SentenceTransformerEmbedder):
    """The default embedder, answering from `source`'s stored vectors where the text matches."""

    def __init__(self, source: Path):
        model = load_embedder()
        super().__init__(model.model, model.model_name, model.batch_size)
        self.rows: dict[str, int] = {}
        self.matrix = self._read(source)
        self.hits = self.misses = 0

    def _read(self, source: Path) -> np.ndarray:
        import chromadb

        started = time.perf_counter()
        client = chromadb.PersistentClient(path=str(source / "chroma"))
        collection = client.get_collection(COLLECTION)
        parts, offset = [], 0
        while True:
            page = collection.get(include=["documents", "embeddings"], limit=PAGE, offset=offset)
            for j, text in enumerate(page["documents"]):
                self.rows.setdefault(text, offset + j)
            parts.append(np.asarray(page["embeddings"], dtype=np.float32))
            if len(page["ids"]) < PAGE:
                break
            offset += PAGE
        print(f"read {len(self.rows)} stored vectors in {time.perf_counter() - started:.0f}s")
        return np.concatenate(parts) if parts else np.zeros((0, self.dimension), np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float] | None] = [None] * len(texts)
        missing = []
        for i, text in enumerate(texts):
            row = self.rows.get(text)
            if row is None:
                missing.append(i)
            else:
                out[i] = self.matrix[row].tolist()
        if missing:
            vectors = super().embed_documents([texts[i] for i in missing])
            for i, vector in zip(missing, vectors, strict=True):
                out[i] = vector
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return out  # type: ignore[return-value]

"""One vector per paper, read from the vectors already stored in Chroma (nothing is re-embedded).

Topics (the digest's and the trends') group papers, not chunks, so each paper is the mean of
its chunk vectors, normalised, as `PaperSearch.similar` already treats it. Reading them back
costs a Chroma read, not an embedding run: 334 sample chunks take ~0.1 s, and an index of
the whole corpus is paged through in SCAN_PAGE-sized reads rather than asked for by id (one
`get` with 100k ids is one giant SQL query).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from vectorstore.documents import paper_of
from vectorstore.paper_store import PaperStore

SCAN_PAGE = 5000
ID_BATCH = 1000


def mean_vectors(
    chunk_ids: Sequence[str], vectors: np.ndarray, wanted: set[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """(paper ids sorted, their unit-length mean chunk vectors as rows)."""
    groups: dict[str, list[int]] = {}
    for row, chunk_id in enumerate(chunk_ids):
        paper = paper_of(chunk_id)
        if wanted is None or paper in wanted:
            groups.setdefault(paper, []).append(row)
    ids = sorted(groups)
    if not ids:
        return [], np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    matrix = np.stack([vectors[groups[p]].mean(axis=0) for p in ids]).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return ids, matrix / np.where(norms == 0, 1.0, norms)


def paper_vectors(
    store: PaperStore, paper_ids: Iterable[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Mean chunk vector of each paper (all indexed papers when `paper_ids` is None).

    Papers whose chunks are not in Chroma (an interrupted run) are left out."""
    if paper_ids is None:
        chunk_ids, vectors = _scan(store)
        return mean_vectors(chunk_ids, vectors)
    wanted = set(paper_ids)
    rows = store.chunks(sorted(wanted))
    ids = [r.chunk_id for r in rows]
    found: dict[str, np.ndarray] = {}
    for start in range(0, len(ids), ID_BATCH):
        found.update(store.vectors(ids[start : start + ID_BATCH]))
    if not found:
        return [], np.zeros((0, store.embedder.dimension), np.float32)
    kept = [c for c in ids if c in found]
    return mean_vectors(kept, np.stack([found[c] for c in kept]), wanted)


def _scan(store: PaperStore) -> tuple[list[str], np.ndarray]:
    """Every chunk id and vector in the collection, page by page."""
    chunk_ids: list[str] = []
    pages: list[np.ndarray] = []
    with store.chroma.guard():
        collection = store.collection
        offset = 0
        while True:
            page = collection.get(include=["embeddings"], limit=SCAN_PAGE, offset=offset)
            if page["ids"]:
                chunk_ids += page["ids"]
                pages.append(np.asarray(page["embeddings"], dtype=np.float32))
            if len(page["ids"]) < SCAN_PAGE:
                break
            offset += SCAN_PAGE
    if not pages:
        return [], np.zeros((0, store.embedder.dimension), np.float32)
    return chunk_ids, np.concatenate(pages)

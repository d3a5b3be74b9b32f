"""BM25 keyword index (bm25s) over the same chunk ids and documents as the Chroma collection.

Layout under `<home>/bm25/`: one directory per generation (`gen-*`, the bm25s files plus
`ids.json`, the chunk id of every BM25 row) and a small `CURRENT` file naming the live generation
and the catalog signature it was built from. A rebuild writes a new generation completely, then
swaps `CURRENT` with an atomic rename, so readers and crashed writers only ever see a whole index.
The signature lets the indexer notice an index left behind by a crash and rebuild it.

Documents and queries are tokenised by vectorstore.text.index_terms (lower-cased, stop words
dropped, Snowball-stemmed, so "models" finds "model"). `CURRENT` records which tokenizer built
the live generation: an index built by another one (an older release) is rebuilt in memory from
the catalog when loaded, so its rows and the queries always agree, and the indexer's signature
includes TOKENIZER, so the next sync writes the rebuilt index to disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import bm25s
import numpy as np

from vectorstore.text import index_terms

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
# Names the tokenizer below; change it whenever `tokenize` changes what it returns.
TOKENIZER = "text.index_terms-1"
Rows = tuple[list[str], list[str]]  # chunk ids, documents


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """The one tokenizer used for both documents and queries."""
    return [index_terms(text) for text in texts]


def _bm25(documents: Sequence[str]) -> bm25s.BM25:
    model = bm25s.BM25()
    model.index(tokenize(documents), show_progress=False)
    return model


class KeywordIndex:
    """Reads and (re)writes the BM25 index; reloads by itself when another process swapped it.

    `rows` gives every chunk id and document (the catalog's): used to rebuild, in memory, an
    index written by another tokenizer."""

    def __init__(self, root: Path, rows: Callable[[], Rows] | None = None):
        self.root = root
        self._rows = rows
        self._loaded_generation: str | None = None
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._positions: dict[str, int] = {}

    # --- state -----------------------------------------------------------------------------
    def _current(self) -> dict[str, str | int]:
        try:
            return json.loads((self.root / CURRENT).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    @property
    def signature(self) -> str | None:
        """Signature of the catalog state the live index was built from (None: no index)."""
        value = self._current().get("signature")
        return str(value) if value is not None else None

    @property
    def count(self) -> int:
        """Chunks in the live index, without loading it."""
        return int(self._current().get("chunks", 0))

    @property
    def ids(self) -> list[str]:
        """Chunk ids in BM25 row order."""
        self._refresh()
        return list(self._ids)

    def __len__(self) -> int:
        self._refresh()
        return len(self._ids)

    def _refresh(self, attempts: int = 3) -> None:
        """Load the live generation if it changed. A writer in another process may swap and
        delete a generation while we read it; then we simply read the newer one."""
        generation = str(self._current().get("generation", ""))
        if generation == self._loaded_generation:
            return
        try:
            ids, model = self._load(generation)
        except FileNotFoundError:
            if attempts <= 1:
                raise
            self._refresh(attempts - 1)
            return
        self._ids, self._model = ids, model
        self._positions = {chunk_id: i for i, chunk_id in enumerate(ids)}
        self._loaded_generation = generation

    def _load(self, generation: str) -> tuple[list[str], bm25s.BM25 | None]:
        if not generation:
            return [], None
        if self._current().get("tokenizer") != TOKENIZER and self._rows is not None:
            return self._rebuilt_in_memory()
        gen_dir = self.root / generation
        ids = json.loads((gen_dir / "ids.json").read_text(encoding="utf-8"))
        return ids, (bm25s.BM25.load(str(gen_dir)) if ids else None)

    def _rebuilt_in_memory(self) -> tuple[list[str], bm25s.BM25 | None]:
        """An index from an older tokenizer: query tokens would not match its rows."""
        assert self._rows is not None
        log.info("BM25 index was built by another tokenizer; rebuilding it in memory")
        ids, documents = self._rows()
        return list(ids), (_bm25(documents) if ids else None)

    # --- write -----------------------------------------------------------------------------
    def build(self, ids: Sequence[str], documents: Sequence[str], signature: str) -> None:
        """Index `documents` (row i is chunk `ids[i]`) and make it the live generation."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = f"gen-{time.time_ns()}-{os.getpid()}"
        gen_dir = self.root / generation
        tmp = self.root / f"{CURRENT}.{os.getpid()}.tmp"
        try:
            gen_dir.mkdir()
            if ids:
                _bm25(documents).save(str(gen_dir), show_progress=False)
            _write_durable(gen_dir / "ids.json", json.dumps(list(ids)))
            pointer = {
                "generation": generation,
                "signature": signature,
                "chunks": len(ids),
                "tokenizer": TOKENIZER,
            }
            _write_durable(tmp, json.dumps(pointer))
        except BaseException:
            # A full disk (or any failure) before the swap: give its space back at once; the
            # live generation is untouched and the next sync builds again.
            shutil.rmtree(gen_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.root / CURRENT)
        self._remove_stale(keep=generation)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._loaded_generation, self._model, self._ids, self._positions = None, None, [], {}

    def _remove_stale(self, keep: str) -> None:
        for path in self.root.iterdir():
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)

    # --- read ------------------------------------------------------------------------------
    def document_frequency(self, token: str) -> int:
        """Chunks holding `token` (already stemmed): the IDF that relevance scoring weighs
        question words by, read from the live BM25 matrix rather than counted again."""
        self._refresh()
        if self._model is None:
            return 0
        row = self._model.vocab_dict.get(token)
        if row is None:
            return 0
        indptr = self._model.scores["indptr"]
        return int(indptr[row + 1] - indptr[row])

    def search(
        self, query: str, k: int = 10, allowed: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Best `k` (chunk_id, bm25 score) pairs with a positive score; `allowed` restricts the
        candidates to those chunk ids (e.g. chunks that pass metadata filters)."""
        self._refresh()
        tokens = tokenize([query])[0]
        if self._model is None or not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self._ids), dtype=np.float32)
            rows = [self._positions[c] for c in allowed if c in self._positions]
            mask[rows] = 1.0
        scores = self._model.get_scores(tokens, weight_mask=mask)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self._ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _write_durable(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())

"""BM25 keyword index over the same chunk ids and documents as the Chroma collection, updated
by adding and dropping rows rather than rebuilt.

Why not bm25s's own index: it stores scores with the IDF and the average length folded in, so
one new dump means re-indexing every chunk (4.5 s for 76k chunks here, plus 5 s to tokenise
them again). This index stores what does not change when rows are added: each chunk's term
counts (a sparse row). IDF and length normalisation are applied at query time, over the few
query terms' postings, with the same formula as bm25s's default ("lucene", k1=1.5, b=0.75):
tests/test_keyword_index.py checks the scores against bm25s on the same documents.

Layout under `<home>/bm25/`: one directory per generation (`gen-*`: `counts.npz`, the sparse
term-count matrix; `terms.json`, its columns; `ids.json`, the chunk id of every row) and a small
`CURRENT` file naming the live generation and the catalog signature it was built from. An update
writes a new generation completely, then swaps `CURRENT` with an atomic rename, so readers and
crashed writers only ever see a whole index. The signature lets the indexer notice an index
left behind by a crash and bring it up to date.

Documents and queries are tokenised by vectorstore.text.index_terms (lower-cased, stop words
dropped, Snowball-stemmed, so "models" finds "model"). `CURRENT` records which tokenizer and
layout built the live generation: an index built by another one (an older release) is rebuilt
in memory from the catalog when loaded, so its rows and the queries always agree, and the
indexer's signature includes VERSION, so the next sync writes it to disk again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from scipy import sparse

from vectorstore.documents import paper_of
from vectorstore.text import index_terms

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
# Names the tokenizer below; change it whenever `tokenize` changes what it returns.
TOKENIZER = "text.index_terms-1"
# Names the files of a generation; change it whenever they change.
LAYOUT = "term-counts-1"
VERSION = f"{TOKENIZER}|{LAYOUT}"
K1, B = 1.5, 0.75  # bm25s's defaults, which the index was built with before
Rows = tuple[list[str], list[str]]  # chunk ids, documents
PaperMask = Callable[[list[str]], np.ndarray]  # paper ids -> a bool per paper


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """The one tokenizer used for both documents and queries."""
    return [index_terms(text) for text in texts]


@dataclass(frozen=True)
class TermCounts:
    """Each chunk's term counts: rows are chunks (`ids`), columns are `terms`.

    Adding chunks appends rows and, for words never seen, columns; nothing already counted is
    touched, which is what makes a 100-paper update cost 100 papers."""

    ids: list[str]
    terms: list[str]
    matrix: sparse.csr_matrix

    @classmethod
    def empty(cls) -> TermCounts:
        return cls([], [], sparse.csr_matrix((0, 0), dtype=np.float32))

    def keep(self, wanted: Collection[str]) -> TermCounts:
        """Only the rows whose chunk id is in `wanted` (columns stay: a dropped word scores 0)."""
        rows = [i for i, chunk_id in enumerate(self.ids) if chunk_id in wanted]
        if len(rows) == len(self.ids):
            return self
        return TermCounts([self.ids[i] for i in rows], self.terms, self.matrix[rows])

    def extend(self, ids: Sequence[str], documents: Sequence[str]) -> TermCounts:
        """These rows appended; `documents` are tokenised here and only here."""
        if not ids:
            return self
        columns = {term: i for i, term in enumerate(self.terms)}
        terms = list(self.terms)
        indptr, indices, counts = [0], [], []
        for tokens in tokenize(documents):
            row: dict[int, int] = {}
            for token in tokens:
                column = columns.get(token)
                if column is None:
                    column = columns[token] = len(terms)
                    terms.append(token)
                row[column] = row.get(column, 0) + 1
            indices.extend(row)
            counts.extend(row.values())
            indptr.append(len(indices))
        added = sparse.csr_matrix(
            (np.asarray(counts, np.float32), np.asarray(indices, np.int32), indptr),
            shape=(len(ids), len(terms)),
        )
        m = self.matrix  # the same arrays, widened: new words are empty columns of old rows
        old = sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], len(terms)))
        matrix = sparse.vstack([old, added], format="csr") if old.shape[0] else added
        return TermCounts([*self.ids, *ids], terms, matrix)

    # --- files -----------------------------------------------------------------------------
    def save(self, gen_dir: Path) -> None:
        """`counts.npz` and `terms.json`; the caller writes `ids.json` last."""
        m = self.matrix  # straight to the file: a buffer would hold a second copy (40 MB at 85k)
        with _durable(gen_dir / "counts.npz", "wb") as handle:
            np.savez(handle, data=m.data, indices=m.indices, indptr=m.indptr, shape=m.shape)
        _write_durable(gen_dir / "terms.json", json.dumps(self.terms))

    @classmethod
    def load(cls, gen_dir: Path) -> TermCounts:
        ids = json.loads((gen_dir / "ids.json").read_text(encoding="utf-8"))
        terms = json.loads((gen_dir / "terms.json").read_text(encoding="utf-8"))
        with np.load(gen_dir / "counts.npz") as f:
            shape = tuple(int(n) for n in f["shape"])
            matrix = sparse.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=shape)
        return cls(ids, terms, matrix)


class Scorer:
    """BM25 over term counts, with IDF and lengths from the rows present now."""

    def __init__(self, counts: TermCounts):
        self.columns = {term: i for i, term in enumerate(counts.terms)}
        by_term = counts.matrix.tocsc()
        self.indptr, self.rows, self.tf = by_term.indptr, by_term.indices, by_term.data
        lengths = np.asarray(counts.matrix.sum(axis=1), dtype=np.float64).ravel()
        n = len(lengths)
        self.norm = K1 * ((1 - B) + B * lengths / (lengths.mean() if n else 1.0))
        df = np.diff(self.indptr).astype(np.float64)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.n = n

    def document_frequency(self, token: str) -> int:
        return len(self.rows_holding(token))

    def rows_holding(self, token: str) -> np.ndarray:
        """Rows (ascending) whose chunk holds `token`."""
        column = self.columns.get(token)
        if column is None:
            return np.zeros(0, dtype=np.int32)
        return self.rows[self.indptr[column] : self.indptr[column + 1]]

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """One score per row; each query token counts as often as it occurs (as in bm25s)."""
        out = np.zeros(self.n, dtype=np.float64)
        for token in tokens:
            column = self.columns.get(token)
            if column is None:
                continue
            span = slice(self.indptr[column], self.indptr[column + 1])
            rows, tf = self.rows[span], self.tf[span]
            out[rows] += self.idf[column] * tf / (tf + self.norm[rows])
        return out


@dataclass
class _Live:
    """One loaded generation and what is derived from it. It is replaced as one object, so a
    search running while another thread loads a newer generation reads one consistent state;
    the per-generation caches are filled on first use and go with it. It keeps the chunk ids
    and the scorer's term-major copy of the counts, not the row-major counts themselves: only
    a writer needs those, and reads them from disk (40 MB fewer held at 85k chunks, and 40 MB
    fewer at the peak of a server's re-index; benchmarks/bench_load.py)."""

    generation: str | None
    ids: list[str]
    scorer: Scorer | None
    positions: dict[str, int]
    papers_of_rows: tuple[list[str], np.ndarray] | None = None
    chunks_of_papers: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, generation: str | None, counts: TermCounts) -> _Live:
        scorer = Scorer(counts) if counts.ids else None
        return cls(generation, counts.ids, scorer, {c: i for i, c in enumerate(counts.ids)})

    def row_papers(self) -> tuple[list[str], np.ndarray]:
        """(the papers of the rows, each row's position in that list); once per generation,
        so a filtered search does not split 85k chunk ids per question."""
        if self.papers_of_rows is None:
            position: dict[str, int] = {}
            rows = [position.setdefault(paper_of(c), len(position)) for c in self.ids]
            self.papers_of_rows = (list(position), np.asarray(rows, dtype=np.int64))
        return self.papers_of_rows

    def paper_chunks(self) -> dict[str, list[str]]:
        """Each paper's chunk ids in row order; once per generation."""
        if self.chunks_of_papers is None:
            grouped: dict[str, list[str]] = {}
            for chunk_id in self.ids:
                grouped.setdefault(paper_of(chunk_id), []).append(chunk_id)
            self.chunks_of_papers = grouped
        return self.chunks_of_papers


class KeywordIndex:
    """Reads and updates the BM25 index; reloads by itself when another process swapped it.

    `rows` gives every chunk id and document (the catalog's): used to rebuild, in memory, an
    index written by another tokenizer or layout."""

    def __init__(self, root: Path, rows: Callable[[], Rows] | None = None):
        self.root = root
        self._rows = rows
        self._live = _Live.of(None, TermCounts.empty())
        self._loading = threading.Lock()
        self._current_memo: tuple[tuple[int, int, int] | None, dict[str, str | int]] = (None, {})

    # --- state -----------------------------------------------------------------------------
    def _current(self) -> dict[str, str | int]:
        """`CURRENT`, parsed again only when the file was replaced: a search asks about twenty
        times, and reading and parsing it each time cost 2 ms a search."""
        path = self.root / CURRENT
        try:
            stat = path.stat()
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._current_memo[0] != key:
                self._current_memo = (key, json.loads(path.read_text(encoding="utf-8")))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return dict(self._current_memo[1])

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
        """Chunk ids in row order."""
        return list(self._refresh().ids)

    def __len__(self) -> int:
        return len(self._refresh().ids)

    def _refresh(self, attempts: int = 3) -> _Live:
        """The live generation, loaded first if it changed. One thread loads it while the
        others wait for it: under 20 chats after a re-index, each chat thread loaded its own
        copy of an 85k-chunk index at once. A writer in another process may swap and delete
        a generation while we read it; then we simply read the newer one."""
        for attempt in range(attempts):
            generation = str(self._current().get("generation", ""))
            live = self._live
            if generation == live.generation:
                return live
            with self._loading:
                if generation == self._live.generation:  # loaded while this thread waited
                    return self._live
                try:
                    counts = self._load(generation)
                except FileNotFoundError:
                    if attempt == attempts - 1:
                        raise
                    continue
                self._live = _Live.of(generation, counts)
                return self._live
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _current_is_readable(self) -> bool:
        current = self._current()
        return current.get("tokenizer") == TOKENIZER and current.get("layout") == LAYOUT

    def _load(self, generation: str) -> TermCounts:
        if not generation:
            return TermCounts.empty()
        if not self._current_is_readable():
            if self._rows is None:
                return TermCounts.empty()
            log.info("keyword index was built by another release; rebuilding it in memory")
            return TermCounts.empty().extend(*self._rows())
        return TermCounts.load(self.root / generation)

    # --- write -----------------------------------------------------------------------------
    def build(self, ids: Sequence[str], documents: Sequence[str], signature: str) -> None:
        """Index `documents` (row i is chunk `ids[i]`) from scratch and make it live."""
        self._publish(TermCounts.empty().extend(ids, documents), signature)

    def update(
        self,
        wanted: Collection[str],
        documents_of: Callable[[list[str]], list[str]],
        signature: str,
    ) -> int:
        """Make the live index hold exactly the chunk ids `wanted`: drop the others, tokenise
        and append only the missing ones (`documents_of(ids)` gives their texts, in order).
        Returns how many rows were added. A live index of another release is rebuilt."""
        wanted = set(wanted)
        kept = self._stored_counts().keep(wanted)
        missing = sorted(wanted - set(kept.ids))
        counts = kept.extend(missing, documents_of(missing))
        del kept  # not held while the new generation's scorer is built
        self._publish(counts, signature)
        return len(missing)

    def _stored_counts(self) -> TermCounts:
        """The live rows as stored, without building a scorer: a writer does not search."""
        generation = str(self._current().get("generation", ""))
        if not generation or not self._current_is_readable():
            return TermCounts.empty()
        return TermCounts.load(self.root / generation)

    def _publish(self, counts: TermCounts, signature: str) -> None:
        """Write `counts` as a new generation and swap `CURRENT` to it."""
        self.root.mkdir(parents=True, exist_ok=True)
        generation = f"gen-{time.time_ns()}-{os.getpid()}"
        gen_dir = self.root / generation
        tmp = self.root / f"{CURRENT}.{os.getpid()}.tmp"
        try:
            gen_dir.mkdir()
            counts.save(gen_dir)
            _write_durable(gen_dir / "ids.json", json.dumps(counts.ids))
            pointer = {
                "generation": generation,
                "signature": signature,
                "chunks": len(counts.ids),
                "tokenizer": TOKENIZER,
                "layout": LAYOUT,
            }
            _write_durable(tmp, json.dumps(pointer))
        except BaseException:
            # A full disk (or any failure) before the swap: give its space back at once; the
            # live generation is untouched and the next sync writes it again.
            shutil.rmtree(gen_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.root / CURRENT)
        # This process's searches take the new generation as it is in memory, rather than
        # each index run in a server loading a second copy of it back from disk.
        with self._loading:
            self._live = _Live.of(generation, counts)
        self._remove_stale(keep=generation)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._live = _Live.of(None, TermCounts.empty())

    def _remove_stale(self, keep: str) -> None:
        for path in self.root.iterdir():
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)
            elif path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)

    # --- read ------------------------------------------------------------------------------
    def document_frequency(self, token: str) -> int:
        """Chunks holding `token` (already stemmed): the IDF that relevance scoring weighs
        question words by, read from the live index rather than counted again."""
        scorer = self._refresh().scorer
        return 0 if scorer is None else scorer.document_frequency(token)

    def terms_held(self, chunk_ids: Sequence[str], terms: Iterable[str]) -> dict[str, set[str]]:
        """Which of `terms` (already stemmed) each of these chunks holds, read from the index's
        postings instead of tokenising the chunks again (search needs it for every candidate:
        tokenising them was most of a query's time at 85k chunks). Chunks the index lacks are
        left out of the result."""
        live = self._refresh()
        present = [c for c in chunk_ids if c in live.positions]
        held: dict[str, set[str]] = {c: set() for c in present}
        if live.scorer is None or not present:
            return held
        positions = np.asarray([live.positions[c] for c in present])
        for term in dict.fromkeys(terms):
            rows = live.scorer.rows_holding(term)
            if not len(rows):
                continue
            at = np.minimum(np.searchsorted(rows, positions), len(rows) - 1)
            for i in np.flatnonzero(rows[at] == positions):
                held[present[i]].add(term)
        return held

    def search(
        self,
        query: str,
        k: int = 10,
        papers: PaperMask | None = None,
    ) -> list[tuple[str, float]]:
        """Best `k` (chunk_id, bm25 score) pairs with a positive score. `papers` restricts the
        candidates to the chunks of the papers it passes: given the index's paper ids, it
        returns a bool per paper (metadata filters, vectorised)."""
        live = self._refresh()
        tokens = tokenize([query])[0]
        if live.scorer is None or not tokens:
            return []
        scores = live.scorer.scores(tokens)
        if papers is not None:
            paper_ids, row_paper = live.row_papers()
            scores = np.where(papers(paper_ids)[row_paper], scores, 0.0)
        return _best(scores, live.ids, k)

    def chunks_of(self, papers: PaperMask, at_most: int | None = None) -> tuple[int, list[str]]:
        """(how many indexed chunks the papers `papers` passes hold (see `search`), their ids
        in row order); the ids only if there are at most `at_most`: a filtered search that
        passes 40,000 chunks needs their count, not a list of their ids."""
        live = self._refresh()
        if not live.ids:
            return 0, []
        paper_ids, row_paper = live.row_papers()
        rows = np.flatnonzero(papers(paper_ids)[row_paper])
        if at_most is not None and len(rows) > at_most:
            return len(rows), []
        ids = live.ids
        return len(rows), [ids[i] for i in rows]

    def chunks_by_paper(self, paper_ids: Iterable[str]) -> dict[str, list[str]]:
        """The indexed chunk ids of each of these papers that the index holds, in row order.
        Search scores every chunk of its candidates: asking the catalog for them read ~400
        chunk texts and metadata per question, when only the ids were needed."""
        held = self._refresh().paper_chunks()
        return {pid: list(held[pid]) for pid in paper_ids if pid in held}


def _best(scores: np.ndarray, ids: list[str], k: int) -> list[tuple[str, float]]:
    """The `k` best positive scores, ties broken by chunk id: the same hits whatever order
    the rows were added in (a crashed and resumed index equals a clean one). Only rows that
    hold a query word are sorted, and of those only the ones that can make the top k."""
    candidates = np.flatnonzero(scores > 0)
    if k <= 0 or not len(candidates):
        return []
    if len(candidates) > k:
        kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[scores[candidates] >= kth]  # ties with the k-th stay in
    ranked = sorted(candidates.tolist(), key=lambda i: (-scores[i], ids[i]))
    return [(ids[i], float(scores[i])) for i in ranked[:k]]


@contextlib.contextmanager
def _durable(path: Path, mode: str) -> Iterator[IO[Any]]:
    """A file opened for writing that is on disk, not only in the page cache, once the
    block ends: the generation it belongs to may become live right after."""
    with open(path, mode, encoding=None if "b" in mode else "utf-8") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _write_durable(path: Path, content: str | bytes) -> None:
    with _durable(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)

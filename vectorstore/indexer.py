"""Incremental, crash-safe sync of papers into the catalog, Chroma and BM25.

How a sync works, and why a crash at any point is harmless:

1. Plan: compare each paper with the catalog by content hash (title + abstract: decides the chunk
   texts and vectors) and metadata hash (what chunks carry in Chroma). New or re-worded papers get
   new chunk rows; papers whose metadata changed keep their chunk ids and get new chunk metadata.
2. Commit the desired state to the catalog in ONE SQLite transaction, marked "reconcile pending".
3. Reconcile Chroma to the catalog: delete chunk ids the catalog does not list (old versions of
   re-worded papers, removed papers, leftovers of a crash), rewrite metadata whose meta_hash differs
   (no re-embedding), and embed + upsert only the chunk ids Chroma lacks, in small batches.
   Only the papers the plans since the last reconcile touched are read back (the catalog's
   `touched` list, committed with each plan); the whole collection only after a rebuild, or
   when the counts still disagree afterwards.
   Chunk ids are deterministic (`{paper_id}#{content_hash[:12]}#{i}`) and every step is
   idempotent, so re-running after a kill simply finishes the job. Then clear the mark.
4. Bring BM25 in line with the catalog whenever its recorded signature differs from the
   catalog's: rows the catalog no longer lists are dropped and only chunks BM25 lacks are
   tokenised and added, so a new dump costs its own chunks, not the whole index. The new
   generation is swapped in atomically (see keyword_index).

What a user is told: a paper counts as indexed only once all its chunks are in Chroma (the
catalog's `unwritten` list, struck off batch by batch in step 3), so a run that dies or loses
its Chroma server half-way never reports unwritten papers as done. Before its first write a
sync claims the collection for this data directory (ChromaStore.claim: a collection has one
writing data dir) and checks that the disk has room for the chunks it will write
(storage_errors.require_space); a read-only or full data directory met later becomes
DataDirUnwritable, whose message says the index is intact and the next run finishes it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chromadb.api.models.Collection import Collection

from vectorstore.catalog import Catalog, CatalogChanges, ChunkRow, DumpRecord
from vectorstore.chroma_store import ChromaStore, Owner
from vectorstore.chunking import Chunker
from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.errors import ChunkingMismatch
from vectorstore.keyword_index import VERSION, KeywordIndex
from vectorstore.storage_errors import (
    BYTES_PER_CHUNK,
    BYTES_PER_CHUNK_SERVER,
    require_space,
    storage_errors,
)

Progress = Callable[[str, int, int], None]
CHUNKING_KEY = "chunking"
MODEL_KEY = "embedding_model"
DIMENSION_KEY = "embedding_dimension"


@dataclass
class SyncReport:
    """What one sync did. Paper counts describe the given docs; chunk counts the stores' work
    (after a crash, chunks_embedded includes the chunks the killed run did not finish)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    chunks_retagged: int = 0
    keyword_rebuilt: bool = False  # a new keyword-index generation was written
    keyword_added: int = 0  # chunks tokenised into it
    seconds: float = 0.0
    # Of `seconds`, the time in the embedder's own calls and in Chroma's writes, measured in
    # the same run (benchmarks/bench_index.py). They overlap: the next batch embeds while
    # this one is written (Indexer._embedded).
    embedding_seconds: float = 0.0
    store_seconds: float = 0.0


def chunk_meta_hash(doc: PaperDoc) -> str:
    """Hash of the metadata copied onto chunks; the catalog-only fields (lists) do not count."""
    payload = json.dumps(doc.chunk_metadata(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chunk_metadata(doc: PaperDoc, index: int, total: int, meta_hash: str) -> dict[str, Any]:
    return {
        **doc.chunk_metadata(),
        "paper_id": doc.paper_id,
        "title": doc.title,
        "chunk": index,
        "n_chunks": total,
        "content_hash": doc.content_hash,
        "meta_hash": meta_hash,
    }


def build_chunks(doc: PaperDoc, chunker: Chunker) -> list[ChunkRow]:
    documents = chunker.split(doc.title, doc.abstract)
    meta_hash = chunk_meta_hash(doc)
    return [
        ChunkRow(
            chunk_id=f"{doc.paper_id}#{doc.content_hash[:12]}#{i}",
            paper_id=doc.paper_id,
            idx=i,
            document=document,
            metadata=chunk_metadata(doc, i, len(documents), meta_hash),
            meta_hash=meta_hash,
        )
        for i, document in enumerate(documents)
    ]


def retag_chunks(doc: PaperDoc, rows: Sequence[ChunkRow]) -> list[ChunkRow]:
    """Same chunk ids and texts, the paper's new metadata."""
    meta_hash = chunk_meta_hash(doc)
    return [
        ChunkRow(
            r.chunk_id,
            r.paper_id,
            r.idx,
            r.document,
            chunk_metadata(doc, r.idx, len(rows), meta_hash),
            meta_hash,
        )
        for r in rows
    ]


class Indexer:
    """Plans and applies syncs; the caller (PaperIndex) holds the write lock."""

    def __init__(
        self,
        catalog: Catalog,
        store: ChromaStore,
        keywords: KeywordIndex,
        chunker: Chunker,
        embedder: Embedder,
        add_batch_size: int = 64,
    ):
        self.catalog = catalog
        self.store = store
        self.keywords = keywords
        self.chunker = chunker
        self.embedder = embedder
        self.add_batch_size = add_batch_size
        self.home = catalog.path.parent

    def owner(self) -> Owner:
        """This data directory as the owner of the collection it writes (ChromaStore.claim)."""
        home_id = self.catalog.home_id(create=True)
        assert home_id is not None
        return Owner(home_id, f"{self.home} on {socket.gethostname()}")

    def _require_space(self, rows: Sequence[ChunkRow]) -> None:
        """Refuse early when the data dir's disk lacks room for `rows` (with a Chroma server,
        only the catalog's and BM25's share is on this disk)."""
        text = sum(len(r.document.encode("utf-8")) for r in rows)
        local = self.store.local_dir is not None
        require_space(
            self.home, len(rows), text, BYTES_PER_CHUNK if local else BYTES_PER_CHUNK_SERVER
        )

    # --- configuration ---------------------------------------------------------------------
    def check_config(self) -> None:
        """Refuse to mix chunk settings: the same chunk id must always name the same text."""
        stored = self.catalog.get_meta(CHUNKING_KEY)
        current = self.chunker.config.describe()
        if stored is None or self.catalog.count_chunks() == 0:
            self.catalog.set_meta(**{CHUNKING_KEY: current})
        elif stored != current:
            raise ChunkingMismatch(stored, current)

    def record_model(self) -> None:
        self.catalog.set_meta(
            **{MODEL_KEY: self.embedder.model_name, DIMENSION_KEY: str(self.embedder.dimension)}
        )

    def signature(self) -> str:
        """Names the exact chunk set (and how its texts were made) the stores must hold."""
        digest = hashlib.sha256()
        # VERSION: a keyword index written by an older release is rebuilt on the next sync.
        config = f"{self.embedder.model_name}|{self.chunker.config.describe()}|{VERSION}"
        digest.update(config.encode())
        for chunk_id in self.catalog.chunk_ids():
            digest.update(b"\n" + chunk_id.encode("utf-8"))
        return digest.hexdigest()

    # --- sync ------------------------------------------------------------------------------
    def plan(
        self,
        docs: Iterable[PaperDoc],
        remove_ids: Iterable[str],
        dumps: Iterable[DumpRecord],
        report: SyncReport,
        progress: Progress | None,
    ) -> CatalogChanges:
        """Decide what changes, chunking only new or re-worded papers."""
        by_id = {doc.paper_id: doc for doc in docs}
        remove = set(remove_ids)
        if both := sorted(remove & by_id.keys()):
            raise ValueError(f"papers both given and to be removed: {', '.join(both[:5])}")
        states = self.catalog.paper_states()
        changes = CatalogChanges()
        to_chunk: list[PaperDoc] = []
        to_retag: list[PaperDoc] = []
        for doc in by_id.values():
            state = states.get(doc.paper_id)
            if state is None or state.content_hash != doc.content_hash:
                to_chunk.append(doc)
                report.added += state is None
                report.updated += state is not None
            elif state.meta_hash != chunk_meta_hash(doc):
                to_retag.append(doc)
                report.updated += 1
            else:
                report.unchanged += 1
                if state.metadata_hash != doc.metadata_hash:
                    changes.touch.append((doc, state.meta_hash))
        for done, doc in enumerate(to_chunk, 1):
            changes.replace.append((doc, chunk_meta_hash(doc), build_chunks(doc, self.chunker)))
            _tick(progress, "chunking", done, len(to_chunk))
        existing = _group(self.catalog.chunks(d.paper_id for d in to_retag))
        for doc in to_retag:
            rows = retag_chunks(doc, existing.get(doc.paper_id, []))
            changes.retag.append((doc, chunk_meta_hash(doc), rows))
        changes.remove = sorted(remove & states.keys())
        report.removed = len(changes.remove)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        changes.dumps = [
            d if d.indexed_at else DumpRecord(**{**d.__dict__, "indexed_at": stamp}) for d in dumps
        ]
        return changes

    def sync(
        self,
        docs: Iterable[PaperDoc],
        *,
        remove_ids: Iterable[str] = (),
        dumps: Iterable[DumpRecord] = (),
        progress: Progress | None = None,
    ) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport()
        with storage_errors(self.home):
            self.check_config()
            owner = self.owner()
            collection = self.store.open(self.embedder, owner)  # EmbeddingModelMismatch
            collection = self.store.claim(collection, owner)  # CollectionOwnedElsewhere
            self.record_model()
            changes = self.plan(docs, remove_ids, dumps, report, progress)
            self._require_space([row for _, _, rows in changes.replace for row in rows])
            if changes:
                self.catalog.apply(changes)
            self.settle(collection, report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def settle(self, collection: Collection, report: SyncReport, progress: Progress | None) -> None:
        """Bring Chroma and BM25 in line with the catalog if anything says they may differ."""
        pending = self.catalog.reconcile_pending
        if pending or self.store.count(collection) != self.catalog.count_chunks():
            scope = self.catalog.reconcile_scope() if pending else None
            self.reconcile(collection, report, progress, scope)
            if scope is not None and self.store.count(collection) != self.catalog.count_chunks():
                self.reconcile(collection, report, progress)  # drift beyond the plan: all
        signature = self.signature()
        if self.keywords.signature != signature:
            _tick(progress, "keyword index", 0, 1)
            wanted = self.catalog.chunk_ids()
            report.keyword_added = self.keywords.update(wanted, self._documents, signature)
            report.keyword_rebuilt = True
            _tick(progress, "keyword index", 1, 1)

    def _documents(self, chunk_ids: list[str]) -> list[str]:
        """The catalog's texts of these chunks, in this order: what BM25 must add."""
        texts = {r.chunk_id: r.document for r in self.catalog.chunks_by_id(chunk_ids)}
        return [texts[chunk_id] for chunk_id in chunk_ids]

    def reconcile(
        self,
        collection: Collection,
        report: SyncReport,
        progress: Progress | None,
        scope: set[str] | None = None,
    ) -> None:
        """Make Chroma hold exactly the catalog's chunks, for the papers in `scope` (None:
        all of them). Idempotent; safe to interrupt."""
        want = self.catalog.chunk_hashes(scope)
        have = self.store.scan(collection, scope)
        stale = sorted(set(have) - want.keys())
        if stale:
            self.store.delete(collection, stale)
            report.chunks_deleted += len(stale)
        retag = sorted(c for c in want.keys() & have.keys() if have[c].get("meta_hash") != want[c])
        if retag:
            rows = self.catalog.chunks_by_id(retag)
            metadatas = [_replacing(have[r.chunk_id], r.metadata) for r in rows]
            self.store.set_metadata(collection, [r.chunk_id for r in rows], metadatas)
            report.chunks_retagged += len(rows)
        missing = sorted(want.keys() - have.keys())
        rows = self.catalog.chunks_by_id(missing) if missing else []
        self._require_space(rows)
        waiting = _missing_by_paper(rows)
        self.catalog.mark_written(self.catalog.unwritten() - waiting.keys())  # nothing left
        if rows:  # show the bar (and its total) before the first, slowest batch
            _tick(progress, "embedding", 0, len(rows))
        batches = [
            rows[i : i + self.add_batch_size] for i in range(0, len(rows), self.add_batch_size)
        ]
        done = 0
        for batch, vectors in self._embedded(batches, report):
            started = time.perf_counter()
            self.store.put(
                collection,
                [r.chunk_id for r in batch],
                [r.document for r in batch],
                [r.metadata for r in batch],
                vectors,
            )
            report.store_seconds += time.perf_counter() - started
            report.chunks_embedded += len(batch)
            self.catalog.mark_written(_complete(waiting, batch))
            done += len(batch)
            _tick(progress, "embedding", done, len(rows))
        self.catalog.mark_reconciled()

    def _embedded(
        self, batches: list[list[ChunkRow]], report: SyncReport
    ) -> Iterator[tuple[list[ChunkRow], list[list[float]]]]:
        """Each batch with its vectors, the next batch embedding while the caller writes this
        one. Written one after another, the encoder sat idle through Chroma's writes: 5 % of a
        40,000-paper build (py-spy), growing with the index. Nothing is marked written until
        the caller has written it, so a crash still loses only work, never data."""

        def embed(batch: list[ChunkRow]) -> list[list[float]]:
            started = time.perf_counter()
            vectors = self.embedder.embed_documents([r.document for r in batch])
            report.embedding_seconds += time.perf_counter() - started
            return vectors

        ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paperchat-embed-ahead")
        try:
            pending = ahead.submit(embed, batches[0]) if batches else None
            for i, batch in enumerate(batches):
                assert pending is not None
                vectors = pending.result()
                pending = ahead.submit(embed, batches[i + 1]) if i + 1 < len(batches) else None
                yield batch, vectors
        finally:  # a failed write (or a closed generator) does not wait for the next batch
            ahead.shutdown(wait=False, cancel_futures=True)

    def rebuild(self, progress: Progress | None = None) -> SyncReport:
        """Re-chunk and re-embed every catalogued paper with the current model and settings.

        Order matters for crash safety: the new chunk rows are committed first (pending), then
        the old collection is dropped; an interrupted rebuild is finished by the next sync, or
        reports the model mismatch again until `rebuild` is re-run."""
        started = time.perf_counter()
        report = SyncReport()
        with storage_errors(self.home):
            self._rebuild(report, progress)
        report.seconds = time.perf_counter() - started
        return report

    def _rebuild(self, report: SyncReport, progress: Progress | None) -> None:
        owner = self.owner()
        existing = self.store.existing()
        if existing is not None:  # never drop another data directory's collection
            self.store.claim(existing, owner)
        papers = list(self.catalog.papers().values())
        rows: list[ChunkRow] = []
        for done, doc in enumerate(papers, 1):
            rows.extend(build_chunks(doc, self.chunker))
            _tick(progress, "chunking", done, len(papers))
        meta = {
            CHUNKING_KEY: self.chunker.config.describe(),
            MODEL_KEY: self.embedder.model_name,
            DIMENSION_KEY: str(self.embedder.dimension),
        }
        self._require_space(rows)
        self.catalog.replace_all_chunks(rows, meta)
        self.store.drop()
        self.keywords.clear()
        collection = self.store.claim(self.store.open(self.embedder, owner), owner)
        self.settle(collection, report, progress)
        report.updated = len(papers)

    def verify(self, collection: Collection) -> list[str]:
        """Differences between catalog, Chroma and BM25 (empty when consistent)."""
        problems: list[str] = []
        want = self.catalog.chunk_hashes()
        have = self.store.scan(collection)
        if missing := want.keys() - have.keys():
            problems.append(f"{len(missing)} chunks missing from Chroma")
        if extra := have.keys() - want.keys():
            problems.append(f"{len(extra)} chunks in Chroma not in the catalog")
        if stale := [c for c in want.keys() & have.keys() if have[c].get("meta_hash") != want[c]]:
            problems.append(f"{len(stale)} chunks with stale metadata in Chroma")
        if sorted(self.keywords.ids) != sorted(want):
            problems.append("BM25 index does not hold the catalog's chunks")
        if self.catalog.reconcile_pending:
            problems.append("an interrupted sync has not been finished yet")
        if unwritten := self.catalog.unwritten():
            problems.append(f"{len(unwritten)} papers not yet written to the stores")
        return problems


def _replacing(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Metadata update that also removes keys the paper no longer has (None deletes in Chroma)."""
    return {**{key: None for key in old if key not in new}, **new}


def _missing_by_paper(rows: Iterable[ChunkRow]) -> dict[str, set[str]]:
    """paper id -> ids of its chunks that Chroma still lacks."""
    missing: dict[str, set[str]] = {}
    for row in rows:
        missing.setdefault(row.paper_id, set()).add(row.chunk_id)
    return missing


def _complete(waiting: dict[str, set[str]], written: Iterable[ChunkRow]) -> list[str]:
    """Strike `written` off `waiting`; return the papers that now have every chunk written."""
    done = []
    for row in written:
        left = waiting.get(row.paper_id)
        if left is not None:
            left.discard(row.chunk_id)
            if not left:
                done.append(row.paper_id)
                del waiting[row.paper_id]
    return done


def _group(rows: Iterable[ChunkRow]) -> dict[str, list[ChunkRow]]:
    grouped: dict[str, list[ChunkRow]] = {}
    for row in rows:
        grouped.setdefault(row.paper_id, []).append(row)
    return grouped


def _tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)

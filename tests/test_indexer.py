"""PaperIndex sync with the real embedder and a real embedded Chroma store, on a few papers."""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vectorstore.catalog import DumpRecord
from vectorstore.chunking import Chunker
from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.errors import ChunkingMismatch, EmbeddingModelMismatch
from vectorstore.paper_index import PaperIndex

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "dumps"


def sample_papers(limit: int) -> list[tuple[str, str]]:
    """(title, abstract) pairs read crudely from the sample dumps: a long paragraph is an
    abstract and the paragraph before it is its title. Good enough for store tests."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(SAMPLE.glob("*.txt")):
        blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n")]
        for title, abstract in itertools.pairwise(blocks):
            if len(abstract) > 300 and 10 < len(title) < 300 and "\n" not in title:
                found.setdefault(title, (title, abstract))
    return list(found.values())[:limit]


def make_doc(title: str, abstract: str, n: int, **overrides: object) -> PaperDoc:
    metadata: dict[str, object] = {
        "published": f"2025-0{1 + n % 9}-1{n % 10}",
        "published_ts": int(f"20250{1 + n % 9}1{n % 10}"),
        "year": 2025,
        "published_inferred": False,
        "org": f"Org {n % 3}",
        "org_handle": f"org{n % 3}",
        "upvotes": 10 + n,
        "authors_count": 3 + n,
        "captured": "2025-06-17",
        "dumps": ["000_a.txt"],
    }
    metadata.update(overrides)
    metadata = {k: v for k, v in metadata.items() if v is not None}
    paper_id = "p" + hashlib.sha1(title.casefold().encode()).hexdigest()[:15]
    return PaperDoc(paper_id, title, abstract, metadata)


@pytest.fixture(scope="module")
def docs() -> list[PaperDoc]:
    return [make_doc(t, a, i) for i, (t, a) in enumerate(sample_papers(10))]


class RecordingEmbedder(Embedder):
    """The real embedder, recording every text it is asked to embed (and optionally renamed)."""

    def __init__(self, inner: Embedder, model_name: str | None = None):
        self.inner = inner
        self.model_name = model_name or inner.model_name
        self.max_tokens = inner.max_tokens
        self.embedded: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.fixture
def recorder(embedder: Embedder) -> RecordingEmbedder:
    return RecordingEmbedder(embedder)


def open_index(home: Path, emb: Embedder, **options: object) -> PaperIndex:
    return PaperIndex(home, embedder=emb, **options)


def chroma_rows(index: PaperIndex, paper_id: str | None = None) -> dict[str, dict]:
    where = {"paper_id": paper_id} if paper_id else None
    got = index.collection.get(where=where, include=["metadatas", "documents"])
    return {
        cid: {"meta": meta, "doc": doc}
        for cid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=True)
    }


# --- chunking ---------------------------------------------------------------------------------


def test_no_chunk_exceeds_the_model_limit_even_for_a_huge_abstract(embedder: Embedder) -> None:
    title, abstract = sample_papers(1)[0]
    huge = " ".join([abstract] * 25) + " " + "Z" * 3000 + " " + "tokenisation" * 400
    long_title = " ".join(["Very Long Title Words"] * 60)
    chunker = Chunker(embedder, chunk_tokens=200, chunk_overlap_tokens=40)
    for head in (title, long_title):
        documents = chunker.split(head, huge)
        assert len(documents) > 20
        sizes = [embedder.count_tokens(d) for d in documents]
        assert max(sizes) <= 200 <= embedder.max_tokens
        # Every chunk carries (a prefix of) the title as its first line.
        assert all(d.split("\n", 1)[0] and head.startswith(d.split("\n", 1)[0]) for d in documents)
    # Nothing of the text is lost: the last words of the abstract appear in the last chunk.
    assert documents[-1].endswith("tokenisation")
    assert "Z" * 100 in "".join(documents)


def test_settings_above_the_model_limit_are_capped(embedder: Embedder) -> None:
    title, abstract = sample_papers(1)[0]
    chunker = Chunker(embedder, chunk_tokens=5000, chunk_overlap_tokens=40)
    documents = chunker.split(title, " ".join([abstract] * 8))
    assert max(embedder.count_tokens(d) for d in documents) <= embedder.max_tokens == 256


def test_a_normal_abstract_splits_at_sentence_ends(embedder: Embedder) -> None:
    title, abstract = max(sample_papers(40), key=lambda p: len(p[1]))
    documents = Chunker(embedder).split(title, abstract)
    assert len(documents) >= 2
    assert all(d.startswith(title + "\n") for d in documents)
    assert all(d.rstrip().endswith((".", "?", "!", ")")) for d in documents[:-1])


# --- sync -------------------------------------------------------------------------------------


def test_first_sync_then_unchanged_resync_embeds_nothing(
    tmp_path: Path, docs: list[PaperDoc], recorder: RecordingEmbedder
) -> None:
    index = open_index(tmp_path, recorder)
    first = index.sync(docs[:5])
    n_chunks = index.catalog.count_chunks()
    assert (first.added, first.updated, first.unchanged, first.removed) == (5, 0, 0, 0)
    assert first.chunks_embedded == n_chunks == index.collection.count() == len(recorder.embedded)
    assert n_chunks >= 5 and first.keyword_rebuilt
    meta = index.collection.metadata
    assert meta["hnsw:space"] == "cosine"
    assert meta["embedding_model"] == "all-MiniLM-L6-v2" and meta["embedding_dimension"] == 384

    row = next(iter(chroma_rows(index, docs[0].paper_id).values()))
    for key in ("paper_id", "title", "published", "published_ts", "year", "org", "upvotes"):
        assert key in row["meta"], key
    assert row["meta"]["authors_count"] == docs[0].metadata["authors_count"]
    assert row["meta"]["chunk"] == 0 and row["meta"]["n_chunks"] >= 1
    assert row["doc"].startswith(docs[0].title + "\n")
    assert "dumps" not in row["meta"]  # lists stay in the catalog
    # The run says where its time went: the model's calls and Chroma's writes, within it.
    assert 0 < first.embedding_seconds <= first.seconds
    assert 0 < first.store_seconds <= first.seconds

    recorder.embedded.clear()
    again = index.sync(docs[:5])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    assert again.chunks_embedded == 0 and recorder.embedded == []
    assert again.embedding_seconds == again.store_seconds == 0
    assert not again.keyword_rebuilt
    assert index.verify() == []


def test_new_papers_and_upvote_changes_embed_only_the_new(
    tmp_path: Path, docs: list[PaperDoc], recorder: RecordingEmbedder
) -> None:
    index = open_index(tmp_path, recorder)
    index.sync(docs[:5])
    before = {d.paper_id: chroma_rows(index, d.paper_id) for d in docs[:2]}
    recorder.embedded.clear()

    bumped = [
        replace(d, metadata={**d.metadata, "upvotes": 500 + i}) for i, d in enumerate(docs[:2])
    ]
    report = index.sync(bumped + docs[5:8])

    assert (report.added, report.updated, report.unchanged) == (3, 2, 0)
    new_chunks = sum(len(chroma_rows(index, d.paper_id)) for d in docs[5:8])
    assert report.chunks_embedded == new_chunks == len(recorder.embedded)
    assert report.chunks_retagged == sum(len(rows) for rows in before.values())
    bumped_titles = {d.title for d in bumped}
    assert not [t for t in recorder.embedded if t.split("\n", 1)[0] in bumped_titles]
    for i, doc in enumerate(bumped):
        after = chroma_rows(index, doc.paper_id)
        assert after.keys() == before[doc.paper_id].keys()  # same chunk ids: updated in place
        assert {row["meta"]["upvotes"] for row in after.values()} == {500 + i}
        assert all(row["doc"] == before[doc.paper_id][cid]["doc"] for cid, row in after.items())
    assert index.papers()[bumped[0].paper_id].metadata["upvotes"] == 500
    assert index.collection.count() == index.catalog.count_chunks()
    assert index.verify() == []


def test_changed_abstract_replaces_chunks_without_orphans(
    tmp_path: Path, docs: list[PaperDoc], recorder: RecordingEmbedder
) -> None:
    index = open_index(tmp_path, recorder)
    index.sync(docs[:4])
    target = docs[1]
    old_ids = set(chroma_rows(index, target.paper_id))
    reworded = replace(target, abstract=target.abstract + " " + docs[6].abstract * 2)

    report = index.sync([reworded])

    assert (report.added, report.updated) == (0, 1)
    new_rows = chroma_rows(index, target.paper_id)
    assert not old_ids & new_rows.keys()
    assert len(new_rows) > len(old_ids)
    assert all(reworded.content_hash[:12] in cid for cid in new_rows)
    assert report.chunks_deleted == len(old_ids)
    assert report.chunks_embedded == len(new_rows)
    assert {r["meta"]["n_chunks"] for r in new_rows.values()} == {len(new_rows)}
    assert sorted(index.keyword_index.ids) == sorted(index.collection.get(include=[])["ids"])
    assert index.verify() == []


def test_metadata_a_paper_loses_is_removed_from_its_chunks(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder)
    index.sync(docs[:2])
    no_org = make_doc(docs[0].title, docs[0].abstract, 0, org=None, org_handle=None)
    index.sync([no_org])
    metas = [row["meta"] for row in chroma_rows(index, docs[0].paper_id).values()]
    assert metas and all("org" not in m and "org_handle" not in m for m in metas)
    assert all(m["upvotes"] == no_org.metadata["upvotes"] for m in metas)


def test_catalog_only_changes_do_not_touch_chroma(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder)
    index.sync(docs[:2])
    seen_twice = replace(
        docs[0], metadata={**docs[0].metadata, "dumps": ["000_a.txt", "001_b.txt"]}
    )
    report = index.sync([seen_twice])
    assert (report.updated, report.unchanged, report.chunks_retagged) == (0, 1, 0)
    assert index.papers()[docs[0].paper_id].metadata["dumps"] == ["000_a.txt", "001_b.txt"]


def test_remove_ids_prunes_papers_everywhere(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder)
    index.sync(docs[:5])
    gone = [docs[0].paper_id, docs[3].paper_id]
    report = index.sync(docs[1:3], remove_ids=[*gone, "p-not-indexed"])
    assert (report.removed, report.unchanged, report.chunks_embedded) == (2, 2, 0)
    assert report.chunks_deleted > 0
    assert set(index.papers()) == {d.paper_id for d in (docs[1], docs[2], docs[4])}
    for paper_id in gone:
        assert chroma_rows(index, paper_id) == {}
        assert not [c for c in index.keyword_index.ids if c.startswith(paper_id)]
    assert index.verify() == []
    with pytest.raises(ValueError, match="both given and to be removed"):
        index.sync(docs[1:2], remove_ids=[docs[1].paper_id])


def test_keyword_index_finds_chunks_and_honours_a_paper_mask(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder)
    index.sync(docs[:5])
    target = docs[2]
    query = " ".join(w for w in target.title.split() if len(w) > 4)
    hits = index.keyword_index.search(query, k=3)
    assert hits and hits[0][0].startswith(target.paper_id) and hits[0][1] > 0

    def others(paper_ids: list[str]) -> np.ndarray:
        return np.asarray([pid != target.paper_id for pid in paper_ids])

    restricted = index.keyword_index.search(query, k=3, papers=others)
    assert all(not c.startswith(target.paper_id) for c, _ in restricted)
    assert index.keyword_index.search("", k=3) == []


def test_dense_query_finds_the_paper(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder)
    index.sync(docs[:5])
    target = docs[3]
    found = index.collection.query(
        query_embeddings=[embedder.embed_query(target.title)],
        n_results=1,
        include=["metadatas", "distances"],
    )
    assert found["metadatas"][0][0]["paper_id"] == target.paper_id
    assert 0 <= found["distances"][0][0] < 0.6  # cosine distance


def test_model_mismatch_is_a_clear_error_and_rebuild_fixes_it(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    open_index(tmp_path, embedder).sync(docs[:3])
    other = RecordingEmbedder(embedder, model_name="other-model")
    index = open_index(tmp_path, other)
    with pytest.raises(EmbeddingModelMismatch, match=r"paperchat index --rebuild") as err:
        index.sync(docs[:3])
    assert "all-MiniLM-L6-v2" in str(err.value) and "other-model" in str(err.value)
    assert index.stats().embedding_model == "all-MiniLM-L6-v2"  # stats still work

    report = index.rebuild()
    assert report.chunks_embedded == index.catalog.count_chunks() == len(other.embedded)
    assert index.collection.metadata["embedding_model"] == "other-model"
    assert index.sync(docs[:3]).chunks_embedded == 0
    assert index.verify() == []
    with pytest.raises(EmbeddingModelMismatch):
        open_index(tmp_path, embedder).sync(docs[:3])


def test_changed_chunk_settings_are_refused_until_rebuild(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    open_index(tmp_path, embedder).sync(docs[:2])
    index = open_index(tmp_path, embedder, chunk_tokens=120)
    with pytest.raises(ChunkingMismatch, match=r"paperchat index --rebuild"):
        index.sync(docs[:2])
    index.rebuild()
    assert index.sync(docs[:2]).chunks_embedded == 0
    assert max(embedder.count_tokens(r.document) for r in index.catalog.chunks()) <= 120


def test_stats_and_dumps(tmp_path: Path, docs: list[PaperDoc], embedder: Embedder) -> None:
    index = open_index(tmp_path, embedder)
    dump_file = SAMPLE / "000_253eb8ca2fc9d003.txt"
    record = DumpRecord.from_file(dump_file, None, True, 3)
    index.sync(docs[:3], dumps=[record])
    stats = index.stats()
    assert (stats.papers, stats.chunks) == (3, index.catalog.count_chunks())
    assert stats.keyword_chunks == stats.chunks
    assert (stats.embedding_model, stats.dimension) == ("all-MiniLM-L6-v2", 384)
    assert stats.store == str(tmp_path / "chroma")
    assert stats.published_min == min(d.metadata["published"] for d in docs[:3])
    [dump] = stats.dumps
    assert dump.name == dump_file.name and dump.papers == 3 and dump.captured_inferred
    assert dump.sha256 == hashlib.sha256(dump_file.read_bytes()).hexdigest()
    assert dump.indexed_at.startswith("20")
    assert index.dumps() == stats.dumps


def test_an_update_reads_back_only_the_papers_it_touched(
    tmp_path: Path, docs: list[PaperDoc], recorder: RecordingEmbedder
) -> None:
    index = open_index(tmp_path, recorder)
    index.sync(docs[:5])
    scans: list[set[str] | None] = []
    scan = index.store.scan
    index.store.scan = lambda collection, paper_ids=None: (  # type: ignore[method-assign]
        scans.append(None if paper_ids is None else set(paper_ids)) or scan(collection, paper_ids)
    )
    reworded = replace(docs[1], abstract=docs[1].abstract + " Reworded.")

    report = index.sync([docs[5], reworded], remove_ids=[docs[2].paper_id])

    assert scans == [{docs[5].paper_id, docs[1].paper_id, docs[2].paper_id}]
    assert (report.added, report.updated, report.removed) == (1, 1, 1)
    assert not chroma_rows(index, docs[2].paper_id) and index.verify() == []
    assert index.catalog.reconcile_scope() == set()  # cleared once reconciled


def test_drift_outside_the_plan_falls_back_to_reading_everything(
    tmp_path: Path, docs: list[PaperDoc], recorder: RecordingEmbedder
) -> None:
    index = open_index(tmp_path, recorder)
    index.sync(docs[:4])
    lost = sorted(chroma_rows(index, docs[0].paper_id))[0]
    index.collection.delete(ids=[lost])  # outside paperchat: no plan touched docs[0]

    report = index.sync([docs[4]])

    assert report.chunks_embedded >= 1 + 1  # docs[4]'s chunks and the lost one
    assert lost in chroma_rows(index, docs[0].paper_id) and index.verify() == []


class SlowStore:
    """Records when each Chroma write starts and ends, and makes it take a while (as writes
    to a large collection do), or fail on the `fail_on`-th call."""

    def __init__(self, index: PaperIndex, fail_on: int | None = None):
        self.put = index.store.put
        self.fail_on = fail_on
        self.spans: list[tuple[float, float]] = []
        index.store.put = self  # type: ignore[method-assign]

    def __call__(self, *args: object) -> None:
        if self.fail_on == len(self.spans) + 1:
            raise OSError("disk gone")
        started = time.perf_counter()
        self.put(*args)
        time.sleep(0.3)
        self.spans.append((started, time.perf_counter()))


class TimedEmbedder(RecordingEmbedder):
    def __init__(self, inner: Embedder):
        super().__init__(inner)
        self.starts: list[float] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.starts.append(time.perf_counter())
        return super().embed_documents(texts)


def test_the_next_batch_embeds_while_this_one_is_written(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    timed = TimedEmbedder(embedder)
    index = open_index(tmp_path, timed, add_batch_size=2)
    store = SlowStore(index)

    report = index.sync(docs[:4])

    n = len(store.spans)
    assert report.chunks_embedded == index.catalog.count_chunks() > 4
    assert n == len(timed.starts) == -(-report.chunks_embedded // 2)
    # Batch i + 1's embedding started before batch i's write ended: the encoder was not idle.
    assert all(timed.starts[i + 1] < store.spans[i][1] for i in range(n - 1))
    assert index.verify() == [] and index.collection.count() == index.catalog.count_chunks()


def test_a_failed_write_keeps_earlier_batches_and_marks_nothing_else_written(
    tmp_path: Path, docs: list[PaperDoc], embedder: Embedder
) -> None:
    index = open_index(tmp_path, embedder, add_batch_size=2)
    SlowStore(index, fail_on=2)

    with pytest.raises(OSError, match="disk gone"):
        index.sync(docs[:4])

    # Chroma holds the first batch, not the prefetched second; a paper counts as written only
    # when all its chunks are there.
    have = set(index.collection.get()["ids"])
    assert len(have) == 2
    missing = index.catalog.chunk_hashes(None).keys() - have
    assert index.catalog.unwritten() == {chunk_id.split("#")[0] for chunk_id in missing}
    del index.store.put  # the disk is back
    again = index.sync(docs[:4])
    assert again.chunks_embedded == index.catalog.count_chunks() - 2
    assert index.catalog.unwritten() == set() and index.verify() == []

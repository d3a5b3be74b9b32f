"""The keyword index scores as bm25s does, and an update touches only the chunks it adds."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.dump_parser import parse_dump
from vectorstore.keyword_index import CURRENT, LAYOUT, KeywordIndex, TermCounts, tokenize

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "sample_data" / "dumps" / "000_253eb8ca2fc9d003.txt"
QUERIES = [
    "speculative decoding verification branches",
    "video generation identity preserving",
    "reinforcement learning reasoning language models",
    "face face restoration",  # a repeated query word counts twice, as in bm25s
]


@pytest.fixture(scope="module")
def chunks() -> tuple[list[str], list[str]]:
    papers = parse_dump(DUMP, max_abstract_chars=20_000).papers
    docs = []
    for paper in papers:  # two chunks per paper, like the chunker's output
        half = len(paper.abstract) // 2
        docs += [f"{paper.title}\n{paper.abstract[:half]}", paper.abstract[half:]]
    return [f"c{i}" for i in range(len(docs))], docs


def scores_by_id(index: KeywordIndex, query: str) -> dict[str, float]:
    return dict(index.search(query, k=10_000))


def test_scores_equal_bm25s_on_the_same_documents(tmp_path, chunks) -> None:
    ids, docs = chunks
    index = KeywordIndex(tmp_path / "bm25")
    index.build(ids, docs, "sig")
    reference = bm25s.BM25()  # bm25s's defaults: lucene, k1=1.5, b=0.75
    reference.index(tokenize(docs), show_progress=False)

    for query in QUERIES:
        want = reference.get_scores(tokenize([query])[0])
        got = scores_by_id(index, query)
        assert len(got) >= 5
        assert np.allclose([got.get(i, 0.0) for i in ids], want, rtol=1e-4, atol=1e-6), query


def test_update_tokenises_only_new_chunks_and_drops_removed_ones(tmp_path, chunks) -> None:
    ids, docs = chunks
    text = dict(zip(ids, docs, strict=True))
    index = KeywordIndex(tmp_path / "bm25")
    index.build(ids[:40], docs[:40], "sig-1")
    asked: list[list[str]] = []

    def documents_of(wanted: list[str]) -> list[str]:
        asked.append(list(wanted))
        return [text[i] for i in wanted]

    wanted = ids[5:]  # five chunks removed, the rest of the dump added
    added = index.update(wanted, documents_of, "sig-2")

    assert added == len(ids) - 40 and sorted(asked[0]) == sorted(ids[40:])
    assert sorted(index.ids) == sorted(wanted) and index.signature == "sig-2"
    clean = KeywordIndex(tmp_path / "clean")
    clean.build(wanted, [text[i] for i in wanted], "sig-2")
    for query in QUERIES:  # same scores as a build from scratch: IDF and lengths follow
        got, want = scores_by_id(index, query), scores_by_id(clean, query)
        assert got.keys() == want.keys()
        assert all(got[i] == pytest.approx(want[i], rel=1e-6) for i in want)
    assert index.update(wanted, documents_of, "sig-3") == 0 and len(asked[-1]) == 0


def test_a_second_process_sees_the_update(tmp_path, chunks) -> None:
    ids, docs = chunks
    writer, reader = KeywordIndex(tmp_path / "bm25"), KeywordIndex(tmp_path / "bm25")
    writer.build(ids[:2], docs[:2], "sig-1")
    assert len(reader) == 2
    writer.update(ids, lambda wanted: [docs[ids.index(i)] for i in wanted], "sig-2")
    assert len(reader) == len(ids) and reader.document_frequency("verif") >= 1


def test_an_index_of_the_previous_layout_is_rebuilt_then_rewritten(tmp_path, chunks) -> None:
    ids, docs = chunks
    root = tmp_path / "bm25"
    KeywordIndex(root).build(ids, docs, "sig")
    # Rewrite the live generation as the previous release did: bm25s's files, no layout.
    pointer = json.loads((root / CURRENT).read_text())
    gen_dir = root / pointer["generation"]
    for path in gen_dir.iterdir():
        if path.name != "ids.json":
            path.unlink()
    old = bm25s.BM25()
    old.index(tokenize(docs), show_progress=False)
    old.save(str(gen_dir))
    del pointer["layout"]
    (root / CURRENT).write_text(json.dumps(pointer))

    rows_read = []

    def rows() -> tuple[list[str], list[str]]:
        rows_read.append(1)
        return ids, docs

    index = KeywordIndex(root, rows=rows)
    assert index.search(QUERIES[0])[:1] and rows_read  # answered from the catalog's texts
    index.update(ids, lambda wanted: [docs[ids.index(i)] for i in wanted], "sig-2")
    assert json.loads((root / CURRENT).read_text())["layout"] == LAYOUT
    assert KeywordIndex(root).search(QUERIES[0]) == index.search(QUERIES[0])


def test_hits_do_not_depend_on_the_order_rows_were_added_in(tmp_path, chunks) -> None:
    ids, docs = chunks
    ids, docs = [*ids, "z-copy", "a-copy"], [*docs, docs[0], docs[0]]  # exact ties
    forward, backward = KeywordIndex(tmp_path / "f"), KeywordIndex(tmp_path / "b")
    forward.build(ids, docs, "s")
    backward.build(ids[::-1], docs[::-1], "s")
    for query in [*QUERIES, docs[0][:60]]:
        for k in (1, 3, 10):
            assert forward.search(query, k) == backward.search(query, k)
    top = [chunk_id for chunk_id, _ in forward.search(docs[0][:60], 3)]
    assert top == sorted(top) == ["a-copy", "c0", "z-copy"]  # tied: by chunk id


def test_chunk_ids_by_paper_follow_every_update(tmp_path, chunks) -> None:
    """Search takes a candidate's chunk ids from here instead of the catalog: a paper the
    index gained or lost must show at once, and one it does not hold not at all."""
    _, docs = chunks
    ids = [f"p{i // 2}#h#{i % 2}" for i in range(len(docs))]
    text = dict(zip(ids, docs, strict=True))
    index = KeywordIndex(tmp_path / "bm25")
    index.build(ids[:6], docs[:6], "sig-1")
    assert index.chunks_by_paper(["p0", "p2", "p9"]) == {"p0": ids[0:2], "p2": ids[4:6]}
    index.update(ids[2:10], lambda wanted: [text[c] for c in wanted], "sig-2")
    assert index.chunks_by_paper(["p0", "p4"]) == {"p4": ids[8:10]}
    some = lambda papers: np.isin(papers, ["p1", "p3"])  # noqa: E731
    assert index.chunks_of(some) == (4, [*ids[2:4], *ids[6:8]])
    assert index.chunks_of(some, at_most=3) == (4, [])  # too many to list: the count alone


def test_concurrent_searches_load_a_new_generation_once_and_agree(
    tmp_path, chunks, monkeypatch
) -> None:
    """After a re-index, the chats searching at that moment share one load of the new
    generation: each used to load its own copy (four at once under bench_load.py)."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import vectorstore.keyword_index as keyword_index

    ids, docs = chunks
    writer = KeywordIndex(tmp_path / "bm25")
    writer.build(ids[:40], docs[:40], "sig-1")
    reader = KeywordIndex(tmp_path / "bm25")
    assert reader.search(QUERIES[0])  # generation 1 loaded
    text = dict(zip(ids, docs, strict=True))
    writer.update(set(ids), lambda wanted: [text[i] for i in wanted], "sig-2")

    loads: list[int] = []
    start = threading.Barrier(8)
    original = keyword_index.TermCounts.load.__func__

    def slow_load(cls, gen_dir):
        loads.append(threading.get_ident())
        time.sleep(0.05)  # long enough for every thread to arrive while it loads
        return original(cls, gen_dir)

    monkeypatch.setattr(keyword_index.TermCounts, "load", classmethod(slow_load))

    def search(query: str) -> list[tuple[str, float]]:
        start.wait()
        return reader.search(query, k=50)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(search, QUERIES * 2))
    assert len(loads) == 1
    fresh = KeywordIndex(tmp_path / "bm25")
    assert results == [fresh.search(q, k=50) for q in QUERIES * 2]
    assert any(chunk_id not in ids[:40] for chunk_id, _ in results[0])  # the new rows


def test_the_writing_process_searches_its_new_generation_without_reading_it_back(
    tmp_path, chunks, monkeypatch
) -> None:
    ids, docs = chunks
    index = KeywordIndex(tmp_path / "bm25")
    index.build(ids[:40], docs[:40], "sig-1")
    assert index.search(QUERIES[0])  # generation 1 live
    index.update(set(ids), lambda wanted: [docs[ids.index(c)] for c in wanted], "sig-2")
    want = scores_by_id(KeywordIndex(tmp_path / "bm25"), QUERIES[1])  # read from disk

    def no_reload(cls, gen_dir):
        raise AssertionError(f"{gen_dir.name} was loaded back from disk")

    monkeypatch.setattr(TermCounts, "load", classmethod(no_reload))
    assert len(index) == len(ids)
    assert scores_by_id(index, QUERIES[1]) == want


def test_a_live_index_holds_one_copy_of_the_counts(tmp_path) -> None:
    """A server holds the live generation for its searches: the scorer's term-major copy, not
    also the row-major counts only a writer needs (it reads them from disk). At 85k chunks
    each copy is 40 MB, and during a re-index both generations are in memory for a moment."""
    rng = np.random.default_rng(0)
    docs = [" ".join(f"w{n}" for n in rng.integers(0, 5000, 600)) for _ in range(1050)]
    ids = [f"c{i}" for i in range(len(docs))]
    tracemalloc.start()
    try:
        index = KeywordIndex(tmp_path / "bm25")
        index.build(ids[:1000], docs[:1000], "sig-1")
        index.update(set(ids), lambda wanted: [docs[ids.index(c)] for c in wanted], "sig-2")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    stored = TermCounts.load(tmp_path / "bm25" / index._current()["generation"]).matrix
    one_copy = stored.data.nbytes + stored.indices.nbytes + stored.indptr.nbytes
    assert index.search("w1 w2") and len(index) == len(ids)
    assert one_copy < held < 1.8 * one_copy, (held, one_copy)  # two copies: 2.4x

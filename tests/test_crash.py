"""Crash safety: SIGKILL a real index run part-way, run again, compare with a clean build.

This file is also the script the test runs in a subprocess:
`python tests/test_crash.py HOME base|changed` syncs the papers of that scenario and prints
progress lines ("embedding DONE TOTAL") so the test knows when chunks are in Chroma.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "dumps"
N_PAPERS = 16
ADD_BATCH = 4  # small batches: many commits, so the kill lands between them


def scenario(name: str) -> tuple[list, list[str]]:
    """The papers (PaperDoc) of a scenario, and the ids it removes."""
    from vectorstore.documents import PaperDoc

    blocks: list[str] = []
    for path in sorted(SAMPLE.glob("*.txt")):
        blocks += [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n")]
    pairs: dict[str, str] = {}
    for title, abstract in itertools.pairwise(blocks):
        if len(abstract) > 300 and 10 < len(title) < 300 and "\n" not in title:
            pairs.setdefault(title, abstract)
    docs = []
    for n, (title, abstract) in enumerate(list(pairs.items())[:N_PAPERS]):
        paper_id = "p" + hashlib.sha1(title.casefold().encode()).hexdigest()[:15]
        meta = {"published": f"2025-01-{1 + n % 28:02d}", "year": 2025, "upvotes": n}
        docs.append(PaperDoc(paper_id, title, abstract, meta))
    if name == "base":
        return docs, []
    # "changed": 6 re-worded abstracts, 3 upvote changes, 3 papers removed.
    changed = [replace(d, abstract=d.abstract + " We also release code.") for d in docs[:6]]
    bumped = [replace(d, metadata={**d.metadata, "upvotes": 900}) for d in docs[6:9]]
    return changed + bumped + docs[9:-3], [d.paper_id for d in docs[-3:]]


def run(home: Path, name: str) -> None:
    from vectorstore.embeddings import load_embedder
    from vectorstore.paper_index import PaperIndex

    docs, remove = scenario(name)
    index = PaperIndex(home, embedder=load_embedder(), add_batch_size=ADD_BATCH)

    def progress(phase: str, done: int, total: int) -> None:
        print(phase.replace(" ", "_"), done, total, flush=True)

    index.sync(docs, remove_ids=remove, progress=progress)
    print("finished", flush=True)


if __name__ == "__main__":
    run(Path(sys.argv[1]), sys.argv[2])
    sys.exit(0)


# --- the test ---------------------------------------------------------------------------------
import pytest  # noqa: E402

from vectorstore.embeddings import Embedder  # noqa: E402
from vectorstore.paper_index import PaperIndex  # noqa: E402


def kill_mid_embedding(home: Path, name: str) -> int:
    """Start the script, SIGKILL it once some (not all) chunk batches are in Chroma."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, str(home), name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            phase, *numbers = line.split()
            if phase == "embedding" and ADD_BATCH <= int(numbers[0]) < int(numbers[1]):
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                return int(numbers[0])
            assert phase != "finished", "the run ended before it could be killed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pytest.fail("the index run exited without reaching the embedding phase")


def snapshot(index: PaperIndex) -> dict:
    got = index.collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        "ids": got["ids"],
        "rows": {
            cid: (doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        },
        "vectors": dict(zip(got["ids"], got["embeddings"], strict=True)),
        "papers": index.papers(),
        "bm25": sorted(index.keyword_index.ids),
        "bm25_hits": index.keyword_index.search("retrieval language model video", k=10),
    }


def assert_same(crashed: dict, clean: dict) -> None:
    assert len(crashed["ids"]) == len(set(crashed["ids"]))  # no duplicates
    assert sorted(crashed["ids"]) == sorted(clean["ids"])  # none missing, none extra
    assert crashed["rows"] == clean["rows"]  # same documents and metadata
    for cid, vector in clean["vectors"].items():
        assert max(abs(a - b) for a, b in zip(crashed["vectors"][cid], vector, strict=True)) < 1e-4
    assert crashed["papers"] == clean["papers"]
    assert crashed["bm25"] == clean["bm25"] == sorted(clean["ids"])
    assert [c for c, _ in crashed["bm25_hits"]] == [c for c, _ in clean["bm25_hits"]]


@pytest.mark.slow
def test_killed_index_runs_recover_to_a_clean_build(tmp_path: Path, embedder: Embedder) -> None:
    crashed_home, clean_home = tmp_path / "crashed", tmp_path / "clean"

    # 1. First build killed part-way; a rerun finishes it.
    kill_mid_embedding(crashed_home, "base")
    partial = PaperIndex(crashed_home, embedder=embedder)
    assert partial.verify()  # the kill really left work undone
    docs, _ = scenario("base")
    rerun = partial.sync(docs)
    assert rerun.chunks_embedded > 0 and rerun.added == 0  # catalog had committed the plan
    clean = PaperIndex(clean_home, embedder=embedder)
    clean.sync(docs)
    assert_same(snapshot(partial), snapshot(clean))
    assert partial.verify() == []

    # 2. An update (re-worded abstracts, new upvotes, removals) killed part-way.
    kill_mid_embedding(crashed_home, "changed")
    docs, remove = scenario("changed")
    recovered = PaperIndex(crashed_home, embedder=embedder)
    recovered.sync(docs, remove_ids=remove)
    fresh = PaperIndex(tmp_path / "clean2", embedder=embedder)
    fresh.sync(docs)
    assert_same(snapshot(recovered), snapshot(fresh))
    assert recovered.verify() == []
    assert recovered.sync(docs, remove_ids=remove).chunks_embedded == 0

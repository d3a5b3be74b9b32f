"""What a server holding a large index reads when a dump is indexed into it, and after.

Under 20 chat sessions on the 40,000-paper index, a 20-paper upload lifted the server's peak
by about 450 MB (benchmarks/bench_load.py): the index run read every paper (abstracts
included, ~100 MB) to merge 20, and the questions asked just after it each re-read every
paper's metadata for the index facts, all at once. Real catalog, real Chroma, real model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conftest import write_dump

from rag.assistant import ResearchAssistant
from rag.index_facts import CachedFacts
from rag.settings import Settings
from vectorstore.paper_index import PaperIndex


def test_an_index_run_reads_only_the_papers_its_dumps_name(
    writable_indexed_home: Path, tmp_path: Path, embedder, sample_papers_by_title
) -> None:
    ra = ResearchAssistant(Settings(home=writable_indexed_home))
    ra.__dict__["embedder"] = embedder
    known = next(iter(sample_papers_by_title.values()))
    before = ra.paper_index.get_papers([known.paper_id])[known.paper_id]
    dump = write_dump(
        tmp_path / "new.txt",
        [
            (known.title, known.abstract),
            ("Gait Recognition in the Wild", "We recognise people by their gait. " * 12),
        ],
    )

    def every_paper(self: PaperIndex) -> dict:
        raise AssertionError("an index run read every indexed paper")

    PaperIndex.papers, original = every_paper, PaperIndex.papers  # type: ignore[method-assign]
    try:
        report = ra.index([dump])
    finally:
        PaperIndex.papers = original  # type: ignore[method-assign]

    assert report.ok and report.papers_added == 1 and report.papers_updated <= 1
    after = ra.paper_index.get_papers([known.paper_id])[known.paper_id]
    # The known paper was merged with its catalog version: its dumps are the union.
    assert set(after.metadata["dumps"]) == set(before.metadata["dumps"]) | {"new.txt"}
    assert ra.paper_index.catalog.count_papers() == len(sample_papers_by_title) + 1


class SlowReader:
    """The real index's catalog reads, slowed so that concurrent callers overlap, and counted."""

    def __init__(self, index: PaperIndex) -> None:
        self.index = index
        self.reads = 0

    def paper_metadata(self) -> dict:
        self.reads += 1
        time.sleep(0.2)
        return self.index.paper_metadata()

    def dumps(self) -> list:
        return self.index.dumps()


def test_index_facts_are_read_by_one_thread_after_a_change(indexed_home: Path, embedder) -> None:
    reader = SlowReader(PaperIndex(indexed_home, embedder=embedder))
    papers = [reader.index.catalog.count_papers()]
    facts = CachedFacts(reader, lambda: papers[0])

    def eight_questions() -> list:
        got: list = []
        start = threading.Barrier(8)

        def ask() -> None:
            start.wait()
            got.append(facts())

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return got

    first = eight_questions()
    assert reader.reads == 1 and len(first) == 8 and all(f is first[0] for f in first)
    assert "ByteDance" in first[0].orgs
    papers[0] += 1  # an index run added a paper
    again = eight_questions()
    assert reader.reads == 2 and all(f is again[0] for f in again)

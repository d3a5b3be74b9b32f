"""Adding one new dump to a big index: `python benchmarks/bench_add.py --home DIR [--papers 100]`.

Issue 11's benchmark 2: the time `paperchat index` takes for a new 100-paper dump on the
40,000-paper corpus index, apart from embedding that dump's own chunks (goal <= 5 s). The dump
is written to a temp file from papers the index lacks: the sample dumps' first, then held-out
corpus papers. It is indexed through `ResearchAssistant.index`, exactly as the CLI does; each
phase is timed from the progress ticks, and embedding from the embedder's own calls. Then the
same papers are removed again (timed too), so the index is left as it was and the benchmark
can be rerun. The baseline, in the same process: rebuilding BM25 in full from every catalogued
chunk, which is what the previous release did after every change.

Table, then one JSON line. `--home` must be an indexed data dir (it is modified, then
restored); the CI smoke run uses a copy of the indexed sample with `--papers 3`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DUMP_HEADER = (  # as a saved Daily Papers page starts (tests/conftest.py writes the same)
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nNov 30\n\n"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="an indexed data dir")
    parser.add_argument("--papers", type=int, default=100, help="papers in the new dump")
    return parser.parse_args()


def new_papers(have: set[str], count: int) -> list:
    """`count` parsed papers the index does not hold: sample dumps first, then the corpus."""
    from benchmarks.corpus_split import SHARED, corpus_files
    from rag.dump_parser import parse_dump

    sources = [*sorted((ROOT / "sample_data" / "dumps").glob("*.txt"))]
    sources += corpus_files(training=False) + corpus_files(training=True)
    out, seen = [], set(have)
    for path in sources:
        for paper in parse_dump(path, max_abstract_chars=20_000).papers:
            if paper.paper_id not in seen:
                seen.add(paper.paper_id)
                out.append(paper)
                if len(out) == count:
                    return out
    sys.exit(f"only {len(out)} papers in {SHARED} are not indexed yet")


def write_dump(path: Path, papers: list) -> Path:
    """A dump in the Daily Papers text format (title, abstract, no metadata lines)."""
    blocks = [f"{p.title}\n\n{' '.join(p.abstract.split())}" for p in papers]
    path.write_text(DUMP_HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


class PhaseClock:
    """Progress callback that keeps when each phase was first and last ticked, in seconds
    since `start()`: the gaps between phases are the work that reports no progress."""

    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = {}
        self.started = time.perf_counter()

    def start(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.perf_counter() - self.started
        self.spans.setdefault(phase, [now, now])[1] = now


def time_embedding(embedder) -> list[float]:
    """Wraps embed_documents so the seconds spent in it are summed into the returned list."""
    spent = [0.0]
    inner: Callable = embedder.embed_documents

    def embed_documents(texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return inner(texts)
        finally:
            spent[0] += time.perf_counter() - started

    embedder.embed_documents = embed_documents
    return spent


def main() -> None:
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    args = parse_args()
    ra = ResearchAssistant(Settings(home=args.home, reranker="none"))
    index = ra.paper_index
    before = index.stats()
    papers = new_papers(index.catalog.paper_ids(), args.papers)
    embed_seconds = time_embedding(index.embedder)
    index.embedder.embed_query("warm up")  # the model loads outside the timed run
    clock = PhaseClock()
    with tempfile.TemporaryDirectory() as tmp:
        dump = write_dump(Path(tmp) / "new_dump.txt", papers)
        started = time.perf_counter()
        clock.start()
        report = ra.index([dump], progress=clock)
        add_s = time.perf_counter() - started
    embedded = embed_seconds[0]
    started = time.perf_counter()
    index.sync([], remove_ids=[p.paper_id for p in papers])
    remove_s = time.perf_counter() - started
    rows = index.catalog.chunks()
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp()) / "bm25"
    type(index.keyword_index)(scratch).build(
        [r.chunk_id for r in rows], [r.document for r in rows], "x"
    )
    full_bm25_s = time.perf_counter() - started
    after = index.stats()
    figures = {
        "index_papers": before.papers,
        "index_chunks": before.chunks,
        "dump_papers": len(papers),
        "added": report.papers_added,
        "chunks_embedded": report.chunks_embedded,
        "add_s": round(add_s, 2),
        "embedding_s": round(embedded, 2),
        "add_apart_from_embedding_s": round(add_s - embedded, 2),
        "phases_s": {k: [round(a, 2), round(b, 2)] for k, (a, b) in clock.spans.items()},
        "remove_again_s": round(remove_s, 2),
        "baseline_full_bm25_rebuild_s": round(full_bm25_s, 2),
        "restored": after.papers == before.papers and after.chunks == before.chunks,
    }
    print_table(figures)
    print(json.dumps(figures))


def print_table(f: dict) -> None:
    print(f"index: {f['index_papers']} papers, {f['index_chunks']} chunks; cores: {os.cpu_count()}")
    print(f"new dump: {f['dump_papers']} papers, {f['chunks_embedded']} chunks embedded")
    print(f"{'index run, total':40} {f['add_s']:8.2f} s")
    print(f"{'  of which embedding the new chunks':40} {f['embedding_s']:8.2f} s")
    print(f"{'  apart from embedding (goal <= 5 s)':40} {f['add_apart_from_embedding_s']:8.2f} s")
    for phase, (first, last) in f["phases_s"].items():
        print(f"{'  phase ' + phase:40} {first:8.2f} s to {last:.2f} s after the start")
    print(f"{'removing the papers again':40} {f['remove_again_s']:8.2f} s")
    print(
        f"{'baseline: BM25 rebuilt from every chunk':40} {f['baseline_full_bm25_rebuild_s']:8.2f} s"
    )
    print(f"index restored: {f['restored']}")


if __name__ == "__main__":
    main()

"""Indexing throughput: `python benchmarks/bench_index.py [N] [BASELINE_BATCH]`.

Indexes the first N abstracts of ../shared/corpus into a fresh temporary home and prints
papers/s, chunks/s, the time of an unchanged re-index (should be ~0 embedding work), and the
store size on disk. The same is measured with a small Chroma add batch as the baseline, in the
same process with the same loaded model, so the comparison is fair. Ends with one JSON line of
the figures. It always builds fresh homes: building is what it measures.

    python benchmarks/bench_index.py 500 8
    python benchmarks/bench_index.py 5        # CI smoke
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vectorstore.documents import PaperDoc  # noqa: E402
from vectorstore.embeddings import Embedder, load_embedder  # noqa: E402
from vectorstore.paper_index import PaperIndex  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_docs(n: int) -> list[PaperDoc]:
    """Title/abstract pairs read crudely from the monthly corpus files (no metadata needed)."""
    docs: dict[str, PaperDoc] = {}
    for path in sorted(CORPUS.glob("papers-*.txt")):
        blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n")]
        for title, abstract in itertools.pairwise(blocks):
            if len(abstract) > 300 and 10 < len(title) < 300 and "\n" not in title:
                paper_id = "p" + hashlib.sha1(title.casefold().encode()).hexdigest()[:15]
                docs.setdefault(paper_id, PaperDoc(paper_id, title, abstract, {"year": 2024}))
                if len(docs) == n:
                    return list(docs.values())
    return list(docs.values())


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def measure(label: str, docs: list[PaperDoc], embedder: Embedder, add_batch: int) -> dict:
    """Prints one row and returns its figures."""
    with tempfile.TemporaryDirectory(prefix="bench_index_") as tmp:
        home = Path(tmp)
        index = PaperIndex(home, embedder=embedder, add_batch_size=add_batch)
        started = time.perf_counter()
        report = index.sync(docs)
        build = time.perf_counter() - started
        started = time.perf_counter()
        again = index.sync(docs)
        noop = time.perf_counter() - started
        assert again.chunks_embedded == 0
        print(
            f"{label:<22} {len(docs):>6} {report.chunks_embedded:>7} {build:>8.1f} "
            f"{len(docs) / build:>9.1f} {report.chunks_embedded / build:>9.1f} "
            f"{noop:>9.2f} {size_mb(home):>9.1f}"
        )
        return {
            "papers": len(docs),
            "chunks": report.chunks_embedded,
            "build_s": round(build, 2),
            "papers_per_s": round(len(docs) / build, 2),
            "chunks_per_s": round(report.chunks_embedded / build, 2),
            "noop_s": round(noop, 3),
            "store_mb": round(size_mb(home), 2),
        }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    baseline_batch = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    docs = corpus_docs(n)
    started = time.perf_counter()
    embedder = load_embedder()
    model_load = time.perf_counter() - started
    print(f"model load: {model_load:.1f}s; cpu cores: {os.cpu_count()}")
    embedder.embed_documents([d.title for d in docs[:8]])  # warm-up
    print(
        f"{'run':<22} {'papers':>6} {'chunks':>7} {'build s':>8} {'papers/s':>9} "
        f"{'chunks/s':>9} {'noop s':>9} {'store MB':>9}"
    )
    figures = {"cores": os.cpu_count(), "model_load_s": round(model_load, 2)}
    figures["add_batch_64"] = measure("add batch 64", docs, embedder, 64)
    figures[f"baseline_add_batch_{baseline_batch}"] = measure(
        f"baseline add batch {baseline_batch}", docs, embedder, baseline_batch
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

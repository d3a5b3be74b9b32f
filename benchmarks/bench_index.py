"""Indexing against the encoder's own cost: `python benchmarks/bench_index.py [N] [BASELINE_BATCH]`.

Indexes the first N abstracts of ../shared/corpus into a fresh temporary home and prints
papers/s, chunks/s, the time of an unchanged re-index (goal: nothing embedded, <= 2 % of the
build), and the store size on disk. Then, in the same process with the same loaded model, it
reads the chunk texts back from Chroma and `encode`s them again, in the indexer's own batches:
"ratio" is that encode time over the whole index run (goal >= 0.9: everything the indexer
does besides embedding costs at most a tenth). "in run" splits the index run itself, as its
report times it: the model's calls, Chroma's writes (which run while the next batch embeds),
and the time outside the model's calls: a ratio below 0.9 with little time outside them means
the encoder ran slower inside the run, not that the indexer does too much. The same is
measured with a small Chroma add batch as the baseline. Ends with one JSON line of the
figures. It always builds fresh homes: building is what it measures.

For an index too big to embed twice (the 40,000-paper corpus takes over an hour here),
`--home DIR --build-seconds S --sample-batches K` times K of the indexer's batches chosen at
random from DIR's chunks and extrapolates the encode time of all of them (an estimate, with its
spread printed), against the S seconds the index run took; `--build-cpu-seconds C` (the run's
user + sys time) adds the same ratio in CPU seconds, which other work on the cores does not
inflate; `--build-embedding-seconds E` (`embedding_seconds` of the run's `--json` report) adds
the share of the run spent in the model's own calls, measured in that run.

    python benchmarks/bench_index.py 300 8
    python benchmarks/bench_index.py --home ~/.paperchat-40k --build-seconds 5400
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
        texts = stored_texts(index)
        started = time.perf_counter()
        for start in range(0, len(texts), add_batch):  # the indexer's own calls, no more
            embedder.embed_documents(texts[start : start + add_batch])
        encode = time.perf_counter() - started
        outside = build - report.embedding_seconds  # writes not hidden, the indexer's own
        print(
            f"{label:<22} {len(docs):>6} {report.chunks_embedded:>7} {build:>8.1f} "
            f"{len(docs) / build:>9.1f} {report.chunks_embedded / build:>9.1f} "
            f"{noop:>9.2f} {size_mb(home):>9.1f} {encode:>9.1f} {encode / build:>6.2f}\n"
            f"{'':<22} in run: model {report.embedding_seconds:.1f} s, Chroma writes "
            f"{report.store_seconds:.1f} s alongside it, outside the model {outside:.1f} s"
        )
        return {
            "papers": len(docs),
            "chunks": report.chunks_embedded,
            "build_s": round(build, 2),
            "papers_per_s": round(len(docs) / build, 2),
            "chunks_per_s": round(report.chunks_embedded / build, 2),
            "noop_s": round(noop, 3),
            "store_mb": round(size_mb(home), 2),
            "encode_same_texts_s": round(encode, 2),
            "in_run_embedding_s": round(report.embedding_seconds, 2),
            "in_run_store_s": round(report.store_seconds, 2),
            "encode_over_index": round(encode / build, 3),
            "noop_share_of_build": round(noop / build, 4),
        }


def stored_texts(index: PaperIndex) -> list[str]:
    """The chunk texts as Chroma holds them, in the order the indexer embedded them."""
    return texts_of(index, index.catalog.chunk_ids())


def texts_of(index: PaperIndex, ids: list[str]) -> list[str]:
    got = index.collection.get(ids=ids, include=["documents"])
    by_id = dict(zip(got["ids"], got["documents"], strict=True))
    return [by_id[chunk_id] for chunk_id in ids]


def estimate_existing(
    home: Path,
    build_seconds: float,
    k: int,
    build_cpu_seconds: float | None = None,
    add_batch: int = 64,
) -> dict:
    """Encode time of all of `home`'s chunks, extrapolated from K random indexer batches.

    With `build_cpu_seconds` (the index run's user + sys time, e.g. from `/usr/bin/time -v`)
    the same is done in CPU seconds: a build that shared the cores with other work took
    longer in wall time, but not in CPU time, so that ratio still compares like with like."""
    import random
    import statistics

    embedder = load_embedder()
    index = PaperIndex(home, embedder=embedder)
    ids = index.catalog.chunk_ids()
    batches = [ids[i : i + add_batch] for i in range(0, len(ids), add_batch)]
    picked = random.Random(0).sample(range(len(batches)), min(k, len(batches)))
    embedder.embed_documents(["warm up"])
    times, cpu = [], []
    for b in picked:
        texts = texts_of(index, batches[b])
        started, started_cpu = time.perf_counter(), time.process_time()
        embedder.embed_documents(texts)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    figures = {"chunks": len(ids), "batches_timed": len(times), "build_s": build_seconds}
    lines = [f"{len(ids)} chunks in {len(batches)} batches of {add_batch}; {len(times)} timed:"]
    for unit, samples, build in (("s", times, build_seconds), ("cpu_s", cpu, build_cpu_seconds)):
        if build is None:
            continue
        mean = statistics.mean(samples)
        spread = statistics.stdev(samples) / len(samples) ** 0.5 if len(samples) > 1 else 0.0
        encode = mean * len(batches)
        figures[f"build_{unit}"] = build
        figures[f"encode_estimate_{unit}"] = round(encode, 1)
        figures[f"encode_estimate_stderr_{unit}"] = round(spread * len(batches), 1)
        figures[f"encode_over_index_{unit}"] = round(encode / build, 3)
        lines.append(
            f"  {unit:6} encoding all: {encode:7.0f} (± {spread * len(batches):.0f}) against "
            f"{build:7.0f} for the index run: ratio {encode / build:.2f}"
        )
    print("\n".join(lines))
    return figures


def main() -> None:
    if "--home" in sys.argv:
        import argparse

        parser = argparse.ArgumentParser()
        parser.add_argument("--home", type=Path, required=True)
        parser.add_argument("--build-seconds", type=float, required=True)
        parser.add_argument("--build-cpu-seconds", type=float, help="the run's user + sys")
        parser.add_argument("--sample-batches", type=int, default=40)
        parser.add_argument("--build-embedding-seconds", type=float, help="from its --json")
        args = parser.parse_args()
        figures = estimate_existing(
            args.home, args.build_seconds, args.sample_batches, args.build_cpu_seconds
        )
        if args.build_embedding_seconds is not None:
            share = args.build_embedding_seconds / args.build_seconds
            figures["in_run_embedding_share"] = round(share, 3)
            print(f"  in the run itself: the model's calls took {share:.0%} of it")
        print(json.dumps(figures))
        return
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
        f"{'chunks/s':>9} {'noop s':>9} {'store MB':>9} {'encode s':>9} {'ratio':>6}"
    )
    figures = {"cores": os.cpu_count(), "model_load_s": round(model_load, 2)}
    figures["add_batch_64"] = measure("add batch 64", docs, embedder, 64)
    figures[f"baseline_add_batch_{baseline_batch}"] = measure(
        f"baseline add batch {baseline_batch}", docs, embedder, baseline_batch
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

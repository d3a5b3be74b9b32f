"""The obvious baseline, beside paperchat in the same run: a plain LangChain pipeline.

`langchain_chroma.Chroma.from_documents` over whole abstracts (title + abstract, one document
per paper) with the same embedder, then `similarity_search`. Issue 11 asks for three figures:
- indexing speed: the baseline and paperchat's `PaperIndex.sync` on the same N corpus papers
  (`--speed-papers`), with the same loaded model, in fresh temp dirs;
- search latency p50/p95 for k=10: the baseline's `similarity_search` against paperchat's
  hybrid search, on the same papers;
- quality on the dev questions at each `--distractors` size: paper Recall@5 and MRR of both.
  paperchat's index is the one bench_retrieval builds (`--home-prefix`, `--vectors-from` as
  there); the baseline embeds its abstracts itself (about 10 abstracts/s on these cores).

Table, then one JSON line.

    python benchmarks/bench_langchain.py --distractors 3000 10000 --vectors-from ~/pc-40k
    python benchmarks/bench_langchain.py --distractors 0 --speed-papers 5 --limit 2  # CI
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_retrieval import (  # noqa: E402
    LATENCY_QUERIES,
    SHARED,
    build,
    embed_every_query,
    p50_p95,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=int, nargs="+", default=[3000])
    parser.add_argument("--speed-papers", type=int, default=300)
    parser.add_argument("--limit", type=int, default=0, help="dev questions (0: all)")
    parser.add_argument("--repeats", type=int, default=3, help="latency rounds over the queries")
    parser.add_argument("--home-prefix", default=str(Path(tempfile.gettempdir()) / "pc-bench-"))
    parser.add_argument(
        "--vectors-from", type=Path, help="a full-corpus index whose vectors to reuse"
    )
    return parser.parse_args()


def as_documents(docs) -> list:
    """One LangChain Document per paper: what a tutorial pipeline would index."""
    from langchain_core.documents import Document

    return [
        Document(page_content=f"{d.title}\n{d.abstract}", metadata={"title": d.title}) for d in docs
    ]


def baseline_store(documents: list, embedder, directory: str):
    from langchain_chroma import Chroma

    return Chroma.from_documents(
        documents, embedder, persist_directory=directory, collection_name="baseline"
    )


def speed(n: int, embedder) -> dict:
    """Both pipelines index the same n corpus papers in fresh dirs with the same model."""
    from benchmarks.bench_index import corpus_docs
    from vectorstore.paper_index import PaperIndex

    docs = corpus_docs(n)
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        baseline_store(as_documents(docs), embedder, f"{tmp}/baseline")
        figures["baseline_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        report = PaperIndex(Path(tmp) / "paperchat", embedder=embedder).sync(docs)
        figures["paperchat_s"] = round(time.perf_counter() - started, 2)
    figures.update(papers=len(docs), paperchat_chunks=report.chunks_embedded)
    print(
        f"indexing {len(docs)} papers: baseline {figures['baseline_s']} s (1 document each), "
        f"paperchat {figures['paperchat_s']} s ({report.chunks_embedded} chunks)"
    )
    return figures


def scored(pairs: list) -> list:
    """Documents carrying their cosine as relevance, as the evaluation reads hits (Chroma's
    default space is squared L2, which is 2 - 2 cos for the embedder's unit vectors). The
    baseline has no abstention; the figure is only recorded."""
    for doc, distance in pairs:
        doc.metadata["relevance"] = 1 - distance / 2
    return [doc for doc, _ in pairs]


def timed_ms(search, repeats: int) -> dict:
    samples = []
    for _ in range(repeats):
        for query in LATENCY_QUERIES:
            started = time.perf_counter()
            search(query)
            samples.append((time.perf_counter() - started) * 1000)
    return p50_p95(samples)


def compare_at(n: int, args: argparse.Namespace) -> dict:
    """Quality and latency of both on the sample dumps plus n held-out distractors."""
    from rag.evaluation import evaluate_system, load_questions

    assistant = build(Path(f"{args.home_prefix}{n}"), n, 0, args.vectors_from)
    index = assistant.paper_index
    docs = list(index.catalog.papers().values())
    questions = load_questions(SHARED / "eval" / "dev_questions.jsonl")
    questions = questions[: args.limit] if args.limit else questions
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = baseline_store(as_documents(docs), index.embedder, tmp)
        print(
            f"baseline over {len(docs)} abstracts embedded in {time.perf_counter() - started:.0f}s"
        )
        systems = {
            "baseline": lambda q, k: scored(store.similarity_search_with_score(q, k)),
            "paperchat": lambda q, k: index.searcher.search(q, k),
        }
        embed_every_query(index.embedder)  # both pipelines share it: both embed every query
        row = {"papers": len(docs)}
        for name, search in systems.items():
            report = evaluate_system(name, search, questions, 10, lambda hits: False)
            row[name] = {
                "R@5": round(report.overall.recall_at_5, 3),
                "MRR": round(report.overall.mrr, 3),
                "latency": timed_ms(lambda q, s=search: s(q, 10), args.repeats),
            }
    return row


def main() -> None:
    from vectorstore.embeddings import load_embedder

    args = parse_args()
    print(f"cores: {os.cpu_count()}")
    figures: dict = {"speed": speed(args.speed_papers, load_embedder())}
    print(f"\n{'distractors':>11} {'system':10} {'R@5':>6} {'MRR':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for n in args.distractors:
        row = figures[f"distractors_{n}"] = compare_at(n, args)
        for name in ("baseline", "paperchat"):
            r = row[name]
            lat = r["latency"]
            print(
                f"{n:>11} {name:10} {r['R@5']:>6.3f} {r['MRR']:>6.3f} "
                f"{lat['p50_ms']:>8.1f} {lat['p95_ms']:>8.1f}"
            )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

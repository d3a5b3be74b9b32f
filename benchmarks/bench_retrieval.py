"""Retrieval benchmark: quality and latency of dense-only, BM25-only and hybrid search.

Indexes the five sample dumps plus N distractor papers drawn (seeded) from ../shared/corpus into
a data directory that is kept between runs (re-runs only embed what is new), then prints:
- paper Recall@1/5/10 and MRR per question kind, and abstention, for each retriever, on the dev
  questions (and on any extra question files given with --questions);
- with distractors, also "hybrid-condensed": the hybrid ranking with the distractor papers
  taken out. The gold lists were written against the sample dumps only, so a distractor is
  an unjudged paper: for a topic question ("which papers do talking-head generation?") many
  distractors are correct answers that push gold papers past rank 10. The condensed ranking
  (the usual treatment of unjudged documents in IR evaluation) shows whether the distractors
  disturbed the order of the judged papers; the plain hybrid rows show the raw effect;
- latency p50/p95 (ms) of hybrid search: unfiltered, and filtered (date range, org, min upvotes)
  with the over-fetch + post-filter strategy ("auto") and with Chroma's `where` pre-filter;
- last, one JSON line of those figures.

    python benchmarks/bench_retrieval.py --distractors 3000
    python benchmarks/bench_retrieval.py --distractors 0 --questions my_questions.jsonl
    python benchmarks/bench_retrieval.py --distractors 0 --home DIR --limit 3 --repeats 1  # CI

This is a script, not a test: it takes minutes (embedding runs at ~15-30 chunks/s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))  # benchmarks.corpus_split
LATENCY_QUERIES = [
    "identity-preserving video generation from a single face photo",
    "Which dataset has images of synthetic identity documents for fraud detection?",
    "person re-identification when people change clothes",
    "machine unlearning in large language models",
    "What is InstantID?",
    "speculative decoding to accelerate LLM inference",
    "face anti-spoofing with domain generalization",
    "talking head generation driven by audio",
]
FILTERS = {
    "date 2025": dict(since=date(2025, 1, 1), until=date(2025, 12, 31)),
    "org ByteDance": dict(org="bytedance"),
    "upvotes >= 20": dict(min_upvotes=20),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=int, default=3000, help="corpus papers to add")
    parser.add_argument("--home", type=Path, help="data dir (default: a temp dir per N)")
    parser.add_argument("--questions", type=Path, action="append", default=[])
    parser.add_argument(
        "--vectors-from", type=Path, help="a full-corpus index whose vectors to reuse"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="latency rounds over the queries")
    parser.add_argument("--limit", type=int, default=0, help="questions per file (0: all)")
    return parser.parse_args()


def distractor_docs(count: int, seed: int) -> list:
    """`count` corpus papers from the months the reader never trained on, sampled reproducibly."""
    from benchmarks.corpus_split import held_out_papers

    return [p.to_doc() for p in held_out_papers(count, seed)]


def build(
    home: Path,
    count: int,
    seed: int,
    vectors_from: Path | None = None,
    reranker: str | None = None,
):
    """The sample dumps plus `count` held-out distractors in `home` (kept between runs).
    `vectors_from`: a full-corpus index whose stored vectors are reused (stored_vectors).
    `reranker`: PAPERCHAT_RERANKER for this assistant only (None: the settings' default)."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    embeddings = None
    if vectors_from is not None and not (home / "catalog.sqlite3").exists():
        from benchmarks.stored_vectors import StoredVectors

        embeddings = StoredVectors(vectors_from)
    values = {} if reranker is None else {"reranker": reranker}
    assistant = ResearchAssistant(Settings(home=home, **values), embeddings=embeddings)
    started = time.perf_counter()
    report = assistant.index(sorted((ROOT / "sample_data" / "dumps").glob("*.txt")))
    if count:
        extra = assistant.paper_index.sync(distractor_docs(count, seed))
        print(f"distractors: {extra}")
    print(
        f"index ready in {time.perf_counter() - started:.0f}s "
        f"(sample: {report.papers_added} added, {report.papers_unchanged} unchanged)"
    )
    return assistant


def sample_paper_ids() -> set[str]:
    from rag.dump_parser import parse_dump

    dumps = sorted((ROOT / "sample_data" / "dumps").glob("*.txt"))
    return {
        paper.paper_id
        for path in dumps
        for paper in parse_dump(path, max_abstract_chars=20_000).papers
    }


def quality(assistant, files: list[Path], distractors: int, limit: int = 0) -> dict:
    """Prints a report per question file; returns {file stem: {system: figures}}."""
    from rag.evaluation import (
        EvalReport,
        default_abstain,
        evaluate_system,
        format_report,
        load_questions,
    )

    search = assistant.paper_index.searcher
    judged = sample_paper_ids()

    def condensed(question: str, k: int) -> list:
        hits = search.search(question, 200)
        return [h for h in hits if h.metadata["paper_id"] in judged][:k]

    figures: dict[str, dict] = {}
    for path in files:
        questions = load_questions(path)
        questions = questions[:limit] if limit else questions
        systems = {
            mode: evaluate_system(
                mode,
                lambda q, k, m=mode: search.search(q, k, mode=m),
                questions,
                10,
                default_abstain(),
            )
            for mode in ("hybrid", "dense", "bm25")
        }
        if distractors:
            systems["hybrid-condensed"] = evaluate_system(
                "hybrid-condensed", condensed, questions, 10, default_abstain()
            )
        report = EvalReport(
            questions_file=str(path), questions=len(questions), k_max=10, systems=systems
        )
        print(format_report(report), end="\n\n")
        figures[path.stem] = {
            name: {
                **system.overall.model_dump(),
                "abstention_accuracy": round(system.abstention_accuracy, 3),
                "false_abstention_rate": round(system.false_abstention_rate, 3),
            }
            for name, system in systems.items()
        }
    return figures


def p50_p95(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def percentiles(samples: list[float]) -> str:
    p = p50_p95(samples)
    return f"p50 {p['p50_ms']:7.1f} ms  p95 {p['p95_ms']:7.1f} ms"


@contextmanager
def on_pytorch(embedder) -> Iterator[bool]:
    """Questions embedded by PyTorch instead of ONNX Runtime (vectorstore.onnx_encoder) while
    inside, for the side-by-side rows; yields whether there was a session to set aside."""
    loaded = getattr(embedder, "loaded", embedder)
    session = getattr(loaded, "onnx", None)
    loaded.onnx = None
    try:
        yield session is not None
    finally:
        loaded.onnx = session


def embed_every_query(embedder) -> None:
    """Turn the embedder's query memo off: each latency round then embeds its queries again,
    as a new question would, instead of timing a memo hit from the round before."""
    memo = getattr(embedder, "query_memo", None)
    if memo is not None:
        memo.max_entries = 0
        memo.clear()


def query_embedding(embedder, repeats: int, label: str) -> dict[str, float]:
    """Embedding the latency queries alone, the memo off; prints its row."""
    samples = []
    for _ in range(repeats):
        for q in LATENCY_QUERIES:
            t = time.perf_counter()
            embedder.embed_query(q)
            samples.append((time.perf_counter() - t) * 1000)
    print(f"{label:34} {percentiles(samples)}")
    return p50_p95(samples)


def searches(
    search, repeats: int, label: str, filters=None, strategy: str = "auto"
) -> dict[str, float]:
    """k=10 hybrid searches of the latency queries; prints its row."""
    samples, hits = [], 0
    for _ in range(repeats):
        for q in LATENCY_QUERIES:
            t = time.perf_counter()
            docs = search.search(q, 10, filters, filter_strategy=strategy)
            samples.append((time.perf_counter() - t) * 1000)
            hits += len(docs)
    print(f"{label:34} {percentiles(samples)}  (avg hits {hits / len(samples):.1f})")
    return p50_p95(samples)


def latency(assistant, repeats: int) -> dict[str, dict[str, float]]:
    """Prints a row per case; returns {case: {p50_ms, p95_ms}}."""
    from vectorstore.filters import SearchFilters

    index = assistant.paper_index
    search = index.searcher
    search.search("warm up", 10)  # model, collection and BM25 load
    embed_every_query(index.embedder)
    label = "query embedding only"
    figures = {label: query_embedding(index.embedder, repeats, label)}
    with on_pytorch(index.embedder) as had_onnx:
        if had_onnx:  # the same two rows with PyTorch, side by side
            label = "query embedding only, PyTorch"
            figures[label] = query_embedding(index.embedder, repeats, label)
            label = "unfiltered, PyTorch queries"
            figures[label] = searches(search, repeats, label)
    cases = [("unfiltered", None, "auto")]
    for name, values in FILTERS.items():
        for strategy in ("auto", "where"):
            cases.append((f"{name} [{strategy}]", SearchFilters(**values), strategy))
    for label, filters, strategy in cases:
        figures[label] = searches(search, repeats, label, filters, strategy)
    collection = index.collection
    vector = index.embedder.embed_query(LATENCY_QUERIES[0])
    for label, where in (
        ("chroma query unfiltered", None),
        ("chroma query where date", {"published_ts": {"$gte": 20250101}}),
    ):
        samples = []
        for _ in range(repeats * len(LATENCY_QUERIES)):
            t = time.perf_counter()
            collection.query(query_embeddings=[vector], n_results=100, where=where)
            samples.append((time.perf_counter() - t) * 1000)
        print(f"{label:34} {percentiles(samples)}")
        figures[label] = p50_p95(samples)
    return figures


def main() -> None:
    args = parse_args()
    home = args.home or Path(tempfile.gettempdir()) / f"paperchat-bench-{args.distractors}"
    print(f"home: {home}  distractors: {args.distractors}  cores: {os.cpu_count()}")
    assistant = build(home, args.distractors, args.seed, args.vectors_from)
    stats = assistant.paper_index.stats()
    print(f"indexed: {stats.papers} papers, {stats.chunks} chunks\n")
    files = [SHARED / "eval" / "dev_questions.jsonl", *args.questions]
    figures = {
        "distractors": args.distractors,
        "papers": stats.papers,
        "chunks": stats.chunks,
        "quality": quality(assistant, files, args.distractors, args.limit),
        "latency": latency(assistant, args.repeats),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Trends timing: `python benchmarks/bench_trends.py [--home DIR] [--runs N] [--synthetic N]`.

Times `ResearchAssistant.trends()` as the UI and `paperchat trends` call it: a fresh assistant
each run (nothing cached: opening the store, reading every paper's chunk vectors from Chroma,
clustering, labelling, the month tallies; the embedding model is loaded before the clock
starts, since trends never embed), then the same call again (served from the cache until the next
index run). Beside it, the baseline of what reusing the stored vectors saves: re-embedding
the same papers' chunks, measured on up to 200 of them and scaled to the index.

With no --home the sample dumps are indexed into a temporary data dir first (about 30 s);
`--home DIR` reuses an existing index as it is, e.g. the whole ../shared/corpus once one has
been built (hours of embedding on 2 CPU cores, which is why it is not built here).

`--synthetic N` adds a scale estimate without such an index: N real papers of
../shared/corpus (titles, abstracts, upvotes, capture months as they are), with stand-in
vectors (TF-IDF + 384-component SVD of the abstracts: real topical structure, no embedding
model), through the same computation (`rag.trends.compute_trends`: KMeans above 2,000
papers); and the Chroma read of 2.2 chunk vectors a paper (the corpus's ratio), written to a
temporary embedded collection first, and the catalog read of their records. Prints a table,
then one JSON line of the figures.

    python benchmarks/bench_trends.py --runs 3 --synthetic 40000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "sample_data" / "dumps"
CORPUS = ROOT.parent / "shared" / "corpus"
CHUNKS_PER_PAPER = 2.2


def assistant(home: Path):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    return ResearchAssistant(Settings(home=home, reranker="none"))


def ensure_index(home: Path) -> None:
    from vectorstore.catalog import Catalog

    if (home / "catalog.sqlite3").exists() and Catalog.in_home(home).count_papers():
        return
    print(f"indexing the sample dumps into {home} ...", flush=True)
    report = assistant(home).index(sorted(SAMPLE.glob("*.txt")))
    assert report.ok, report.summary()


def time_index(home: Path, runs: int) -> dict:
    """Uncached and cached trends on the index in `home`, and the re-embedding baseline."""
    fresh, cached = [], []
    model = assistant(home).embedder  # loaded once, outside the clock: trends never embed
    for _ in range(runs):
        ra = assistant(home)
        ra.__dict__["embedder"] = model
        started = time.perf_counter()
        trends = ra.trends()
        fresh.append(time.perf_counter() - started)
        started = time.perf_counter()
        ra.trends()
        cached.append(time.perf_counter() - started)
    chunks = ra.paper_index.catalog.chunks()
    sample = [r.document for r in chunks[:200]]
    started = time.perf_counter()
    ra.embedder.embed_documents(sample)
    per_chunk = (time.perf_counter() - started) / max(len(sample), 1)
    return {
        "papers": sum(trends.month_papers) + trends.undated,
        "chunks": len(chunks),
        "topics": len(trends.topics),
        "months": len(trends.months),
        "trends_s": round(statistics.median(fresh), 3),
        "trends_min_s": round(min(fresh), 3),
        "trends_max_s": round(max(fresh), 3),
        "cached_s": round(statistics.median(cached), 4),
        "reembed_baseline_s": round(per_chunk * len(chunks), 1),
    }


def corpus_papers(count: int):
    """`count` corpus papers (spread over every month) as PaperDocs, with their dump records."""
    from rag.dump_parser import parse_dump
    from vectorstore.catalog import DumpRecord

    files = sorted(CORPUS.glob("papers-*.txt"))
    docs, dumps = [], []
    for path in files:
        parsed = parse_dump(path, max_abstract_chars=20_000)
        dumps.append(DumpRecord.from_file(path, parsed.captured, parsed.captured_inferred, 0))
        docs += [paper.to_doc() for paper in parsed.papers]
    step = max(len(docs) / count, 1.0)
    chosen = [docs[int(i * step)] for i in range(min(count, len(docs)))]
    return {d.paper_id: d for d in chosen}, dumps


def stand_in_vectors(papers: dict) -> tuple[list[str], object]:
    """TF-IDF + SVD (384 dims) of title and abstract, unit length: topical, model-free."""
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids = sorted(papers)
    texts = [f"{papers[p].title}. {papers[p].abstract}" for p in ids]
    matrix = TfidfVectorizer(max_features=50_000, stop_words="english").fit_transform(texts)
    vectors = TruncatedSVD(384, random_state=0).fit_transform(matrix).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    return ids, vectors


def corpus_idf(papers: dict):
    """IDF of each stem over the papers (what the BM25 index holds in a real data dir)."""
    from collections import Counter

    from vectorstore.fusion import idf
    from vectorstore.text import index_terms

    df = Counter(t for doc in papers.values() for t in set(index_terms(doc.abstract)))
    total = len(papers)
    return lambda token: idf(df.get(token, 0), total)


def time_chroma_read(ids: list[str], vectors, folder: Path) -> float:
    """Write CHUNKS_PER_PAPER noisy copies of each vector to a temporary embedded Chroma
    collection, then time reading them back as paper vectors (vectorstore.paper_vectors)."""
    import chromadb
    import numpy as np

    from vectorstore.chroma_store import ChromaStore
    from vectorstore.paper_vectors import _scan, mean_vectors

    client = chromadb.PersistentClient(path=str(folder / "chroma"))
    collection = client.create_collection("bench", metadata={"hnsw:space": "cosine"})
    rng = np.random.default_rng(0)
    chunk_ids, rows = [], []
    for n, pid in enumerate(ids):
        for i in range(2 if n % 5 else 3):  # 2.2 chunks a paper on average
            chunk_ids.append(f"{pid}#bench#{i}")
            rows.append(vectors[n] + rng.normal(0, 0.01, vectors.shape[1]).astype(np.float32))
    for start in range(0, len(chunk_ids), 5000):
        collection.add(ids=chunk_ids[start : start + 5000], embeddings=rows[start : start + 5000])

    class Store:  # the two things paper_vectors reads of a PaperStore
        chroma = ChromaStore(client, "bench", str(folder / "chroma"))

        class embedder:
            dimension = vectors.shape[1]

    Store.collection = collection
    started = time.perf_counter()
    found_ids, matrix = _scan(Store)  # type: ignore[arg-type]
    mean_vectors(found_ids, matrix)
    return time.perf_counter() - started


def time_catalog_read(papers: dict, folder: Path) -> float:
    """Write the papers to a temporary catalog, then time reading them back by id (what
    index_trends reads besides the vectors)."""
    from vectorstore.catalog import Catalog, CatalogChanges

    catalog = Catalog(folder / "catalog.sqlite3")
    catalog.apply(CatalogChanges(replace=[(doc, "bench", []) for doc in papers.values()]))
    started = time.perf_counter()
    catalog.papers(list(papers))
    return time.perf_counter() - started


def time_synthetic(count: int) -> dict:
    from rag.trends import compute_trends

    print(f"reading {count} corpus papers ...", flush=True)
    papers, dumps = corpus_papers(count)
    ids, vectors = stand_in_vectors(papers)
    idf = corpus_idf(papers)
    started = time.perf_counter()
    trends = compute_trends(ids, vectors, papers, dumps, idf)
    compute = time.perf_counter() - started
    print(f"writing {int(len(ids) * CHUNKS_PER_PAPER)} chunk vectors to Chroma ...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        read = time_chroma_read(ids, vectors, Path(folder))
        catalog = time_catalog_read(papers, Path(folder))
    return {
        "synthetic_papers": len(ids),
        "synthetic_topics": len(trends.topics),
        "synthetic_months": len(trends.months),
        "synthetic_compute_s": round(compute, 2),
        "synthetic_chroma_read_s": round(read, 2),
        "synthetic_catalog_read_s": round(catalog, 2),
        "synthetic_rising": trends.rising[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an existing data dir (default: the sample)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--synthetic", type=int, default=0, help="corpus papers, stand-in vectors")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        ensure_index(home)
        figures = time_index(home, args.runs)
    print(f"\n{'measure':<52} {'seconds':>9}")
    print(
        f"{'trends, uncached (median of ' + str(args.runs) + ')':<52} {figures['trends_s']:>9.3f}"
    )
    print(f"{'trends, cached':<52} {figures['cached_s']:>9.4f}")
    baseline = "baseline: re-embedding its chunks instead"
    print(f"{baseline:<52} {figures['reembed_baseline_s']:>9.1f}")
    print(
        f"  ({figures['papers']} papers, {figures['chunks']} chunks, {figures['topics']} topics, "
        f"{figures['months']} months)"
    )
    if args.synthetic and not any(CORPUS.glob("papers-*.txt")):
        print(f"no corpus in {CORPUS}: --synthetic skipped")
    elif args.synthetic:
        figures |= time_synthetic(args.synthetic)
        n = figures["synthetic_papers"]
        print(
            f"{f'{n} corpus papers: cluster + label + tally':<52} "
            f"{figures['synthetic_compute_s']:>9.2f}"
        )
        print(
            f"{f'{n} papers: Chroma read of their chunk vectors':<52} "
            f"{figures['synthetic_chroma_read_s']:>9.2f}"
        )
        print(
            f"{f'{n} papers: catalog read of their records':<52} "
            f"{figures['synthetic_catalog_read_s']:>9.2f}"
        )
        print(f"  ({figures['synthetic_topics']} topics over {figures['synthetic_months']} months)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

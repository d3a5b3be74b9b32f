"""`ask` overhead: `python benchmarks/bench_ask.py [--home DIR] [--limit N] [--repeats R]`.

Times `ResearchAssistant.ask` per question (the dev questions, ../shared/eval), as a user's
code calls it, and splits it into retrieval (the chain's retriever call: what `ra.search`
does), the answerer, and the rest of the chain (reading the question, citation checks).
Issue 11's goal: ask overhead apart from the LLM's own time <= 150 ms without the reranker.

Variants, each a fresh ResearchAssistant over the same index (the models are loaded once):
- `extractive none, no caches` (baseline): PAPERCHAT_RERANKER=none, every ask embeds every
  candidate sentence and embeds the question twice (search and answerer), as before the
  sentence cache and the query memo;
- `extractive none`: what ships: sentence vectors cached by text (rag.extractive.
  SentenceCache), query vectors memoised (vectorstore.embeddings.QueryMemo);
- `extractive reader`: the bundled reader reranks and picks the quotes;
- `LLM none`: answers from the tests' OpenAI-compatible server (tests/openai_server.py),
  started in-process on loopback. Its own time, from a request's arrival to the last
  streamed byte as the server sees it, is the "LLM time"; overhead = ask - LLM time.

Round 1 asks each question for the first time (caches cold: a paper's sentences are embedded
the first time it is quoted); rounds 2..R ask them again ("repeat"). Prints p50/p95 per variant
and round (wall ms; and the process's CPU ms, all threads, which the load of other programs
does not inflate), the mean time of each part, then one JSON line of the figures.

With no --home the sample dumps are indexed into a temporary data dir first (about 40 s);
`--home DIR` uses DIR as it is (indexing it only if it has no papers yet).

    python benchmarks/bench_ask.py --limit 0 --repeats 3
    python benchmarks/bench_ask.py --home DIR --limit 2 --repeats 2   # CI smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.assistant import ResearchAssistant

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # openai_server: the tests' local LLM server
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from benchmarks.bench_retrieval import on_pytorch  # noqa: E402
from benchmarks.bench_trends import ensure_index  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
QUESTIONS_HERE = ROOT / "benchmarks" / "questions" / "reader_detail.jsonl"  # if ../shared is not
GOAL_MS = 150.0
WARM_UP = "What is the boiling point of water at sea level?"  # abstains: fills no cache
LLM_REPLY = (
    "The first paper answers this: it drafts several candidate continuations, verifies them "
    "against the model and keeps the longest accepted one, so the output is unchanged while "
    "decoding is faster [1]. The second paper is related but addresses another task, and its "
    "evaluation is on a different benchmark with other baselines [2]."
)
LLM_PIECES = 30  # streamed chunks per answer (the server pauses 2 ms between events)
PARTS = {  # probe label -> what it is, in the order printed
    "retrieve": "retrieval (the retriever call)",
    "retrieve.embed_query": "  embed the question",
    "retrieve.nearest": "  dense search (Chroma)",
    "retrieve.bm25": "  BM25",
    "retrieve.exact": "  exact scores (stored vectors, coverage)",
    "retrieve.documents": "  results (catalog, evidence)",
    "retrieve.reader": "  rerank (reader)",
    "generate": "answerer",
    "answer.embed_query": "  embed the question (again)",
    "answer.embed_documents": "  embed sentences",
    "answer.reader": "  reader scores sentences",
    "llm": "  LLM server's own time",
    "other": "rest of the chain",
}


@dataclass(frozen=True)
class Variant:
    key: str
    reranker: str  # "none" or "bundled"
    llm: bool = False
    cached: bool = True  # the sentence cache and the query memo
    pytorch: bool = False  # questions and sentences embedded by PyTorch, not ONNX Runtime


VARIANTS = [
    Variant("extractive none, no caches (baseline)", "none", cached=False),
    Variant("extractive none", "none"),
    Variant("extractive none, PyTorch", "none", pytorch=True),
    Variant("extractive reader", "bundled"),
    Variant("LLM none", "none", llm=True),
]


class Probe:
    """Wall time spent in wrapped methods, per label, for the ask being timed. Shared
    objects (the embedder, the reader) are charged to retrieval while search runs, else to
    the answerer."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self.phase = "answer"

    def wrap(self, obj: Any, name: str, label: str = "{phase}.{name}") -> None:
        original = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                key = label.format(phase=self.phase, name=name)
                self.times[key] += time.perf_counter() - started

        setattr(obj, name, timed)

    def phased(self, obj: Any, name: str, phase: str) -> None:
        original = getattr(obj, name)

        def within(*args: Any, **kwargs: Any) -> Any:
            self.phase = phase
            try:
                return original(*args, **kwargs)
            finally:
                self.phase = "answer"

        setattr(obj, name, within)


def timed_server() -> tuple[Any, list[float]]:
    """The tests' OpenAI-compatible server on loopback, and the list its request handler
    appends each request's duration to (arrival to last byte written)."""
    from openai_server import FakeOpenAIServer

    server = FakeOpenAIServer().start()
    served: list[float] = []
    base = server._httpd.RequestHandlerClass

    class Timed(base):  # type: ignore[misc, valid-type]
        def do_POST(self) -> None:
            started = time.perf_counter()
            try:
                super().do_POST()
            finally:
                served.append(time.perf_counter() - started)

    server._httpd.RequestHandlerClass = Timed
    return server, served


@contextmanager
def sentence_cache(enabled: bool) -> Iterator[None]:
    """Build the chain with or without rag.extractive.SentenceCache around the embedder."""
    import rag.chain

    kept = rag.chain.SentenceCache
    if not enabled:
        rag.chain.SentenceCache = lambda embedder: embedder  # type: ignore[assignment, misc]
    try:
        yield
    finally:
        rag.chain.SentenceCache = kept


@dataclass
class Models:
    """Loaded once and shared by every variant's assistant."""

    embedder: Any
    reader: Any
    probe: Probe = field(default_factory=Probe)

    def __post_init__(self) -> None:
        self.probe.wrap(self.embedder, "embed_query")
        self.probe.wrap(self.embedder, "embed_documents")
        if self.reader is not None:
            self.probe.wrap(self.reader, "score", "{phase}.reader")


def assistant(home: Path, variant: Variant, models: Models, llm_url: str) -> ResearchAssistant:
    """A fresh assistant on the shared models (its caches empty), its search probed."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    values: dict[str, Any] = {"home": home, "reranker": variant.reranker}
    if variant.llm:
        values.update(openai_base_url=llm_url, llm_model="test-model", llm_max_retries=0)
    ra = ResearchAssistant(Settings(**values))
    ra.__dict__["embedder"] = models.embedder
    ra.__dict__["reader"] = models.reader if variant.reranker == "bundled" else None
    with sentence_cache(variant.cached):
        ra.chain  # noqa: B018  (built now, with or without the cache)
    search = ra.retriever.search_engine
    probe = models.probe
    probe.phased(search, "search", "retrieve")
    probe.wrap(search.store, "nearest", "retrieve.nearest")
    probe.wrap(search.store.keywords, "search", "retrieve.bm25")
    probe.wrap(search, "_score_exactly", "retrieve.exact")
    probe.wrap(search, "_documents", "retrieve.documents")
    return ra


def ask_once(
    ra: ResearchAssistant, question: str, probe: Probe, server: Any, served: list[float]
) -> dict[str, float]:
    """One timed ask: total, its parts (ms), the LLM server's time and the overhead."""
    probe.times.clear()
    server.reset()
    server.reply(LLM_REPLY, pieces=LLM_PIECES)
    served.clear()
    started, cpu = time.perf_counter(), time.process_time()
    answer = ra.ask(question)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    parts = {k: v * 1000 for k, v in probe.times.items()}
    parts["retrieve"] = answer.timings.get("retrieve", 0.0) * 1000
    parts["generate"] = answer.timings.get("generate", 0.0) * 1000
    parts["llm"] = sum(served) * 1000 if answer.mode == "llm" else 0.0
    parts["other"] = total * 1000 - parts["retrieve"] - parts["generate"]
    parts["total"] = total * 1000
    parts["cpu"] = cpu * 1000
    parts["overhead"] = parts["total"] - parts["llm"]
    parts["answered"] = float(not answer.abstained)
    return parts


Rows = list[dict[str, float]]


def run_variant(
    home: Path, variant: Variant, models: Models, questions: list[str], rounds: int
) -> list[Rows]:
    """Per round, one row of parts per question; caches start empty."""
    server, served = timed_server()
    try:
        with on_pytorch(models.embedder) if variant.pytorch else nullcontext():
            ra = assistant(home, variant, models, server.base_url)
            models.embedder.query_memo.max_entries = 256 if variant.cached else 0
            models.embedder.query_memo.clear()
            ask_once(ra, WARM_UP, models.probe, server, served)  # open the store, the reader
            if variant.llm:
                ra.ask("How does Lookahead verify its drafted tokens?")  # the client's first call
            models.embedder.query_memo.clear()
            return [
                [ask_once(ra, q, models.probe, server, served) for q in questions]
                for _ in range(rounds)
            ]
    finally:
        server.stop()


def p50_p95(values: list[float]) -> dict[str, float]:
    """Median and nearest-rank p95, as benchmarks/bench_retrieval.py reports them."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def summary(rows: Rows) -> dict[str, Any]:
    """p50/p95 of the ask and its parts; `overhead` and `answerer` leave the LLM's time out."""
    parts = {label: round(statistics.fmean(r.get(label, 0.0) for r in rows), 1) for label in PARTS}
    return {
        "asks": len(rows),
        "answered": int(sum(r["answered"] for r in rows)),
        "total": p50_p95([r["total"] for r in rows]),
        "overhead": p50_p95([r["overhead"] for r in rows]),
        "cpu": p50_p95([r["cpu"] for r in rows]),
        "retrieve": p50_p95([r["retrieve"] for r in rows]),
        "answerer": p50_p95([r["generate"] - r["llm"] for r in rows]),
        "mean_parts_ms": parts,
    }


def figures_of(rounds: list[Rows]) -> dict[str, Any]:
    """First asks (cold caches) apart from repeats: they cost differently, by design."""
    out = {"first": summary(rounds[0])}
    if len(rounds) > 1:
        out["repeat"] = summary([row for later in rounds[1:] for row in later])
    return out


def print_latency(results: dict[str, dict[str, Any]]) -> None:
    print(
        f"\n{'variant':<40} {'round':<7} {'ask p50/p95':>15} {'ask-LLM p50/p95':>17} "
        f"{'retrieval p50/p95':>18} {'answerer-LLM p50/p95':>21} {'CPU p50/p95':>13}  answered"
    )
    for key, by_round in results.items():
        for name, s in by_round.items():
            cells = [
                f"{s[m]['p50_ms']:.0f} / {s[m]['p95_ms']:.0f}"
                for m in ("total", "overhead", "retrieve", "answerer", "cpu")
            ]
            print(
                f"{key:<40} {name:<7} {cells[0]:>15} {cells[1]:>17} {cells[2]:>18} "
                f"{cells[3]:>21} {cells[4]:>13}  {s['answered']}/{s['asks']}"
            )


def print_parts(results: dict[str, dict[str, Any]]) -> None:
    columns = [(key, name) for key, by_round in results.items() for name in by_round]
    print("\nmean ms per ask, by part (columns: variant / round)")
    for i, (key, name) in enumerate(columns, 1):
        print(f"  [{i}] {key} / {name}")
    print(f"{'part':<44}" + "".join(f"{f'[{i}]':>9}" for i in range(1, len(columns) + 1)))
    for label, title in PARTS.items():
        values = [results[key][name]["mean_parts_ms"][label] for key, name in columns]
        print(f"{title:<44}" + "".join(f"{v:>9.1f}" for v in values))


def load_questions(path: Path, limit: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    questions = [row["question"] for row in rows]
    return questions[:limit] if limit else questions


def load_models(home: Path, variants: list[Variant]) -> Models:
    """The embedder and the reader, loaded and run once before any clock starts."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings
    from vectorstore.reader import load_reader

    embedder = ResearchAssistant(Settings(home=home, reranker="none")).embedder
    embedder.embed_documents(["warm up the model"])  # its first pass is slower
    reader = load_reader("bundled") if any(v.reranker == "bundled" for v in variants) else None
    if reader is not None:
        reader.score("warm up", ["the reader loads on its first use"])
    return Models(embedder, reader)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an indexed data dir (default: a fresh one)")
    default = QUESTIONS if QUESTIONS.exists() else QUESTIONS_HERE
    parser.add_argument("--questions", type=Path, default=default)
    parser.add_argument("--limit", type=int, default=0, help="questions (0: all)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over the questions")
    parser.add_argument("--variants", nargs="+", help="keys of VARIANTS to run (default: all)")
    return parser.parse_args()


def measure(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    from vectorstore.catalog import Catalog

    ensure_index(home)
    papers = Catalog.in_home(home).count_papers()
    variants = [v for v in VARIANTS if not args.variants or v.key in args.variants]
    questions = load_questions(args.questions, args.limit)
    models = load_models(home, variants)
    load_before = os.getloadavg()[0]
    print(
        f"{papers} papers, {len(questions)} questions x {args.repeats} rounds, "
        f"{os.cpu_count()} cores, "
        f"load average {load_before:.1f}",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for variant in variants:
        started = time.perf_counter()
        rounds = run_variant(home, variant, models, questions, max(1, args.repeats))
        results[variant.key] = figures_of(rounds)
        print(f"  {variant.key}: {time.perf_counter() - started:.0f} s", flush=True)
    return {
        "papers": papers,
        "questions": len(questions),
        "repeats": max(1, args.repeats),
        "cores": os.cpu_count(),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "goal_ms": GOAL_MS,
        "variants": results,
    }


def verdict(figures: dict[str, Any]) -> dict[str, Any]:
    """Whether ask without the reranker stays within the goal, apart from the LLM."""
    out = {}
    for key in ("extractive none", "LLM none"):
        by_round = figures["variants"].get(key)
        if by_round:
            last = by_round.get("repeat", by_round["first"])
            out[key] = {
                "first_p95_ms": by_round["first"]["overhead"]["p95_ms"],
                "repeat_p95_ms": last["overhead"]["p95_ms"],
                "repeat_cpu_p95_ms": last["cpu"]["p95_ms"],
                "repeat_within_goal": last["overhead"]["p95_ms"] <= GOAL_MS,
            }
    return out


def main() -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # extractive variants must stay extractive
        os.environ.pop(var, None)
    args = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        figures = measure(home, args)
    print_latency(figures["variants"])
    print_parts(figures["variants"])
    figures["goal"] = verdict(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Soak: `python benchmarks/bench_soak.py [--home DIR] [--questions N] [--warmup W]`.

Asks N questions (default 500) one after another in one process through
`ResearchAssistant.ask`, extractive (no LLM), as a long-running `paperchat ui` would, to show
whether memory creeps (issue 11: goal <= 10 % resident-set growth). The growth is measured
from the RSS after the first W questions (default 50: by then the model, the store and the
BM25 index are loaded, so what grows after is what a long run accumulates, the answerer's
bounded sentence cache included) to the RSS at the end. RSS is VmRSS of /proc/self/status,
sampled every --every questions, so a steady creep can be told from one step. Also prints
ask latency p50/p95 overall and per block, since a process that slows with age is the other
symptom of accumulating state. The first pass over the questions is reported apart from the
repeats: a repeat finds its sentences' vectors in the answerer's cache
(rag.extractive.SentenceCache), so it is faster.

The questions cycle through ../shared/eval/*.jsonl (dev) and the probe sets in
benchmarks/questions (mixed, paraphrase, near-topic out of scope), so both the answer and the
abstention paths run. Prints a table, then one JSON line of the figures.

With no --home the sample dumps are indexed into a temporary data dir first (about 30 s);
`--home DIR` reuses DIR (only read).

    python benchmarks/bench_soak.py --questions 4 --warmup 2 --every 2   # CI smoke
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_trends import ensure_index  # noqa: E402

SHARED_EVAL = ROOT.parent / "shared" / "eval"
PROBES = [
    ROOT / "benchmarks" / "questions" / name
    for name in ("probes_mixed.jsonl", "probes_paraphrase.jsonl", "reader_near_oos.jsonl")
]


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (VmRSS) or its peak (VmHWM), in MB, from /proc."""
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    if not match:
        sys.exit(f"no {field} in /proc/self/status: this benchmark needs Linux")
    return round(int(match.group(1)) / 1024, 1)


def load_questions() -> list[str]:
    """Dev questions first, then every probe set that exists, in file order."""
    files = sorted(SHARED_EVAL.glob("*.jsonl")) + [p for p in PROBES if p.exists()]
    questions = []
    for path in files:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        questions += [row["question"] for row in rows]
    if not questions:
        sys.exit(f"no questions found in {SHARED_EVAL} or benchmarks/questions")
    return questions


def make_assistant(home: Path):
    """An extractive assistant over `home`, whatever LLM settings the environment holds."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    settings = Settings(home=home, openai_api_key=None, openai_base_url=None)
    ra = ResearchAssistant(settings)
    if not ra.mode_label.startswith("extractive"):
        sys.exit(f"expected extractive answers, got {ra.mode_label}")
    return ra


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def soak(ra, questions: list[str], count: int, every: int, warmup: int) -> dict:
    """Ask `count` questions; latencies, errors, abstentions and RSS samples."""
    latencies: list[float] = []
    samples = [{"questions": 0, "rss_mb": rss_mb(), "p50_s": None}]
    errors, abstained, baseline = 0, 0, None
    for n in range(1, count + 1):
        started = time.perf_counter()
        try:
            abstained += ra.ask(questions[(n - 1) % len(questions)]).abstained
        except Exception as exc:  # counted; a soak goes on
            errors += 1
            print(f"question {n} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        latencies.append(time.perf_counter() - started)
        if n == warmup:
            baseline = rss_mb()
        if n % every == 0 or n == count:
            block = percentile(latencies[-every:], 50)
            samples.append({"questions": n, "rss_mb": rss_mb(), "p50_s": block})
    return {
        "latencies": latencies,
        "samples": samples,
        "errors": errors,
        "abstained": abstained,
        "baseline": baseline,
    }


def figures(run: dict, count: int, warmup: int, distinct: int) -> dict:
    end, base = run["samples"][-1]["rss_mb"], run["baseline"]
    growth = round((end - base) / base * 100, 2) if base else None
    latencies = run["latencies"]
    return {
        "questions": count,
        "distinct_questions": distinct,
        "warmup": warmup,
        "errors": run["errors"],
        "abstained": run["abstained"],
        "rss_mb_start": run["samples"][0]["rss_mb"],
        "rss_mb_after_warmup": base,
        "rss_mb_end": end,
        "rss_mb_peak": rss_mb("VmHWM"),
        "rss_growth_pct": growth,
        "ask_p50_s": percentile(latencies, 50),
        "ask_p95_s": percentile(latencies, 95),
        "ask_p50_first_pass_s": percentile(latencies[:distinct], 50),
        "ask_p95_first_pass_s": percentile(latencies[:distinct], 95),
        "ask_p50_repeats_s": percentile(latencies[distinct:], 50),
        "ask_p95_repeats_s": percentile(latencies[distinct:], 95),
        "ask_p50_first_block_s": run["samples"][1]["p50_s"] if len(run["samples"]) > 1 else None,
        "ask_p50_last_block_s": run["samples"][-1]["p50_s"],
        "rss_samples": [[s["questions"], s["rss_mb"]] for s in run["samples"]],
    }


def print_table(run: dict, f: dict) -> None:
    print(f"{'after question':>14} {'RSS MB':>8} {'block p50 s':>12}")
    for s in run["samples"]:
        p50 = "" if s["p50_s"] is None else f"{s['p50_s']:.3f}"
        print(f"{s['questions']:>14} {s['rss_mb']:>8.1f} {p50:>12}")
    growth = f"{f['rss_growth_pct']} %" if f["rss_growth_pct"] is not None else "n/a"
    rss_pair = f"{f['rss_mb_after_warmup']} / {f['rss_mb_end']} MB"
    rows = [
        ("questions asked (distinct)", f"{f['questions']} ({f['distinct_questions']})"),
        ("errors", f["errors"]),
        ("abstained", f["abstained"]),
        (f"RSS after {f['warmup']} questions / at end", rss_pair),
        ("RSS growth (goal <= 10 %)", growth),
        ("peak RSS (VmHWM)", f"{f['rss_mb_peak']} MB"),
        ("ask p50 / p95", f"{f['ask_p50_s']} / {f['ask_p95_s']} s"),
        ("  first pass over the questions", pair(f, "first_pass")),
        ("  repeats (sentence vectors cached)", pair(f, "repeats")),
    ]
    for name, value in rows:
        print(f"{name:<36} {value}")


def pair(f: dict, part: str) -> str:
    p50, p95 = f[f"ask_p50_{part}_s"], f[f"ask_p95_{part}_s"]
    return "n/a (no such questions)" if p50 is None else f"{p50} / {p95} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an indexed data dir (default: a fresh one)")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50, help="RSS baseline after this many")
    parser.add_argument("--every", type=int, default=50, help="sample RSS this often")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        ensure_index(home)
        ra = make_assistant(home)
        questions = load_questions()
        load = round(os.getloadavg()[0], 2)
        print(
            f"soak: {args.questions} extractive asks in one process, {os.cpu_count()} cores, "
            f"load average {load}, reranker {ra.settings.retrieval.reranker}"
        )
        run = soak(ra, questions, args.questions, args.every, min(args.warmup, args.questions))
    result = figures(run, args.questions, min(args.warmup, args.questions), len(set(questions)))
    result.update(load_average_start=load, load_average_end=round(os.getloadavg()[0], 2))
    result["cores"] = os.cpu_count()
    print_table(run, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

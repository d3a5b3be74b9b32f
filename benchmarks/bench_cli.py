"""CLI start-up: `python benchmarks/bench_cli.py [--home DIR] [--runs N]`.

Times, as a user runs them (a fresh `paperchat` process each time), the commands that embed
nothing: `--help`, `stats`, `index --if-changed` of the sample dumps and `index` of a missing
path; the goal is <= 2 s for `--help` and `stats`. The baseline is what every command paid
before the CLI imported lazily: loading the embedding model in a fresh process (`stats` took
24 s on the busy 2-core machine this was built on). Prints the median and the range of N runs,
then one JSON line of the medians in seconds.

With no --home, the sample dumps are indexed into a temporary data dir first (about 30 s);
`--home DIR` reuses DIR, indexing it only if it has no catalog yet.

    python benchmarks/bench_cli.py --home ~/.paperchat --runs 1      # CI smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "paperchat"
SAMPLE = ROOT / "sample_data" / "dumps"
LOAD_MODEL = "from vectorstore.embeddings import load_embedder; load_embedder('all-MiniLM-L6-v2')"


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds one fresh process takes; a failure stops the benchmark with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # `index` of a missing path exits 1 on purpose
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return seconds


def report(name: str, command: list[str], env: dict[str, str], runs: int) -> float:
    """Prints one row and returns the median in seconds."""
    times = [timed(command, env) for _ in range(runs)]
    median = statistics.median(times)
    print(
        f"{name:<28} median {median:6.2f} s"
        f"  (min {min(times):.2f}, max {max(times):.2f}, {runs} runs)",
        flush=True,
    )
    return round(median, 3)


def ensure_index(home: Path, env: dict[str, str]) -> None:
    if (home / "catalog.sqlite3").exists():
        return
    print(f"indexing the sample dumps into {home} ...", flush=True)
    command = [str(BIN), "index", str(SAMPLE), "--json"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an indexed data dir (default: a fresh one)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        env = {**os.environ, "PAPERCHAT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
        ensure_index(home, env)
        load = os.getloadavg()[0]
        print(f"paperchat CLI start-up, {os.cpu_count()} cores, load average {load:.1f}")
        figures: dict[str, object] = {"runs": args.runs, "cores": os.cpu_count()}
        figures["load_average"] = round(load, 2)
        figures["help_s"] = report("paperchat --help", [str(BIN), "--help"], env, args.runs)
        figures["stats_s"] = report("paperchat stats", [str(BIN), "stats"], env, args.runs)
        if_changed = [str(BIN), "index", str(SAMPLE), "--if-changed"]
        figures["index_if_changed_s"] = report(
            "index --if-changed (sample)", if_changed, env, args.runs
        )
        missing = [str(BIN), "index", str(Path(scratch) / "missing.txt")]
        figures["index_missing_s"] = report("index MISSING.txt", missing, env, args.runs)
        model = [sys.executable, "-c", LOAD_MODEL]
        figures["baseline_load_model_s"] = report(
            "baseline: load the model", model, env, max(1, args.runs // 2)
        )
        print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Every benchmark script still runs (issue 11): each is run at a tiny size in a fresh process,
over a copy of the already indexed sample home, and must end its output with one JSON line of
its figures after its readable table. The figures themselves are not checked: BENCHMARKS.md
reports the full-size runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
TIMEOUT_S = 240

# script -> (tiny-run arguments, with {home} for the indexed data dir and {prefix} for a
# --home-prefix whose "0" is that dir; whether the reader is turned off for it). The reader is
# left on only where it is what the script measures.
SMOKE: dict[str, tuple[list[str], bool]] = {
    "bench_add.py": (["--home", "{home}", "--papers", "2"], True),  # adds, then removes again
    "bench_ask.py": (["--home", "{home}", "--limit", "1", "--repeats", "2"], False),
    "bench_cli.py": (["--home", "{home}", "--runs", "1"], True),
    "bench_index.py": (["5"], True),  # builds fresh homes on purpose: building is measured
    "bench_load.py": (
        ["--home", "{home}", "--sessions", "2", "--seconds", "3", "--new-papers", "1"],
        True,
    ),  # serves a copy of {home}: its upload adds papers
    "bench_langchain.py": (
        [
            "--distractors",
            "0",
            "--speed-papers",
            "3",
            "--limit",
            "2",
            "--repeats",
            "1",
            "--home-prefix",
            "{prefix}",
        ],
        True,
    ),
    "bench_memory.py": (["--home", "{home}", "--questions", "2"], True),
    "bench_reader.py": (
        [
            *("--distractors", "0", "--limit", "2", "--windows", "--whole"),
            *("--home-prefix", "{prefix}"),
        ],
        False,
    ),
    "bench_relevance.py": (
        ["--distractors", "0", "--limit", "2", "--home-prefix", "{prefix}"],
        True,
    ),
    "bench_retrieval.py": (
        ["--distractors", "0", "--home", "{home}", "--limit", "2", "--repeats", "1"],
        True,
    ),
    "bench_soak.py": (
        ["--home", "{home}", "--questions", "4", "--warmup", "2", "--every", "2"],
        True,
    ),
    "fit_abstention.py": (["--home", "{home}", "--limit", "2"], True),
    "bench_trends.py": (["--home", "{home}", "--runs", "1", "--synthetic", "300"], True),
}


def benchmark_scripts() -> list[str]:
    return sorted({p.name for p in BENCHMARKS.glob("bench_*.py")} | {"fit_abstention.py"})


@pytest.fixture(scope="module")
def bench_homes(indexed_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `pc-0`, a copy of the indexed sample home: `--home <it>/pc-0` or
    `--home-prefix <it>/pc-` with 0 distractors, so no script embeds the sample again."""
    root = tmp_path_factory.mktemp("bench")
    shutil.copytree(indexed_home, root / "pc-0")
    return root


def has_figure(value: object) -> bool:
    if isinstance(value, dict):
        return any(has_figure(v) for v in value.values())
    if isinstance(value, list):
        return any(has_figure(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


@pytest.mark.parametrize("script", benchmark_scripts())
def test_benchmark_runs_tiny(script: str, bench_homes: Path) -> None:
    assert script in SMOKE, f"benchmarks/{script}: add its tiny-run arguments to SMOKE"
    template, reader_off = SMOKE[script]
    home, prefix = bench_homes / "pc-0", f"{bench_homes}/pc-"
    args = [a.format(home=home, prefix=prefix) for a in template]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    if reader_off:
        env["PAPERCHAT_RERANKER"] = "none"
    else:
        env.pop("PAPERCHAT_RERANKER", None)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    tail = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, tail
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) >= 2, f"a table, then one JSON line\n{tail}"
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict) and has_figure(figures), tail
    assert sum(map(is_json_object, lines)) == 1, f"exactly one JSON line\n{tail}"


def test_stored_vectors_hand_back_an_index_s_vectors_and_embed_the_rest(
    indexed_home: Path, embedder
) -> None:
    """The distractor indexes built from the corpus index's vectors hold what embedding
    would have produced (benchmarks/stored_vectors.py)."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from benchmarks.stored_vectors import StoredVectors
    from vectorstore.paper_index import PaperIndex

    index = PaperIndex(indexed_home, embedder=embedder)
    ids = index.catalog.chunk_ids()[:3]
    got = index.collection.get(ids=ids, include=["documents", "embeddings"])
    texts = [*got["documents"], "A text no index holds: lemur calls at dawn."]

    reused = StoredVectors(indexed_home)
    vectors = np.asarray(reused.embed_documents(texts))

    assert (reused.hits, reused.misses) == (3, 1)
    assert np.allclose(vectors[:3], np.asarray(got["embeddings"]), atol=1e-6)
    assert np.allclose(vectors[3], embedder.embed_documents(texts[3:])[0], atol=1e-5)

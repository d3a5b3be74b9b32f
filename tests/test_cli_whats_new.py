"""`paperchat digest`, `trends` and `saved`, and what `index` / `watch` print about arrivals:
run as a user runs them, on a real copy of the sample index."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import watching
from whats_new_data import GLACIER, GLACIER_QUESTION, NEW_TITLES, SEA_ICE, write_new_dump

BIN = Path(sys.executable).parent / "paperchat"
ARRIVED = "3 new papers arrived, in 2 topics: see them with `paperchat digest`"


def run(*args: str, home: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAPERCHAT_HOME": str(home), "PAPERCHAT_RERANKER": "none", **env_vars}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def home(tmp_path_factory, _indexed_home_master) -> Path:
    """A copy of the sample index with a saved question and the three-paper dump indexed
    through the CLI; the index run's own output is kept as `home.index_output`."""
    import shutil

    home = tmp_path_factory.mktemp("cli_whats_new") / "home"
    shutil.copytree(_indexed_home_master, home)
    saved = run("saved", "add", GLACIER_QUESTION, home=home)
    assert saved.returncode == 0, saved.stderr
    dump = write_new_dump(tmp_path_factory.mktemp("dumps") / "new.txt")
    indexed = run("index", str(dump), home=home)
    assert indexed.returncode == 0, indexed.stderr
    (home / "index_output.txt").write_text(indexed.stdout, encoding="utf-8")
    return home


def test_index_ends_with_the_arrivals_line_after_the_saved_question(home):
    lines = (home / "index_output.txt").read_text(encoding="utf-8").splitlines()
    assert lines[-1] == ARRIVED
    assert lines[-2].startswith(f'saved question "{GLACIER_QUESTION}": 1 new relevant paper: ')
    assert GLACIER in lines[-2]
    assert "added 3" in lines[0]


def test_index_json_carries_the_new_ids_topics_and_saved_matches(home, tmp_path):
    again = run("index", str(write_new_dump(tmp_path / "new.txt")), "--json", home=home)
    report = json.loads(again.stdout)
    assert report["papers_added"] == 0 and report["added_paper_ids"] == []
    assert report["saved"] == []


def test_digest_json_is_the_documented_shape(home):
    result = run("digest", "--json", home=home)
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    assert set(digest) == {"papers", "topics", "saved", "summaries"}
    keys = {"title", "published", "upvotes", "org", "topic", "summary"}
    assert all(set(p) == keys for p in digest["papers"])
    assert {p["title"] for p in digest["papers"]} == NEW_TITLES
    assert digest["papers"][0]["title"] == SEA_ICE and digest["papers"][0]["summary"].endswith(
        "[1]"
    )
    assert [len(t["papers"]) for t in digest["topics"]] == [2, 1]
    assert digest["saved"][0]["question"] == GLACIER_QUESTION
    assert digest["saved"][0]["papers"][0]["title"] == GLACIER


def test_digest_text_and_markdown(home):
    text = run("digest", home=home)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("What's new: 3 new papers in 2 topics")
    assert f"[1] {SEA_ICE} (2025-11-28, 30 upvotes)" in text.stdout
    assert f'"{GLACIER_QUESTION}": [2] {GLACIER}' in text.stdout

    markdown = run("digest", "--markdown", home=home)
    assert markdown.stdout.startswith("# What's new: 3 new papers in 2 topics")
    assert f"[1] **{SEA_ICE}**, published 2025-11-28, 30 upvotes" in markdown.stdout


def test_digest_since_matches_the_api(home, assistant):
    result = run("digest", "--since", "2026-06-01", "--json", home=home)
    titles = {p["title"] for p in json.loads(result.stdout)["papers"]}
    assert titles == {p.title for p in assistant.digest(since="2026-06-01").papers}
    assert not titles & NEW_TITLES  # the new dump was captured Dec 8, before June


def test_digest_option_errors_are_one_line(home):
    both = run("digest", "--json", "--markdown", home=home)
    assert both.returncode == 2 and "cannot be combined" in both.stderr
    bad = run("digest", "--since", "June", home=home)
    assert bad.returncode == 2 and "not a date in the form YYYY-MM-DD" in bad.stderr
    assert "Traceback" not in both.stderr + bad.stderr


def test_trends_text_and_json(home):
    text = run("trends", home=home)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Topic momentum over ")
    assert "Rising fastest:" in text.stdout
    trends = json.loads(run("trends", "--json", "--topics", "6", home=home).stdout)
    assert len(trends["topics"]) <= 6
    assert sum(trends["month_papers"]) == 144
    assert trends["rising"] and set(trends["rising"]) <= {t["label"] for t in trends["topics"]}


def test_saved_commands_work_without_loading_the_model(tmp_path):
    fakes = tmp_path / "fakes"
    for name in ("torch", "sentence_transformers"):
        (fakes / name).mkdir(parents=True)
        (fakes / name / "__init__.py").write_text(f"raise ImportError('FAKE {name}')\n")
    home = tmp_path / "home"
    env = {"PYTHONPATH": str(fakes)}
    added = run("saved", "add", "Which papers do face swapping?", "--json", home=home, **env)
    assert added.returncode == 0, added.stderr
    entry = json.loads(added.stdout)
    run("saved", "add", "What is new in speculative decoding?", home=home, **env)
    listed = run("saved", "list", home=home, **env).stdout.splitlines()
    assert listed[0] == f"1. [{entry['id']}] Which papers do face swapping?"
    assert listed[1].startswith("2. [") and listed[1].endswith("speculative decoding?")
    removed = run("saved", "remove", "1", home=home, **env)
    assert removed.returncode == 0 and "face swapping" in removed.stdout
    as_json = json.loads(run("saved", "list", "--json", home=home, **env).stdout)
    assert [q["question"] for q in as_json] == ["What is new in speculative decoding?"]
    missing = run("saved", "remove", "7", home=home, **env)
    assert missing.returncode == 2 and "No saved question matches '7'" in missing.stderr


def test_watch_reports_saved_questions_and_arrivals(tmp_path, _indexed_home_master):
    import shutil

    home, inbox = tmp_path / "home", tmp_path / "inbox"
    shutil.copytree(_indexed_home_master, home)
    inbox.mkdir()
    assert run("saved", "add", GLACIER_QUESTION, home=home).returncode == 0
    env = {**os.environ, "PAPERCHAT_HOME": str(home), "PAPERCHAT_RERANKER": "none"}
    seen: list[str] = []
    with watching(inbox, env) as (_, lines):
        deadline = time.monotonic() + 240
        while ARRIVED not in seen and time.monotonic() < deadline:
            # rewrite the dump until the watcher (which starts asynchronously) picks it up
            write_new_dump(inbox / "new.txt")
            with contextlib.suppress(queue.Empty):
                while True:
                    seen.append(lines.get(timeout=10).rstrip("\n"))
        assert ARRIVED in seen, seen
        saved = [line for line in seen if line.startswith("saved question")]
        assert saved and GLACIER in saved[0]


def test_digest_summaries_come_from_the_configured_llm_unless_extractive(home, openai_server):
    from openai_server import Scripted

    def model(request):
        number = re.search(r'<source id="(\d+)">', request.prompt).group(1)
        return Scripted(text=f"A one-line summary of this paper [{number}].")

    openai_server.responder = model
    llm = {"OPENAI_BASE_URL": openai_server.base_url, "PAPERCHAT_LLM_MODEL": "test-model"}
    written = json.loads(run("digest", "--json", home=home, **llm).stdout)
    assert written["summaries"].startswith("summaries written by test-model")
    assert [p["summary"] for p in written["papers"]] == [
        f"A one-line summary of this paper. [{n}]" for n in (1, 2, 3)
    ]
    text = run("digest", "--extractive", home=home, **llm).stdout
    assert "(summaries quoted from each paper's abstract)" in text
    assert len(openai_server.requests) == 3

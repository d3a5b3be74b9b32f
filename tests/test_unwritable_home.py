"""A data directory that cannot be written: mounted read-only, or its disk full.

Each test mounts a small tmpfs of its own (`mount -t tmpfs`: root, or CAP_SYS_ADMIN; skipped
where mounting is not permitted), copies a built index into it and drives the real CLI in
subprocesses, as a user would. chmod cannot stand in for this: root writes through it.

- read-only: `index` ends in one error line that names the directory and the cause (no
  traceback, no advice to delete the catalog); `ask` and `stats` still answer from it as it is
  (Chroma from a temporary copy, the catalog opened immutable); once the file system is
  writable again the index is exactly what it was, and answers.
- full before the run: the run is refused before its first write, and the old index still
  answers with the disk as full as it is.
- full during the run (the disk fills while chunks are embedded): one error line; after space
  is freed the old papers are all there and searchable, and the next run finishes the job.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_crash import (
    CAPTURED,
    HEADER,
    N_PAPERS,
    assert_same,
    index,
    make_assistant,
    open_index,
    sample_pairs,
    snapshot,
    write_scenario,
)

from vectorstore.catalog import Catalog
from vectorstore.embeddings import Embedder

PAPERCHAT = Path(sys.executable).with_name("paperchat")
TMPFS_KB = 8 * 1024
NEW_PAPERS = 40


@pytest.fixture(scope="module")
def new_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dump the runs under test try to add: 40 real papers that the base index lacks."""
    entries = sample_pairs(NEW_PAPERS, skip=N_PAPERS)
    assert len(entries) == NEW_PAPERS
    blocks = [f"{t}\n\n{a}\n\n  • 3 authors\n·\nOct 9, 2025 5" for t, a in entries]
    path = tmp_path_factory.mktemp("new_dump") / "new_dump.txt"
    path.write_text(HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


@contextmanager
def tmpfs(path: Path, size_kb: int = TMPFS_KB) -> Iterator[Path]:
    """A fresh tmpfs of `size_kb` at `path`, unmounted afterwards; skips if not permitted."""
    path.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no `mount` command: cannot make a read-only or full file system")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(path: Path, leave: int = 0) -> None:
    """Fill the file system of `path` until only `leave` bytes are free (or none)."""
    block = b"\0" * 65536
    with open(path / "filler", "wb", buffering=0) as handle:  # unbuffered: close writes nothing
        try:
            while shutil.disk_usage(path).free - leave >= len(block):
                handle.write(block)
            while leave == 0:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAPERCHAT_HOME": str(home), "PAPERCHAT_RERANKER": "none"}
    return subprocess.run(
        [str(PAPERCHAT), *args], env=env, capture_output=True, text=True, timeout=300
    )


def assert_one_error_line(done: subprocess.CompletedProcess, starts: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {starts}"), last
    assert "Move it away" not in done.stderr  # never the advice for a corrupt catalog


@pytest.fixture(scope="module")
def base_home(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A small built index (16 papers) on the ordinary disk, copied into each tmpfs."""
    root = tmp_path_factory.mktemp("unwritable")
    home = root / "home"
    index(home, write_scenario(root / "dumps", "base"), embedder)
    return home


def a_title(home: Path) -> str:
    return sorted(doc.title for doc in Catalog.in_home(home).papers().values())[0]


@pytest.mark.slow
def test_read_only_data_dir(
    tmp_path: Path, base_home: Path, new_dump: Path, embedder: Embedder
) -> None:
    with tmpfs(tmp_path / "mnt") as mnt:
        home = mnt / "home"
        shutil.copytree(base_home, home)
        remount(mnt, "ro")
        read_only = f"The data directory {home} is on a read-only file system"

        added = cli(home, "index", str(new_dump), "--captured", CAPTURED.isoformat())
        assert_one_error_line(added, read_only)
        assert "remount it read-write" in added.stderr and "intact" in added.stderr
        # still searchable as it is: Chroma from a temporary copy, the catalog read immutable
        asked = cli(home, "ask", a_title(base_home), "--json")
        assert asked.returncode == 0 and "Traceback" not in asked.stderr, asked.stderr
        assert json.loads(asked.stdout)["sources"][0]["title"] == a_title(base_home)
        assert "is read-only: searching a copy of its Chroma store" in asked.stderr
        stats = cli(home, "stats", "--json")
        assert stats.returncode == 0 and json.loads(stats.stdout)["papers"] == N_PAPERS

        remount(mnt, "rw")
        intact = open_index(home, embedder)
        assert intact.verify() == []
        assert_same(snapshot(intact), snapshot(open_index(base_home, embedder)))
        hits = intact.search(a_title(base_home), k=1)
        assert hits[0].metadata["title"] == a_title(base_home)


@pytest.mark.slow
def test_a_read_only_catalog_with_commits_still_in_its_wal_is_read_whole(
    tmp_path: Path, base_home: Path
) -> None:
    """Opened `immutable`, SQLite would not read a WAL that still holds commits (a data dir
    copied while paperchat ran): such a catalog is read from a private copy of both files."""
    import sqlite3

    staging = tmp_path / "staging"
    shutil.copytree(base_home, staging)
    writer = sqlite3.connect(staging / "catalog.sqlite3")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('probe', 'in the wal')")
    writer.commit()
    wal = staging / "catalog.sqlite3-wal"
    assert wal.stat().st_size > 0
    with tmpfs(tmp_path / "mnt") as mnt:
        home = mnt / "home"
        shutil.copytree(staging, home)  # the WAL's commits are not in the main file yet
        writer.close()
        remount(mnt, "ro")
        catalog = Catalog.in_home(home)
        assert catalog.get_meta("probe") == "in the wal"
        assert catalog.count_papers() == N_PAPERS


@pytest.mark.slow
def test_full_disk_refuses_the_run_and_keeps_answering(
    tmp_path: Path, base_home: Path, new_dump: Path, embedder: Embedder
) -> None:
    with tmpfs(tmp_path / "mnt") as mnt:
        home = mnt / "home"
        shutil.copytree(base_home, home)
        fill(mnt, leave=400 * 1024)  # room to open and search, not for 40 new chunks

        refused = cli(home, "index", str(new_dump), "--captured", CAPTURED.isoformat())
        assert_one_error_line(refused, f"Not enough free space for this index run in {home}")
        assert "Nothing was changed and the index is still searchable" in refused.stderr

        title = a_title(base_home)
        answered = cli(home, "ask", title, "--json")  # the disk is as full as before
        assert answered.returncode == 0, answered.stderr
        assert title in answered.stdout

        assert_same(snapshot(open_index(home, embedder)), snapshot(open_index(base_home, embedder)))
        assert open_index(home, embedder).verify() == []


@pytest.mark.slow
def test_disk_fills_during_the_write(
    tmp_path: Path, base_home: Path, new_dump: Path, embedder: Embedder
) -> None:
    with tmpfs(tmp_path / "mnt") as mnt:
        home = mnt / "home"
        shutil.copytree(base_home, home)
        env = {**os.environ, "PAPERCHAT_HOME": str(home), "PAPERCHAT_RERANKER": "none"}
        run = subprocess.Popen(
            [str(PAPERCHAT), "index", str(new_dump), "--captured", CAPTURED.isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = []
        assert run.stderr is not None
        for line in run.stderr:  # progress lines, then the error
            lines.append(line)
            if line.startswith("embedding: 0/"):
                fill(mnt)  # the disk fills while the first chunks are embedded
        assert run.wait(120) == 2, "".join(lines)
        stderr = "".join(lines)
        assert any(line.startswith("embedding: 0/") for line in lines), stderr
        assert "Traceback" not in stderr
        assert lines[-1].startswith(f"error: The disk holding the data directory {home} is full")
        assert "run `paperchat index` again" in lines[-1]

        (mnt / "filler").unlink()
        old = Catalog.in_home(base_home)
        catalog = Catalog.in_home(home)
        assert catalog.count_papers() == old.count_papers()  # only the old papers count...
        assert catalog.summary().papers_unwritten == NEW_PAPERS  # ...the new ones are pending
        crashed = open_index(home, embedder)
        stored = set(crashed.collection.get(include=[])["ids"])
        assert {r.chunk_id for r in old.chunks()} <= stored  # the old index is intact...
        title = a_title(base_home)
        assert crashed.search(title, k=1)[0].metadata["title"] == title  # ...and searchable

        rerun = make_assistant(home, embedder).index([new_dump], captured=CAPTURED)
        assert rerun.ok and rerun.chunks_embedded > 0  # the rerun finishes the job
        finished = open_index(home, embedder)
        assert finished.verify() == []
        assert finished.catalog.count_papers() == old.count_papers() + NEW_PAPERS

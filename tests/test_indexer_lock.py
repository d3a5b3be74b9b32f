"""Two writers on one data directory: the second refuses (or waits), nothing is corrupted."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.errors import IndexBusyError
from vectorstore.paper_index import PaperIndex

HOLDER = """
import sys, time
from pathlib import Path
from vectorstore.locking import WriteLock
with WriteLock(Path(sys.argv[1])).hold():
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def docs(n: int) -> list[PaperDoc]:
    return [
        PaperDoc(f"plock{i}", f"Lock test paper {i}", f"Paper {i} studies file locks. " * 5, {})
        for i in range(n)
    ]


def hold_in_subprocess(home: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_is_refused_with_a_clear_message(tmp_path: Path, embedder: Embedder) -> None:
    index = PaperIndex(tmp_path, embedder=embedder)
    index.sync(docs(2))
    holder = hold_in_subprocess(tmp_path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(IndexBusyError, match="Another index run is writing") as err:
            index.sync(docs(4))
        assert time.monotonic() - started < 5
        assert f"pid {holder.pid}" in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    assert set(index.papers()) == {"plock0", "plock1"}  # the refused run changed nothing
    assert index.verify() == []
    # The OS released the killed holder's lock: a new run proceeds.
    assert index.sync(docs(4)).added == 2


def test_second_writer_can_wait_for_the_first(tmp_path: Path, embedder: Embedder) -> None:
    index = PaperIndex(tmp_path, embedder=embedder)
    holder = hold_in_subprocess(tmp_path, 1.5)
    try:
        report = index.sync(docs(2), lock_timeout=30)
    finally:
        holder.wait()
    assert report.added == 2 and index.verify() == []


def test_two_threads_with_their_own_index_objects(tmp_path: Path, embedder: Embedder) -> None:
    first = PaperIndex(tmp_path, embedder=embedder)
    second = PaperIndex(tmp_path, embedder=embedder)
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with first.write_lock():
            first.sync(docs(2))  # re-entrant: sync takes the lock its caller holds
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert inside.wait(60)
        with pytest.raises(IndexBusyError):
            second.sync(docs(3))
    finally:
        release.set()
        thread.join()
    assert second.sync(docs(3)).added == 1
    assert second.verify() == []

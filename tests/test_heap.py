"""The UI server hands freed heap back to the OS (ui/heap.py): glibc keeps it otherwise."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from ui import heap

pytestmark = pytest.mark.skipif(not heap.trim_supported(), reason="needs glibc's malloc_trim")

# A heap fragmented the way a busy server leaves it: 200 MB of 1 KB blocks allocated on a
# worker thread, every 16th kept alive, so no freed page sits at the top of its arena.
FRAGMENT_AND_TRIM = """
import os, sys, threading
from ui.heap import trim

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

kept = []
def work():
    blocks = [bytes(1000) + bytes([i % 256]) for i in range(200_000)]
    kept.extend(blocks[::16])

worker = threading.Thread(target=work)
worker.start()
worker.join()
before = rss_mb()
released = trim()
print(before, rss_mb(), released)
"""


def test_trimming_returns_a_fragmented_heap_to_the_os():
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENT_AND_TRIM], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after, released = float(out[0]), float(out[1]), out[2]
    assert released == "True"
    assert before - after > 100, (before, after)


def test_a_trimmer_trims_on_its_interval_until_stopped():
    trimmer = heap.HeapTrimmer(0.02).start()
    deadline = time.monotonic() + 5
    while trimmer.trims < 3:
        assert time.monotonic() < deadline, "the trimmer never ran"
        time.sleep(0.01)
    trimmer.stop()
    assert not trimmer.is_alive()
    count = trimmer.trims
    time.sleep(0.1)
    assert trimmer.trims == count


def test_one_trimmer_per_process_and_none_when_turned_off(monkeypatch):
    monkeypatch.setattr(heap, "_running", None)
    assert heap.start_trimming(0) is None
    first = heap.start_trimming(0.05)
    try:
        assert first is not None and first.is_alive()
        assert heap.start_trimming(0.05) is first
        names = [t.name for t in threading.enumerate()]
        assert names.count(heap.THREAD_NAME) >= 1
    finally:
        first.stop()
    second = heap.start_trimming(0.05)
    assert second is not first and second.is_alive()
    second.stop()


def test_the_launched_ui_trims_its_heap(ui_server):
    trimmers = [t for t in threading.enumerate() if t.name == heap.THREAD_NAME and t.is_alive()]
    assert trimmers, "launch() should start the heap trimmer"

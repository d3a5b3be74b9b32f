"""Hand the heap a busy server has freed back to the operating system.

Under load (20 chat sessions and a re-index on the 85k-chunk index) the server's RSS grew from
about 1.3 GB to 1.97 GB, yet calling glibc's `malloc_trim(0)` every 2 s held it at 1.40 GB
(BENCHMARKS.md): most of the growth was memory that Python, ONNX Runtime and PyTorch had
already freed, which glibc keeps in its per-thread arenas for reuse. Capping the arenas
(`MALLOC_ARENA_MAX=2`) kept only a little of it back (1.85 GB). Only a long-lived process
needs this, so the UI starts it; one-shot CLI commands hand everything back when they exit.

On a C library without `malloc_trim` (musl, macOS) trimming is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

THREAD_NAME = "paperchat-heap-trim"


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def trim_supported() -> bool:
    """Whether this C library can hand freed heap back (glibc can)."""
    return _MALLOC_TRIM is not None


def trim() -> bool:
    """Return freed heap to the OS now; True when some memory was released."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False


class HeapTrimmer:
    """A daemon thread that trims every `interval` seconds until stopped.

    A timer rather than a trim after each answer or index run: a timer is what the load test
    measured, and on its own thread a trim never runs between a user and the next queued
    answer."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.trims = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)

    def start(self) -> HeapTrimmer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            trim()
            self.trims += 1


_running: HeapTrimmer | None = None
_running_lock = threading.Lock()


def start_trimming(interval: float) -> HeapTrimmer | None:
    """Trim every `interval` seconds from now on; None when off (0) or unsupported.

    One trimmer per process: a second launch in the same process (tests, notebooks) keeps the
    one already running instead of adding threads."""
    global _running
    if interval <= 0 or not trim_supported():
        return None
    with _running_lock:
        if _running is None or not _running.is_alive():
            log.debug("returning freed heap to the OS every %.1f s", interval)
            _running = HeapTrimmer(interval).start()
        return _running

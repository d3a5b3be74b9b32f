"""Run one index job at a time in a background thread and report its progress.

Indexing may take minutes (embedding on CPU). Running it in its own thread keeps the UI's
workers free, so chats go on answering from the previous index while the new dumps are
embedded, and a closed browser tab does not cancel the job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from rag.errors import PaperchatError
from rag.models import IndexReport


class Indexer(Protocol):
    def index(self, paths, *, progress=None, **options) -> IndexReport: ...


@dataclass(frozen=True)
class JobState:
    """A snapshot of the job: what phase it is in, how far, and how it ended."""

    running: bool = False
    phase: str = "reading dumps"
    done: int = 0
    total: int = 0
    report: IndexReport | None = None
    error: str | None = None
    paths: tuple[str, ...] = field(default_factory=tuple)
    job: int = 0  # the run's number: an upload follows its own run, not the one after it


class IndexJobRunner:
    """Starts index runs in a daemon thread; refuses a second run while one is going."""

    KEEP_ENDED = 16  # ended runs whose final state stays readable by number

    def __init__(self, assistant: Indexer) -> None:
        self._assistant = assistant
        self._lock = threading.Lock()
        self._state = JobState()
        self._thread: threading.Thread | None = None
        self._runs = 0
        self._ended: dict[int, JobState] = {}

    def snapshot(self) -> JobState:
        with self._lock:
            return self._state

    def state_of(self, job: int) -> JobState:
        """Run `job`'s state, also after it ended and a waiting upload started the next run
        (snapshot() would then show that run's progress and outcome instead)."""
        with self._lock:
            if self._state.job == job:
                return self._state
            return self._ended.get(job) or JobState(job=job, error=f"index run {job} is unknown")

    def start(self, paths: list[Path]) -> int | None:
        """Start indexing `paths`: the run's number (1, 2, ...), or None if one is running."""
        with self._lock:
            if self._state.running:
                return None
            self._runs += 1
            self._state = JobState(running=True, paths=tuple(map(str, paths)), job=self._runs)
            self._thread = threading.Thread(
                target=self._run, args=(list(paths),), name="paperchat-index", daemon=True
            )
            self._thread.start()
            return self._runs

    def wait(self, timeout: float | None = None) -> JobState:
        """Block until the current job ends (used on shutdown and in tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()

    def _progress(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            self._state = replace(self._state, phase=phase, done=done, total=total)

    def _run(self, paths: list[Path]) -> None:
        report, error = None, None
        try:
            report = self._assistant.index(paths, progress=self._progress)
        except PaperchatError as exc:
            error = str(exc)
        except Exception as exc:  # the thread must always end in a state the UI can show
            error = f"indexing failed: {type(exc).__name__}: {exc}"
        with self._lock:  # no other run can have started: this one is still running
            self._state = replace(self._state, running=False, report=report, error=error)
            self._ended[self._state.job] = self._state
            for old in sorted(self._ended)[: -self.KEEP_ENDED]:
                del self._ended[old]

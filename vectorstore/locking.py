"""One writer per data directory, enforced with an OS file lock (filelock).

The lock lives at `<home>/index.lock`; the OS releases it when its holder dies, so a killed index
run never leaves a stale lock behind. The holder writes its pid and start time to
`<home>/index.lock.owner` only so that the "busy" message can say who holds it.
The lock is re-entrant in one thread: `sync()` takes it even when the caller already holds it.
Taking it is the first write of an index run, so a read-only or full data directory is reported
here (DataDirUnwritable, see vectorstore.storage_errors), not as the OS's bare OSError.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

from vectorstore.errors import IndexBusyError
from vectorstore.storage_errors import storage_errors


class WriteLock:
    def __init__(self, home: Path):
        self.home = home
        with storage_errors(home):
            home.mkdir(parents=True, exist_ok=True)
        self.path = home / "index.lock"
        self.owner_path = home / "index.lock.owner"
        self._lock = FileLock(self.path)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    @contextmanager
    def hold(self, timeout: float = 0) -> Iterator[None]:
        """Hold the lock; wait up to `timeout` seconds (0: one try, <0: forever)."""
        try:
            with storage_errors(self.home):
                self._lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexBusyError(self._busy_message(timeout)) from None
        outermost = self._lock.lock_counter == 1
        try:
            if outermost:
                stamp = datetime.now().isoformat(timespec="seconds")
                with storage_errors(self.home):
                    self.owner_path.write_text(
                        f"pid {os.getpid()} on {socket.gethostname()} since {stamp}",
                        encoding="utf-8",
                    )
            yield
        finally:
            self._lock.release()

    def _busy_message(self, timeout: float) -> str:
        try:
            owner = self.owner_path.read_text(encoding="utf-8").strip()
        except OSError:
            owner = "another process"
        waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
        return (
            f"Another index run is writing to {self.path.parent} ({owner}){waited}. "
            f"Wait for it to finish and try again; the index is not damaged."
        )

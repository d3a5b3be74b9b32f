"""Small JSON records in the data dir (saved questions, what each index run added).

They are written the way the catalog is trusted to be: a reader never sees half a file. The
new content goes to a temporary file in the same folder, is flushed to disk, then replaces
the old one with `os.replace` (atomic on POSIX and Windows); a crash leaves the old file or
the new one. A lock file serialises read-modify-write cycles, so a question saved in the UI
while the CLI saves another keeps both.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import InputError

LOCK_TIMEOUT_S = 30


def read_json(path: Path, default: Any) -> Any:
    """The file's JSON, `default` when there is no file; InputError naming the file when it
    cannot be parsed (a user's saved questions are never silently replaced)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} is not valid JSON ({exc}); fix it or move it away to start afresh."
        ) from None


def write_json(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON, atomically (module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `<path>.lock` for one read-modify-write of `path`."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S):
            yield
    except Timeout:
        raise InputError(f"{path} is locked by another paperchat process; try again.") from None

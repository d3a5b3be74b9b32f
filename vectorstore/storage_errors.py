"""What to tell a user whose data directory cannot be written: read-only, or out of space.

The catalog (SQLite), Chroma's embedded store (SQLite and HNSW files, written from Rust) and
the BM25 files each fail in their own words when the disk is full or mounted read-only: an
OSError with errno ENOSPC or EROFS, `sqlite3.OperationalError("database or disk is full")`,
chromadb's `InternalError("... (code: 13) database or disk is full")`, or vaguer ones such as
"unable to open database file". `unwritable` recognises them (asking the file system itself
when the words are vague) and names the data directory, so the CLI and the UI show one
sentence with the fix instead of a traceback, or the catalog's "cannot be read" advice, which
would send a user to delete a healthy index.

Nothing here makes a failed write safe: the indexer's order of writes does (catalog first, in
one transaction; stores reconciled to it; BM25 swapped in whole), so the message can promise
that the index is intact and that the next `paperchat index` finishes the run.

`require_space` refuses a run before its first write when the disk plainly lacks the room for
it: a write that fails half-way leaves Chroma with log entries it cannot apply, and until
space is freed Chroma then fails reads too. Refusing first keeps the old index searchable.

This module imports neither chromadb nor sqlite3-heavy code, so the CLI's quick commands
(`stats`) can use it.
"""

from __future__ import annotations

import atexit
import errno
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vectorstore.errors import DataDirUnwritable

READ_ONLY, FULL, DENIED = "read-only", "full", "not writable"
LOW_SPACE_BYTES = 256 * 1024  # below this, a vague storage error is put down to a full disk
# What one new chunk costs in the data dir, measured on the sample index: Chroma's embedded
# store about 11 KiB (vector in its log and in HNSW, document, metadata, full-text index), the
# catalog and BM25 about 3 KiB. With a Chroma server only the latter share is local.
BYTES_PER_CHUNK = 16 * 1024
BYTES_PER_CHUNK_SERVER = 4 * 1024
SPACE_MARGIN_BYTES = 1024 * 1024

_ERRNO_REASONS = {
    errno.EROFS: READ_ONLY,
    errno.ENOSPC: FULL,
    errno.EDQUOT: FULL,
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
}
_WORDS = (  # (lower-case words in an error message, reason)
    ("readonly database", READ_ONLY),
    ("read-only file system", READ_ONLY),
    ("(code: 8)", READ_ONLY),  # SQLITE_READONLY, as chromadb's Rust side reports it
    ("disk is full", FULL),
    ("no space left", FULL),
    ("(code: 13)", FULL),  # SQLITE_FULL
    ("quota exceeded", FULL),
)
# Errors too vague to name a cause; the file system is asked (`_probe`) instead.
_VAGUE = ("unable to open database file", "disk i/o error", "failed to apply logs", "(code: 14)")


def unwritable(home: Path, exc: BaseException) -> DataDirUnwritable | None:
    """The user's error for `exc` if it comes from an unwritable data directory, else None."""
    if not _is_storage_error(exc):
        return None
    reason = _reason(exc)
    if reason is None and (isinstance(exc, OSError) or _vague(exc)):
        reason = _probe(home)
    if reason is None:
        return None
    return DataDirUnwritable(_message(home, reason, exc), str(home), reason)


@contextmanager
def storage_errors(home: Path) -> Iterator[None]:
    """Re-raise a storage failure caused by an unwritable `home` as DataDirUnwritable."""
    try:
        yield
    except DataDirUnwritable:
        raise
    except Exception as exc:
        error = unwritable(home, exc)
        if error is None:
            raise
        raise error from exc


def require_space(
    home: Path, chunks: int, text_bytes: int, per_chunk: int = BYTES_PER_CHUNK
) -> None:
    """Refuse, before anything is written, a run that cannot fit: `chunks` new chunks whose
    documents total `text_bytes`. An estimate (`per_chunk` bytes each, plus the text twice and
    a margin); a run it lets through may still fill the disk, and then fails as DataDirUnwritable
    with the index intact."""
    if chunks <= 0:
        return
    needed = chunks * per_chunk + 2 * text_bytes + SPACE_MARGIN_BYTES
    free = _free_bytes(home)
    if free is not None and free < needed:
        raise DataDirUnwritable(
            f"Not enough free space for this index run in {home}: it writes {chunks} new "
            f"chunks, about {_mb(needed)} on disk, and only {_mb(free)} is free. Nothing was "
            f"changed and the index is still searchable. Free some space (or move the data "
            f"directory and point PAPERCHAT_HOME at it) and run `paperchat index` again.",
            str(home),
            FULL,
        )


def _is_storage_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return isinstance(exc, OSError | sqlite3.Error) or module.startswith("chromadb")


def _reason(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in _ERRNO_REASONS:
        return _ERRNO_REASONS[exc.errno]
    text = str(exc).lower()
    return next((reason for words, reason in _WORDS if words in text), None)


def _vague(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(words in text for words in _VAGUE)


def cannot_write(home: Path) -> bool:
    """True when the file system says `home` is read-only or closed to us (not when full)."""
    return _probe(home) in (READ_ONLY, DENIED)


def require_writable(home: Path) -> None:
    """DataDirUnwritable now if `home` is read-only or closed to us: an index run checks this
    before opening the store, which on such a dir is copied to be searched (connect)."""
    reason = _probe(home)
    if reason in (READ_ONLY, DENIED):
        code = errno.EROFS if reason == READ_ONLY else errno.EACCES
        cause = OSError(code, os.strerror(code), str(home))
        raise DataDirUnwritable(_message(home, reason, cause), str(home), reason)


def scratch_dir() -> Path:
    """A private temporary folder, deleted when the process ends: where a read-only data
    dir's files are copied to be read."""
    folder = Path(tempfile.mkdtemp(prefix="paperchat-read-only-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _probe(home: Path) -> str | None:
    """Why `home` cannot be written, asked of the file system; None if it looks writable."""
    path = _existing(home)
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    if stat.f_flag & os.ST_RDONLY:
        return READ_ONLY
    if stat.f_bavail * stat.f_frsize < LOW_SPACE_BYTES:
        return FULL
    if not os.access(path, os.W_OK):
        return DENIED
    return None


def _existing(path: Path) -> Path:
    """`path`, or its nearest existing parent (a data dir not created yet)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _free_bytes(home: Path) -> int | None:
    try:
        return shutil.disk_usage(_existing(home)).free
    except OSError:
        return None


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _message(home: Path, reason: str, exc: BaseException) -> str:
    detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    if reason == READ_ONLY:
        return (
            f"The data directory {home} is on a read-only file system ({detail}). paperchat "
            f"writes there to index; it can still search and answer from it as it is. The "
            f"index in it is intact: to index, make it writable again (remount it read-write), "
            f"or copy it somewhere writable and point PAPERCHAT_HOME at the copy."
        )
    if reason == FULL:
        free = _free_bytes(home)
        left = f", {_mb(free)} free" if free is not None else ""
        return (
            f"The disk holding the data directory {home} is full ({detail}{left}). Free some "
            f"space (or move the data directory and point PAPERCHAT_HOME at it), then run "
            f"`paperchat index` again: it finishes what this run began. The papers indexed "
            f"before are intact."
        )
    return (
        f"paperchat may not write to the data directory {home} ({detail}). Give this user "
        f"write permission there, or point PAPERCHAT_HOME at a directory of your own. The "
        f"index in it is intact."
    )

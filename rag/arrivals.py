"""What each index run added: the record behind the digest's default ("what's new").

The catalog knows which dumps a paper was seen in and when each dump was last indexed, but
re-indexing a dump stamps it again, so "the papers the last run added" cannot be read back
from it. Each index run that adds papers therefore appends one line to
`<home>/arrivals.json` (written atomically, under the index's write lock): when, which files,
which paper ids. A run that adds nothing leaves the record alone, so "what's new" keeps
showing the last arrivals after a no-op re-index instead of going blank. Only the last
KEEP_RUNS runs are kept.

An index built before this record existed has none: the digest then falls back to the papers
seen only in the most recently indexed dumps (see rag.digest).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rag.json_files import locked, read_json, write_json

ARRIVALS_FILE = "arrivals.json"
KEEP_RUNS = 20


@dataclass(frozen=True)
class Arrival:
    """One index run that added papers: `at` (UTC, ISO), the files it read, the new ids."""

    at: str
    paper_ids: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def arrivals_path(home: Path) -> Path:
    return Path(home).expanduser() / ARRIVALS_FILE


def record_arrival(home: Path, paper_ids: Iterable[str], files: Iterable[str]) -> Arrival | None:
    """Append this run's new papers to the record (nothing when there are none)."""
    ids = sorted(set(paper_ids))
    if not ids:
        return None
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    arrival = Arrival(stamp, ids, [Path(f).name for f in files])
    path = arrivals_path(home)
    with locked(path):
        runs = _runs(read_json(path, {}))
        runs.append(arrival.__dict__)
        write_json(path, {"version": 1, "runs": runs[-KEEP_RUNS:]})
    return arrival


def last_arrival(home: Path) -> Arrival | None:
    """The most recent run that added papers, or None when none was recorded."""
    runs = _runs(read_json(arrivals_path(home), {}))
    if not runs:
        return None
    last = runs[-1]
    return Arrival(
        str(last.get("at", "")),
        [str(p) for p in last.get("paper_ids", [])],
        [str(f) for f in last.get("files", [])],
    )


def _runs(data: object) -> list[dict]:
    runs = data.get("runs", []) if isinstance(data, dict) else []
    return [r for r in runs if isinstance(r, dict)]

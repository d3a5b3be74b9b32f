"""What the answer chain needs to know about the index as a whole, not about one paper.

Filters written in the question need two such facts: the orgs that are indexed ("from
ByteDance" is an org filter only when ByteDance is one) and the newest capture date ("last
month" is relative to the newest dump, never the wall clock, so an index of June dumps answers
"this week" about June). Metadata answers need the dumps' capture dates ("seen in 000_....txt,
captured 2026-06-17"). Reading the orgs means reading every paper's metadata, so the facts are
cached and re-read only when the index changes (the paper count or the dump records, which
every index run rewrites), by one thread while the others wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from vectorstore.catalog import DumpRecord


@dataclass(frozen=True)
class DumpInfo:
    """One indexed dump file: when it was captured, and whether that date's year was guessed."""

    name: str
    captured: date | None
    captured_inferred: bool


@dataclass(frozen=True)
class IndexFacts:
    """Orgs (display names and hub handles), the newest capture date, and the dumps by name."""

    orgs: tuple[str, ...] = ()
    newest_capture: date | None = None
    dumps: dict[str, DumpInfo] = field(default_factory=dict)

    def dump_label(self, name: str) -> str:
        """'000_x.txt (captured 2026-06-17, year inferred)', or just the name when unknown."""
        info = self.dumps.get(name)
        if info is None or info.captured is None:
            return name
        inferred = ", year inferred" if info.captured_inferred else ""
        return f"{name} (captured {info.captured.isoformat()}{inferred})"


FactsSource = Callable[[], IndexFacts]


class CatalogReader(Protocol):
    """The part of vectorstore.PaperIndex the facts are read from."""

    def paper_metadata(self) -> dict[str, dict[str, Any]]: ...

    def dumps(self) -> list[DumpRecord]: ...


def read_facts(metadata: Iterable[dict[str, Any]], dumps: Iterable[DumpRecord]) -> IndexFacts:
    """The facts from the papers' metadata and the dump records."""
    orgs = {
        str(meta[key]).strip()
        for meta in metadata
        for key in ("org", "org_handle")
        if meta.get(key)
    }
    infos = {d.name: DumpInfo(d.name, _day(d.captured), bool(d.captured_inferred)) for d in dumps}
    captures = [info.captured for info in infos.values() if info.captured is not None]
    return IndexFacts(tuple(sorted(orgs)), max(captures, default=None), infos)


class CachedFacts:
    """`IndexFacts` of one index, re-read only when its dump records or paper count change.

    Called once per question, so the usual cost is one small query on the dumps table and a
    count; the full read of the papers' metadata happens after an index run only. Once: under
    20 chat sessions, the questions asked just after an upload each read all 40,000 papers at
    the same time (abstracts included, about 100 MB each; benchmarks/bench_load.py's peak)."""

    def __init__(self, index: CatalogReader, count: Callable[[], int]) -> None:
        self.index = index
        self.count = count
        self._key: Any = None
        self._facts = IndexFacts()
        self._reading = threading.Lock()

    def __call__(self) -> IndexFacts:
        with self._reading:
            dumps = self.index.dumps()
            key = (self.count(), tuple((d.name, d.sha256, d.captured, d.indexed_at) for d in dumps))
            if key != self._key:
                self._facts = read_facts(self.index.paper_metadata().values(), dumps)
                self._key = key
            return self._facts


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None

"""The catalog: a SQLite record of what the index is supposed to hold (the source of truth).

Chroma and the BM25 files are derived from it. An index run first commits the desired state here
in one transaction (papers, their chunk documents with deterministic ids, dumps seen) and marks the
catalog "reconcile pending"; the stores are then brought in line with it and the mark is cleared.
A crash at any point leaves either the old or the new desired state committed, never a mix, and
the next run finishes the reconcile. WAL mode lets readers (the UI) read while a writer writes.

Tables: meta(key, value); papers(paper_id, title, abstract, metadata_json, content_hash,
meta_hash, metadata_hash, published); chunks(chunk_id, paper_id, idx, document, metadata_json,
meta_hash); dumps(name, sha256, captured, captured_inferred, papers, indexed_at);
unwritten(paper_id).

`unwritten` lists the papers whose chunks the last committed plan changed and the stores may
not hold yet. The indexer strikes a paper off once all its chunks are in Chroma, so a run that
dies (or loses its Chroma server) half-way never reports a paper as indexed whose chunks were
not written: `count_papers` and `summary().papers` leave them out, `summary().papers_unwritten`
counts them, and the next sync writes them.

Schema versions: the file's `PRAGMA user_version` says which of MIGRATIONS it has had. Opening a
catalog applies the missing ones in order, in one transaction, so a user's existing index is
upgraded in place instead of having to be rebuilt (re-embedding costs minutes to hours). Release
0.1.0 wrote no version (0); its tables are exactly migration 1's, which therefore only stamps
such a file. A file from a newer release is refused rather than misread. To change the schema,
append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

from vectorstore.documents import PaperDoc
from vectorstore.errors import PaperIndexError
from vectorstore.storage_errors import cannot_write, scratch_dir, unwritable

CATALOG_FILE = "catalog.sqlite3"
MODEL_KEY = "embedding_model"
DIMENSION_KEY = "embedding_dimension"

# Migration 1: the schema of release 0.1.0 (which wrote user_version 0). IF NOT EXISTS makes it a
# no-op on such a file and the creation of a fresh one.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS papers (
    paper_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    meta_hash TEXT NOT NULL,
    metadata_hash TEXT NOT NULL,
    published TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    paper_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    document TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    meta_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_paper ON chunks(paper_id, idx);
CREATE TABLE IF NOT EXISTS dumps (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    captured TEXT,
    captured_inferred INTEGER NOT NULL,
    papers INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
);
"""
RECONCILE_PENDING = "reconcile_pending"
RECONCILE_ALL = "reconcile_all"  # "1": the next reconcile reads every chunk, not the touched
HOME_ID = "home_id"  # this data dir's identity, recorded as the owner of the collection it writes

Migration = Callable[[sqlite3.Connection], None]


def _migrate_v1(db: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would COMMIT the migration's open transaction.
    for statement in SCHEMA_V1.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_v2(db: sqlite3.Connection) -> None:
    """The papers whose chunks may not be in the stores yet (see the module docstring). A
    catalog migrated with a reconcile pending lists none: its next sync reconciles anyway."""
    db.execute("CREATE TABLE IF NOT EXISTS unwritten (paper_id TEXT PRIMARY KEY)")


def _migrate_v3(db: sqlite3.Connection) -> None:
    """The papers a committed plan changed, so a reconcile reads only their chunks back from
    Chroma (see `reconcile_scope`). A catalog migrated with a reconcile pending does not know
    them: its next reconcile reads everything."""
    db.execute("CREATE TABLE IF NOT EXISTS touched (paper_id TEXT PRIMARY KEY)")
    pending = db.execute("SELECT value FROM meta WHERE key = ?", (RECONCILE_PENDING,)).fetchone()
    if pending and pending[0] == "1":
        _set_meta(db, {RECONCILE_ALL: "1"})


# MIGRATIONS[i] takes a catalog from version i to i + 1. Append only.
MIGRATIONS: tuple[Migration, ...] = (_migrate_v1, _migrate_v2, _migrate_v3)


class CatalogError(PaperIndexError):
    """The catalog file cannot be used: not a SQLite file, or written by a newer paperchat."""


def migrate(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the catalog at `path` to len(migrations), applying the missing steps in order;
    return the version the file had before.

    One IMMEDIATE transaction holds the write lock from reading the version to stamping the new
    one, so two processes opening an old catalog at once (the UI and an index run) cannot both
    migrate it; a failing step rolls everything back and leaves the old version intact."""
    try:
        with closing(sqlite3.connect(path, timeout=60, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # cannot change inside a transaction
            if (found := _user_version(db)) == len(migrations):
                return found  # the usual case: nothing to write, no lock taken
            db.execute("BEGIN IMMEDIATE")
            try:
                found = _apply_migrations(db, path, migrations)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
    except sqlite3.DatabaseError as exc:
        if (unwritable_dir := unwritable(path.parent, exc)) is not None:
            raise unwritable_dir from exc  # a healthy catalog on a read-only or full disk
        raise CatalogError(
            f"The catalog {path} cannot be read ({exc}). Move it away and re-index, or point "
            f"PAPERCHAT_HOME at another data directory."
        ) from exc
    return found


def _apply_migrations(db: sqlite3.Connection, path: Path, migrations: Sequence[Migration]) -> int:
    found, target = _user_version(db), len(migrations)
    if found > target:
        raise CatalogError(
            f"The catalog {path} has schema version {found}, but this paperchat release knows "
            f"versions up to {target}: upgrade paperchat, or use another PAPERCHAT_HOME."
        )
    for version in range(found, target):
        migrations[version](db)
    db.execute(f"PRAGMA user_version = {target:d}")
    return found


def _user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


@dataclass(frozen=True)
class DumpRecord:
    """One dump file that was indexed: `captured` is an ISO date (or None when unknown)."""

    name: str
    sha256: str
    captured: str | None
    captured_inferred: bool
    papers: int
    indexed_at: str = ""

    @classmethod
    def from_file(
        cls, path: str | Path, captured: date | None, captured_inferred: bool, papers: int
    ) -> DumpRecord:
        """Record for a dump file; the sha256 tells a re-saved file from an unchanged one."""
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        iso = captured.isoformat() if captured else None
        return cls(Path(path).name, digest, iso, captured_inferred, papers)


@dataclass(frozen=True)
class CatalogSummary:
    """What is indexed, read from the catalog alone: no Chroma client and no embedding model,
    so `paperchat stats` answers in a fraction of a second. `chunks` is the desired state;
    `reconcile_pending` says the stores may still lag behind it (an interrupted index run).
    `papers` counts the papers whose chunks are all written; `papers_unwritten` the others."""

    papers: int
    chunks: int
    dumps: list[DumpRecord]
    published_min: str | None
    published_max: str | None
    embedding_model: str | None
    dimension: int | None
    reconcile_pending: bool
    papers_unwritten: int = 0


@dataclass(frozen=True)
class ChunkRow:
    """One chunk as the catalog records it and Chroma and BM25 must hold it.

    `document` is the embedded text (`title\\nchunk text`); `metadata` the paper's Chroma-safe
    scalars; `meta_hash` says when that metadata must be re-tagged. Search reads chunk rows to
    score every chunk of a candidate paper; they carry no score themselves."""

    chunk_id: str
    paper_id: str
    idx: int
    document: str
    metadata: dict[str, Any]
    meta_hash: str


@dataclass(frozen=True)
class PaperState:
    """content_hash: embedded text; meta_hash: chunk metadata; metadata_hash: all metadata."""

    content_hash: str
    meta_hash: str
    metadata_hash: str


@dataclass
class CatalogChanges:
    """Everything one sync commits at once.

    `replace`: papers whose chunks are (re)written, with their new chunk rows.
    `retag`: papers whose text is unchanged but whose chunk metadata changes.
    `touch`: papers whose catalog-only fields (e.g. list of dumps) change.
    """

    replace: list[tuple[PaperDoc, str, list[ChunkRow]]] = field(default_factory=list)
    retag: list[tuple[PaperDoc, str, list[ChunkRow]]] = field(default_factory=list)
    touch: list[tuple[PaperDoc, str]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    dumps: list[DumpRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.replace or self.retag or self.touch or self.remove or self.dumps)


class Catalog:
    """Access to `<home>/catalog.sqlite3`. One short-lived connection per call: thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self._read_only_uri: str | None = None
        if path.is_file() and cannot_write(path.parent):
            self._open_read_only()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        migrate(path)

    def _open_read_only(self) -> None:
        """Read a catalog on a read-only mount (searching an archived data dir). SQLite in WAL
        mode writes a -shm file even to read, so the file is opened `immutable`; if a WAL
        still holds commits, a private copy of both is read instead. It cannot be migrated."""
        wal = self.path.with_name(self.path.name + "-wal")
        source = self.path
        if wal.is_file() and wal.stat().st_size > 0:
            folder = scratch_dir()
            source = folder / self.path.name
            shutil.copy2(self.path, source)
            shutil.copy2(wal, folder / wal.name)
            self._read_only_uri = f"file:{pathname2url(str(source))}?mode=ro"
        else:
            self._read_only_uri = f"file:{pathname2url(str(source))}?immutable=1"
        if (found := self.version) != len(MIGRATIONS):
            raise CatalogError(
                f"The catalog {self.path} is on a read-only file system and was written by "
                f"{'an older' if found < len(MIGRATIONS) else 'a newer'} paperchat (version "
                f"{found}, this one reads {len(MIGRATIONS)}): it cannot be upgraded there. Make "
                f"the data directory writable once, or copy it somewhere writable."
            )

    @classmethod
    def in_home(cls, home: Path) -> Catalog:
        """The catalog of the data directory `home` (`<home>/catalog.sqlite3`)."""
        return cls(Path(home).expanduser() / CATALOG_FILE)

    @property
    def version(self) -> int:
        """The schema version of the file (PRAGMA user_version)."""
        with self._connect() as db:
            return _user_version(db)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        if self._read_only_uri is not None:
            connection = sqlite3.connect(self._read_only_uri, uri=True, timeout=60)
        else:
            connection = sqlite3.connect(self.path, timeout=60)
        with closing(connection) as db:
            db.execute("PRAGMA synchronous=FULL")
            with db:
                yield db

    # --- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        with self._connect() as db:
            _set_meta(db, values)

    @property
    def reconcile_pending(self) -> bool:
        return self.get_meta(RECONCILE_PENDING) == "1"

    def reconcile_scope(self) -> set[str] | None:
        """The papers whose chunks in the stores may differ from the catalog since the last
        reconcile (replaced, retagged or removed by a committed plan); None: any may (a
        rebuild, or a pending reconcile inherited from a release that kept no such list).
        Reading back only these papers' chunks is what keeps a 100-paper update of a
        40,000-paper index from scanning all 85,000 chunks' metadata (9 s)."""
        if self.get_meta(RECONCILE_ALL) == "1":
            return None
        with self._connect() as db:
            return {row[0] for row in db.execute("SELECT paper_id FROM touched")}

    def mark_reconciled(self) -> None:
        """The stores hold every chunk of the plan: clear the mark and the unwritten list."""
        with self._connect() as db:
            db.execute("DELETE FROM unwritten")
            db.execute("DELETE FROM touched")
            _set_meta(db, {RECONCILE_PENDING: "0", RECONCILE_ALL: "0"})

    def mark_written(self, paper_ids: Iterable[str]) -> None:
        """These papers' chunks are all in the stores now (struck off during a reconcile)."""
        ids = list(paper_ids)
        if not ids:
            return
        with self._connect() as db:
            for batch in _batches(ids, 500):
                marks = ",".join("?" * len(batch))
                db.execute(f"DELETE FROM unwritten WHERE paper_id IN ({marks})", batch)

    def unwritten(self) -> set[str]:
        """Papers of the committed plan whose chunks may not all be in the stores yet."""
        with self._connect() as db:
            return {row[0] for row in db.execute("SELECT paper_id FROM unwritten")}

    def home_id(self, create: bool = False) -> str | None:
        """This data directory's identity (a random id, kept in the catalog so it moves with
        the directory). None until a first write asks for it with `create=True`."""
        found = self.get_meta(HOME_ID)
        if found is None and create:
            found = uuid.uuid4().hex
            with self._connect() as db:  # INSERT OR IGNORE: a concurrent creator's id wins
                db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (HOME_ID, found))
            found = self.get_meta(HOME_ID)
        return found

    # --- reads -----------------------------------------------------------------------------
    def paper_states(self) -> dict[str, PaperState]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT paper_id, content_hash, meta_hash, metadata_hash FROM papers"
            ).fetchall()
        return {pid: PaperState(ch, mh, fh) for pid, ch, mh, fh in rows}

    def paper_ids(self) -> set[str]:
        with self._connect() as db:
            return {pid for (pid,) in db.execute("SELECT paper_id FROM papers")}

    def papers(self, ids: Iterable[str] | None = None) -> dict[str, PaperDoc]:
        ids = None if ids is None else list(ids)
        if ids == []:  # as in `chunks`: no connection for nothing
            return {}
        query = "SELECT paper_id, title, abstract, metadata_json FROM papers"
        with self._connect() as db:
            if ids is None:
                rows = db.execute(query + " ORDER BY paper_id").fetchall()
            else:
                rows = [
                    row
                    for batch in _batches(ids, 500)
                    for row in db.execute(
                        f"{query} WHERE paper_id IN ({','.join('?' * len(batch))})", batch
                    )
                ]
        return {
            pid: PaperDoc(pid, title, abstract, json.loads(meta))
            for pid, title, abstract, meta in rows
        }

    def paper_metadata(self) -> dict[str, dict[str, Any]]:
        """paper_id -> metadata of every paper: the search's filter columns need nothing
        else, and reading 40,000 abstracts for them held ~60 MB for a moment."""
        with self._connect() as db:
            rows = db.execute("SELECT paper_id, metadata_json FROM papers ORDER BY paper_id")
            return {pid: json.loads(meta) for pid, meta in rows}

    def chunks(self, paper_ids: Iterable[str] | None = None) -> list[ChunkRow]:
        """Chunk rows, in (paper_id, idx) order; all of them when `paper_ids` is None."""
        paper_ids = None if paper_ids is None else list(paper_ids)
        if paper_ids == []:  # every search asks for the (usually no) papers BM25 lacks
            return []
        query = "SELECT chunk_id, paper_id, idx, document, metadata_json, meta_hash FROM chunks"
        with self._connect() as db:
            if paper_ids is None:
                rows = db.execute(query + " ORDER BY paper_id, idx").fetchall()
            else:
                rows = []
                for batch in _batches(paper_ids, 500):
                    marks = ",".join("?" * len(batch))
                    rows += db.execute(f"{query} WHERE paper_id IN ({marks})", batch).fetchall()
                rows.sort(key=lambda r: (r[1], r[2]))
        return [
            ChunkRow(cid, pid, idx, doc, json.loads(meta), mh)
            for cid, pid, idx, doc, meta, mh in rows
        ]

    def chunks_by_id(self, chunk_ids: Iterable[str]) -> list[ChunkRow]:
        query = "SELECT chunk_id, paper_id, idx, document, metadata_json, meta_hash FROM chunks"
        out: list[ChunkRow] = []
        with self._connect() as db:
            for batch in _batches(list(chunk_ids), 500):
                marks = ",".join("?" * len(batch))
                for cid, pid, idx, doc, meta, mh in db.execute(
                    f"{query} WHERE chunk_id IN ({marks}) ORDER BY paper_id, idx", batch
                ):
                    out.append(ChunkRow(cid, pid, idx, doc, json.loads(meta), mh))
        return out

    def chunk_hashes(self, paper_ids: Iterable[str] | None = None) -> dict[str, str]:
        """chunk_id -> meta_hash for every chunk the stores must hold (of these papers)."""
        query = "SELECT chunk_id, meta_hash FROM chunks"
        with self._connect() as db:
            if paper_ids is None:
                return dict(db.execute(query).fetchall())
            found: dict[str, str] = {}
            for batch in _batches(list(paper_ids), 500):
                marks = ",".join("?" * len(batch))
                found.update(db.execute(f"{query} WHERE paper_id IN ({marks})", batch).fetchall())
            return found

    def chunk_ids(self) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT chunk_id FROM chunks ORDER BY chunk_id")]

    def count_papers(self) -> int:
        """Indexed papers: those whose chunks are all written (see `unwritten`)."""
        with self._connect() as db:
            return db.execute(f"SELECT COUNT(*) FROM papers WHERE {_WRITTEN}").fetchone()[0]

    def count_chunks(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def published_range(self) -> tuple[str | None, str | None]:
        with self._connect() as db:
            low, high = db.execute("SELECT MIN(published), MAX(published) FROM papers").fetchone()
        return low, high

    def dumps(self) -> list[DumpRecord]:
        with self._connect() as db:
            return _dumps(db)

    def summary(self) -> CatalogSummary:
        """Counts, dumps, date range and embedding model in one read transaction."""
        with self._connect() as db:
            papers, low, high = db.execute(
                f"SELECT COUNT(*), MIN(published), MAX(published) FROM papers WHERE {_WRITTEN}"
            ).fetchone()
            unwritten = db.execute("SELECT COUNT(*) FROM unwritten").fetchone()[0]
            chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            dumps = _dumps(db)
        dimension = meta.get(DIMENSION_KEY)
        return CatalogSummary(
            papers=papers,
            chunks=chunks,
            dumps=dumps,
            published_min=low,
            published_max=high,
            embedding_model=meta.get(MODEL_KEY),
            dimension=int(dimension) if dimension else None,
            reconcile_pending=meta.get(RECONCILE_PENDING) == "1",
            papers_unwritten=unwritten,
        )

    # --- writes ----------------------------------------------------------------------------
    def apply(self, changes: CatalogChanges) -> None:
        """Commit a sync's desired state atomically and mark the stores as needing reconcile."""
        with self._connect() as db:
            changed = [d.paper_id for d, _, _ in [*changes.replace, *changes.retag]]
            _mark_unwritten(db, changed)
            db.executemany(
                "INSERT OR IGNORE INTO touched VALUES (?)",
                [(p,) for p in [*changed, *changes.remove]],
            )
            for doc, meta_hash, rows in changes.replace:
                db.execute("DELETE FROM chunks WHERE paper_id = ?", (doc.paper_id,))
                _upsert_paper(db, doc, meta_hash)
                _insert_chunks(db, rows)
            for doc, meta_hash, rows in changes.retag:
                _upsert_paper(db, doc, meta_hash)
                db.executemany(
                    "UPDATE chunks SET metadata_json = ?, meta_hash = ? WHERE chunk_id = ?",
                    [
                        (json.dumps(r.metadata, sort_keys=True), r.meta_hash, r.chunk_id)
                        for r in rows
                    ],
                )
            for doc, meta_hash in changes.touch:
                _upsert_paper(db, doc, meta_hash)
            for batch in _batches(changes.remove, 500):
                marks = ",".join("?" * len(batch))
                db.execute(f"DELETE FROM chunks WHERE paper_id IN ({marks})", batch)
                db.execute(f"DELETE FROM papers WHERE paper_id IN ({marks})", batch)
                db.execute(f"DELETE FROM unwritten WHERE paper_id IN ({marks})", batch)
            db.executemany(
                "INSERT OR REPLACE INTO dumps VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (d.name, d.sha256, d.captured, int(d.captured_inferred), d.papers, d.indexed_at)
                    for d in changes.dumps
                ],
            )
            _set_meta(db, {RECONCILE_PENDING: "1"})

    def replace_all_chunks(self, rows: list[ChunkRow], meta: dict[str, str]) -> None:
        """Rebuild: swap every chunk row (new model or chunk settings) in one transaction."""
        with self._connect() as db:
            db.execute("DELETE FROM chunks")
            _insert_chunks(db, rows)
            db.execute("INSERT OR IGNORE INTO unwritten SELECT paper_id FROM papers")
            _set_meta(db, {**meta, RECONCILE_PENDING: "1", RECONCILE_ALL: "1"})


def _dumps(db: sqlite3.Connection) -> list[DumpRecord]:
    rows = db.execute(
        "SELECT name, sha256, captured, captured_inferred, papers, indexed_at FROM dumps "
        "ORDER BY name"
    ).fetchall()
    return [DumpRecord(n, s, c, bool(ci), p, at) for n, s, c, ci, p, at in rows]


_WRITTEN = "paper_id NOT IN (SELECT paper_id FROM unwritten)"


def _mark_unwritten(db: sqlite3.Connection, paper_ids: list[str]) -> None:
    db.executemany("INSERT OR IGNORE INTO unwritten VALUES (?)", [(p,) for p in paper_ids])


def _set_meta(db: sqlite3.Connection, values: dict[str, str]) -> None:
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))


def _upsert_paper(db: sqlite3.Connection, doc: PaperDoc, meta_hash: str) -> None:
    published = doc.metadata.get("published")
    db.execute(
        "INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(paper_id) DO UPDATE SET "
        "title = excluded.title, abstract = excluded.abstract, "
        "metadata_json = excluded.metadata_json, content_hash = excluded.content_hash, "
        "meta_hash = excluded.meta_hash, metadata_hash = excluded.metadata_hash, "
        "published = excluded.published",
        (
            doc.paper_id,
            doc.title,
            doc.abstract,
            json.dumps(doc.metadata, sort_keys=True, default=str),
            doc.content_hash,
            meta_hash,
            doc.metadata_hash,
            str(published) if published is not None else None,
        ),
    )


def _insert_chunks(db: sqlite3.Connection, rows: list[ChunkRow]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                r.chunk_id,
                r.paper_id,
                r.idx,
                r.document,
                json.dumps(r.metadata, sort_keys=True),
                r.meta_hash,
            )
            for r in rows
        ],
    )


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

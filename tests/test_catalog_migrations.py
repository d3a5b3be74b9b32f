"""The catalog's schema version: an index built by release 0.1.0 opens, upgraded in place.

`fixtures/catalog_v0.sqlite3` was written by release 0.1.0 (commit a7c2ce3, before the catalog
had a version): the sample dumps indexed, trimmed to three papers, their eight chunks and the
five dump records.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from vectorstore.catalog import MIGRATIONS, Catalog, CatalogError, migrate

FIXTURE = Path(__file__).parent / "fixtures" / "catalog_v0.sqlite3"


@pytest.fixture
def old_catalog(tmp_path: Path) -> Path:
    """A private copy of the 0.1.0 catalog (opening it upgrades the file)."""
    path = tmp_path / "catalog.sqlite3"
    shutil.copy(FIXTURE, path)
    return path


def _rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def _schema(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_the_fixture_is_an_unversioned_catalog() -> None:
    with sqlite3.connect(FIXTURE) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert len(_rows(FIXTURE, "papers")) == 3 and len(_rows(FIXTURE, "chunks")) == 8


def test_a_release_0_1_catalog_opens_upgraded_with_its_data(
    old_catalog: Path, tmp_path: Path
) -> None:
    before = {t: _rows(old_catalog, t) for t in ("meta", "papers", "chunks", "dumps")}

    catalog = Catalog(old_catalog)

    assert catalog.version == len(MIGRATIONS)
    assert {t: _rows(old_catalog, t) for t in before} == before
    assert _schema(old_catalog) == _schema(Catalog(tmp_path / "fresh.sqlite3").path)
    summary = catalog.summary()
    assert (summary.papers, summary.chunks, len(summary.dumps)) == (3, 8, 5)
    assert (summary.embedding_model, summary.dimension) == ("all-MiniLM-L6-v2", 384)
    assert summary.published_min == "2024-11-21" and not summary.reconcile_pending
    assert sorted(catalog.papers()) == sorted(r[0] for r in before["papers"])
    assert {c.paper_id for c in catalog.chunks()} == set(catalog.papers())


def test_a_fresh_catalog_gets_the_current_version(tmp_path: Path) -> None:
    catalog = Catalog.in_home(tmp_path / "home")
    assert catalog.path == tmp_path / "home" / "catalog.sqlite3"
    assert catalog.version == len(MIGRATIONS)
    assert catalog.summary().papers == 0


def test_migrations_run_in_order_once_each(old_catalog: Path) -> None:
    ran: list[int] = []

    def step(n: int):
        def migration(db: sqlite3.Connection) -> None:
            ran.append(n)
            db.execute(f"ALTER TABLE papers ADD COLUMN extra_{n} TEXT")

        return migration

    migrations = (*MIGRATIONS, step(2), step(3))
    assert migrate(old_catalog, migrations) == 0
    assert migrate(old_catalog, migrations) == len(migrations)  # already current: no step runs
    assert ran == [2, 3]
    with sqlite3.connect(old_catalog) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations)
        columns = [row[1] for row in db.execute("PRAGMA table_info(papers)")]
    assert columns[-2:] == ["extra_2", "extra_3"]


def test_a_failing_migration_leaves_the_old_version_intact(old_catalog: Path) -> None:
    def add_column(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE papers ADD COLUMN half_done TEXT")

    def broken(db: sqlite3.Connection) -> None:
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(old_catalog, (*MIGRATIONS, add_column, broken))
    with sqlite3.connect(old_catalog) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert "half_done" not in [row[1] for row in db.execute("PRAGMA table_info(papers)")]


def test_a_catalog_from_a_newer_release_is_refused(old_catalog: Path) -> None:
    with sqlite3.connect(old_catalog) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(CatalogError, match="upgrade paperchat"):
        Catalog(old_catalog)


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="cannot be read"):
        Catalog(path)


def test_a_reconcile_pending_before_the_touched_list_existed_reads_everything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.sqlite3"
    migrate(path, MIGRATIONS[:2])  # the release before the `touched` list
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('reconcile_pending', '1')")
    catalog = Catalog(path)
    assert catalog.version == len(MIGRATIONS) and catalog.reconcile_scope() is None
    catalog.mark_reconciled()
    assert catalog.reconcile_scope() == set()

"""A quick CLI: commands that embed nothing never import torch or sentence-transformers.

Each command runs in a subprocess whose PYTHONPATH starts with a folder of fake packages that
raise on import; entries on PYTHONPATH come before site-packages, so any import of the real
package (direct, or from a dependency) fails the command with a traceback naming the fake.
`stats`, `--help` and a bad setting must not even import chromadb. The index under test is
tests/fixtures/catalog_v0.sqlite3 (written by release 0.1.0), so these tests load no model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "paperchat"
FIXTURE = Path(__file__).parent / "fixtures" / "catalog_v0.sqlite3"
MODEL_PACKAGES = ("torch", "sentence_transformers")


def _poison(folder: Path, packages: tuple[str, ...]) -> Path:
    for name in packages:
        package = folder / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            f"raise ImportError('FAKE {name}: this command must not import {name}')\n"
        )
    return folder


@pytest.fixture(scope="module")
def no_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _poison(tmp_path_factory.mktemp("no_model"), MODEL_PACKAGES)


@pytest.fixture(scope="module")
def no_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _poison(tmp_path_factory.mktemp("no_store"), (*MODEL_PACKAGES, "chromadb"))


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    """A data dir holding only a release-0.1.0 catalog (3 papers, 8 chunks, 5 dumps)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(FIXTURE, home / "catalog.sqlite3")
    return home


def cli(*args: str, fakes: Path, home: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERCHAT_HOME": str(home), **env_vars}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(fakes), env.get("PYTHONPATH")]))
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=120)


def _clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "FAKE" not in result.stderr, result.stderr


def test_the_fake_packages_do_raise(no_store: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(no_store)}
    for name in (*MODEL_PACKAGES, "chromadb"):
        probe = subprocess.run(
            [sys.executable, "-c", f"import {name}"], env=env, capture_output=True, text=True
        )
        assert probe.returncode == 1 and f"FAKE {name}" in probe.stderr


def test_help_imports_neither_the_model_nor_chroma(no_store: Path, tmp_path: Path) -> None:
    for args in ([], ["--help"], ["stats", "--help"], ["index", "--help"], ["ui", "--help"]):
        result = cli(*args, fakes=no_store, home=tmp_path)
        _clean(result)
        assert "Usage: paperchat" in result.stdout + result.stderr, args


def test_help_shows_flags_as_flags(no_store: Path, tmp_path: Path) -> None:
    out = cli("stats", "--help", fakes=no_store, home=tmp_path).stdout
    assert "<bool>" not in out
    json_line = next(line for line in out.splitlines() if "--json" in line)
    assert json_line.split()[:2] == ["--json", "Print"]
    assert "ui" in cli("--help", fakes=no_store, home=tmp_path).stdout.split()


def test_stats_reads_an_old_index_without_model_or_chroma(no_store: Path, old_home: Path) -> None:
    result = cli("stats", "--json", fakes=no_store, home=old_home)
    _clean(result)
    assert result.returncode == 0
    stats = json.loads(result.stdout)
    assert (stats["papers"], stats["chunks"], len(stats["dumps"])) == (3, 8, 5)
    assert (stats["embedding_model"], stats["embedding_dimension"]) == ("all-MiniLM-L6-v2", 384)
    assert stats["date_range"] == ["2024-11-21", "2026-04-26"]
    assert stats["mode"].startswith("extractive") and not stats["reconcile_pending"]
    assert not (old_home / "chroma").exists(), "stats must not open Chroma"

    text = cli("stats", fakes=no_store, home=old_home)
    assert text.returncode == 0 and "papers:          3" in text.stdout


def test_stats_of_an_empty_home(no_store: Path, tmp_path: Path) -> None:
    result = cli("stats", "--json", fakes=no_store, home=tmp_path / "new")
    _clean(result)
    stats = json.loads(result.stdout)
    assert (stats["papers"], stats["chunks"], stats["dumps"], stats["date_range"]) == (
        0,
        0,
        [],
        None,
    )


def test_a_bad_setting_fails_before_anything_loads(no_store: Path, old_home: Path) -> None:
    for command in (["stats"], ["index", str(old_home)], ["ask", "faces"]):
        result = cli(*command, fakes=no_store, home=old_home, PAPERCHAT_TOP_K="ten")
        _clean(result)
        assert result.returncode == 2
        assert result.stderr.startswith("error: invalid setting: PAPERCHAT_TOP_K='ten'")


def test_usage_errors_load_nothing(no_store: Path, tmp_path: Path) -> None:
    for args in (["ask"], ["ask", "faces", "--k", "0"], ["nope"], ["index"]):
        result = cli(*args, fakes=no_store, home=tmp_path)
        _clean(result)
        assert result.returncode == 2, args


def test_missing_and_unreadable_dumps_are_reported_before_the_model_loads(
    no_model: Path, old_home: Path, tmp_path: Path
) -> None:
    page = tmp_path / "page.txt"
    page.write_text("<!DOCTYPE html><html><body>Daily Papers</body></html>", encoding="utf-8")
    missing = tmp_path / "nope.txt"

    result = cli("index", str(missing), str(page), "--json", fakes=no_model, home=old_home)

    _clean(result)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert sorted(e["file"] for e in report["errors"]) == sorted([str(missing), str(page)])
    assert "no such file" in json.dumps(report) and "HTML" in json.dumps(report)
    assert not (old_home / "chroma").exists(), "nothing to index: Chroma stays closed"

    text = cli("index", str(missing), fakes=no_model, home=old_home)
    assert text.returncode == 1 and "no such file or folder" in text.stdout


def test_other_missing_paths_load_nothing(no_model: Path, tmp_path: Path) -> None:
    for args in (["eval", str(tmp_path / "q.jsonl")], ["watch", str(tmp_path / "inbox")]):
        result = cli(*args, fakes=no_model, home=tmp_path)
        _clean(result)
        assert result.returncode == 2 and result.stderr.startswith("error:"), args


def test_if_changed_skips_dumps_indexed_unchanged_without_the_model(
    no_model: Path, old_home: Path, tmp_path: Path
) -> None:
    dumps = Path(__file__).resolve().parent.parent / "sample_data" / "dumps"
    result = cli("index", str(dumps), "--if-changed", "--json", fakes=no_model, home=old_home)
    _clean(result)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert len(report["files"]) == 5 and report["papers_unchanged"] == 3  # the fixture's papers
    assert report["papers_added"] == report["chunks_embedded"] == 0

    edited = tmp_path / "dumps"
    shutil.copytree(dumps, edited)
    first = sorted(edited.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = cli("index", str(edited), "--if-changed", fakes=no_model, home=old_home)
    assert "FAKE" in changed.stderr, "a changed dump is indexed (which needs the model)"


@pytest.mark.parametrize("command", ["digest", "trends"])
def test_digest_and_trends_read_the_index_without_the_model(
    command: str, no_model: Path, indexed_home: Path
) -> None:
    """What's new and trends read stored vectors and the catalog; loading the model only to
    name it cost about 7 s of each (vectorstore.embeddings.LazyEmbedder)."""
    result = cli(command, "--json", fakes=no_model, home=indexed_home)
    _clean(result)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["topics"] and all(topic["label"] for topic in data["topics"])

"""Shared fixtures. Expensive ones (the embedding model, an index of the sample dumps) are
session-scoped so the suite loads the model once and embeds the sample dumps once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# Tests must never reach a real LLM because of the developer's own environment.
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PAPERCHAT_HOME", "PAPERCHAT_CHROMA_URL"):
    os.environ.pop(_var, None)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DUMPS = ROOT / "sample_data" / "dumps"


@pytest.fixture(scope="session")
def sample_dumps_dir() -> Path:
    """The five sample dumps shipped with the project (read-only: copy before changing)."""
    return SAMPLE_DUMPS


@pytest.fixture(scope="session")
def sample_dump_files() -> list[Path]:
    return sorted(SAMPLE_DUMPS.glob("*.txt"))


@pytest.fixture(scope="session")
def embedder():
    """The bundled all-MiniLM-L6-v2, loaded once per test session."""
    from vectorstore.embeddings import load_embedder

    return load_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def _indexed_home_master(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    home = tmp_path_factory.mktemp("indexed_home")
    assistant = ResearchAssistant(Settings(home=home))
    assistant.__dict__["embedder"] = embedder  # share the session's loaded model
    report = assistant.index(sorted(SAMPLE_DUMPS.glob("*.txt")))
    assert report.ok, report.summary()
    del assistant
    return home


@pytest.fixture(scope="session")
def indexed_home(_indexed_home_master: Path) -> Path:
    """A PAPERCHAT_HOME with the five sample dumps indexed. Read-only: use
    `writable_indexed_home` for tests that index more."""
    return _indexed_home_master


@pytest.fixture
def writable_indexed_home(_indexed_home_master: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed sample home that a test may change."""
    home = tmp_path / "home"
    shutil.copytree(_indexed_home_master, home)
    return home


@pytest.fixture(scope="session")
def assistant(indexed_home: Path, embedder):
    """A ResearchAssistant over the indexed sample dumps, extractive mode (no LLM)."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    ra = ResearchAssistant(Settings(home=indexed_home))
    ra.__dict__["embedder"] = embedder
    return ra

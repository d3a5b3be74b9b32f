"""Shared fixtures. Expensive ones (the embedding model, an index of the sample dumps) are
session-scoped so the suite loads the model once and embeds the sample dumps once."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
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


# --- UI fixtures (owner: ui) -------------------------------------------------------------------

XSS_PAYLOAD = "<img src=x onerror=alert(1)>"
DUMP_HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nOct 20\n\n"
)


def write_dump(path: Path, entries: list[tuple[str, str]], dated: bool = True) -> Path:
    """A dump in the Daily Papers page format: (title, abstract) entries, with metadata."""
    blocks = []
    for n, (title, abstract) in enumerate(entries):
        meta = f"  • {3 + n % 5} authors\n·\nOct {1 + n % 28}, 2025 {n % 40}" if dated else ""
        blocks.append(f"{title}\n\n{abstract}\n\n{meta}".rstrip())
    path.write_text(DUMP_HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def xss_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dump whose title and abstract carry an HTML payload (must render as inert text)."""
    return write_dump(
        tmp_path_factory.mktemp("xss") / "xss_dump.txt",
        [
            (
                f"Zebrafish swimming gait analysis {XSS_PAYLOAD}",
                f"We track zebrafish swimming gait with pose estimation {XSS_PAYLOAD} and "
                "show that larval zebrafish change their tail-beat frequency under stress.",
            )
        ],
    )


@pytest.fixture(scope="session")
def ui_home(indexed_home: Path, xss_dump: Path, tmp_path_factory, embedder) -> Path:
    """A private copy of the indexed sample home, plus the XSS dump, for the UI's server."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    home = tmp_path_factory.mktemp("ui") / "home"
    shutil.copytree(indexed_home, home)
    assistant = ResearchAssistant(Settings(home=home))
    assistant.__dict__["embedder"] = embedder
    report = assistant.index([xss_dump])
    assert report.ok and report.papers_added == 1, report.summary()
    return home


@pytest.fixture(scope="session")
def ui_assistant(ui_home: Path, embedder):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    ra = ResearchAssistant(Settings(home=ui_home, max_upload_mb=1))
    ra.__dict__["embedder"] = embedder
    return ra


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ui_server(ui_assistant):
    """The paperchat UI over `ui_home`, launched once on a free local port: yields its URL."""
    from ui.app import launch

    demo = launch(ui_assistant, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield demo.local_url.rstrip("/")
    demo.index_runner.wait(timeout=120)
    demo.close()


# --- chain fixtures (owner: chain) ---------------------------------------------------------------


@pytest.fixture
def openai_server():
    """A local OpenAI-compatible chat server (tests/openai_server.py) for one test: script its
    replies with .reply/.fail/.hang; .requests records what the client sent."""
    from openai_server import FakeOpenAIServer

    server = FakeOpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_papers_by_title() -> dict:
    """Every paper of the five sample dumps (parsed and merged), keyed by exact title."""
    from rag.dump_parser import parse_dump
    from rag.papers import merge_papers

    observed = [
        paper
        for path in sorted(SAMPLE_DUMPS.glob("*.txt"))
        for paper in parse_dump(path, max_abstract_chars=20_000).papers
    ]
    return {paper.title: paper for paper in merge_papers([], observed)}


@pytest.fixture(scope="session")
def make_sources(sample_papers_by_title):
    """make_sources(titles, scores=None) -> [Source [1]..[n]] built from real sample papers."""
    from rag.models import Source

    def make(titles: list[str], scores: list[float] | None = None) -> list:
        scores = scores or [0.9 - 0.05 * i for i in range(len(titles))]
        sources = []
        for number, (title, score) in enumerate(zip(titles, scores, strict=True), start=1):
            paper = sample_papers_by_title[title]
            published = paper.published.isoformat() if paper.published else None
            sources.append(
                Source(
                    number=number,
                    paper_id=paper.paper_id,
                    title=paper.title,
                    score=score,
                    published=published,
                    snippet=paper.abstract[:300],
                    abstract=paper.abstract,
                )
            )
        return sources

    return make


def source_document(source):
    """A Source as the project's retriever returns it: a Document in PaperHit's shape."""
    from langchain_core.documents import Document

    metadata = {
        "paper_id": source.paper_id,
        "title": source.title,
        "score": source.score,
        "relevance": source.score,
        "published": source.published,
        "org": source.org,
        "upvotes": source.upvotes,
        "abstract": source.abstract,
        "evidence": [source.snippet],
    }
    return Document(id=source.paper_id, page_content=source.snippet, metadata=metadata)


@pytest.fixture
def recording_search():
    """recording_search(sources) -> a LangChain retriever (what the chain retrieves with)
    returning `sources` (up to k) as Documents and recording each call's (question, k, filters)
    in `.calls`."""
    from langchain_core.retrievers import BaseRetriever

    class RecordingRetriever(BaseRetriever):
        sources: list
        calls: list

        def _get_relevant_documents(self, query, *, run_manager, k=5, filters=None):
            self.calls.append((query, k, filters))
            return [source_document(s) for s in self.sources[:k]]

        async def _aget_relevant_documents(self, query, *, run_manager, k=5, filters=None):
            return self._get_relevant_documents(
                query, run_manager=run_manager, k=k, filters=filters
            )

    def make(sources: list):
        return RecordingRetriever(sources=list(sources), calls=[])

    return make


# --- browser fixtures (headless Debian chromium via Playwright) ------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def app_page(browser, url: str):
    """A fresh page on the app at `url` that records any dialog (alert/confirm) a payload
    might open in `page.dialogs`; closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector("#pc-question textarea")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright's sync API, module-scoped so its event
    loop never outlives the module's tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

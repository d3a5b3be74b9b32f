"""PaperIndex against a real `chroma run` server on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.errors import CollectionOwnedElsewhere, StoreUnavailable
from vectorstore.paper_index import PaperIndex

CHROMA = Path(sys.executable).with_name("chroma")
PAPERCHAT = Path(sys.executable).with_name("paperchat")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_chroma(data: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`chroma run` on a free loopback port: (url, process), stopped on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "chroma run exited"
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "chroma server did not answer its heartbeat"
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # harmless unless a test left it frozen
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def chroma_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """One server for the module; `test_sync_and_query_through_a_chroma_server` stops it."""
    with running_chroma(tmp_path_factory.mktemp("chroma_server")) as server:
        yield server


@pytest.fixture(scope="module")
def freezable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A second server (about 1.5 s to start) that tests may freeze: (url, pid)."""
    with running_chroma(tmp_path_factory.mktemp("freezable_server")) as (url, proc):
        yield url, proc.pid


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The server process stopped (SIGSTOP): it keeps accepting connections, never answers."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def papers() -> list[PaperDoc]:
    topics = ["protein folding with diffusion", "speculative decoding for LLMs", "robot grasping"]
    return [
        PaperDoc(
            f"psrv{i}",
            f"A study of {topic}",
            f"We study {topic}. Our method improves {topic} benchmarks by a wide margin. " * 3,
            {"upvotes": i, "year": 2025},
        )
        for i, topic in enumerate(topics)
    ]


def test_sync_and_query_through_a_chroma_server(
    chroma_server: tuple[str, subprocess.Popen], tmp_path: Path, embedder: Embedder
) -> None:
    chroma_server, server = chroma_server
    index = PaperIndex(tmp_path, embedder=embedder, chroma_url=chroma_server, collection="srv")
    report = index.sync(papers())
    assert report.added == 3 and report.chunks_embedded == index.catalog.count_chunks()
    assert index.collection.count() == report.chunks_embedded
    assert not (tmp_path / "chroma").exists()  # nothing written to the embedded store
    stats = index.stats()
    assert stats.store == chroma_server and stats.chunks == report.chunks_embedded

    found = index.collection.query(
        query_embeddings=[embedder.embed_query("faster LLM inference by drafting tokens")],
        n_results=1,
    )
    assert found["metadatas"][0][0]["paper_id"] == "psrv1"
    assert index.sync(papers()).chunks_embedded == 0
    assert index.verify() == []

    # Another data dir on the same server and collection is refused: its catalog does not
    # describe the collection (tests/test_chroma_faults.py covers writing from it too).
    other = PaperIndex(
        tmp_path / "other", embedder=embedder, chroma_url=chroma_server, collection="srv"
    )
    with pytest.raises(CollectionOwnedElsewhere, match=f"data directory: {tmp_path} on "):
        other.search("faster LLM inference", k=1)
    assert index.collection.count() == report.chunks_embedded

    # The server goes away mid-session: a clear error, not a traceback from httpx.
    server.terminate()
    server.wait(10)
    with pytest.raises(StoreUnavailable, match="Cannot reach the Chroma server"):
        index.sync([*papers(), PaperDoc("psrv9", "Late paper", "Arrives after the crash.")])


def test_nothing_listening_is_store_unavailable_quickly(tmp_path: Path, embedder: Embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="Cannot reach the Chroma server") as err:
        PaperIndex(tmp_path, embedder=embedder, chroma_url=url)
    assert time.monotonic() - started < 10
    assert url in str(err.value) and "PAPERCHAT_CHROMA_URL" in str(err.value)


@pytest.mark.timeout(60)  # without a request timeout, a frozen server hangs the test
def test_a_frozen_server_fails_search_and_sync_within_the_timeout(
    freezable_server: tuple[str, int], tmp_path: Path, embedder: Embedder
) -> None:
    url, pid = freezable_server
    index = PaperIndex(tmp_path, embedder=embedder, chroma_url=url, chroma_timeout=1.0)
    index.sync(papers())
    question = "faster LLM inference by drafting tokens"
    assert index.search(question, k=1)[0].metadata["paper_id"] == "psrv1"

    with frozen(pid):
        # Search: the retriever queries the Chroma collection directly.
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as err:
            index.search(question, k=1)
        assert time.monotonic() - started < 5
        assert f"The Chroma server at {url} did not answer within 1 s" in str(err.value)
        assert "PAPERCHAT_CHROMA_TIMEOUT" in str(err.value)

        # Indexing: writes go through ChromaStore.
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="did not answer within 1 s"):
            index.sync([*papers(), PaperDoc("psrv9", "Late paper", "Arrives while frozen.")])
        assert time.monotonic() - started < 5

    # Thawed, the same client works again.
    assert index.search(question, k=1)[0].metadata["paper_id"] == "psrv1"


@pytest.mark.timeout(60)
def test_cli_reports_a_frozen_server_as_one_error_line(
    freezable_server: tuple[str, int], tmp_path: Path
) -> None:
    url, pid = freezable_server
    env = {
        **os.environ,
        "PAPERCHAT_HOME": str(tmp_path),
        "PAPERCHAT_CHROMA_URL": url,
        "PAPERCHAT_CHROMA_TIMEOUT": "2",
    }
    with frozen(pid):
        done = subprocess.run(
            [str(PAPERCHAT), "ask", "what is speculative decoding?"],
            env=env,
            capture_output=True,
            text=True,
            timeout=50,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: The Chroma server at {url} did not answer within 2 s")
    assert "PAPERCHAT_CHROMA_TIMEOUT" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout

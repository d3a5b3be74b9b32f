"""PaperIndex against a real `chroma run` server on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vectorstore.documents import PaperDoc
from vectorstore.embeddings import Embedder
from vectorstore.errors import StoreUnavailable
from vectorstore.paper_index import PaperIndex

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
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
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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

    # A second client (another machine, same server) sees the same data.
    other = PaperIndex(
        tmp_path / "other", embedder=embedder, chroma_url=chroma_server, collection="srv"
    )
    assert other.collection.count() == report.chunks_embedded

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

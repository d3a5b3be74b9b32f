"""Embedders: the bundled default, and an OpenAI-compatible /v1/embeddings server over real HTTP."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from vectorstore.documents import PaperDoc
from vectorstore.embeddings import (
    BUNDLED_DIMENSION,
    Embedder,
    LazyEmbedder,
    QueryMemo,
    load_embedder,
)
from vectorstore.errors import EmbeddingUnavailable
from vectorstore.paper_index import PaperIndex

DIM = 16


def fake_vector(text: str) -> list[float]:
    """Deterministic, deliberately un-normalised vector derived from the text."""
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) + 1.0 for b in digest[:DIM]]


class EmbeddingsHandler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        EmbeddingsHandler.requests.append(body)
        if body.get("model") == "slow-embed":  # a server busier than the client's patience
            time.sleep(1.5)
        if self.path != "/v1/embeddings" or body.get("model") != "tiny-embed":
            self.send_response(404)
            self.end_headers()
            return
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        payload = {
            "object": "list",
            "model": body["model"],
            "data": [
                {"object": "embedding", "index": i, "embedding": fake_vector(t)}
                for i, t in enumerate(inputs)
            ],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def embeddings_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EmbeddingsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    EmbeddingsHandler.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_default_embedder_is_the_bundled_minilm(embedder: Embedder) -> None:
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert (embedder.dimension, embedder.max_tokens) == (384, 256)
    assert embedder.count_tokens("") == 2  # [CLS] and [SEP]
    vectors = embedder.embed_documents(["sparse attention", "diffusion models for video"])
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
    assert all(abs(math.hypot(*v) - 1.0) < 1e-4 for v in vectors)  # normalised for cosine


def test_a_lazy_embedder_loads_once_on_first_use_and_names_itself_before(
    embedder: Embedder, tmp_path: Path
) -> None:
    loads: list[int] = []

    def load() -> Embedder:
        loads.append(1)
        return embedder

    lazy = load_embedder("sentence-transformers/all-MiniLM-L6-v2", lazy=True)
    assert isinstance(lazy, LazyEmbedder) and lazy.model_name == "all-MiniLM-L6-v2"
    assert lazy.dimension == BUNDLED_DIMENSION == embedder.dimension and not lazy.is_loaded
    lazy = LazyEmbedder("all-MiniLM-L6-v2", load, BUNDLED_DIMENSION)
    index = PaperIndex(tmp_path / "home", embedder=lazy)
    assert index.collection is not None  # opening checks the model name and dimension only
    assert loads == [] and not lazy.is_loaded
    threads = [threading.Thread(target=lazy.embed_query, args=("video",)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [1] and lazy.max_tokens == 256 and lazy.query_memo is embedder.query_memo
    assert lazy.embed_query("video") == embedder.embed_query("video")


def test_openai_compatible_endpoint_embeds_and_indexes(
    tmp_path: Path, embeddings_server: str
) -> None:
    remote = load_embedder("tiny-embed", base_url=embeddings_server, batch_size=2)
    assert remote.dimension == DIM
    vector = remote.embed_query("hello")
    assert abs(math.hypot(*vector) - 1.0) < 1e-6
    assert remote.count_tokens("a tokenisation example.") >= 4

    docs = [
        PaperDoc(f"pr{i}", f"Remote paper {i}", f"Abstract number {i}. " * 20) for i in range(3)
    ]
    index = PaperIndex(tmp_path, embedder=remote)
    report = index.sync(docs)
    assert report.chunks_embedded == index.collection.count() >= 3
    assert index.collection.metadata["embedding_model"] == "tiny-embed"
    assert all(len(r["input"]) <= 2 for r in EmbeddingsHandler.requests)  # batched


def test_query_vectors_are_remembered_within_a_bound_and_failures_are_not() -> None:
    """One ask embeds its question for search and again for the answerer: the second must
    cost nothing, and nothing a caller does to its vector may reach the next caller."""
    calls: list[str] = []

    def embed(text: str) -> list[float]:
        calls.append(text)
        return [float(len(text)), 1.0]

    def down(text: str) -> list[float]:
        raise EmbeddingUnavailable("the server is down")

    memo = QueryMemo(max_entries=2)
    memo.get("a b", embed).append(9.0)  # a caller's change stays its own
    assert memo.get("a b", embed) == [3.0, 1.0] and calls == ["a b"]
    memo.get("c", embed)
    memo.get("d", embed)  # over the bound: "a b", the least recently used, goes
    memo.get("a b", embed)
    assert calls == ["a b", "c", "d", "a b"]
    with pytest.raises(EmbeddingUnavailable):
        memo.get("e", down)
    assert memo.get("e", embed) == [1.0, 1.0] and calls[-1] == "e"  # the failure was not kept
    off = QueryMemo(max_entries=0)
    off.get("x", embed)
    off.get("x", embed)
    assert calls[-2:] == ["x", "x"]


def test_a_server_is_asked_for_a_query_vector_once(embeddings_server: str) -> None:
    remote = load_embedder("tiny-embed", base_url=embeddings_server)
    first = remote.embed_query("sparse attention")
    again = remote.embed_query("sparse attention")
    assert again == first
    assert [r["input"] for r in EmbeddingsHandler.requests] == [["sparse attention"]]


def test_unreachable_or_refusing_endpoint_is_a_clear_error(embeddings_server: str) -> None:
    wrong_model = load_embedder("no-such-model", base_url=embeddings_server)
    with pytest.raises(EmbeddingUnavailable, match="refused model 'no-such-model'"):
        wrong_model.embed_query("x")
    down = load_embedder("tiny-embed", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(EmbeddingUnavailable, match="Cannot reach the embedding server"):
        down.embed_query("x")


@pytest.mark.parametrize("retries", [0, 2])
def test_embedding_timeout_and_retries_come_from_settings(
    embeddings_server: str, tmp_path: Path, retries: int
) -> None:
    from rag import ResearchAssistant, Settings

    settings = Settings(
        home=tmp_path,
        embedding_model="slow-embed",
        embedding_base_url=embeddings_server,
        embedding_timeout=0.2,
        embedding_max_retries=retries,
    )
    started = time.monotonic()
    with pytest.raises(EmbeddingUnavailable, match=r"did not answer within 0\.2 s"):
        ResearchAssistant(settings).embedder.embed_query("x")
    assert len(EmbeddingsHandler.requests) == retries + 1
    assert time.monotonic() - started < 0.2 * (retries + 1) + 1.5 * retries + 1.0


def test_loading_the_bundled_model_leaves_the_environment_alone(tmp_path: Path) -> None:
    """No HF_HUB_OFFLINE in, none out: the weights on disk load without a hub lookup and the
    caller's environment is not changed behind its back."""
    import os
    import subprocess
    import sys

    script = (
        "import os; from vectorstore.embeddings import load_embedder; "
        "e = load_embedder(); v = e.embed_query('hello'); "
        "print(len(v), 'HF_HUB_OFFLINE' in os.environ)"
    )
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["384", "False"]


def test_unknown_local_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingUnavailable, match="Could not load embedding model"):
        load_embedder(str(tmp_path / "missing-model-dir" / "nothing"))


def test_counting_tokens_while_chats_encode_never_breaks_an_encode(embedder) -> None:
    """An upload indexed during chats counts tokens (the chunker) while answers encode: a
    shared fast tokenizer had its padding state switched mid-encode ("Unable to create
    tensor"; bench_load.py hit it once in 463 answers, a 20 s loop like this one 4 times)."""
    import threading
    import time

    assert embedder.tokenizer is not embedder.model.tokenizer  # counting has its own copy
    texts = ["word " * (5 + 7 * i) for i in range(16)]  # different lengths: padding matters
    errors: list[Exception] = []
    stop = time.monotonic() + 6

    def loop(work) -> None:
        while time.monotonic() < stop:
            try:
                work()
            except Exception as exc:  # collected for the assertion
                errors.append(exc)

    threads = [
        threading.Thread(target=loop, args=(lambda: embedder.embed_documents(texts),)),
        threading.Thread(target=loop, args=(lambda: embedder.embed_documents(texts[::-1]),)),
        threading.Thread(target=loop, args=(lambda: [embedder.count_tokens(t) for t in texts],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert embedder.count_tokens("word word") == 4  # [CLS] word word [SEP]


def test_token_counts_are_the_tokenizer_s_own_and_so_are_the_chunks(embedder) -> None:
    """Counting runs on the tokenizer's Rust backend, since chunking a 40,000-paper index
    spent 128 s in the Python wrapper before the first embedding. Every count, and so every
    chunk, must be what the wrapper gives, long texts counted whole."""
    import copy

    from rag.dump_parser import parse_dump
    from vectorstore.chunking import Chunker

    wrapper = copy.deepcopy(embedder.model.tokenizer)

    class WrapperCounted:
        max_tokens = embedder.max_tokens

        def count_tokens(self, text: str) -> int:
            return len(wrapper(text, add_special_tokens=True, verbose=False)["input_ids"])

    dumps = sorted((Path(__file__).parent.parent / "sample_data" / "dumps").glob("*.txt"))
    papers = [p for f in dumps for p in parse_dump(f, max_abstract_chars=20_000).papers]
    texts = ["", "word", "word " * 600, *(p.title for p in papers), *(p.abstract for p in papers)]
    reference = WrapperCounted()
    assert embedder.counter is not None
    assert [embedder.count_tokens(t) for t in texts] == [reference.count_tokens(t) for t in texts]
    assert embedder.count_tokens("word " * 600) == 602  # not cut at the model's 256
    ours, theirs = Chunker(embedder), Chunker(reference)  # type: ignore[arg-type]
    assert [ours.split(p.title, p.abstract) for p in papers] == [
        theirs.split(p.title, p.abstract) for p in papers
    ]

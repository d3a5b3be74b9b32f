"""Concurrent chats run the models on at most INFERENCE_THREADS threads (vectorstore/inference).

PyTorch keeps per-thread state it never frees for every thread that runs a model, so a server
whose chats hop between Gradio's worker threads grew by a gigabyte under load. These tests
record the thread of every forward pass of the real embedder and the real bundled reader while
many threads ask at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from vectorstore.inference import INFERENCE_THREADS, on_inference_thread

QUESTIONS = [
    "What is Lookahead and how does it verify branches?",
    "Which papers improve video generation?",
    "How can LLM inference be made faster without losing accuracy?",
    "Which papers generate talking-head videos from audio?",
    "What benchmarks evaluate multimodal reasoning?",
    "How do diffusion models handle identity preservation?",
]


def record_forward_threads(
    model, monkeypatch: pytest.MonkeyPatch, name: str = "forward", threads: set[int] | None = None
) -> set[int]:
    """Patch `model.<name>` (a forward pass) to note the thread each pass runs on."""
    threads = set() if threads is None else threads
    forward = getattr(model, name)

    def recording(*args, **kwargs):
        threads.add(threading.get_ident())
        return forward(*args, **kwargs)

    monkeypatch.setattr(model, name, recording)
    return threads


def test_concurrent_asks_run_every_model_on_the_inference_threads(
    assistant, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = assistant.reader
    assert reader is not None, "the default settings load the bundled reader"
    sequential = {q: assistant.ask(q).text for q in QUESTIONS}
    embedder.query_memo.clear()  # every question must be embedded again below
    embedding = record_forward_threads(embedder.model, monkeypatch)
    if embedder.onnx is not None:  # questions and short lists run on ONNX Runtime
        record_forward_threads(embedder.onnx, monkeypatch, "_run", embedding)
    reading = record_forward_threads(reader._load(), monkeypatch)
    askers: set[int] = set()

    def ask(question: str) -> str:
        askers.add(threading.get_ident())
        return assistant.ask(question).text

    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        answers = dict(zip(QUESTIONS, pool.map(ask, QUESTIONS), strict=True))

    assert answers == sequential  # handing the calls over changes no answer
    assert embedding and reading, "both models ran during the concurrent asks"
    assert len(askers) > INFERENCE_THREADS
    assert len(embedding | reading) <= INFERENCE_THREADS
    assert not (embedding | reading) & askers  # no asking thread ran a model itself


def test_an_error_in_a_model_call_reaches_the_caller() -> None:
    def broken() -> None:
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        on_inference_thread(broken)


def test_a_call_made_on_an_inference_thread_runs_inline() -> None:
    """Waiting for a sibling thread from an inference thread could deadlock the pool."""
    outer: list[int] = []

    def nested() -> int:
        outer.append(threading.get_ident())
        return on_inference_thread(threading.get_ident)

    assert on_inference_thread(nested) == outer[0]


def test_an_answers_sentences_embed_on_both_threads_with_the_same_vectors(
    embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first answer embeds its shortlisted sentences (up to 12): split over the two inference
    threads they took p95 130-150 ms against 173-178 ms in a row (bench_ask.py)."""
    assert embedder.onnx is not None, "the bundled model runs short lists on ONNX Runtime"
    sentences = [f"{q} It is studied in paper {n}." for n, q in enumerate(QUESTIONS * 2)]
    alone = np.vstack([embedder.embed_documents([s]) for s in sentences])
    runs: list[tuple[int, str]] = []
    run = embedder.onnx._run

    def recording(text: str):
        runs.append((threading.get_ident(), text))
        return run(text)

    monkeypatch.setattr(embedder.onnx, "_run", recording)
    together = np.asarray(embedder.embed_documents(sentences))

    assert np.allclose(together, alone, atol=1e-6)  # the same vectors, in the same order
    assert sorted(text for _, text in runs) == sorted(sentences)
    assert len({thread for thread, _ in runs}) == INFERENCE_THREADS

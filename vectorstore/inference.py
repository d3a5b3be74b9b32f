"""Local model calls run on a small fixed set of threads, whichever thread asks for them.

Gradio runs each step of a chat on whichever of its worker threads is free, and PyTorch keeps
state for every thread that has run a model (an OpenMP team, scratch buffers, allocator arenas)
and does not give it back. Under 20 concurrent sessions on the sample index that grew the
server from 0.8 to 1.8 GB (benchmarks/bench_load.py); with every model call on these threads
it grew to 1.16 GB. One thread cost a fifth of the answers (105 against 134 in 60 s, since a
call's Python-side work no longer overlapped another's); two kept them (135).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

INFERENCE_THREADS = 2
_THREAD_NAME = "paperchat-inference"


def _new_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=INFERENCE_THREADS, thread_name_prefix=_THREAD_NAME)


_executor = _new_executor()


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads: it needs executor threads of its own."""
    global _executor
    _executor = _new_executor()


os.register_at_fork(after_in_child=_after_fork_in_child)


def on_inference_thread(call: Callable[[], T]) -> T:
    """Run `call` on an inference thread and wait for its result (or its exception).

    A call made on an inference thread runs inline: waiting for a sibling could deadlock."""
    return on_inference_threads([call])[0]


def on_inference_threads(calls: list[Callable[[], T]]) -> list[T]:
    """Run `calls` side by side on the inference threads; their results in order.

    For one answer's short texts: 12 sentences one ONNX Runtime run each took p50 101-120 ms
    in a row, 92-97 ms split over the two threads (the same vectors; BENCHMARKS.md). From an
    inference thread they run inline, one after another (see on_inference_thread)."""
    if threading.current_thread().name.startswith(_THREAD_NAME):
        return [call() for call in calls]
    futures = [_executor.submit(call) for call in calls]
    return [future.result() for future in futures]

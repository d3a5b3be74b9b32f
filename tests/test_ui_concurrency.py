"""Several people chatting at once run side by side, up to the configured limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import free_port
from gradio_client import Client

from rag.assistant import ResearchAssistant
from rag.settings import Settings
from ui.app import launch

QUESTION = "Which papers restore degraded face images using diffusion models?"
DELAY = 2.0
USERS = 3


def arrival_spread(home: Path, embedder, server, limit: int) -> float:
    """Seconds between the first and the last LLM request when USERS ask at once."""
    settings = Settings(
        home=home,
        openai_base_url=server.base_url,
        llm_model="test-model",
        concurrency_limit=limit,
        llm_timeout=30,
    )
    assistant = ResearchAssistant(settings)
    assistant.__dict__["embedder"] = embedder
    server.reset()
    server.slow("Diffusion priors restore faces [1].", DELAY, times=USERS)
    demo = launch(assistant, settings, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with ThreadPoolExecutor(USERS) as pool:
            jobs = [
                pool.submit(client.predict, QUESTION, [], api_name="/ask") for _ in range(USERS)
            ]
            for job in jobs:
                chat, _, _ = job.result(timeout=120)
                assert "restore faces" in str(chat[-1]["content"])
    finally:
        demo.close()
    arrivals = sorted(r.at for r in server.requests if r.path.endswith("/chat/completions"))
    assert len(arrivals) == USERS
    return arrivals[-1] - arrivals[0]


@pytest.mark.slow
def test_chats_run_side_by_side_up_to_the_limit(indexed_home, embedder, openai_server):
    parallel = arrival_spread(indexed_home, embedder, openai_server, limit=USERS)
    assert parallel < DELAY, "with room for everyone, no chat waits for another's answer"
    serial = arrival_spread(indexed_home, embedder, openai_server, limit=1)
    assert serial >= (USERS - 1) * DELAY * 0.9, "a limit of 1 answers one chat at a time"

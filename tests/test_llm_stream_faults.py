"""Broken LLM answer streams: a malformed SSE event, a stream that ends without its final chunk
and `data: [DONE]`, and a connection dropped in the middle of a chunk; and a follow-up
rewrite whose stream ends early.

The real openai client (through langchain-openai) reads a real local server
(tests/openai_server.py) that sends each fault on the wire. Each must end in the documented
LLMError well within the configured timeout, never in a half answer passed off as whole, and
the next question, on the same chain or the same UI, must be answered normally.
"""

from __future__ import annotations

import asyncio
import html
import time

import pytest
from conftest import free_port
from gradio_client import Client

from rag.chain import build_chain
from rag.errors import LLMError
from rag.models import Answer
from rag.settings import Settings

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
TIMEOUT = 5.0  # llm_timeout: every fault must be reported well before it
PARTIAL = "Lookahead builds a trie of candidate tokens [1] and then"
GOOD = "Lookahead drafts several branches from a trie and verifies them [1]."
# fault -> the part of the LLMError's message that names it
FAULTS = {
    "malformed": "not valid OpenAI chat-completions output",
    "truncate": "stopped sending the answer part-way, after 56 characters (no final chunk)",
    "cut": "stopped sending the answer part-way, after 56 characters (RemoteProtocolError",
}


def settings(home, base_url: str) -> Settings:
    return Settings(
        home=home,
        openai_base_url=base_url,
        llm_model="test-model",
        llm_timeout=TIMEOUT,
        llm_max_retries=0,
    )


@pytest.fixture
def chain(tmp_path, openai_server, make_sources, recording_search, embedder):
    sources = make_sources([LOOKAHEAD])
    return build_chain(
        recording_search(sources), settings(tmp_path, openai_server.base_url), embedder
    )


def consume_sync(chain) -> list:
    return list(chain.stream({"question": "How does Lookahead decode?"}))


def consume_async(chain) -> list:
    async def run() -> list:
        return [event async for event in chain.astream({"question": "How does Lookahead decode?"})]

    return asyncio.run(run())


@pytest.mark.parametrize("consume", [consume_sync, consume_async], ids=["stream", "astream"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_stream_is_an_llm_error_and_the_next_question_works(
    chain, openai_server, fault, consume
) -> None:
    getattr(openai_server, fault)(PARTIAL)
    started = time.perf_counter()
    with pytest.raises(LLMError) as info:
        consume(chain)
    seconds = time.perf_counter() - started

    assert FAULTS[fault] in str(info.value)
    assert openai_server.base_url in str(info.value)
    assert seconds < TIMEOUT / 2  # reported as soon as it is seen, not after the timeout

    openai_server.reply(GOOD)
    answer = consume(chain)[-1]
    assert isinstance(answer, Answer) and answer.text == GOOD
    assert [c.title for c in answer.citations] == [LOOKAHEAD]
    assert len(openai_server.requests) == 2  # one request per question, no hidden retries


def test_a_complete_stream_without_done_is_still_an_answer(chain, openai_server) -> None:
    """The check looks for the final chunk (finish_reason), which a complete answer has even
    when a server leaves out `data: [DONE]`: no false alarm on such servers."""
    openai_server.reply(GOOD)
    assert chain.invoke({"question": "How does Lookahead decode?"}).text == GOOD


FOLLOW_UP = {
    "question": "And how does it verify them?",
    "history": [
        {"role": "user", "content": "How does Lookahead decode?"},
        {"role": "assistant", "content": GOOD},
    ],
}


@pytest.mark.parametrize("call", ["invoke", "ainvoke"])
def test_a_cut_follow_up_rewrite_is_an_llm_error_not_a_half_question(
    chain, openai_server, call
) -> None:
    """The follow-up rewrite is read in one go, not streamed to the user; a stream cut short
    there used to become the question searched ("How does Lookahead verify")."""
    openai_server.truncate("How does Lookahead verify")
    with pytest.raises(LLMError, match="stopped sending the rewritten follow-up part-way"):
        if call == "invoke":
            chain.invoke(FOLLOW_UP)
        else:
            asyncio.run(chain.ainvoke(FOLLOW_UP))
    assert len(openai_server.requests) == 1  # nothing was searched or answered after it

    openai_server.reply("How does Lookahead verify its draft branches?")
    openai_server.reply(GOOD)
    answer = chain.invoke(FOLLOW_UP)
    assert answer.standalone_question == "How does Lookahead verify its draft branches?"
    assert answer.text == GOOD


@pytest.fixture
def llm_ui(writable_indexed_home, openai_server, embedder):
    """The real UI over the sample index, answering with the local LLM server."""
    from rag.assistant import ResearchAssistant
    from ui.app import launch

    assistant = ResearchAssistant(settings(writable_indexed_home, openai_server.base_url))
    assistant.__dict__["embedder"] = embedder
    demo = launch(assistant, port=free_port(), prevent_thread_lock=True, quiet=True)
    yield Client(demo.local_url, verbose=False)
    demo.close()


def last_message(chat: list[dict]) -> str:
    content = chat[-1]["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


@pytest.mark.parametrize("fault", ["truncate", "cut"])
def test_the_ui_shows_the_error_then_answers_the_next_question(llm_ui, openai_server, fault):
    question = "How does Lookahead accelerate LLM inference?"
    getattr(openai_server, fault)(PARTIAL)
    started = time.perf_counter()
    chat, *_ = llm_ui.predict(question, [], api_name="/ask")
    assert time.perf_counter() - started < TIMEOUT
    error = html.unescape(last_message(chat))
    assert 'class="pc-error"' in error and "stopped sending the answer part-way" in error
    assert "pc-cite-link" not in error  # the half answer is not shown as an answer

    openai_server.reply(GOOD)
    chat, sources, _ = llm_ui.predict(question, [], api_name="/ask")
    answer = last_message(chat)
    assert "pc-error" not in answer and "pc-cite-link" in answer
    assert "Lookahead" in sources

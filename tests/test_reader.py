"""The reader: loading (bundled, CrossEncoder path, /rerank server, none), its failures, and
what it changes in search and answers."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.documents import Document

from vectorstore import rerank as rr
from vectorstore.reader import (
    BUNDLED_PATH,
    MAX_TOKENS,
    WINDOW_SENTENCES,
    CrossEncoderReader,
    HttpReader,
    best_window,
    load_reader,
    reader_length,
    window_starts,
    windows,
)

# --- a local /rerank server (text-embeddings-inference's wire format) -----------------------


class RerankStub:
    """Scores by a scripted word: a passage containing it gets 0.9, others 0.1; or misbehaves."""

    def __init__(self) -> None:
        self.word = ""
        self.mode = "ok"  # ok | error | hang | garbage
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                if stub.mode == "hang":
                    time.sleep(2)
                if stub.mode == "error":
                    self.send_response(503)
                    self.end_headers()
                    return
                scores = [
                    {"index": i, "score": 0.9 if stub.word in t else 0.1}
                    for i, t in enumerate(body["texts"])
                ]
                payload = b"not json" if stub.mode == "garbage" else json.dumps(scores).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rerank"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def rerank_server() -> Iterator[RerankStub]:
    stub = RerankStub()
    yield stub
    stub.server.shutdown()


def doc(title: str, abstract: str, relevance: float, dense: float = 0.5) -> Document:
    meta = {"paper_id": title.lower(), "title": title, "abstract": abstract}
    meta |= {"relevance": relevance, "dense_score": dense, "score": relevance}
    return Document(page_content=abstract, metadata=meta)


# --- loading --------------------------------------------------------------------------------


def test_none_means_no_reader() -> None:
    assert load_reader("none") is None
    assert load_reader("NONE") is None


def test_spec_picks_the_reader_kind(tmp_path) -> None:
    assert isinstance(load_reader("http://127.0.0.1:9/rerank"), HttpReader)
    assert isinstance(load_reader(str(tmp_path / "my-cross-encoder")), CrossEncoderReader)


def test_bundled_reader_loads_offline_from_the_installed_project(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reader = load_reader("bundled")
    assert isinstance(reader, CrossEncoderReader)
    assert reader.name == str(BUNDLED_PATH)
    scores = reader.score(
        "How does Lookahead verify the drafted branches?",
        [
            "Lookahead\nIt accepts the longest draft that passes a verification step.",
            "Gait recognition\nWe recognise people from how they walk in surveillance video.",
        ],
    )
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > scores[1]


def test_a_reader_reads_as_many_word_pieces_as_it_was_trained_on(tmp_path) -> None:
    """The bundled reader was trained on 128; a saved tokenizer's own length wins; a hub
    name or a tokenizer with no real length (transformers writes 1e30) gets the default."""
    assert reader_length(BUNDLED_PATH) == MAX_TOKENS == 128
    assert CrossEncoderReader(BUNDLED_PATH)._load().max_length == 128
    for length, read in ((256, 256), (int(1e30), MAX_TOKENS), ("x", MAX_TOKENS)):
        (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": length}))
        assert reader_length(tmp_path) == read
    assert reader_length("cross-encoder/ms-marco-MiniLM-L6-v2") == MAX_TOKENS


def test_a_missing_cross_encoder_path_is_a_clear_error(tmp_path) -> None:
    from vectorstore.errors import ReaderUnavailable

    reader = load_reader(str(tmp_path / "nowhere"))
    with pytest.raises(ReaderUnavailable, match="cannot load the reader"):
        reader.score("q", ["a passage"])


# --- the /rerank server ---------------------------------------------------------------------


def test_rerank_server_orders_the_candidates(rerank_server: RerankStub) -> None:
    rerank_server.word = "verification"
    docs = [
        doc("Multi-branch drafts", "We introduce a multi-branch strategy.", 0.9),
        doc("Lookahead", "Drafts pass a verification and accept step.", 0.6),
    ]
    out = rr.rerank("how are drafts verified", docs, HttpReader(rerank_server.url))
    assert [d.metadata["title"] for d in out] == ["Lookahead", "Multi-branch drafts"]
    assert out[0].metadata["reader_score"] == pytest.approx(0.9)
    assert rerank_server.requests[0]["query"] == "how are drafts verified"


@pytest.mark.parametrize("mode", ["error", "hang", "garbage"])
def test_rerank_server_failure_falls_back_to_fusion_order(
    rerank_server: RerankStub, mode: str, caplog
) -> None:
    rerank_server.mode = mode
    docs = [doc("First", "alpha text", 0.9), doc("Second", "beta text", 0.4)]
    with caplog.at_level(logging.WARNING):
        out = rr.rerank("q", docs, HttpReader(rerank_server.url, timeout=0.5))
    assert [d.metadata["title"] for d in out] == ["First", "Second"]
    assert out[0].metadata["relevance"] == 0.9  # fusion relevance kept
    assert "rerank server" in caplog.text and "fusion alone" in caplog.text


# --- the rerank step ------------------------------------------------------------------------


def test_only_readers_that_may_rank_move_the_order(rerank_server: RerankStub) -> None:
    """The bundled reader picks quotes but does not rank (measured: fusion ranks better);
    a reranker the user configures ranks."""
    assert rr.weight_for(None) == 0.0
    assert rr.weight_for(load_reader("bundled")) == 0.0
    assert rr.weight_for(HttpReader(rerank_server.url)) > 0
    docs = [doc("First", "alpha text", 0.9), doc("Second", "beta text", 0.4)]
    kept = rr.rerank("q", docs, HttpReader(rerank_server.url), weight=0.0)
    assert [d.metadata["title"] for d in kept] == ["First", "Second"]
    assert rerank_server.requests == []  # weight 0: nothing is read


def test_reranking_fixes_a_fusion_order_that_is_wrong(
    writable_indexed_home, embedder, rerank_server: RerankStub
) -> None:
    """Through the real search: fusion puts another paper first; the reranker, told which
    paper answers, puts that one first, and the answer cites it as [1]."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    question = "Which papers generate talking-head videos from audio?"
    plain = ResearchAssistant(Settings(home=writable_indexed_home, reranker="none"))
    plain.__dict__["embedder"] = embedder
    fused = [h.title for h in plain.search(question, k=5)]
    target = fused[3]  # a paper fusion ranks 4th
    rerank_server.word = target
    ranked = ResearchAssistant(Settings(home=writable_indexed_home, reranker=rerank_server.url))
    ranked.__dict__["embedder"] = embedder
    assert ranked.search(question, k=5)[0].title == target
    assert ranked.ask(question).sources[0].title == target


def test_reranker_none_works(assistant) -> None:
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    plain = ResearchAssistant(Settings(home=assistant.settings.home, reranker="none"))
    plain.__dict__["embedder"] = assistant.embedder
    assert plain.reader is None
    answer = plain.ask("How does Lookahead accelerate LLM inference?")
    assert not answer.abstained and answer.citations


def test_the_answering_sentence_is_quoted(assistant) -> None:
    """The sentence that answers (the Verification and Accept process), not the one that
    restates the problem or names the multi-branch strategy."""
    answer = assistant.ask("What is Lookahead and how does it verify branches?")
    assert "Verification and Accept" in answer.text
    assert "multi-branch strategy" not in answer.text


def test_a_scaffolded_question_is_not_abstained_on(assistant) -> None:
    """Conversational words ("Which papers", "I'm looking for research on") and filters must
    neither cause an abstention nor change the paper found."""
    from datetime import date

    topic = "face personalization with facial landmarks as a weak spatial condition"
    asked = [
        assistant.ask(topic),
        assistant.ask(f"I'm looking for research on {topic}."),
        assistant.ask(f"Are there any works that do {topic}?", since=date(2024, 1, 1)),
    ]
    assert not any(a.abstained for a in asked)
    assert {a.sources[0].title for a in asked} == {
        "InstantID: Zero-shot Identity-Preserving Generation in Seconds"
    }


def test_the_issue_example_with_filters_is_answered(assistant) -> None:
    """'Which papers improve video generation?' with filters declined with EchoVideo at
    relevance 0.06 (0.996 for 'video generation'): the request's words are not the topic."""
    from datetime import date

    kwargs = {"since": date(2025, 1, 1), "min_upvotes": 2}
    bare = assistant.search("video generation", k=3, **kwargs)
    wrapped = assistant.search("Which papers improve video generation?", k=3, **kwargs)
    echo = "EchoVideo: Identity-Preserving Human Video Generation by Multimodal Feature Fusion"
    assert bare[0].title == echo
    assert echo in [h.title for h in wrapped[:2]]
    assert min(h.score for h in wrapped[:2]) >= 0.5
    answer = assistant.ask("Which papers are about video generation?", **kwargs)
    assert not answer.abstained and answer.sources[0].title == echo


def test_best_window_is_the_sentences_sharing_most_words() -> None:
    sentences = [
        "Large language models are slow at inference.",
        "We introduce a multi-branch strategy.",
        "Drafts are checked by a verification and accept process.",
        "It keeps generation lossless.",
        "Code is released.",
    ]
    window = best_window("how does the verification and accept process work", sentences, size=2)
    assert "verification and accept" in window
    assert "slow at inference" not in window


@pytest.mark.parametrize("count", [1, 3, 4, 5, 6, 7, 12])
def test_the_windows_read_every_sentence_of_the_abstract(count: int) -> None:
    """A paper is judged by its best window: a sentence no window holds could never answer."""
    sentences = [f"Sentence number {i}." for i in range(count)]
    read = windows(sentences)
    assert {s for w in read for s in sentences if s in w} == set(sentences)
    assert all(len(w.split(".")) - 1 == min(count, WINDOW_SENTENCES) for w in read)
    starts = window_starts(count)
    assert starts == sorted(set(starts)) and starts[0] == 0

"""The chain as a LangChain user meets it: LCEL streaming (sync and async), batch, one traced
root run, chat models and embeddings passed in, and the retriever reused in one's own pipeline.
Real components: ChatOpenAI on the wire to tests/openai_server.py, LangChain's fake chat model,
the indexed sample dumps, and Chroma with a user-supplied Embeddings object."""

from __future__ import annotations

import asyncio
import itertools
import re
import zlib

import pytest
from conftest import write_dump
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tracers.base import BaseTracer
from langchain_openai import ChatOpenAI

from rag.assistant import ResearchAssistant
from rag.chain import build_chain, stream_answer
from rag.errors import PaperchatError
from rag.extractive import LEAD
from rag.models import Answer, ChainInput, PaperHit
from rag.settings import Settings
from vectorstore.embeddings import as_embedder

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
MARS = "MARS: Paying more attention to visual attributes for text-based person search"
CROSS_VIDEO = "Cross-video Identity Correlating for Person Re-identification Pre-training"
STEP_NAMES = [
    "read_input",
    "standalone_question",
    "read_question",
    "retrieve",
    "answer",
    "check_citations",
]


class RunRecorder(BaseTracer):
    """Keeps every finished root run (with its tree of child runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list = []

    def _persist_run(self, run) -> None:
        self.roots.append(run)


def run_names(run) -> list[str]:
    """Every run name in the tree, depth first."""
    return [run.name, *(name for child in run.child_runs for name in run_names(child))]


def fake_llm(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


def chat_openai(server) -> ChatOpenAI:
    return ChatOpenAI(
        model="served-model", base_url=server.base_url, api_key="sk-user", max_retries=0
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path, top_k=3)


@pytest.fixture
def sources(make_sources):
    return make_sources([LOOKAHEAD, MARS, CROSS_VIDEO])


# --- the chain's shape ------------------------------------------------------------------------


def test_input_schema_is_typed(settings, recording_search, embedder) -> None:
    chain = build_chain(recording_search([]), settings, embedder)
    assert chain.input_schema is ChainInput
    fields = chain.input_schema.model_json_schema()["properties"]
    assert set(fields) == {"question", "history", "k", "filters", "ignore_question_filters"}
    assert chain.output_schema.model_json_schema()["title"] == "Answer"


def test_one_call_is_one_root_run_with_named_steps(
    tmp_path, openai_server, sources, recording_search, embedder
) -> None:
    """Condense, retrieval and the answer's LLM call all sit under the one root run."""
    chain = build_chain(
        recording_search(sources), Settings(home=tmp_path), embedder, llm=chat_openai(openai_server)
    )
    openai_server.reply("Which trie does Lookahead build?")
    openai_server.reply("Lookahead builds a trie [1].")
    recorder = RunRecorder()
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a [1]"}]

    chain.invoke({"question": "and it?", "history": history}, {"callbacks": [recorder]})

    (root,) = recorder.roots
    assert root.name == "paperchat"
    assert [child.name for child in root.child_runs] == STEP_NAMES
    names = run_names(root)
    assert names.count("ChatOpenAI") == 2  # condense + answer, both inside the root
    assert {"condense", "generate", "RecordingRetriever", "llm_answer"} <= set(names)
    assert isinstance(root.outputs["output"], Answer)


def test_streaming_is_one_root_run_too(settings, sources, recording_search, embedder) -> None:
    chain = build_chain(recording_search(sources), settings, embedder)
    recorder = RunRecorder()
    events = list(chain.stream({"question": "text-based person search"}, {"callbacks": [recorder]}))
    (root,) = recorder.roots
    assert [child.name for child in root.child_runs] == STEP_NAMES
    assert "extractive_answer" in run_names(root)
    assert root.outputs["output"] == events[-1]  # the Answer absorbs the streamed pieces


# --- streaming, async, batch -------------------------------------------------------------------


def test_extractive_stream_is_quote_by_quote(settings, sources, recording_search, embedder):
    chain = build_chain(recording_search(sources), settings, embedder)
    events = list(chain.stream({"question": "How does MARS handle vague text descriptions?"}))
    pieces, final = events[:-1], events[-1]
    assert isinstance(final, Answer) and final.mode == "extractive"
    assert pieces[0].startswith(LEAD)  # the lead line goes out before the quotes
    quotes = pieces[1:]
    assert quotes and all(re.match(r"- \*\*.+\*\* \[\d\]: ", q) for q in quotes)
    assert "".join(pieces).strip() == final.text
    assert stream_answer(chain, {"question": "person search"}).__next__().startswith(LEAD)


def test_extractive_astream_and_ainvoke(settings, sources, recording_search, embedder) -> None:
    chain = build_chain(recording_search(sources), settings, embedder)
    question = {"question": "How does MARS handle vague text descriptions?"}

    recorder = RunRecorder()

    async def run() -> tuple[list, Answer]:
        events = [event async for event in chain.astream(question)]
        return events, await chain.ainvoke(question, {"callbacks": [recorder]})

    events, answer = asyncio.run(run())
    (root,) = recorder.roots
    assert [child.name for child in root.child_runs] == STEP_NAMES
    assert events[0].startswith(LEAD) and isinstance(events[-1], Answer)
    assert "".join(events[:-1]).strip() == events[-1].text == answer.text
    assert MARS in [c.title for c in answer.citations]


def test_chat_openai_streams_token_by_token_sync_and_async(
    tmp_path, openai_server, sources, recording_search, embedder
) -> None:
    """A ChatOpenAI built by the user (not from settings) answers, on the real wire."""
    settings = Settings(home=tmp_path)
    assert not settings.llm_configured
    chain = build_chain(
        recording_search(sources), settings, embedder, llm=chat_openai(openai_server)
    )
    text = "Lookahead builds a trie of candidate token sequences [1] and verifies them [1]."
    openai_server.reply(text, pieces=6)
    openai_server.reply(text, pieces=6)

    sync_events = list(chain.stream({"question": "How does Lookahead decode?"}))

    async def collect() -> list:
        return [e async for e in chain.astream({"question": "How does Lookahead decode?"})]

    async_events = asyncio.run(collect())
    for events in (sync_events, async_events):
        pieces, final = events[:-1], events[-1]
        assert len(pieces) >= 4 and "".join(pieces) == text
        assert final.mode == "llm" and final.model == "served-model"
        assert [c.title for c in final.citations] == [LOOKAHEAD]
    assert [r.body["model"] for r in openai_server.requests] == ["served-model"] * 2
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-user"


def test_batch_and_abatch(settings, sources, recording_search, embedder) -> None:
    llm = GenericFakeChatModel(messages=itertools.cycle(["MARS attends to attributes [2]."]))
    chain = build_chain(recording_search(sources), settings, embedder, llm=llm)
    inputs = [{"question": "person search"}, "visual attributes", {"question": "re-id", "k": 2}]

    answers = chain.batch(inputs)
    async_answers = asyncio.run(chain.abatch(inputs))

    for batch in (answers, async_answers):
        assert [a.question for a in batch] == ["person search", "visual attributes", "re-id"]
        assert all(isinstance(a, Answer) and a.citations[0].title == MARS for a in batch)
        assert [len(a.sources) for a in batch] == [3, 3, 2]


def test_fake_chat_model_errors_become_llm_errors(settings, sources, recording_search, embedder):
    chain = build_chain(recording_search(sources), settings, embedder, llm=fake_llm())
    with pytest.raises(PaperchatError, match=r"GenericFakeChatModel.*answer"):
        chain.invoke({"question": "What does Lookahead do?"})


# --- ResearchAssistant with the user's models -----------------------------------------------


def test_assistant_with_a_fake_chat_model(indexed_home, embedder) -> None:
    reply = "Lookahead drafts token branches from a trie and verifies them [1]."
    ra = ResearchAssistant(Settings(home=indexed_home), llm=fake_llm(reply, reply))
    ra.__dict__["embedder"] = embedder
    question = "Which paper speeds up LLM inference by verifying drafted token branches?"

    events = list(ra.stream(question))
    answer = ra.ask(question)

    assert ra.mode_label == "LLM: GenericFakeChatModel"
    assert len(events) > 5 and "".join(events[:-1]) == reply  # token by token
    for final in (events[-1], answer):
        assert final.mode == "llm" and final.model == "GenericFakeChatModel"
        assert final.citations[0].title == LOOKAHEAD == final.sources[0].title


class HashEmbeddings(Embeddings):
    """Bag of words hashed into 256 dimensions: deterministic, no model, no network."""

    model_name = "hash-bow-256"

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * 256
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vector[zlib.crc32(word.encode()) % 256] += 1.0
        return vector

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class OtherHashEmbeddings(HashEmbeddings):
    model_name = "other-model"


ENTRIES = [
    ("Zebrafish gait under stress", "We track larval zebrafish tail-beat frequency under stress."),
    ("Sparse attention for long video", "A sparse attention kernel speeds up long video models."),
    ("Protein folding with language models", "Protein language models predict folded structure."),
    ("Robot cloth grasping", "A robot learns to grasp deformable cloth from demonstrations."),
]


def test_user_embeddings_index_search_and_answer(tmp_path) -> None:
    dump = write_dump(tmp_path / "dump.txt", ENTRIES)
    settings = Settings(home=tmp_path / "home", abstain_threshold=0.0)
    llm = fake_llm("Larval zebrafish change their tail-beat frequency under stress [1].")
    ra = ResearchAssistant(settings, llm=llm, embeddings=HashEmbeddings())

    report = ra.index([dump])
    hits = ra.search("zebrafish tail-beat frequency", k=2)
    answer = ra.ask("How do zebrafish swim under stress?")

    assert report.ok and report.papers_added == 4 and report.chunks_embedded >= 4
    assert ra.stats().embedding_model == "hash-bow-256" and ra.stats().embedding_dimension == 256
    assert hits[0].title == "Zebrafish gait under stress"
    assert answer.citations[0].title == "Zebrafish gait under stress"

    other = ResearchAssistant(settings, embeddings=OtherHashEmbeddings())
    with pytest.raises(PaperchatError, match="built with embedding model 'hash-bow-256'"):
        other.search("zebrafish")
    with pytest.raises(PaperchatError, match="other-model"):
        other.ask("How do zebrafish swim?")


def test_user_embeddings_name_and_unit_vectors() -> None:
    class Unnamed(HashEmbeddings):
        model_name = None

    assert as_embedder(Unnamed()).model_name == "Unnamed"  # the class name, when nothing else
    assert as_embedder(HashEmbeddings()).model_name == "hash-bow-256"
    vector = as_embedder(HashEmbeddings()).embed_query("a b c d")
    assert sum(v * v for v in vector) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        ResearchAssistant(Settings(), embeddings="all-MiniLM-L6-v2")  # a name is not Embeddings


# --- the retriever -----------------------------------------------------------------------------


def test_retriever_is_the_one_the_chain_uses(assistant) -> None:
    recorder = RunRecorder()
    assistant.chain.invoke({"question": "blind face restoration"}, {"callbacks": [recorder]})
    (root,) = recorder.roots
    (retrieve,) = [c for c in root.child_runs if c.name == "retrieve"]
    assert [c.name for c in retrieve.child_runs] == [type(assistant.retriever).__name__]
    assert isinstance(assistant.retriever, BaseRetriever)


def test_retriever_documents_are_papers_with_hit_metadata(assistant) -> None:
    docs = assistant.retriever.invoke("talking head video generation driven by audio", k=4)
    assert len(docs) == 4 and len({d.id for d in docs}) == 4
    for doc in docs:
        assert doc.id == doc.metadata["paper_id"]
        assert set(PaperHit.model_fields) - {"snippet"} <= set(doc.metadata)
        assert 0.0 <= doc.metadata["score"] <= 1.0
    hits = assistant.search("talking head video generation driven by audio", k=4)
    assert [h.paper_id for h in hits] == [d.id for d in docs]
    assert [h.score for h in hits] == [d.metadata["score"] for d in docs]

    filtered = assistant.retriever.invoke("identity", filters={"org": "StepFun"})
    assert filtered and {d.metadata["org"] for d in filtered} == {"StepFun"}


def test_retriever_in_a_user_pipeline(assistant) -> None:
    """The README's example: the retriever feeding a prompt and a chat model of one's own."""
    seen: list = []

    def format_docs(docs: list[Document]) -> str:
        return "\n".join(f"- {d.metadata['title']} ({d.metadata['published']})" for d in docs)

    prompt = ChatPromptTemplate.from_template("Papers:\n{papers}\n\nQuestion: {question}")
    pipeline = (
        {"papers": assistant.retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | RunnableLambda(lambda value: seen.append(value.to_string()) or value)
        | fake_llm("Lookahead.")
        | StrOutputParser()
    )
    assert pipeline.invoke("Which paper accelerates LLM inference with a trie?") == "Lookahead."
    assert f"- {LOOKAHEAD}" in seen[0] and "Question: Which paper" in seen[0]

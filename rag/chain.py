"""The answer chain, composed from LCEL parts:

    read_input | standalone_question | retrieve | answer | check_citations

- `read_input` validates {"question", "history", "k", "filters"} (rag.models.ChainInput, also
  the chain's `input_schema`);
- `standalone_question` rewrites a follow-up (the condense prompt through the LLM, or rules);
- `retrieve` asks the retriever (a LangChain BaseRetriever; ResearchAssistant.retriever) and
  numbers the papers [1]..[n];
- `answer` is a RunnableBranch: abstain when no source is relevant enough (rag.abstention,
  before any LLM call), else the answerer: the LLM, or the extractive answerer (quotes);
- `check_citations` drops citations outside 1..n and builds the final `Answer`.

The answerers are generators, so `chain.stream(input)` / `chain.astream(input)` yield the
answer text as it is produced (LLM tokens, or the extractive lead line and then one quote at a
time), then the checked `Answer`; `invoke`/`ainvoke`/`batch`/`abatch` return just the Answer.
Streamed pieces are raw model output; the Answer's text is the checked one (invalid citations
removed), so a UI should replace the streamed text with `Answer.text` at the end. One call is
one root run ("paperchat") whose children are the named steps above.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import (
    Runnable,
    RunnableBranch,
    RunnableConfig,
    RunnableGenerator,
    RunnableLambda,
    RunnableSequence,
)
from langchain_core.runnables.config import run_in_executor

from rag.abstention import should_abstain
from rag.citations import check_citations, says_not_covered
from rag.errors import LLMError
from rag.extractive import LEAD_PIECE, SentenceCache, SentenceScorer, bullet, select_quotes
from rag.extractive import stream_extractive_answer as extractive_pieces
from rag.followup import clean_llm_rewrite, rewrite_without_llm
from rag.llm import chat_model_name, llm_errors, make_chat_model
from rag.models import Answer, ChainInput, Source
from rag.prompts import answer_prompt, condense_prompt, format_history, format_sources
from rag.settings import RetrievalSettings, Settings
from vectorstore.reader import Reader

__all__ = [
    "ABSTAIN_EMPTY_MESSAGE",
    "ABSTAIN_FILTERED_MESSAGE",
    "ABSTAIN_MESSAGE",
    "LLMError",
    "build_chain",
    "default_llm",
    "stream_answer",
]

ABSTAIN_MESSAGE = (
    "The indexed papers don't seem to cover this: no paper matched the question closely "
    "enough to answer it from. Try rephrasing with the terms a paper would use (method, task "
    "or dataset names), or index more dumps with `paperchat index PATH`."
)
# Without filters, dense search returns the nearest papers whenever any exist: no source at
# all means nothing is indexed, which deserves its own instruction.
ABSTAIN_EMPTY_MESSAGE = (
    "Nothing is indexed yet, so there is nothing to answer from. Index Hugging Face Daily "
    "Papers dumps with `paperchat index PATH` (or the UI's Index tab), then ask again."
)
ABSTAIN_FILTERED_MESSAGE = (
    "No indexed paper that passes the filters (date range, org, minimum upvotes) covers this "
    "closely enough to answer it. Try widening or removing the filters, rephrasing the "
    "question, or indexing more dumps with `paperchat index PATH`."
)

State = dict[str, Any]


@dataclass
class Draft:
    """An answer before its citations are checked: the state it came from and the raw text.

    The answerers' last chunk. `pieces + draft` is the draft, so LangChain's `+` aggregation
    (how a generator step is invoked without streaming) ends at it."""

    state: State
    text: str
    abstained: bool
    generate_s: float

    def __radd__(self, other: Any) -> Draft:
        return self if isinstance(other, str) else NotImplemented


def default_llm(settings: Settings) -> BaseChatModel | None:
    """The chat model the settings describe (OPENAI_* variables), or None: extractive mode."""
    if not settings.llm.llm_configured:
        return None
    with llm_errors(settings.llm, "set-up"):
        return make_chat_model(settings.llm)


def build_chain(
    retriever: BaseRetriever,
    settings: Settings,
    embeddings: Embeddings,
    *,
    llm: BaseChatModel | None = None,
    reader: Reader | None = None,
) -> Runnable[ChainInput | Mapping[str, Any] | str, Answer]:
    """The answer chain over `retriever` (one Document per paper, PaperHit metadata).

    `llm`: any LangChain chat model; None means the one the settings describe, if any, else
    extractive answers. `embeddings` score the abstracts' sentences for the extractive
    answerer when there is no `reader` (vectorstore.reader), which picks them better."""
    llm = llm if llm is not None else default_llm(settings)
    steps = _Steps(retriever, settings, SentenceScorer(SentenceCache(embeddings), reader), llm)
    answer = RunnableBranch(
        (RunnableLambda(steps.should_abstain, name="should_abstain"), steps.abstain()),
        steps.answerer(),
    )
    answer.name = "answer"
    chain = RunnableSequence(
        RunnableLambda(steps.read_input, name="read_input"),
        steps.standalone(),
        RunnableLambda(steps.retrieve, afunc=steps.aretrieve, name="retrieve"),
        answer,
        steps.check(),
        name="paperchat",
    )
    return chain.with_types(input_type=ChainInput, output_type=Answer)


def stream_answer(
    chain: Runnable[Any, Any], input: Mapping[str, Any], config: RunnableConfig | None = None
) -> Iterator[str | Answer]:
    """Kept for older callers: the same as `chain.stream(input, config)`."""
    yield from chain.stream(input, config)


class _Steps:
    """The chain's steps, sharing the retriever, the settings and the (optional) chat model."""

    def __init__(
        self,
        retriever: BaseRetriever,
        settings: Settings,
        embeddings: Embeddings,
        llm: BaseChatModel | None,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.embeddings = embeddings
        self.llm = llm
        self.mode = "llm" if llm is not None else "extractive"
        self.model = chat_model_name(llm) if llm is not None else None

    # --- 1. input and standalone question ------------------------------------------------------

    def read_input(self, raw: ChainInput | Mapping[str, Any] | str) -> State:
        """Validate the input (pydantic ValidationError, a ValueError, names the field)."""
        data = ChainInput(question=raw) if isinstance(raw, str) else ChainInput.model_validate(raw)
        k = self.settings.retrieval.top_k if data.k is None else data.k
        return {
            "question": data.question,
            "history": data.history,
            "k": k,
            "filters": data.filters,
            "timings": {},
        }

    def standalone(self) -> Runnable[State, State]:
        """The condense prompt through the LLM, or the rule-based rewrite without one."""
        if self.llm is None:
            return RunnableLambda(self._rules_rewrite, name="standalone_question")
        condense = (condense_prompt() | self.llm | StrOutputParser()).with_config(
            run_name="condense"
        )

        def with_llm(state: State, config: RunnableConfig) -> State:
            if not state["history"]:
                return {**state, "standalone": state["question"]}
            started = time.perf_counter()
            with llm_errors(self.settings.llm, "standalone question", self.llm):
                text = condense.invoke(_condense_input(state), config)
            return _rewritten(state, text, started)

        async def awith_llm(state: State, config: RunnableConfig) -> State:
            if not state["history"]:
                return {**state, "standalone": state["question"]}
            started = time.perf_counter()
            with llm_errors(self.settings.llm, "standalone question", self.llm):
                text = await condense.ainvoke(_condense_input(state), config)
            return _rewritten(state, text, started)

        return RunnableLambda(with_llm, afunc=awith_llm, name="standalone_question")

    @staticmethod
    def _rules_rewrite(state: State) -> State:
        return {**state, "standalone": rewrite_without_llm(state["question"], state["history"])}

    # --- 2. retrieval --------------------------------------------------------------------------

    def retrieve(self, state: State, config: RunnableConfig) -> State:
        """Search with the standalone question, then number papers [1]..[n]."""
        started = time.perf_counter()
        docs = self.retriever.invoke(
            state["standalone"], config, k=state["k"], filters=state["filters"]
        )
        return _retrieved(state, docs, started)

    async def aretrieve(self, state: State, config: RunnableConfig) -> State:
        started = time.perf_counter()
        docs = await self.retriever.ainvoke(
            state["standalone"], config, k=state["k"], filters=state["filters"]
        )
        return _retrieved(state, docs, started)

    # --- 3. the branch: abstain, or answer -----------------------------------------------------

    def should_abstain(self, state: State) -> bool:
        """rag.abstention owns the calibrated threshold; the setting overrides it."""
        return should_abstain_for(state["sources"], self.settings.retrieval)

    def abstain(self) -> Runnable[State, str | Draft]:
        def run(states: Iterator[State]) -> Iterator[str | Draft]:
            for state in states:
                message = abstain_message(state["sources"], state["filters"])
                yield message
                yield Draft(state, message, abstained=True, generate_s=0.0)

        async def arun(states: AsyncIterator[State]) -> AsyncIterator[str | Draft]:
            async for state in states:
                for chunk in run(iter([state])):
                    yield chunk

        return RunnableGenerator(run, arun, name="abstain")

    def answerer(self) -> Runnable[State, str | Draft]:
        if self.llm is None:
            return RunnableGenerator(self._extractive, self._aextractive, name="extractive_answer")
        return RunnableGenerator(self._generate, self._agenerate, name="llm_answer")

    def _extractive(self, states: Iterator[State]) -> Iterator[str | Draft]:
        for state in states:
            started = time.perf_counter()
            pieces: list[str] = []
            for piece in extractive_pieces(state["standalone"], state["sources"], self.embeddings):
                pieces.append(piece)
                yield piece
            yield Draft(state, "".join(pieces), False, time.perf_counter() - started)

    async def _aextractive(self, states: AsyncIterator[State]) -> AsyncIterator[str | Draft]:
        async for state in states:
            started = time.perf_counter()
            yield LEAD_PIECE  # before the (CPU-bound) sentence scoring, as in the sync path
            quotes = await run_in_executor(
                None, select_quotes, state["standalone"], state["sources"], self.embeddings
            )
            pieces = [bullet(q) for q in quotes]
            for piece in pieces:
                yield piece
            text = LEAD_PIECE + "".join(pieces)
            yield Draft(state, text, False, time.perf_counter() - started)

    def _generation(self) -> Runnable[dict[str, str], str]:
        assert self.llm is not None
        return (answer_prompt() | self.llm | StrOutputParser()).with_config(run_name="generate")

    def _generate(self, states: Iterator[State], config: RunnableConfig) -> Iterator[str | Draft]:
        """Stream the LLM's answer token by token."""
        generate = self._generation()
        for state in states:
            started = time.perf_counter()
            pieces: list[str] = []
            with llm_errors(self.settings.llm, "answer", self.llm):
                for piece in generate.stream(_answer_input(state), config):
                    if piece:
                        pieces.append(piece)
                        yield piece
            yield self._llm_draft(state, pieces, started)

    async def _agenerate(
        self, states: AsyncIterator[State], config: RunnableConfig
    ) -> AsyncIterator[str | Draft]:
        generate = self._generation()
        async for state in states:
            started = time.perf_counter()
            pieces: list[str] = []
            with llm_errors(self.settings.llm, "answer", self.llm):
                async for piece in generate.astream(_answer_input(state), config):
                    if piece:
                        pieces.append(piece)
                        yield piece
            yield self._llm_draft(state, pieces, started)

    def _llm_draft(self, state: State, pieces: list[str], started: float) -> Draft:
        if not pieces:
            raise LLMError(
                f"The LLM ('{self.model}') returned an empty answer. Check that "
                "PAPERCHAT_LLM_MODEL names a chat model the server serves, and the server's logs."
            )
        return Draft(state, "".join(pieces), False, time.perf_counter() - started)

    # --- 4. citation checks ------------------------------------------------------------------

    def check(self) -> Runnable[str | Draft, str | Answer]:
        """Pass text pieces through; turn the Draft into the final, checked Answer."""

        def run(chunks: Iterator[str | Draft]) -> Iterator[str | Answer]:
            for chunk in chunks:
                yield self.finish(chunk) if isinstance(chunk, Draft) else chunk

        async def arun(chunks: AsyncIterator[str | Draft]) -> AsyncIterator[str | Answer]:
            async for chunk in chunks:
                yield self.finish(chunk) if isinstance(chunk, Draft) else chunk

        return RunnableGenerator(run, arun, name="check_citations")

    def finish(self, draft: Draft) -> Answer:
        """Check citations; an uncited "not covered" reply counts as an abstention."""
        if draft.abstained:
            return self._answer(draft, draft.text, abstained=True)
        checked = check_citations(draft.text.strip(), draft.state["sources"])
        abstained = not checked.citations and says_not_covered(checked.text)
        answer = self._answer(draft, checked.text, abstained=abstained)
        answer.citations = checked.citations
        answer.uncited = not abstained and not checked.citations
        return answer

    def _answer(self, draft: Draft, text: str, *, abstained: bool) -> Answer:
        """On an abstention `sources` are the closest papers, none relevant enough to cite."""
        state = draft.state
        return Answer(
            text=text,
            sources=state["sources"],
            abstained=abstained,
            mode=self.mode,
            model=self.model,
            question=state["question"],
            standalone_question=state["standalone"],
            timings={**state["timings"], "generate": round(draft.generate_s, 4)},
        )


# --- helpers ------------------------------------------------------------------------------------


def _condense_input(state: State) -> dict[str, str]:
    return {"history": format_history(state["history"]), "question": state["question"]}


def _answer_input(state: State) -> dict[str, str]:
    return {"sources": format_sources(state["sources"]), "question": state["standalone"]}


def _rewritten(state: State, text: str, started: float) -> State:
    timings = {**state["timings"], "condense": round(time.perf_counter() - started, 4)}
    return {**state, "standalone": clean_llm_rewrite(text, state["question"]), "timings": timings}


def _retrieved(state: State, docs: Sequence[Document], started: float) -> State:
    timings = {**state["timings"], "retrieve": round(time.perf_counter() - started, 4)}
    return {**state, "sources": number_sources(docs), "timings": timings}


def number_sources(found: Sequence[Document]) -> list[Source]:
    """[1]..[n] by rank, one per paper (the retriever already gives one; we make sure)."""
    seen: set[str] = set()
    numbered: list[Source] = []
    for doc in found:
        source = Source.from_document(doc, number=len(numbered) + 1)
        if source.paper_id in seen:
            continue
        seen.add(source.paper_id)
        numbered.append(source)
    return numbered


def abstain_message(sources: list[Source], filters: Any) -> str:
    """Why there is no answer, phrased as what the user can do about it."""
    if filters is not None and getattr(filters, "active", True):
        return ABSTAIN_FILTERED_MESSAGE
    return ABSTAIN_MESSAGE if sources else ABSTAIN_EMPTY_MESSAGE


def should_abstain_for(sources: list[Source], settings: RetrievalSettings) -> bool:
    """rag.abstention owns the calibrated threshold; the setting overrides it."""
    if settings.abstain_threshold is None:
        return should_abstain(sources)
    return should_abstain(sources, threshold=settings.abstain_threshold)

"""The answer chain, composed from LCEL parts:

    read_input | standalone_question | read_question | retrieve | answer | check_citations

- `read_input` validates {"question", "history", "k", "filters"} (rag.models.ChainInput, also
  the chain's `input_schema`);
- `standalone_question` rewrites a follow-up (the condense prompt through the LLM, or rules);
- `read_question` applies the filters written in the question (rag.question_reading) and
  recognises questions about a paper's metadata (rag.metadata_answers), which search by the
  paper's name alone;
- `retrieve` asks the retriever (a LangChain BaseRetriever; ResearchAssistant.retriever) and
  numbers the papers [1]..[n];
- `answer` is a RunnableBranch: abstain when no source is relevant enough (rag.abstention,
  before any LLM call), a metadata question is answered from the catalog, else the answerer:
  the LLM, or the extractive answerer (quotes);
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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, BaseMessageChunk
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
from langchain_openai import ChatOpenAI

from rag import metadata_answers
from rag.abstention import ABSTAIN_THRESHOLD, should_abstain
from rag.citations import check_citations, says_not_covered
from rag.errors import LLMError
from rag.extractive import LEAD_PIECE, SentenceCache, SentenceScorer, bullet, select_quotes
from rag.extractive import stream_extractive_answer as extractive_pieces
from rag.followup import clean_llm_rewrite, rewrite_without_llm
from rag.index_facts import FactsSource, IndexFacts
from rag.llm import LLMTarget, chat_model_name, llm_errors, make_chat_model
from rag.models import Answer, ChainInput, Source
from rag.prompts import answer_prompt, condense_prompt, format_history, format_sources
from rag.question_filters import describe
from rag.question_reading import order_by_upvotes, read_question
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
    facts: FactsSource | None = None,
) -> Runnable[ChainInput | Mapping[str, Any] | str, Answer]:
    """The answer chain over `retriever` (one Document per paper, PaperHit metadata).

    `llm`: any LangChain chat model; None means the one the settings describe, if any, else
    extractive answers. `embeddings` score the abstracts' sentences for the extractive
    answerer when there is no `reader` (vectorstore.reader), which picks them better.
    `facts` tells the indexed orgs, the newest capture and the dumps (rag.index_facts); without
    it only absolute dates and upvote phrases in a question become filters."""
    llm = llm if llm is not None else default_llm(settings)
    scorer = SentenceScorer(SentenceCache(embeddings), reader)
    steps = _Steps(retriever, settings, scorer, llm, facts or IndexFacts)
    answer = RunnableBranch(
        (RunnableLambda(steps.should_abstain, name="should_abstain"), steps.abstain()),
        (RunnableLambda(steps.asks_metadata, name="asks_metadata"), steps.metadata_answer()),
        steps.answerer(),
    )
    answer.name = "answer"
    chain = RunnableSequence(
        RunnableLambda(steps.read_input, name="read_input"),
        steps.standalone(),
        RunnableLambda(steps.read_question, name="read_question"),
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


class StreamEnd:
    """Whether an OpenAI-compatible answer stream reached its end, or was cut short.

    Such a server ends every complete answer with a chunk that carries `finish_reason`
    (followed by `data: [DONE]`). If the stream stops before it (the server crashed or a proxy
    closed the connection between two events), the openai SDK simply stops iterating, without
    an error: without this check, half an answer would be shown as the whole answer. Only
    ChatOpenAI is checked; other providers' LangChain models mark the end in their own way."""

    def __init__(self, llm: BaseChatModel | None) -> None:
        self.checked = isinstance(llm, ChatOpenAI)
        self.finished = False

    def watch(self, chunks: Iterator[BaseMessageChunk]) -> Iterator[BaseMessageChunk]:
        self.finished = False
        for chunk in chunks:
            self.finished |= bool(chunk.response_metadata.get("finish_reason"))
            yield chunk

    async def awatch(
        self, chunks: AsyncIterator[BaseMessageChunk]
    ) -> AsyncIterator[BaseMessageChunk]:
        self.finished = False
        async for chunk in chunks:
            self.finished |= bool(chunk.response_metadata.get("finish_reason"))
            yield chunk

    def check(self, target: LLMTarget, pieces: list[str]) -> None:
        """LLMError if the stream ended without its final chunk (an empty one is _llm_draft's)."""
        if self.checked and pieces and not self.finished:
            raise LLMError(stream_cut_message(target, pieces))

    def whole(self, message: BaseMessage, target: LLMTarget) -> str:
        """The text of a reply read in one go (the follow-up rewrite), or LLMError if its
        stream was cut short: a truncated rewrite would be searched as if it were the question."""
        text = message.text if isinstance(message.text, str) else str(message.content)
        if self.checked and text and not message.response_metadata.get("finish_reason"):
            raise LLMError(stream_cut_message(target, [text], step="rewritten follow-up"))
        return text


def stream_cut_message(
    target: LLMTarget, pieces: list[str], exc: Exception | None = None, step: str = "answer"
) -> str:
    """What to tell a user whose answer stopped half-way (the partial text is not kept)."""
    cause = _root_cause(exc) if exc is not None else None  # httpx's words, not the SDK's
    how = f" ({type(cause).__name__}: {cause})" if cause is not None else " (no final chunk)"
    return (
        f"The LLM server at {target.url} stopped sending the {step} part-way, after "
        f"{len(''.join(pieces))} characters{how}, so the {step} is incomplete and was "
        f"discarded. Ask again; if it keeps happening, check the server's logs (it may have "
        f"crashed, run out of memory or hit a proxy timeout)."
    )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception (the SDK wraps the transport's error, sometimes twice)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


class _Steps:
    """The chain's steps, sharing the retriever, the settings and the (optional) chat model."""

    def __init__(
        self,
        retriever: BaseRetriever,
        settings: Settings,
        embeddings: Embeddings,
        llm: BaseChatModel | None,
        facts: FactsSource,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.embeddings = embeddings
        self.llm = llm
        self.facts = facts
        threshold = settings.retrieval.abstain_threshold
        self.threshold = ABSTAIN_THRESHOLD if threshold is None else threshold
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
            "ignore": data.ignore_question_filters,
            "timings": {},
        }

    def standalone(self) -> Runnable[State, State]:
        """The condense prompt through the LLM, or the rule-based rewrite without one."""
        if self.llm is None:
            return RunnableLambda(self._rules_rewrite, name="standalone_question")
        condense = (condense_prompt() | self.llm).with_config(run_name="condense")
        complete = StreamEnd(self.llm)

        def with_llm(state: State, config: RunnableConfig) -> State:
            if not state["history"]:
                return {**state, "standalone": state["question"]}
            started = time.perf_counter()
            with llm_errors(self.settings.llm, "standalone question", self.llm):
                message = condense.invoke(_condense_input(state), config)
                text = complete.whole(message, self._target())
            return _rewritten(state, text, started)

        async def awith_llm(state: State, config: RunnableConfig) -> State:
            if not state["history"]:
                return {**state, "standalone": state["question"]}
            started = time.perf_counter()
            with llm_errors(self.settings.llm, "standalone question", self.llm):
                message = await condense.ainvoke(_condense_input(state), config)
                text = complete.whole(message, self._target())
            return _rewritten(state, text, started)

        return RunnableLambda(with_llm, afunc=awith_llm, name="standalone_question")

    @staticmethod
    def _rules_rewrite(state: State) -> State:
        return {**state, "standalone": rewrite_without_llm(state["question"], state["history"])}

    def read_question(self, state: State) -> State:
        """Filters written in the question (taken out of its text) and a metadata question.

        Explicit filters win over phrases; a metadata question searches by the paper's name
        alone, since "how many authors" matches no abstract."""
        facts = self.facts()
        read = read_question(state["standalone"], state["filters"], facts, state["ignore"])
        asked = metadata_answers.recognise(read.question)
        query = asked.subject if asked is not None and asked.subject else read.question
        return {
            **state,
            "standalone": read.question,
            "query": query,
            "filters": read.filters,
            "question_filters": read.from_question,
            "sort": read.sort,
            "metadata": asked,
            "facts": facts,
        }

    # --- 2. retrieval --------------------------------------------------------------------------

    def retrieve(self, state: State, config: RunnableConfig) -> State:
        """Search with the question as read, then number papers [1]..[n]."""
        started = time.perf_counter()
        docs = self.retriever.invoke(state["query"], config, k=state["k"], filters=state["filters"])
        return self._ordered(_retrieved(state, docs, started))

    async def aretrieve(self, state: State, config: RunnableConfig) -> State:
        started = time.perf_counter()
        docs = await self.retriever.ainvoke(
            state["query"], config, k=state["k"], filters=state["filters"]
        )
        return self._ordered(_retrieved(state, docs, started))

    def _ordered(self, state: State) -> State:
        """ "most upvoted": the relevant sources by upvotes, renumbered."""
        if state["sort"] != "upvotes":
            return state
        return {**state, "sources": order_by_upvotes(state["sources"], self.threshold)}

    # --- 3. the branch: abstain, or answer -----------------------------------------------------

    def should_abstain(self, state: State) -> bool:
        """rag.abstention owns the calibrated threshold; the setting overrides it."""
        return should_abstain_for(state["sources"], self.settings.retrieval)

    def abstain(self) -> Runnable[State, str | Draft]:
        def run(states: Iterator[State]) -> Iterator[str | Draft]:
            for state in states:
                message = abstain_message(state["sources"], state["filters"])
                found = describe(state["question_filters"], state["sort"])
                message += f" ({found})" if found and state["filters"] is not None else ""
                yield message
                yield Draft(state, message, abstained=True, generate_s=0.0)

        async def arun(states: AsyncIterator[State]) -> AsyncIterator[str | Draft]:
            async for state in states:
                for chunk in run(iter([state])):
                    yield chunk

        return RunnableGenerator(run, arun, name="abstain")

    def asks_metadata(self, state: State) -> bool:
        """A metadata question whose paper is among the relevant sources."""
        asked = state["metadata"]
        return asked is not None and bool(
            metadata_answers.targets(asked, state["sources"], self.threshold)
        )

    def metadata_answer(self) -> Runnable[State, str | Draft]:
        """Answer from the catalog: the paper(s) asked about first, as [1].., then the rest."""

        def run(states: Iterator[State]) -> Iterator[str | Draft]:
            for state in states:
                yield from self._from_catalog(state)

        async def arun(states: AsyncIterator[State]) -> AsyncIterator[str | Draft]:
            async for state in states:
                for chunk in self._from_catalog(state):
                    yield chunk

        return RunnableGenerator(run, arun, name="metadata_answer")

    def _from_catalog(self, state: State) -> Iterator[str | Draft]:
        asked = state["metadata"]
        chosen = metadata_answers.targets(asked, state["sources"], self.threshold)
        chosen = metadata_answers.known_first(asked, chosen)
        sources = metadata_answers.renumbered(chosen, state["sources"])
        text = metadata_answers.answer_text(asked, sources[: len(chosen)], state["facts"])
        yield text
        yield Draft({**state, "sources": sources, "from_catalog": True}, text, False, 0.0)

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

    def _generation(self, end: StreamEnd) -> Runnable[dict[str, str], str]:
        assert self.llm is not None
        watch = RunnableGenerator(end.watch, end.awatch, name="stream_end")
        return (answer_prompt() | self.llm | watch | StrOutputParser()).with_config(
            run_name="generate"
        )

    def _generate(self, states: Iterator[State], config: RunnableConfig) -> Iterator[str | Draft]:
        """Stream the LLM's answer token by token."""
        end = StreamEnd(self.llm)
        generate = self._generation(end)
        for state in states:
            started = time.perf_counter()
            pieces: list[str] = []
            with self._answer_errors(pieces):
                for piece in generate.stream(_answer_input(state), config):
                    if piece:
                        pieces.append(piece)
                        yield piece
                end.check(self._target(), pieces)
            yield self._llm_draft(state, pieces, started)

    async def _agenerate(
        self, states: AsyncIterator[State], config: RunnableConfig
    ) -> AsyncIterator[str | Draft]:
        end = StreamEnd(self.llm)
        generate = self._generation(end)
        async for state in states:
            started = time.perf_counter()
            pieces: list[str] = []
            with self._answer_errors(pieces):
                async for piece in generate.astream(_answer_input(state), config):
                    if piece:
                        pieces.append(piece)
                        yield piece
                end.check(self._target(), pieces)
            yield self._llm_draft(state, pieces, started)

    def _target(self) -> LLMTarget:
        return LLMTarget.of(self.settings.llm, self.llm)

    @contextmanager
    def _answer_errors(self, pieces: list[str]) -> Iterator[None]:
        """llm_errors, except that a connection lost after the answer began is called that.

        The openai SDK reports a dropped stream as a connection error, whose advice ("check
        that the server is running") misleads when the server had already sent `pieces`."""
        try:
            with llm_errors(self.settings.llm, "answer", self.llm):
                yield
        except LLMError as exc:
            lost = exc.__cause__
            timed_out = isinstance(lost, openai.APITimeoutError)  # its own message says so
            if pieces and isinstance(lost, openai.APIConnectionError) and not timed_out:
                raise LLMError(stream_cut_message(self._target(), pieces, lost)) from lost
            raise

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
        catalog = bool(state.get("from_catalog"))  # written from the record, never by the LLM
        return Answer(
            text=text,
            sources=state["sources"],
            abstained=abstained,
            mode="extractive" if catalog else self.mode,
            model=None if catalog else self.model,
            question=state["question"],
            standalone_question=state["standalone"],
            timings={**state["timings"], "generate": round(draft.generate_s, 4)},
            filters=state["filters"],
            question_filters=state["question_filters"],
            sort=state["sort"],
            answered_from="catalog" if catalog else "abstracts",
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

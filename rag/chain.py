"""The answer chain: standalone question -> retrieve -> number -> abstain or answer -> cite-check.

Built with LCEL from langchain-core. `build_chain` returns an `AnswerChain`, a Runnable whose
`.invoke({"question", "history", "k"?, "filters"?})` returns an `Answer`, and whose
`.stream_answer(...)` (or the module function `stream_answer`) yields the answer text in pieces
as it is produced, then the final `Answer`. Streamed pieces are raw model output; the final
Answer's text is the checked one (invalid citations removed), so a UI should replace the
streamed text with `Answer.text` at the end.

Two answerers share everything but step 5: an OpenAI-compatible LLM when one is configured,
else the extractive answerer (quotes from the abstracts). When the sources are not relevant
enough (rag.abstention), the chain abstains before any LLM call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from rag.abstention import should_abstain
from rag.citations import check_citations, says_not_covered
from rag.errors import LLMError
from rag.extractive import SentenceCache, extractive_answer
from rag.followup import clean_llm_rewrite, rewrite_without_llm
from rag.llm import llm_errors, make_chat_model
from rag.models import Answer, HistoryMessage, Source
from rag.prompts import (
    answer_prompt,
    condense_prompt,
    format_history,
    format_sources,
    history_messages,
)
from rag.settings import Settings

if TYPE_CHECKING:
    from vectorstore.filters import SearchFilters

__all__ = [
    "ABSTAIN_EMPTY_MESSAGE",
    "ABSTAIN_MESSAGE",
    "AnswerChain",
    "LLMError",
    "build_chain",
    "stream_answer",
]

Search = Callable[[str, int, "SearchFilters | None"], list[Source]]

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


class AnswerChain(Runnable[dict[str, Any], Answer]):
    """{"question", "history", "k"?, "filters"?} -> Answer; see the module docstring.

    `prepare` (LCEL: read input | standalone question | retrieve and number) is shared by
    `invoke` and `stream_answer`; the answer step differs only in whether pieces are yielded.
    """

    def __init__(self, search: Search, settings: Settings, embedder: Embeddings) -> None:
        self.search = search
        self.settings = settings
        self.embedder = SentenceCache(embedder)
        self.llm = None
        if settings.llm_configured:
            with llm_errors(settings, "set-up"):
                self.llm = make_chat_model(settings)
        self.mode = "llm" if self.llm is not None else "extractive"
        self.prepare: Runnable[dict[str, Any], dict[str, Any]] = (
            RunnableLambda(lambda raw: read_input(raw, settings.top_k), name="read_input")
            | self._standalone_step()
            | RunnableLambda(self._retrieve, name="retrieve_and_number")
        )
        self.generate: Runnable[dict[str, Any], str] | None = None
        if self.llm is not None:
            self.generate = answer_prompt() | self.llm | StrOutputParser()

    # --- Runnable interface ---------------------------------------------------------------------

    def invoke(
        self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        answer: Answer | None = None
        for event in self.stream_answer(input, config):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None  # stream_answer always ends with the Answer
        return answer

    def stream_answer(
        self, input: dict[str, Any], config: RunnableConfig | None = None
    ) -> Iterator[str | Answer]:
        """Yield answer text pieces as they are produced, then the final, checked Answer."""
        state = self.prepare.invoke(input, config)
        if should_abstain_for(state["sources"], self.settings):
            message = abstain_message(state["sources"], state["filters"])
            yield message
            yield self._answer(state, message, abstained=True, generate_s=0.0)
            return
        started = time.perf_counter()
        pieces: list[str] = []
        for piece in self._generate(state, config):
            pieces.append(piece)
            yield piece
        yield self._finish(state, "".join(pieces), time.perf_counter() - started)

    # --- steps ----------------------------------------------------------------------------------

    def _standalone_step(self) -> Runnable[dict[str, Any], dict[str, Any]]:
        """Step 1: the condense prompt through the LLM, or the rule-based fallback."""
        if self.llm is None:
            return RunnableLambda(
                lambda s: {**s, "standalone": rewrite_without_llm(s["question"], s["history"])},
                name="standalone_question_rules",
            )
        condense = condense_prompt() | self.llm | StrOutputParser()

        def with_llm(state: dict[str, Any], config: RunnableConfig) -> dict[str, Any]:
            if not state["history"]:
                return {**state, "standalone": state["question"]}
            started = time.perf_counter()
            with llm_errors(self.settings, step="standalone question"):
                text = condense.invoke(
                    {"history": format_history(state["history"]), "question": state["question"]},
                    config,
                )
            timings = {**state["timings"], "condense": round(time.perf_counter() - started, 4)}
            standalone = clean_llm_rewrite(text, state["question"])
            return {**state, "standalone": standalone, "timings": timings}

        return RunnableLambda(with_llm, name="standalone_question_llm")

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        """Steps 2-3: search with the standalone question, then number papers [1]..[n]."""
        started = time.perf_counter()
        found = self.search(state["standalone"], state["k"], state["filters"])
        timings = {**state["timings"], "retrieve": round(time.perf_counter() - started, 4)}
        return {**state, "sources": number_sources(found), "timings": timings}

    def _generate(self, state: dict[str, Any], config: RunnableConfig | None) -> Iterator[str]:
        """Step 5: stream the LLM's answer, or the extractive answer's pieces."""
        if self.generate is None:
            yield from extractive_answer(state["standalone"], state["sources"], self.embedder)
            return
        prompt_input = {
            "sources": format_sources(state["sources"]),
            "question": state["standalone"],
        }
        produced = False
        with llm_errors(self.settings, step="answer"):
            for piece in self.generate.stream(prompt_input, config):
                if piece:
                    produced = True
                    yield piece
        if not produced:
            raise LLMError(
                f"The LLM ('{self.settings.llm_model}') returned an empty answer. Check that "
                "PAPERCHAT_LLM_MODEL names a chat model the server serves, and the server's logs."
            )

    def _finish(self, state: dict[str, Any], raw: str, generate_s: float) -> Answer:
        """Step 6: check citations; an uncited "not covered" reply counts as an abstention."""
        checked = check_citations(raw.strip(), state["sources"])
        abstained = not checked.citations and says_not_covered(checked.text)
        answer = self._answer(state, checked.text, abstained=abstained, generate_s=generate_s)
        answer.citations = checked.citations
        answer.uncited = not abstained and not checked.citations
        return answer

    def _answer(
        self, state: dict[str, Any], text: str, *, abstained: bool, generate_s: float
    ) -> Answer:
        """On an abstention `sources` are the closest papers, none relevant enough to cite."""
        timings = {**state["timings"], "generate": round(generate_s, 4)}
        return Answer(
            text=text,
            sources=state["sources"],
            abstained=abstained,
            mode=self.mode,
            model=self.settings.llm_model if self.mode == "llm" else None,
            question=state["question"],
            standalone_question=state["standalone"],
            timings=timings,
        )


def build_chain(search: Search, settings: Settings, embedder: Embeddings) -> AnswerChain:
    """The answer chain over `search(question, k, filters) -> list[Source]` (best first)."""
    return AnswerChain(search, settings, embedder)


def stream_answer(
    chain: Runnable[dict[str, Any], Answer],
    input: dict[str, Any],
    config: RunnableConfig | None = None,
) -> Iterator[str | Answer]:
    """Text pieces, then the final Answer; works for any chain that returns an Answer."""
    if isinstance(chain, AnswerChain):
        yield from chain.stream_answer(input, config)
        return
    answer = chain.invoke(input, config)
    yield answer.text
    yield answer


def read_input(raw: Mapping[str, Any] | str, default_k: int = 5) -> dict[str, Any]:
    """Validate the chain input and fill defaults; ValueError says what is wrong."""
    data: Mapping[str, Any] = {"question": raw} if isinstance(raw, str) else raw
    if not isinstance(data, Mapping):
        raise ValueError('Chain input must be {"question": str, "history": [...]}.')
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('Chain input needs a non-empty "question" string.')
    k = data.get("k")
    k = default_k if k is None else k
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f'"k" must be a positive integer, got {k!r}.')
    history: list[HistoryMessage] = history_messages(data.get("history") or [])
    return {
        "question": question.strip(),
        "history": history,
        "k": k,
        "filters": data.get("filters"),
        "timings": {},
    }


def number_sources(found: Sequence[Source]) -> list[Source]:
    """[1]..[n] by rank, one per paper (the search may already number; we make sure)."""
    seen: set[str] = set()
    numbered: list[Source] = []
    for source in found:
        if source.paper_id in seen:
            continue
        seen.add(source.paper_id)
        numbered.append(source.model_copy(update={"number": len(numbered) + 1}))
    return numbered


def abstain_message(sources: list[Source], filters: Any) -> str:
    """Why there is no answer, phrased as what the user can do about it."""
    if filters:
        return ABSTAIN_FILTERED_MESSAGE
    return ABSTAIN_MESSAGE if sources else ABSTAIN_EMPTY_MESSAGE


def should_abstain_for(sources: list[Source], settings: Settings) -> bool:
    """Step 4 (rag.abstention owns the calibrated threshold; the setting overrides it)."""
    if settings.abstain_threshold is None:
        return should_abstain(sources)
    return should_abstain(sources, threshold=settings.abstain_threshold)

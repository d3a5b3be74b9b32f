"""Digest summaries written by the configured LLM, each checked like an answer's citations.

An extractive digest quotes each paper's contribution sentence (rag.digest). With an LLM
configured, it writes that one sentence from the paper's own title and abstract instead: one
request per paper (a few at a time), the paper given as the only numbered source in the same
delimited block answers use (rag.prompts), so text inside an abstract stays data. A written
summary is kept only when it cites exactly that paper, says nothing like "the abstract does
not cover this" and stays one short sentence. Anything else (another number, no citation, a
refusal, a failed request) keeps the quoted sentence: a digest is never lost to the model, and
`SummaryReport` says how many were written and why the others were not.

Written summaries are remembered per (model, paper, abstract), so the What's new tab redrawn
after every index run asks the model only about papers it has not summarised yet.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from rag.citations import CITATION_RE, check_citations, says_not_covered
from rag.errors import LLMError
from rag.llm import chat_model_name, llm_errors
from rag.models import Source
from rag.prompts import format_sources, load_prompt
from rag.settings import LLMSettings
from vectorstore.documents import PaperDoc

CONCURRENCY = 4
MAX_WORDS = 60


@dataclass
class SummaryReport:
    """What the model did for one digest: `written` summaries kept, `quoted` papers that kept
    their abstract's sentence, with one reason per kind of failure."""

    model: str
    written: int = 0
    quoted: int = 0
    reasons: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the digest's readers (CLI, UI, Markdown)."""
        line = f"summaries written by {self.model} from each paper's abstract, each cited"
        if self.quoted:
            why = "; ".join(dict.fromkeys(self.reasons)) or "no usable summary"
            line += f"; {self.quoted} quoted from the abstract instead ({why})"
        return line


class SummaryWriter:
    """Writes digest summaries with one chat model, remembering those it wrote."""

    def __init__(self, llm: BaseChatModel, settings: LLMSettings) -> None:
        self.llm = llm
        self.settings = settings
        self.model = chat_model_name(llm)
        prompt = ChatPromptTemplate.from_messages(
            [("system", load_prompt("system")), ("human", load_prompt("digest_summary"))]
        )
        self.chain = prompt | llm | StrOutputParser()
        self._written: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def write(
        self, numbered: Sequence[tuple[int, str]], papers: Mapping[str, PaperDoc]
    ) -> tuple[dict[str, str], SummaryReport]:
        """paper id -> "sentence [n]" for the (number, paper id) pairs the model summarised
        well, and the report; papers missing from the result keep their quoted sentence."""
        report = SummaryReport(self.model)
        sources = {pid: _source(number, papers[pid]) for number, pid in numbered}
        keys = {pid: (self.model, pid, papers[pid].content_hash) for pid in sources}
        with self._lock:  # remembered without their number: it changes from digest to digest
            sentences = {pid: self._written[k] for pid, k in keys.items() if k in self._written}
        todo = [pid for pid in sources if pid not in sentences]
        replies = self._ask([sources[pid] for pid in todo])
        for pid, reply in zip(todo, replies, strict=True):
            sentence = reply if isinstance(reply, LLMError) else checked(reply, sources[pid])
            if isinstance(sentence, str):
                sentences[pid] = sentence
                with self._lock:
                    self._written[keys[pid]] = sentence
            else:
                report.reasons.append(_reason(sentence))
        report.written = len(sentences)
        report.quoted = len(sources) - len(sentences)
        done = {pid: f"{text} [{sources[pid].number}]" for pid, text in sentences.items()}
        return done, report

    def _ask(self, sources: list[Source]) -> list[str | LLMError]:
        """The model's replies in order; a failed request is its LLMError, not a raise."""
        inputs = [{"sources": format_sources([s]), "number": s.number} for s in sources]
        replies = self.chain.batch(
            inputs, config={"max_concurrency": CONCURRENCY}, return_exceptions=True
        )
        return [
            _as_error(r, self.settings, self.llm) if isinstance(r, Exception) else r
            for r in replies
        ]


def checked(reply: str, source: Source) -> str | None:
    """The reply's sentence, its citation taken off, if it is one short sentence citing only
    `source`; else None."""
    text = " ".join(reply.split())
    if not text or says_not_covered(text) or len(text.split()) > MAX_WORDS:
        return None
    check = check_citations(text, [source])
    if check.removed or check.cited_numbers != [source.number]:
        return None
    sentence = re.sub(r"\s*" + CITATION_RE.pattern, "", check.text).strip().rstrip(" ,;")
    return sentence or None


def _reason(failure: LLMError | None) -> str:
    if isinstance(failure, LLMError):
        return f"the request failed: {failure}"
    return "the reply did not cite just that paper in one sentence"


def _as_error(exc: Exception, settings: LLMSettings, llm: BaseChatModel) -> LLMError:
    """Any failure of one request as the LLMError the chain would raise for it."""
    try:
        with llm_errors(settings, "digest summary", llm):
            raise exc
    except LLMError as error:
        return error


def _source(number: int, doc: PaperDoc) -> Source:
    published = doc.metadata.get("published")
    return Source(
        number=number,
        paper_id=doc.paper_id,
        title=doc.title,
        score=0.0,
        published=str(published) if published else None,
        abstract=doc.abstract,
    )

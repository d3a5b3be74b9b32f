"""The public result types of paperchat (see DESIGN.md, "Public contract")."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from langchain_core.documents import Document
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vectorstore.documents import PaperDoc
from vectorstore.filters import SearchFilters


class FileIssue(BaseModel):
    """A problem with one input file; `line` is 1-based, or None for the whole file."""

    file: str
    line: int | None = None
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.level}: {where}: {self.message}"


class SavedPaper(BaseModel):
    """A newly added paper that answers a saved question: relevance as in PaperHit.score."""

    paper_id: str
    title: str
    relevance: float


class SavedMatch(BaseModel):
    """A saved question (rag.saved) and the new papers whose relevance clears the answer
    threshold (rag.abstention), best first."""

    id: str
    question: str
    papers: list[SavedPaper] = Field(default_factory=list)

    def __str__(self) -> str:
        found = "; ".join(f"{p.title} ({p.relevance:.2f})" for p in self.papers)
        count = len(self.papers)
        papers = f"{count} new relevant paper{'s' if count != 1 else ''}"
        return f'saved question "{self.question}": {papers}: {found}'


class IndexReport(BaseModel):
    """What one index run did. `errors` holds every issue; level "error" means a failed file."""

    files: list[str] = Field(default_factory=list)
    papers_added: int = 0
    papers_updated: int = 0
    papers_unchanged: int = 0
    papers_removed: int = 0
    chunks_embedded: int = 0
    errors: list[FileIssue] = Field(default_factory=list)
    seconds: float = 0.0
    embedding_seconds: float = Field(
        default=0.0, description="Of `seconds`, the time spent in the embedding model's calls."
    )
    added_paper_ids: list[str] = Field(
        default_factory=list, description="The papers this run added: what `digest()` shows."
    )
    new_topics: int = Field(default=0, description="Topics the added papers fall into.")
    saved: list[SavedMatch] = Field(
        default_factory=list,
        description="Per saved question, the added papers whose relevance clears the answer "
        "threshold (questions no new paper answers are left out).",
    )

    @property
    def failed_files(self) -> list[str]:
        return sorted({e.file for e in self.errors if e.level == "error"})

    @property
    def ok(self) -> bool:
        return not self.failed_files

    def summary(self) -> str:
        """The human summary shared by the CLI, `watch` and the UI's index tab."""
        lines = [
            f"files {len(self.files)} | added {self.papers_added} | updated {self.papers_updated}"
            f" | unchanged {self.papers_unchanged} | removed {self.papers_removed}"
            f" | chunks embedded {self.chunks_embedded} | errors {len(self.failed_files)}"
            f" | {self.seconds:.1f}s"
        ]
        lines += [f"  {issue}" for issue in self.errors]
        lines += [str(match) for match in self.saved]
        lines.append(self.arrivals_line("see them with `paperchat digest`"))
        return "\n".join(lines)

    def arrivals_line(self, how_to_see: str) -> str:
        """The last line after indexing: how many papers arrived, in how many topics."""
        count = self.papers_added
        if count == 0:
            return "no new papers arrived"
        papers = f"{count} new paper{'s' if count != 1 else ''}"
        topics = f"{self.new_topics} topic{'s' if self.new_topics != 1 else ''}"
        return f"{papers} arrived, in {topics}: {how_to_see}"


class PaperHit(BaseModel):
    """One paper found by search, best first: what `ResearchAssistant.search` returns.

    `score` is the paper's calibrated relevance in [0, 1] (vectorstore.fusion; 0.5 is the
    abstention boundary), the same number the retriever's Documents carry as `score`; papers
    listed for browsing have score 0. `snippet` is its best matching evidence."""

    paper_id: str
    title: str
    score: float
    published: str | None = None
    snippet: str = ""
    org: str | None = None
    upvotes: int | None = None
    authors_count: int | None = None
    abstract: str = ""
    evidence: list[str] = Field(default_factory=list)
    dumps: list[str] = Field(
        default_factory=list, description="The dump files the paper was seen in (file names)."
    )
    captured: str | None = Field(
        default=None, description="Capture date of the dump its metadata (e.g. upvotes) is from."
    )
    published_inferred: bool = Field(
        default=False, description="The page printed no year: it was inferred from the capture."
    )

    @classmethod
    def from_document(cls, doc: Document, **extra: Any) -> Self:
        """A retriever Document (vectorstore.retriever: PaperHit's fields as metadata)."""
        fields = {name: doc.metadata[name] for name in cls.model_fields if name in doc.metadata}
        fields.setdefault("paper_id", doc.id)
        return cls(**{**fields, "snippet": doc.page_content, **extra})

    @classmethod
    def from_paper(cls, doc: PaperDoc) -> Self:
        """An indexed paper without a query (score 0), for browsing."""
        meta = doc.metadata
        return cls(
            paper_id=doc.paper_id,
            title=doc.title,
            score=0.0,
            published=meta.get("published"),
            snippet=doc.abstract[:300],
            org=meta.get("org"),
            upvotes=meta.get("upvotes"),
            authors_count=meta.get("authors_count"),
            abstract=doc.abstract,
            dumps=list(meta.get("dumps") or []),
            captured=meta.get("captured"),
            published_inferred=bool(meta.get("published_inferred", False)),
        )


class Source(PaperHit):
    """A paper an answer may cite as [number]: a PaperHit numbered by rank for one answer."""

    number: int


class Citation(BaseModel):
    number: int
    paper_id: str
    title: str


class Answer(BaseModel):
    """An answer grounded in `sources`; `citations` are the sources it actually cites."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    abstained: bool = False
    mode: Literal["llm", "extractive"] = "extractive"
    model: str | None = None
    question: str = ""
    standalone_question: str = ""
    uncited: bool = Field(
        default=False, description="Not an abstention, yet no valid citation: do not trust it."
    )
    timings: dict[str, float] = Field(default_factory=dict)
    filters: SearchFilters | None = Field(
        default=None,
        description="The filters applied: explicit ones merged with those written in the "
        "question (explicit ones win).",
    )
    question_filters: SearchFilters | None = Field(
        default=None,
        description="The part of `filters` that came from phrases in the question.",
    )
    sort: Literal["upvotes"] | None = Field(
        default=None, description='"upvotes" when the question asked for the most upvoted.'
    )
    answered_from: Literal["abstracts", "catalog"] = Field(
        default="abstracts",
        description='"catalog" for a question about a paper\'s metadata (authors, upvotes, '
        "date, org, dumps), answered from the index's record rather than its abstract.",
    )

    def __radd__(self, other: Any) -> Answer:
        """`pieces + answer` is the answer: a stream ends with the checked Answer, which
        supersedes the raw pieces, so LangChain's `+` aggregation of a stream gives it."""
        if isinstance(other, str | Answer):
            return self
        return NotImplemented


QuestionFilterKind = Literal["dates", "org", "min_upvotes", "sort", "all"]


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


# LangChain message types -> our roles, so a LangChain chat history can be passed as is.
_MESSAGE_ROLES = {"human": "user", "ai": "assistant", "user": "user", "assistant": "assistant"}


class ChainInput(BaseModel):
    """The input of `ResearchAssistant.chain` (its `input_schema`); a bare string is taken as
    the question."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str = Field(description="The question; a follow-up is rewritten using history.")
    history: list[HistoryMessage] = Field(
        default_factory=list,
        description='Earlier turns: {"role": "user"|"assistant", "content": str} or LangChain '
        "HumanMessage/AIMessage.",
    )
    k: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        default=None, description="Sources to answer from; default PAPERCHAT_TOP_K."
    )
    filters: SearchFilters | None = Field(
        default=None, description="Published date range, org, minimum upvotes."
    )
    ignore_question_filters: list[QuestionFilterKind] = Field(
        default_factory=list,
        description='Filters written in the question not to apply: "dates", "org", '
        '"min_upvotes", "sort", or "all" (the UI\'s removed chips).',
    )

    @field_validator("question")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('"question" must be a non-empty string')
        return value.strip()

    @field_validator("history", mode="before")
    @classmethod
    def _from_messages(cls, value: Any) -> Any:
        """LangChain messages carry `type` ("human"/"ai") where we say `role`."""
        if not isinstance(value, list | tuple):
            return value
        return [_as_turn(item) for item in value]


def _as_turn(item: Any) -> Any:
    kind = getattr(item, "type", None)
    content = getattr(item, "content", None)
    if isinstance(kind, str) and isinstance(content, str) and kind in _MESSAGE_ROLES:
        return {"role": _MESSAGE_ROLES[kind], "content": content}
    return item

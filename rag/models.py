"""The public result types of paperchat (see DESIGN.md, "Public contract")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FileIssue(BaseModel):
    """A problem with one input file; `line` is 1-based, or None for the whole file."""

    file: str
    line: int | None = None
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.level}: {where}: {self.message}"


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
        return "\n".join(lines)


class PaperHit(BaseModel):
    """One paper found by search, best first; `snippet` is its best matching evidence."""

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


class Source(BaseModel):
    """A numbered paper that an answer may cite as [number]."""

    number: int
    paper_id: str
    title: str
    score: float
    published: str | None = None
    org: str | None = None
    upvotes: int | None = None
    snippet: str = ""
    abstract: str = ""


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


class HistoryMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str

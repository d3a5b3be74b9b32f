"""paperchat's core: settings, dump parsing, the paper model, the answer chain and the API.

`ResearchAssistant` is imported lazily so that light users (the parser, the CLI's --help)
do not pay for loading LangChain and the storage layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.models import Answer, Citation, FileIssue, IndexReport, PaperHit, Source
from rag.settings import Settings

if TYPE_CHECKING:
    from rag.assistant import ResearchAssistant

__all__ = [
    "Answer",
    "Citation",
    "FileIssue",
    "IndexReport",
    "PaperHit",
    "ResearchAssistant",
    "Settings",
    "Source",
]


def __getattr__(name: str) -> Any:
    if name == "ResearchAssistant":
        from rag.assistant import ResearchAssistant

        return ResearchAssistant
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

"""paperchat's core: settings, dump parsing, the paper model, the answer chain and the API.

Every public name is imported on first use, so that light users (the parser, the CLI's --help,
`paperchat stats`) do not pay for pydantic-settings, LangChain and the storage layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.assistant import ResearchAssistant
    from rag.digest import Digest
    from rag.models import Answer, Citation, FileIssue, IndexReport, PaperHit, Source
    from rag.settings import Settings
    from rag.trends import Trends

_HOMES = {
    "Answer": "rag.models",
    "Citation": "rag.models",
    "Digest": "rag.digest",
    "FileIssue": "rag.models",
    "IndexReport": "rag.models",
    "PaperHit": "rag.models",
    "ResearchAssistant": "rag.assistant",
    "Settings": "rag.settings",
    "Source": "rag.models",
    "Trends": "rag.trends",
}

__all__ = [
    "Answer",
    "Citation",
    "Digest",
    "FileIssue",
    "IndexReport",
    "PaperHit",
    "ResearchAssistant",
    "Settings",
    "Source",
    "Trends",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

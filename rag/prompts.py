"""Prompt templates (prompts/*.txt) and the rendering of their inputs: sources and history.

The templates are plain text files shipped as package data, so wording can be tuned without
touching code. Source text is untrusted (anyone can publish an abstract), so it is wrapped in
<source> blocks whose tags cannot be forged from inside the text; the system prompt tells the
model that everything inside those blocks is data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files

from langchain_core.prompts import ChatPromptTemplate

from rag.models import HistoryMessage, Source

MAX_SOURCE_CHARS = 2500
MAX_HISTORY_MESSAGES = 6
MAX_HISTORY_CHARS = 1200

# Anything that could open or close our delimiters: <source ...>, </source>, <sources>, ...
_TAG_RE = re.compile(r"<(\s*/?\s*sources?\b)", re.IGNORECASE)


@cache
def load_prompt(name: str) -> str:
    """The text of prompts/<name>.txt, read once from the installed package."""
    return files("prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8").strip()


def answer_prompt() -> ChatPromptTemplate:
    """System rules + the numbered sources and the question; variables: sources, question."""
    return ChatPromptTemplate.from_messages(
        [("system", load_prompt("system")), ("human", load_prompt("answer"))]
    )


def condense_prompt() -> ChatPromptTemplate:
    """Rewrites a follow-up as a standalone question; variables: history, question."""
    return ChatPromptTemplate.from_messages([("human", load_prompt("condense"))])


def escape_source_text(text: str) -> str:
    """Neutralise tags in untrusted text that could close a <source> block early."""
    return _TAG_RE.sub(r"&lt;\1", text)


def format_sources(sources: Sequence[Source]) -> str:
    """One delimited block per numbered paper: id, title, date and its evidence text."""
    blocks = []
    for source in sources:
        evidence = (source.abstract or source.snippet).strip()
        if len(evidence) > MAX_SOURCE_CHARS:
            evidence = evidence[:MAX_SOURCE_CHARS].rsplit(" ", 1)[0] + " …"
        lines = [f'<source id="{source.number}">', f"[{source.number}]"]
        lines.append(f"Title: {escape_source_text(source.title)}")
        if source.published:
            lines.append(f"Published: {source.published}")
        lines.append(f"Text: {escape_source_text(evidence)}")
        lines.append("</source>")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def history_messages(history: Sequence[Mapping[str, str] | HistoryMessage]) -> list[HistoryMessage]:
    """Validated history; raises ValueError naming the bad entry (role must be user/assistant)."""
    messages = []
    for i, item in enumerate(history):
        try:
            messages.append(HistoryMessage.model_validate(item, from_attributes=True))
        except ValueError as exc:
            raise ValueError(
                f"history[{i}] must be {{'role': 'user'|'assistant', 'content': str}}: {item!r}"
            ) from exc
    return messages


def format_history(history: Sequence[HistoryMessage]) -> str:
    """The last few turns as 'User: ...' / 'Assistant: ...' lines for the condense prompt."""
    lines = []
    for message in history[-MAX_HISTORY_MESSAGES:]:
        content = " ".join(message.content.split())
        if len(content) > MAX_HISTORY_CHARS:
            content = content[:MAX_HISTORY_CHARS] + " …"
        lines.append(f"{message.role.capitalize()}: {content}")
    return "\n".join(lines)

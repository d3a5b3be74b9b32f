"""Rewrite a follow-up question ("which dataset did the second one use?") as a standalone one.

Retrieval sees only the rewritten question, so the rewrite must name what the follow-up points
at. With an LLM, the condense prompt (prompts/condense.txt) does it. Without one, a rule-based
fallback resolves references against the previous assistant turn, whose papers are listed as
"**Title** [n]" (extractive answers) or as "[n] Title" source lines (CLI/UI transcripts):

- "the second one", "the first paper", "the last one"  -> that paper's title, in listing order;
- "[2]", "paper 2", "source #2"                         -> the title of source 2;
- "that paper", "this method", "the same work"          -> the first listed paper's title;
- bare "it/its/they/their/them" (not "is it possible") -> the question + (about "<title>");
- an elliptical follow-up ("and for video?", "what about the datasets?", or at most two
  content words and no name) with nothing to resolve   -> the question + the key terms of
  the last user question that stood alone.
Anything else is already standalone and is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.extractive import LEAD
from rag.models import Answer, HistoryMessage
from vectorstore.text import WORD_RE, is_filler

_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1,
}  # fmt: skip
_NOUNS = r"(?:one|paper|work|article|study|method|approach|model|source|result|entry)"
_ORDINAL_REF_RE = re.compile(
    rf"\b(?:the\s+)?({'|'.join(_ORDINALS)})\s+{_NOUNS}\b(?:\s+\(?\[\d+\]\)?)?", re.IGNORECASE
)
_NUMBER_REF_RE = re.compile(
    r"\b(?:paper|source|reference)\s*(?:#|no\.?|number)?\s*(\d+)\b|\[(\d+)\]", re.IGNORECASE
)
_DEMONSTRATIVE_REF_RE = re.compile(
    rf"\b(?:that|this|the same|the above|the previous|said)\s+{_NOUNS}\b", re.IGNORECASE
)
_PRONOUN_RE = re.compile(r"\b(?:it|its|they|their|them|these|those)\b", re.IGNORECASE)
# "Is it possible to ...", "it is known that ...": an "it" that points at nothing.
_EXPLETIVE_IT_RE = re.compile(
    r"\b(?:(?:is|was|would|will|does)\s+it|it\s+(?:is|was|seems))\s+"
    r"(?:possible|true|feasible|necessary|common|known|better|worth|hard|easy|likely)\b",
    re.IGNORECASE,
)
_ELLIPTICAL_RE = re.compile(
    r"^\s*(?:and|also|or|but|what about|how about|what else|same for|and what about)\b",
    re.IGNORECASE,
)
_BOLD_CITED_RE = re.compile(r"\*\*(.+?)\*\*\s*\[(\d+)\]")
_SOURCE_LINE_RE = re.compile(r"^\s*(?:[-*•]\s*)?\[(\d+)\]\s+(.+?)\s*$", re.MULTILINE)
_TRAILING_DATE_RE = re.compile(r"\s*[(\[—–-]\s*\d{4}(?:-\d{2}(?:-\d{2})?)?\s*[)\]]?\s*$")
MAX_CONTEXT_TERMS = 8


def assistant_turn(answer: Answer) -> dict[str, str]:
    """The history entry to keep for an answer: its text plus a "[n] Title" line per cited
    paper, so that "the second one" in the next question can be resolved (by the condense
    prompt or by the rules here) even when the answer text names papers only by number."""
    lines = [answer.text.strip()]
    if answer.citations and not answer.text.startswith(LEAD):
        lines.append("\nSources:")
        lines.extend(f"[{c.number}] {c.title}" for c in answer.citations)
    return {"role": "assistant", "content": "\n".join(lines)}


def cited_papers(text: str) -> list[tuple[int, str]]:
    """(number, title) of the papers an assistant message lists, in listing order, deduplicated."""
    found: dict[int, str] = {}
    for match in _BOLD_CITED_RE.finditer(text):
        found.setdefault(int(match.group(2)), match.group(1).strip())
    for match in _SOURCE_LINE_RE.finditer(text):
        title = _TRAILING_DATE_RE.sub("", match.group(2)).strip(" *")
        if title:
            found.setdefault(int(match.group(1)), title)
    return list(found.items())


def rewrite_without_llm(question: str, history: Sequence[HistoryMessage]) -> str:
    """The rule-based standalone question (see the module docstring for the rules)."""
    if not history:
        return question
    papers = _last_assistant_papers(history)
    if papers:
        resolved = _resolve_references(question, papers)
        if resolved != question:
            return resolved
    if _is_elliptical(question):
        terms = _previous_question_terms(question, history)
        if terms:
            return f"{question} ({' '.join(terms)})"
    return question


def clean_llm_rewrite(text: str, question: str) -> str:
    """The model's rewrite without quotes or preamble; the original if it returned nothing."""
    for line in text.strip().splitlines():
        line = re.sub(r"^\s*(?:standalone question|question)\s*:\s*", "", line, flags=re.I)
        line = line.strip().strip("\"'“”").strip()
        if line:
            return line
    return question


def _last_assistant_papers(history: Sequence[HistoryMessage]) -> list[tuple[int, str]]:
    for message in reversed(history):
        if message.role == "assistant":
            return cited_papers(message.content)
    return []


def _resolve_references(question: str, papers: list[tuple[int, str]]) -> str:
    titles_by_number = dict(papers)
    listed = [title for _, title in papers]

    def ordinal(match: re.Match[str]) -> str:
        position = _ORDINALS[match.group(1).lower()]
        index = position - 1 if position > 0 else len(listed) - 1
        return f'"{listed[index]}"' if 0 <= index < len(listed) else match.group(0)

    def numbered(match: re.Match[str]) -> str:
        title = titles_by_number.get(int(match.group(1) or match.group(2)))
        return f'"{title}"' if title else match.group(0)

    rewritten = _ORDINAL_REF_RE.sub(ordinal, question)
    rewritten = _NUMBER_REF_RE.sub(numbered, rewritten)
    rewritten = _DEMONSTRATIVE_REF_RE.sub(lambda _: f'"{listed[0]}"', rewritten)
    if rewritten != question:
        return rewritten
    if _PRONOUN_RE.search(_EXPLETIVE_IT_RE.sub("", question)):
        return f'{question} (about "{listed[0]}")'
    return question


def _is_elliptical(question: str) -> bool:
    """Starts like a continuation, or is too short to stand alone and names nothing."""
    if _ELLIPTICAL_RE.match(question):
        return True
    words = WORD_RE.findall(question)
    names = [w for w in words[1:] if any(c.isupper() for c in w)]  # MimicTalk, CLIP, FACT
    return not names and len(_content_words(question)) <= 2


def _content_words(text: str) -> list[str]:
    return [w for w in WORD_RE.findall(text) if not is_filler(w)]


def _previous_question_terms(question: str, history: Sequence[HistoryMessage]) -> list[str]:
    """Key terms of the last user question that stood alone, minus words already asked."""
    asked = [m.content for m in reversed(history) if m.role == "user"]
    previous = next((q for q in asked if not _is_elliptical(q)), asked[0] if asked else "")
    have = {w.lower() for w in WORD_RE.findall(question)}
    terms: list[str] = []
    for word in WORD_RE.findall(previous):
        low = word.lower()
        if is_filler(low) or low in have or low in (t.lower() for t in terms):
            continue
        terms.append(word)
    return terms[:MAX_CONTEXT_TERMS]

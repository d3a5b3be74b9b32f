"""Saved questions: standing questions a reader wants to hear about when new papers arrive.

Stored in `<home>/saved_questions.json` (rag.json_files: atomic, locked), one entry per
question with a short id that depends on the text only, so saving a question twice keeps one.

On new papers (each index run, and the digest's papers), every saved question is read as the
chain reads a question (rag.question_reading: "from ByteDance", "in 2025" become filters) and
the new papers are scored for it exactly (vectorstore.retriever.PaperSearch.score_papers):
a paper is reported when its relevance clears the answer threshold the chain abstains below
(rag.abstention), so "a new paper answers your saved question" means what `ask` would mean.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel

from rag.abstention import abstains
from rag.errors import InputError
from rag.index_facts import IndexFacts
from rag.json_files import locked, read_json, write_json
from rag.models import SavedMatch, SavedPaper
from rag.question_reading import read_question
from vectorstore.text import topic_of

SAVED_FILE = "saved_questions.json"
MAX_QUESTION_CHARS = 500
MAX_MATCHES = 20  # papers reported per question
SCORE_LIMIT = 500  # papers scored exactly per question; more are pre-selected by cosine


class SavedQuestion(BaseModel):
    """One saved question; `id` is 8 hex digits of its normalised text."""

    id: str
    question: str
    added: str


def question_id(question: str) -> str:
    folded = " ".join(question.casefold().split())
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()[:8]


class SavedQuestions:
    """The saved questions of one data directory."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home).expanduser() / SAVED_FILE

    def list(self) -> list[SavedQuestion]:
        data = read_json(self.path, {})
        items = data.get("questions", []) if isinstance(data, dict) else []
        return [SavedQuestion.model_validate(item) for item in items]

    def add(self, question: str) -> SavedQuestion:
        """Save `question` (the one already saved when the same text is saved again)."""
        text = " ".join((question or "").split())
        if not text:
            raise InputError("A saved question cannot be empty.")
        if len(text) > MAX_QUESTION_CHARS:
            raise InputError(f"A saved question has at most {MAX_QUESTION_CHARS} characters.")
        with locked(self.path):
            saved = self.list()
            found = next((q for q in saved if q.id == question_id(text)), None)
            if found is not None:
                return found
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            entry = SavedQuestion(id=question_id(text), question=text, added=stamp)
            self._write([*saved, entry])
            return entry

    def remove(self, key: str | int) -> SavedQuestion:
        """Remove by id, by number in `list()` (1-based) or by the question's text."""
        with locked(self.path):
            saved = self.list()
            found = _find(saved, key)
            if found is None:
                raise InputError(
                    f"No saved question matches {str(key)!r}: `paperchat saved list` shows "
                    "their numbers and ids."
                )
            self._write([q for q in saved if q.id != found.id])
            return found

    def _write(self, questions: list[SavedQuestion]) -> None:
        write_json(self.path, {"version": 1, "questions": [q.model_dump() for q in questions]})


def _find(saved: list[SavedQuestion], key: str | int) -> SavedQuestion | None:
    text = str(key).strip()
    if text.isdigit() and 1 <= int(text) <= len(saved) and len(text) < 8:
        return saved[int(text) - 1]
    by_id = next((q for q in saved if q.id == text.lower()), None)
    return by_id or next((q for q in saved if q.id == question_id(text)), None)


# --- matching new papers ----------------------------------------------------------------


class Scorer(Protocol):
    """The part of vectorstore.PaperIndex that matching needs."""

    def score_papers(self, query: str, paper_ids: Sequence[str]) -> list[Any]: ...


QueryVector = Callable[[str], np.ndarray]


def match_saved(
    questions: Sequence[SavedQuestion],
    paper_ids: Sequence[str],
    *,
    scorer: Scorer,
    metadata: dict[str, dict[str, Any]],
    facts: IndexFacts,
    threshold: float | None,
    vectors: tuple[list[str], np.ndarray] | None = None,
    embed: QueryVector | None = None,
) -> list[SavedMatch]:
    """For each saved question, the papers among `paper_ids` whose relevance clears the
    threshold, best first (at most MAX_MATCHES); every question gets an entry, maybe empty.

    `metadata` (paper id -> catalog metadata) applies the filters written in the question;
    with `vectors` (the papers' mean vectors) and `embed`, a set larger than SCORE_LIMIT is
    narrowed to the SCORE_LIMIT papers nearest the question before the exact scoring."""
    found = []
    for saved in questions:
        read = read_question(saved.question, None, facts)
        ids = [p for p in paper_ids if read.filters is None or read.filters.matches(metadata[p])]
        ids = _nearest(read.question, ids, vectors, embed)
        docs = scorer.score_papers(read.question, ids) if ids else []
        papers = [
            SavedPaper(paper_id=d.id, title=d.metadata["title"], relevance=d.metadata["score"])
            for d in docs
            if not abstains([d.metadata["score"]], threshold)
        ]
        found.append(SavedMatch(id=saved.id, question=saved.question, papers=papers[:MAX_MATCHES]))
    return found


def _nearest(
    question: str,
    ids: list[str],
    vectors: tuple[list[str], np.ndarray] | None,
    embed: QueryVector | None,
) -> list[str]:
    if len(ids) <= SCORE_LIMIT or vectors is None or embed is None:
        return ids
    rows = {pid: i for i, pid in enumerate(vectors[0])}
    kept = [pid for pid in ids if pid in rows]
    query = embed(topic_of(question))
    closeness = vectors[1][[rows[p] for p in kept]] @ query
    order = np.argsort(-closeness, kind="stable")[:SCORE_LIMIT]
    return [kept[i] for i in order]

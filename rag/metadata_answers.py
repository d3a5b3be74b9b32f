"""Questions about a paper's metadata, answered from the catalog: authors, upvotes, date, org,
and the dumps it was seen in.

"How many authors does the Lookahead paper have?" is not answered by any sentence of the
abstract: quoting the best-matching sentences (what the extractive answerer does) gives
background text, while the catalog holds `authors_count=4`. So such questions are recognised
here, the paper they name is found by searching for the name alone (the words "how many
authors" match nothing useful), and the answer is written from the paper's record, with a
citation. When the record lacks the field (dumps 001-003 carry titles and abstracts only) the
answer says so plainly rather than quoting unrelated sentences.

The recogniser errs on the side of not firing: each field needs an explicit cue ("how many
authors", "when was ... published", "which organisation", "which dumps"); anything else is an
ordinary question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rag.index_facts import IndexFacts
from rag.models import Source
from vectorstore.text import STOPWORDS

MetadataField = Literal["authors", "upvotes", "published", "org", "dumps"]
MAX_PAPERS = 5

_PUBLISH_VERB = r"(?:published|released|posted|out|submitted|appear(?:ed)?|come\s+out|came\s+out)"
_FIELD_CUES: tuple[tuple[MetadataField, str], ...] = (
    (
        "authors",
        r"\bhow\s+many\s+(?:co-?)?authors\b|\b(?:number|count)\s+of\s+(?:co-?)?authors\b"
        r"|\bauthors?\s+count\b|\bwho\s+(?:are\s+the\s+authors\s+of|wrote|authored)\b",
    ),
    (
        "upvotes",
        r"\bhow\s+many\s+(?:up-?votes|votes|likes)\b|\b(?:number|count)\s+of\s+up-?votes\b"
        r"|\bup-?votes?\s+count\b|\bhow\s+popular\s+(?:is|was|are|were)\b",
    ),
    (
        "published",
        rf"\bwhen\s+(?:was|were|did|is)\b[^?]*?\b{_PUBLISH_VERB}"
        rf"|\bwhat\s+(?:date|day|year|month)\s+(?:was|were|did|is)\b[^?]*?\b{_PUBLISH_VERB}"
        r"|\b(?:publication|release|publish(?:ed|ing)?)\s+date\b",
    ),
    (
        "org",
        r"\b(?:which|what)\s+(?:org|organi[sz]ations?|compan(?:y|ies)|labs?|institutions?)\b"
        r"|\bwho\s+(?:published|released|is\s+behind|put\s+out)\b",
    ),
    (
        "dumps",
        r"\b(?:which|what|how\s+many)\s+(?:of\s+(?:my|the)\s+)?dumps?\b"
        r"|\b(?:seen|appear(?:ed|s)?|show(?:n|s|ed)?\s+up|captured|saved|found|listed)\s+in\b"
        r"[^?]*\bdumps?\b",
    ),
)
# Words that only frame the question; what is left names the paper.
_FRAME_TEXT = """paper papers work works article study preprint entry does do did has have had is
are was were it its it's they them their this that these those the a an of for about on in by
from which what who whom how many much when where date day year month published released posted
out submitted appear appeared come came seen shown show showed up captured saved found listed
dump dumps my me i you please tell say get number count authors author co-authors upvotes upvote
votes likes popular org organisation organization company lab institution behind put wrote
authored publication release called named titled"""
_FRAME_WORDS = frozenset(_FRAME_TEXT.split())
_PLURAL = re.compile(r"\b(?:papers|works|these|those|they|them|each)\b", re.IGNORECASE)
_WORD = re.compile(r"[\w][\w'’+-]*")


@dataclass(frozen=True)
class MetadataQuestion:
    """A recognised metadata question: the field asked about and the words naming the paper.

    `subject` is "" when nothing but framing words is left ("how many authors does it have?"
    without a follow-up to resolve "it"); `plural` when it asks about several papers."""

    field: MetadataField
    subject: str
    plural: bool
    names_asked: bool = False  # "who wrote X?": the dumps give a count, never names


def recognise(question: str) -> MetadataQuestion | None:
    """The metadata question `question` asks, or None for an ordinary question."""
    for field, cue in _FIELD_CUES:
        match = re.search(cue, question, re.IGNORECASE)
        if match:  # the cue may span the name ("when was X published"): read the whole text
            names = field == "authors" and match.group(0).lower().startswith("who")
            plural = bool(_PLURAL.search(question))
            return MetadataQuestion(field, subject_of(question), plural, names)
    return None


def subject_of(text: str) -> str:
    """The words of `text` that can name a paper: framing words and punctuation removed, the
    rest kept in order and case ("the Lookahead paper have?" -> "Lookahead")."""
    words = [w.strip("'’") for w in _WORD.findall(text)]
    return " ".join(w for w in words if w and w.casefold() not in _FRAME_WORDS)


def targets(asked: MetadataQuestion, sources: Sequence[Source], threshold: float) -> list[Source]:
    """The sources the question is about, best first.

    The papers whose titles contain the most of the subject's words win (several when they tie:
    two papers called "Lookahead"); with no title match, the most relevant paper, or all the
    relevant ones when the question is plural. Only sources that clear the answer threshold
    count: an irrelevant paper's metadata is not an answer."""
    relevant = [s for s in sources if s.score >= threshold]
    words = _content_words(asked.subject)
    overlap = {s.number: len(words & _content_words(s.title)) for s in relevant}
    best = max(overlap.values(), default=0)
    if best > 0:
        return [s for s in relevant if overlap[s.number] == best][:MAX_PAPERS]
    return relevant[:MAX_PAPERS] if asked.plural else relevant[:1]


def renumbered(chosen: Sequence[Source], sources: Sequence[Source]) -> list[Source]:
    """All sources, the chosen ones first (in answer order) as [1]..[m], the rest after: the
    answer's first paper is [1], as a reader expects."""
    ids = {s.paper_id for s in chosen}
    ordered = [*chosen, *(s for s in sources if s.paper_id not in ids)]
    return [s.model_copy(update={"number": n}) for n, s in enumerate(ordered, start=1)]


def answer_text(asked: MetadataQuestion, chosen: Sequence[Source], facts: IndexFacts) -> str:
    """The answer, one sentence per paper, papers whose record has the field first.

    Several papers matching one name get a line saying so, so the reader knows which is which.
    """
    lines = [_sentence(asked, source, facts) for source in chosen]
    if len(chosen) == 1:
        return lines[0]
    lead = f"{len(chosen)} indexed papers match"
    lead += f" “{asked.subject}”:" if asked.subject and not asked.plural else ":"
    return lead + "\n\n" + "\n".join(f"- {line}" for line in lines)


def known_first(asked: MetadataQuestion, chosen: Sequence[Source]) -> list[Source]:
    """Papers whose record has the field asked about before those whose record lacks it."""
    return sorted(chosen, key=lambda s: _value(asked.field, s) is None)


# --- sentences ------------------------------------------------------------------------------

_MISSING_LABEL: dict[MetadataField, str] = {
    "authors": "number of authors",
    "upvotes": "upvote count",
    "published": "publication date",
    "org": "organisation",
    "dumps": "list of dumps",
}


def _value(field: MetadataField, source: Source) -> object:
    if field == "authors":
        return source.authors_count
    if field == "dumps":
        return source.dumps or None
    return getattr(source, field)


def _sentence(asked: MetadataQuestion, source: Source, facts: IndexFacts) -> str:
    name, cite = f"**{source.title}**", f"[{source.number}]"
    if _value(asked.field, source) is None:
        return _missing(asked.field, source, facts)
    if asked.field == "authors":
        count = source.authors_count or 0
        text = f"{name} has {_plural(count, 'author')} {cite}."
        if asked.names_asked:
            text += " The Daily Papers page shows only how many authors a paper has, not names."
        return text
    if asked.field == "upvotes":
        return f"{name} has {_plural(source.upvotes or 0, 'upvote')} {cite}{_as_of(source)}."
    if asked.field == "published":
        return f"{name} was published on {source.published} {cite}{_inferred_year(source)}."
    if asked.field == "org":
        return f"{name} is from {source.org} {cite}."
    seen = ", ".join(facts.dump_label(d) for d in source.dumps)
    return f"{name} was seen in {_plural(len(source.dumps), 'dump')} {cite}: {seen}."


def _missing(field: MetadataField, source: Source, facts: IndexFacts) -> str:
    """Say plainly that the record lacks the field, and why when the reason is known."""
    name, cite, label = f"**{source.title}**", f"[{source.number}]", _MISSING_LABEL[field]
    seen = ", ".join(facts.dump_label(d) for d in source.dumps) or "no recorded dump"
    has_any = any(
        v is not None for v in (source.authors_count, source.upvotes, source.published, source.org)
    )
    if not has_any:
        lists = "lists" if len(source.dumps) == 1 else "list"
        return (
            f"The dumps carry no metadata for {name} {cite}: it was seen only in {seen}, which "
            f"{lists} titles and abstracts only, so its {label} is not known."
        )
    return (
        f"The Daily Papers entry for {name} {cite} shows no {label} (seen in {seen}), so the "
        f"dumps do not say."
    )


def _as_of(source: Source) -> str:
    """Upvotes change between captures: say which capture the count is from."""
    return (
        f", as of the newest capture that shows it ({source.captured})" if source.captured else ""
    )


def _inferred_year(source: Source) -> str:
    if not source.published_inferred:
        return ""
    return " (the page printed no year; it is inferred from the dump's capture date)"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


def _content_words(text: str) -> set[str]:
    words = {w.casefold().strip("'’") for w in _WORD.findall(text)}
    return {w for w in words if w and w not in STOPWORDS and w not in _FRAME_WORDS}

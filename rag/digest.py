"""What's new: the papers an index run added (or those first captured since a date), grouped
into topics, each with the one sentence that states its contribution.

Which papers: by default those the most recent index run that added any added
(rag.arrivals); with `since`, every paper first captured on or after that day, where a
paper's first capture is the earliest capture date of the dumps it was seen in.

Each paper's summary is a sentence of its own abstract, never a paraphrase, cited with the
paper's number in the digest ("We propose ... [3]"): the first sentence that states what the
paper contributes ("we propose / introduce / present", "this paper presents"), then one
that says what it shows, then the sentence sharing most words with the title. Topics come
from rag.topics. Order: topics by size, then upvotes; papers in a topic by upvotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from rag.errors import PaperchatError
from rag.extractive import clean_sentence, keywords
from rag.models import FileIssue, IndexReport, SavedMatch
from rag.topics import Topic, cluster, find_topics, index_idf
from vectorstore.documents import PaperDoc
from vectorstore.text import split_sentences

if TYPE_CHECKING:
    from rag.assistant import ResearchAssistant
    from rag.digest_summaries import SummaryWriter

QUOTED = "summaries quoted from each paper's abstract"

_CONTRIBUTION = (
    re.compile(
        r"\b(?:we|this (?:paper|work|study|report|article)|the paper|here)\b[^.;]{0,40}?"
        r"\b(?:propos|present|introduc|develop|design|build|release|contribut|offer|construct"
        r"|curat|unveil|establish)\w*",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bwe (?:\w+ )?(?:show|find|demonstrate|study|investigate|explore|analy[sz]e)", re.I
    ),
    re.compile(r"\bour (?:method|model|approach|framework|system|dataset|benchmark)\b", re.I),
)
_LINK_ONLY = re.compile(r"^\W*(?:code|project|data|models?|demo)\b.*\b(?:https?://|github)", re.I)


class DigestPaper(BaseModel):
    """One paper of the digest; `summary` ends with its citation [number]."""

    number: int
    paper_id: str
    title: str
    published: str | None = None
    upvotes: int | None = None
    org: str | None = None
    topic: str
    summary: str
    summary_by: Literal["abstract", "llm"] = "abstract"
    first_captured: str | None = None
    dumps: list[str] = Field(default_factory=list)


class DigestTopic(BaseModel):
    """A topic: its label, its papers' titles in the digest's order, their upvotes summed."""

    label: str
    papers: list[str]
    upvotes: int = 0


class Digest(BaseModel):
    """What `ResearchAssistant.digest()` returns. `scope` says in words which papers these
    are; `saved` has one entry per saved question (its papers may be empty)."""

    papers: list[DigestPaper] = Field(default_factory=list)
    topics: list[DigestTopic] = Field(default_factory=list)
    saved: list[SavedMatch] = Field(default_factory=list)
    since: str | None = None
    scope: str = ""
    summaries: str = QUOTED

    def as_json(self) -> dict[str, Any]:
        """The shape `paperchat digest --json` prints (README, "What's new")."""
        keys = ("title", "published", "upvotes", "org", "topic", "summary")
        return {
            "summaries": self.summaries,
            "papers": [{k: getattr(p, k) for k in keys} for p in self.papers],
            "topics": [{"label": t.label, "papers": t.papers} for t in self.topics],
            "saved": [
                {
                    "question": m.question,
                    "papers": [{"title": p.title, "relevance": p.relevance} for p in m.papers],
                }
                for m in self.saved
            ],
        }

    def headline(self) -> str:
        """'12 new papers in 4 topics' (or that there are none)."""
        if not self.papers:
            return "no new papers"
        papers = f"{len(self.papers)} new paper{'s' * (len(self.papers) != 1)}"
        return f"{papers} in {len(self.topics)} topic{'s' * (len(self.topics) != 1)}"


# --- summaries ---------------------------------------------------------------------------


def contribution_sentence(title: str, abstract: str) -> str:
    """The abstract's sentence that states what the paper contributes (module docstring)."""
    sentences = [s for s in split_sentences(abstract) if not _LINK_ONLY.search(s)]
    if not sentences:
        return clean_sentence(abstract or title)
    for pattern in _CONTRIBUTION:
        for sentence in sentences:
            if pattern.search(sentence):
                return clean_sentence(sentence)
    title_words = keywords(title)
    best = max(range(len(sentences)), key=lambda i: (len(keywords(sentences[i]) & title_words), -i))
    return clean_sentence(sentences[best])


# --- which papers ------------------------------------------------------------------------


def first_captures(papers: dict[str, PaperDoc], dumps: Sequence[Any]) -> dict[str, date | None]:
    """paper id -> the earliest capture date among the dumps it was seen in."""
    captured = {d.name: _day(d.captured) for d in dumps}
    found: dict[str, date | None] = {}
    for pid, doc in papers.items():
        days = [captured.get(name) for name in doc.metadata.get("dumps") or []]
        known = [d for d in days if d is not None]
        found[pid] = min(known) if known else _day(doc.metadata.get("captured"))
    return found


def latest_run_papers(papers: dict[str, PaperDoc], dumps: Sequence[Any]) -> list[str]:
    """Without an arrivals record: the papers seen only in the dumps indexed last."""
    stamps = [d.indexed_at for d in dumps if d.indexed_at]
    if not stamps:
        return sorted(papers)
    latest = {d.name for d in dumps if d.indexed_at == max(stamps)}
    return sorted(
        pid for pid, doc in papers.items() if set(doc.metadata.get("dumps") or []) <= latest
    )


def _when(stamp: str) -> str:
    """'2026-12-02T02:01:03+00:00' -> '2026-12-02 02:01 UTC'."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if len(stamp) >= 16 else stamp


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


# --- building ----------------------------------------------------------------------------


Grouped = list[tuple[Topic, list[str]]]  # each topic with its paper ids, in digest order


def order_topics(topics: list[Topic], ids: list[str], papers: dict[str, PaperDoc]) -> Grouped:
    """(topic, its paper ids by upvotes) pairs, largest topic first, then most upvoted."""

    def upvotes(pid: str) -> int:
        return int(papers[pid].metadata.get("upvotes") or 0)

    def by_upvotes(pid: str) -> tuple:
        known = papers[pid].metadata.get("upvotes")
        return (known is None, -upvotes(pid), papers[pid].title.casefold())

    grouped = [(t, sorted((ids[r] for r in t.members), key=by_upvotes)) for t in topics]
    return sorted(grouped, key=lambda g: (-len(g[1]), -sum(upvotes(p) for p in g[1]), g[0].label))


def assemble(
    grouped: Grouped, papers: dict[str, PaperDoc], captures: dict[str, date | None]
) -> tuple[list[DigestPaper], list[DigestTopic]]:
    """Number the papers in topic order and write each one's cited summary."""
    rows: list[DigestPaper] = []
    topics: list[DigestTopic] = []
    for topic, pids in grouped:
        for pid in pids:
            doc, number = papers[pid], len(rows) + 1
            meta = doc.metadata
            first = captures.get(pid)
            rows.append(
                DigestPaper(
                    number=number,
                    paper_id=pid,
                    title=doc.title,
                    published=meta.get("published"),
                    upvotes=meta.get("upvotes"),
                    org=meta.get("org"),
                    topic=topic.label,
                    summary=f"{contribution_sentence(doc.title, doc.abstract)} [{number}]",
                    first_captured=first.isoformat() if first else None,
                    dumps=list(meta.get("dumps") or []),
                )
            )
        total = sum(int(papers[p].metadata.get("upvotes") or 0) for p in pids)
        topics.append(
            DigestTopic(label=topic.label, papers=[papers[p].title for p in pids], upvotes=total)
        )
    return rows, topics


def build_digest(
    ra: ResearchAssistant, since: date | None = None, writer: SummaryWriter | None = None
) -> Digest:
    """The digest of one assistant's index (see ResearchAssistant.digest); with `writer`, the
    LLM writes the summaries (rag.digest_summaries)."""
    from rag.arrivals import last_arrival

    index = ra.paper_index
    dumps = index.dumps()
    if since is not None:
        everything = index.papers()
        captures = first_captures(everything, dumps)
        chosen = sorted(p for p, day in captures.items() if day is not None and day >= since)
        scope = f"papers first captured on or after {since.isoformat()}"
    else:
        arrival = last_arrival(ra.settings.index.home)
        if arrival is not None:
            chosen = arrival.paper_ids
            scope = f"papers added by the latest index run that added any, {_when(arrival.at)}"
        elif dumps:
            chosen = latest_run_papers(index.papers(), dumps)
            scope = "papers seen only in the most recently indexed dumps"
        else:
            chosen, scope = [], "nothing is indexed yet: `paperchat index DUMPS` first"
    return digest_of(ra, chosen, scope, since, writer)


def digest_of(
    ra: ResearchAssistant,
    chosen: Sequence[str],
    scope: str,
    since: date | None = None,
    writer: SummaryWriter | None = None,
) -> Digest:
    """The digest of exactly these papers (those still indexed and written)."""
    index = ra.paper_index
    papers = index.get_papers(chosen)
    ids, vectors = index.paper_vectors(list(papers))
    texts = [(papers[p].title, papers[p].abstract) for p in ids]
    topics = find_topics(vectors, texts, index_idf(index.keyword_index))
    captures = first_captures(papers, index.dumps())
    rows, labels = assemble(order_topics(topics, ids, papers), papers, captures)
    saved = ra.saved_matches(ids, vectors=(ids, vectors))
    summaries = QUOTED
    if writer is not None and rows:
        rows, summaries = written_summaries(writer, rows, papers)
    return Digest(
        papers=rows,
        topics=labels,
        saved=saved,
        since=since.isoformat() if since else None,
        scope=scope,
        summaries=summaries,
    )


def written_summaries(
    writer: SummaryWriter, rows: list[DigestPaper], papers: dict[str, PaperDoc]
) -> tuple[list[DigestPaper], str]:
    """The rows with the summaries the model wrote well; the others keep their quote."""
    written, report = writer.write([(r.number, r.paper_id) for r in rows], papers)
    rows = [
        r.model_copy(update={"summary": written[r.paper_id], "summary_by": "llm"})
        if r.paper_id in written
        else r
        for r in rows
    ]
    return rows, report.describe()


# --- Markdown ------------------------------------------------------------------------------


def digest_markdown(digest: Digest) -> str:
    """The digest with its numbered references (rag.export's reference lines): a heading per
    topic, one bullet per paper with its cited summary, the saved questions' new papers."""
    from rag.export import markdown_escape, reference_line

    scope = f"{digest.scope}; {digest.summaries}" if digest.papers else digest.scope
    parts = [f"# What's new: {digest.headline()}", f"*{markdown_escape(scope)}.*"]
    by_topic: dict[str, list[DigestPaper]] = {}
    for paper in digest.papers:
        by_topic.setdefault(paper.topic, []).append(paper)
    for number, topic in enumerate(digest.topics, start=1):
        count = len(topic.papers)
        parts.append(
            f"## {number}. {markdown_escape(topic.label)} ({count} paper{'s' * (count != 1)})"
        )
        parts.append("\n".join(_paper_markdown(p) for p in by_topic.get(topic.label, [])))
    if digest.saved:
        parts += ["## Saved questions", _saved_markdown(digest)]
    if digest.papers:
        parts += [
            "## References",
            "\n\n".join(f"[{p.number}] {reference_line(p)}" for p in digest.papers),
        ]
    return "\n\n".join(parts) + "\n"


def _paper_markdown(paper: DigestPaper) -> str:
    """`- **title**: sentence [n]`: the dump's text escaped, the citation left as markup."""
    from rag.export import markdown_escape

    sentence = paper.summary.removesuffix(f" [{paper.number}]")
    return f"- **{markdown_escape(paper.title)}**: {markdown_escape(sentence)} [{paper.number}]"


def _saved_markdown(digest: Digest) -> str:
    from rag.export import markdown_escape

    numbers = {p.paper_id: p.number for p in digest.papers}
    lines = []
    for match in digest.saved:
        cited = ", ".join(
            f"{markdown_escape(p.title)} [{numbers[p.paper_id]}]"
            for p in match.papers
            if p.paper_id in numbers
        )
        found = cited or "no new paper is relevant enough"
        lines.append(f"- *{markdown_escape(match.question)}*: {found}")
    return "\n".join(lines)


# --- after an index run ----------------------------------------------------------------------


def report_arrivals(ra: ResearchAssistant, report: IndexReport, added: Sequence[str]) -> None:
    """Fill in what arrived: the new papers, how many topics they fall into (the digest's
    count: same papers, same clustering) and the saved questions they are relevant to.

    The papers are indexed by now, so a failure here (e.g. an unreadable saved-questions file)
    is a warning in the report, never a failed run."""
    report.added_paper_ids = sorted(added)
    if not added:
        return
    try:
        ids, vectors = ra.paper_index.paper_vectors(added)
        report.new_topics = len(set(cluster(vectors).tolist())) if ids else 0
        matches = ra.saved_matches(ids, vectors=(ids, vectors))
        report.saved = [match for match in matches if match.papers]
    except PaperchatError as exc:
        report.errors.append(FileIssue(file="(what's new)", message=str(exc), level="warning"))

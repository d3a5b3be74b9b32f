"""Compare 2-4 papers side by side: one quoted, cited sentence per aspect and paper.

Readers of a feed compare papers on the same few questions: what task, which method, what data,
what results, what limits. Each cell is the abstract's own sentence that answers the aspect's
question, picked as the extractive answerer picks quotes (rag.extractive.SentenceScorer: the
reader when there is one, else embedding similarity), so a cell can be checked against its
paper [n]. Abstracts rarely state their own limitations: a limitation cell is filled only by a
sentence that says so of this paper ("our method struggles with ...", "future work"), never by
one about the earlier work's limitation it overcomes; and every aspect draws only
on sentences with its cue words (_CUES); otherwise the cell reads "not stated in the abstract"
rather than quoting a sentence that does not answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from rag.errors import InputError
from rag.export import markdown_escape, references_markdown
from rag.extractive import SentenceScorer, clean_sentence
from rag.models import PaperHit, Source
from vectorstore.text import split_sentences

ASPECTS: dict[str, str] = {
    "task": "What problem or task does this paper address?",
    "method": "What method or approach does this paper propose?",
    "data": "What data, datasets or benchmarks does this paper use?",
    "results": "What results or improvements does this paper report?",
    "limitations": "What limitations or weaknesses does this paper state?",
}
NOT_STATED = "not stated in the abstract"
# The sentences that can fill each aspect but the task (see _candidates): an abstract says what
# it does in recognisable words,
# and the reader (or embedding similarity) then picks among them. Without a cue, "data" would
# quote the method sentence and "limitations" the background (measured on the sample dumps).
_CUES: dict[str, re.Pattern[str]] = {
    "method": re.compile(
        r"\b(?:we|this (?:paper|work)|our)\b.{0,40}\b(?:propose|introduce|present|develop|design"
        r"|build|construct|devise)\w*|\bframework\b|\bapproach\b",
        re.I,
    ),
    "data": re.compile(
        r"\b(?:datasets?|benchmarks?|corpus|corpora|collect\w*|curat\w*|annotat\w*"
        r"|training data|real-world data|data(?:set)? of)\b",
        re.I,
    ),
    "results": re.compile(
        r"\b(?:outperform\w*|achiev\w*|improv\w*|state-of-the-art|sota|surpass\w*|results?"
        r"|experiments?|speed-?ups?|faster|accuracy)\b|\d+(?:\.\d+)?\s*(?:%|x\b|×)",
        re.I,
    ),
    # This paper's own limits only. Abstracts name limitations mostly to say they overcome
    # earlier work's ("To address this limitation, we propose ..."; 40 of the 40 sentences
    # with "limitation"/"fail" in the sample dumps): a bare cue word quoted those.
    "limitations": re.compile(
        r"\bfuture work\b|\b(?:leave|left)\b[^.]{0,60}\bfuture\b"
        r"|\bwe\s+(?:also\s+)?(?:discuss|analy[sz]e|acknowledge|note|examine)\w*\s+(?:\w+\s+){0,3}"
        r"(?:limitations?|failure (?:cases|modes)|weakness\w*|shortcomings?)"
        r"|\b(?:limitations?|drawbacks?|weakness\w*|failure (?:cases|modes)|shortcomings?)\s+of\s+"
        r"(?:our|the proposed|this (?:method|approach|work|model))\b"
        r"|\b(?:our|the proposed)\s+(?:\w+\s+){0,3}"
        r"(?:fails?|struggles?|is limited|remains? limited)\b",
        re.I,
    ),
}
# A sentence about earlier work ("existing methods struggle...") is background, not this
# paper's limitation or result.
_PRIOR_WORK = re.compile(
    r"\b(?:existing|previous|prior|current|conventional|traditional|typical|most|many)\b"
    r"(?:\s+\w+){0,3}\s+(?:methods|approaches|works|models|systems|techniques)\b",
    re.I,
)
# "... released to facilitate future work" is an offer, not a limit.
_OFFER = re.compile(
    r"\b(?:releas|facilitat|foster|encourag|support|benefit|inspir|enabl)\w*\b[^.]{0,40}\bfuture\b",
    re.I,
)
MIN_PAPERS, MAX_PAPERS = 2, 4


class Cell(BaseModel):
    """One aspect of one paper: the quoted sentence and the paper it cites, or None."""

    number: int
    sentence: str | None = None


class Comparison(BaseModel):
    """Aspects x papers. `papers` are numbered [1]..[n] as the cells cite them."""

    papers: list[Source]
    aspects: list[str] = Field(default_factory=lambda: list(ASPECTS))
    rows: dict[str, list[Cell]] = Field(default_factory=dict)
    mode: str = "extractive"

    def markdown(self) -> str:
        """A Markdown table (aspects as rows, papers as columns) and the numbered references."""
        head = "| aspect | " + " | ".join(f"[{p.number}] {_short(p.title)}" for p in self.papers)
        lines = [head + " |", "|---|" + "---|" * len(self.papers)]
        for aspect in self.aspects:
            cells = [_cell_text(c) for c in self.rows.get(aspect, [])]
            lines.append(f"| {aspect} | " + " | ".join(cells) + " |")
        references = references_markdown(self.papers)
        return "\n".join(lines) + "\n\n" + references


def compare_papers(papers: Sequence[PaperHit], scorer: SentenceScorer) -> Comparison:
    """The comparison table of `papers` (already resolved, 2-4 of them)."""
    if not MIN_PAPERS <= len(papers) <= MAX_PAPERS:
        raise InputError(f"Compare {MIN_PAPERS} to {MAX_PAPERS} papers; got {len(papers)}.")
    sources = [Source(**p.model_dump(), number=n) for n, p in enumerate(papers, start=1)]
    sentences = [split_sentences(s.abstract) for s in sources]
    rows = {
        aspect: [
            _pick(aspect, question, source, sents, scorer)
            for source, sents in zip(sources, sentences, strict=True)
        ]
        for aspect, question in ASPECTS.items()
    }
    return Comparison(papers=sources, rows=rows)


def resolve(wanted: Sequence[str], papers: Sequence[PaperHit]) -> list[PaperHit]:
    """Each title or paper id to one indexed paper: exact id, exact title (any case), then the
    only title containing it; anything else is an InputError saying what to type instead."""
    by_id = {p.paper_id: p for p in papers}
    found: list[PaperHit] = []
    for text in wanted:
        hit = by_id.get(text.strip()) or _by_title(text, papers)
        if hit.paper_id in {f.paper_id for f in found}:
            raise InputError(f"{hit.title!r} is named twice; compare different papers.")
        found.append(hit)
    return found


def _by_title(text: str, papers: Sequence[PaperHit]) -> PaperHit:
    key = " ".join(text.split()).casefold()
    exact = [p for p in papers if p.title.casefold() == key]
    if exact:
        return exact[0]
    partial = [p for p in papers if key and key in p.title.casefold()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise InputError(f"No indexed paper has a title or id matching {text!r}.")
    names = "; ".join(p.title for p in partial[:5])
    raise InputError(f"{text!r} matches {len(partial)} papers ({names}): give more of the title.")


def _pick(
    aspect: str, question: str, source: Source, sentences: list[str], scorer: SentenceScorer
) -> Cell:
    """The sentence of `source` that best answers `question` among those with the aspect's
    cues; none when no sentence has them (the aspect is not stated)."""
    candidates = _candidates(aspect, sentences)
    if not candidates:
        return Cell(number=source.number)
    (scores,), _ = scorer.score(question, [(source, candidates)])
    best = int(np.argmax(scores))
    return Cell(number=source.number, sentence=clean_sentence(candidates[best]))


def _candidates(aspect: str, sentences: list[str]) -> list[str]:
    """The task is what an abstract states before it says what it does ("we propose ..."):
    the sentences before the first method sentence, else the first one. Other aspects: the
    sentences with their cue words, less those about earlier work (results, limitations) and
    offers to future work (limitations)."""
    if aspect == "task":
        method = next((i for i, s in enumerate(sentences) if _CUES["method"].search(s)), None)
        return sentences[: max(method or 0, 1)]
    found = [s for s in sentences if _CUES[aspect].search(s)]
    if aspect in ("results", "limitations"):
        found = [s for s in found if not _PRIOR_WORK.search(s)]
    if aspect == "limitations":
        found = [s for s in found if not _OFFER.search(s)]
    return found


def _cell_text(cell: Cell) -> str:
    if cell.sentence is None:
        return f"_{NOT_STATED}_"
    return f"{markdown_escape(cell.sentence)} [{cell.number}]"


def _short(title: str, limit: int = 60) -> str:
    title = markdown_escape(title)
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"

"""Take an answer away: Markdown with its numbered references, and BibTeX for the cited papers.

Readers paste answers into notes and papers, so both outputs must survive the titles found in
real dumps (`W_+ Adapter`, `S^2Edit`, `Di$\\mathtt{[M]}$O`, `90% & more`): Markdown escapes
what would turn into emphasis, links or HTML; BibTeX escapes its special characters and braces
so every entry parses. A dump knows no authors, arXiv id or URL, so none is written: an invented
identifier in a bibliography is worse than a missing one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Literal, Protocol

from rag.models import Answer, Source
from rag.papers import make_paper_id
from rag.question_filters import filter_labels

NOTE = "Hugging Face Daily Papers"
OrgField = Literal["organization", "howpublished"]
# Characters that Markdown may read as markup inside a line: emphasis, code, links, HTML,
# tables, strike-through, entities and (on GitHub and in many notes apps) $math$.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\textasciitilde{}",
}
_KEY_SKIP_WORDS = "a an the on of in for to and with from towards toward when how what why"
_KEY_SKIP = frozenset(_KEY_SKIP_WORDS.split())


class Citable(Protocol):
    """What a reference needs; a Source, a Paper and a digest entry all have it."""

    title: str
    published: str | date | None
    org: str | None


# --- Markdown -------------------------------------------------------------------------------


def cited_sources(answer: Answer) -> list[Source]:
    """The sources the answer actually cites, by number, each once (an abstention cites none)."""
    cited = {citation.number for citation in answer.citations}
    by_number = {source.number: source for source in answer.sources}
    return [by_number[number] for number in sorted(cited) if number in by_number]


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown: the question as a heading (when known), the answer text as the
    answerer wrote it (its [n] markers match the references), how it was made, then the cited
    sources under "References"."""
    parts: list[str] = []
    if answer.question.strip():
        parts.append(f"## {markdown_escape(answer.question.strip())}")
    parts.append(answer.text.strip())
    parts.append(f"*{_mode_line(answer)}*")
    labels = filter_labels(answer.filters, answer.sort)
    if labels:
        parts.append(f"*Filters: {markdown_escape(', '.join(labels))}.*")
    references = references_markdown(cited_sources(answer))
    if references:
        parts += ["### References", references]
    return "\n\n".join(parts) + "\n"


def references_markdown(sources: Iterable[Source]) -> str:
    """One line per source, `[n] **title**, published ..., org, upvotes`: the numbers are the
    ones the text cites, so a numbered Markdown list (which renumbers 1, 2, 3) is not used."""
    lines = [f"[{source.number}] {reference_line(source)}" for source in sources]
    return "\n\n".join(lines)


def reference_line(paper: Citable) -> str:
    """Title and the metadata that is known; unknown fields are left out, not guessed."""
    details = [f"**{markdown_escape(paper.title)}**"]
    published = _iso(paper.published)
    if published:
        details.append(f"published {published}")
    if paper.org:
        details.append(markdown_escape(paper.org))
    upvotes = getattr(paper, "upvotes", None)
    if upvotes is not None:
        details.append(f"{upvotes} upvote" + ("" if upvotes == 1 else "s"))
    return ", ".join(details)


def markdown_escape(text: str) -> str:
    """Backslash-escape Markdown markup so dump text stays text (`W_+` is not emphasis,
    `<script>` is not HTML); newlines become spaces so a title stays on its line."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _mode_line(answer: Answer) -> str:
    if answer.answered_from == "catalog":
        return "Answered from the papers' Daily Papers metadata recorded in the index."
    if answer.mode == "llm":
        return f"Answer written by {answer.model or 'an LLM'} from the cited abstracts."
    return "Extractive answer: sentences quoted from the cited abstracts (no LLM)."


# --- BibTeX ---------------------------------------------------------------------------------


def bibtex(
    sources: Iterable[Citable],
    *,
    org_field: OrgField = "organization",
) -> str:
    """One `@misc` entry per paper (duplicates by title folded), in the given order.

    The org goes in `organization` (biblatex prints it for @misc) or, with
    `org_field="howpublished"`, where classic BibTeX styles such as plain and plainnat print it.
    """
    entries: list[str] = []
    seen: set[str] = set()
    for paper in sources:
        key = bibtex_key(paper.title)
        if key not in seen:
            seen.add(key)
            entries.append(_entry(paper, key, org_field))
    return "\n\n".join(entries) + ("\n" if entries else "")


def answer_bibtex(answer: Answer, *, org_field: OrgField = "organization") -> str:
    """BibTeX for the papers an answer cites (what `paperchat ask` would offer next to it)."""
    return bibtex(cited_sources(answer), org_field=org_field)


def bibtex_key(title: str) -> str:
    """A key that depends on the title only, so re-exporting a paper gives the same key: its
    first significant word without punctuation (`S^2Edit` -> `s2edit`) plus 6 hex digits of
    its paper id, which folds case and punctuation: e.g. `lookahead_5b1f0c`."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    chunks = [re.sub(r"[^a-z0-9]", "", chunk) for chunk in re.split(r"[\s:]+", folded)]
    words = [chunk for chunk in chunks if chunk and chunk not in _KEY_SKIP]
    word = (words[0] if words else "paper")[:24]
    return f"{word}_{make_paper_id(title)[1:7]}"


def bibtex_escape(text: str) -> str:
    """Escape BibTeX/LaTeX specials and braces, so a title with `$`, `{`, `%` or `\\` cannot
    unbalance the entry or run as LaTeX: the title is printed as the dump wrote it."""
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in " ".join(text.split()))


def _entry(paper: Citable, key: str, org_field: OrgField) -> str:
    """An @misc entry; the title is double-braced so styles keep its capitals (`LLM`, `ID`)."""
    fields = [("title", "{" + bibtex_escape(paper.title) + "}")]
    published = _iso(paper.published)
    if published:
        fields.append(("year", published[:4]))
    if paper.org:
        fields.append((org_field, bibtex_escape(paper.org)))
    fields.append(("note", NOTE))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def _iso(value: str | date | None) -> str | None:
    """`published` is an ISO string on a Source and a date on a Paper."""
    if isinstance(value, date):
        return value.isoformat()
    return value or None

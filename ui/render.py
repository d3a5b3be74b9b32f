"""Turn rag's result objects into HTML for the UI, with every piece of dump text made inert.

Dump files are untrusted input: a title may be `<img src=x onerror=alert(1)>`, an abstract may
hold Markdown or template syntax. Everything from a dump or an answer passes through
`escape_text` before it is placed in HTML, Markdown or a Gradio HTML template, so it shows as
the literal characters and never as markup. Only the tags written in this module are markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

from rag.citations import split_cited
from rag.models import Answer, FileIssue, IndexReport, PaperHit, Source
from ui.numbering import CITATION as _CITATION
from ui.numbering import renumber

# Characters that mean something to Markdown, KaTeX or Gradio's HTML templates (`${}`,
# handlebars `{{}}`). Numeric entities display the same characters but are plain text to
# every one of those parsers, so escaped text renders identically in HTML and in Markdown.
_EXTRA_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "`*_{}[]()#+-!|~$\\:<>=@^%"}
SNIPPET_CHARS = 400
HF_PAPERS_SEARCH = "https://huggingface.co/papers?q="
# CommonMark without raw HTML, links, autolinks or images: formatting only.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(
    ["link", "image", "autolink", "html_inline", "html_block"]
)


def escape_text(value: object) -> str:
    """Dump or model text -> inert HTML/Markdown text (newlines kept)."""
    text = html.escape("" if value is None else str(value), quote=True)
    # html.escape produced only &amp; &lt; &gt; &quot; &#x27; — their '&', ';', '#' must stay.
    out = []
    for token in re.split(r"(&(?:amp|lt|gt|quot|#x27);)", text):
        if token.startswith("&") and token.endswith(";"):
            out.append(token)
        else:
            out.append("".join(_EXTRA_ENTITIES.get(ch, ch) for ch in token))
    return "".join(out)


def escape_multiline(value: object) -> str:
    """Like escape_text, with line breaks as <br> for HTML contexts that collapse whitespace."""
    return escape_text(value).replace("\r\n", "\n").replace("\n", "<br>")


def source_anchor(prefix: str, number: int) -> str:
    """The element id of source card `number` in the block identified by `prefix`."""
    return f"pc-{prefix}-src-{number}"


def link_citations(text: str, sources: Iterable[Source], prefix: str, breaks: bool = True) -> str:
    """Escape plain text and turn each [n] into a link to source card n (title on hover).

    Markers that name no known source stay plain text, so a model's invented [9] is visible
    as such instead of pointing nowhere. `breaks=False` keeps newlines as (escaped) whitespace.
    """
    escape = escape_multiline if breaks else _escape_inline
    by_number = {s.number: s for s in sources}
    parts: list[str] = []
    last = 0
    for match in _CITATION.finditer(text):
        parts.append(escape(text[last : match.start()]))
        numbers = [int(n) for n in re.split(r"\s*,\s*", match.group(1))]
        if all(n in by_number for n in numbers):
            links = ",".join(_citation_link(by_number[n], prefix) for n in numbers)
            parts.append(f'<sup class="pc-cite">[{links}]</sup>')
        else:
            parts.append(escape_text(match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def _escape_inline(text: str) -> str:
    """escape_text, with newlines as character references so no raw line break survives."""
    return escape_text(text).replace("\n", "&#10;")


def answer_html(text: str, sources: Iterable[Source], prefix: str) -> str:
    """Answer text (Markdown from the answerer) -> safe HTML with linked citations.

    The Markdown parser runs with raw HTML, links and images off, so dump text quoted in an
    answer can only ever become text. Every text node is then escaped again with
    escape_text, and no raw newline is left, so the chat's own Markdown pass finds one
    inert HTML block.
    """
    rendered = _MARKDOWN.render(text)
    sources = list(sources)
    out = []
    for token in re.split(r"(<[^>]*>)", rendered):
        if token.startswith("<"):
            out.append(token)
        elif token.strip("\n"):  # newline-only tokens are the parser's layout between tags
            out.append(link_citations(html.unescape(token), sources, prefix, breaks=False))
    return "".join(out)


def _citation_link(source: Source, prefix: str) -> str:
    anchor = source_anchor(prefix, source.number)
    title = escape_text(source.title)
    return f'<a href="#{anchor}" title="{title}" class="pc-cite-link">{source.number}</a>'


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 upvote', '2 upvotes', '1 closest paper': counts shown to people read as English."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def paper_meta(
    published: str | None,
    org: str | None,
    upvotes: int | None,
    authors: int | None = None,
) -> list[str]:
    """Date, organisation, upvotes and authors as escaped labels; missing ones are left out."""
    items = []
    if published:
        items.append(f'<span class="pc-date">{escape_text(published)}</span>')
    if org:
        items.append(f'<span class="pc-org">{escape_text(org)}</span>')
    if upvotes is not None:
        items.append(f'<span class="pc-upvotes">▲ {plural(int(upvotes), "upvote")}</span>')
    if authors is not None:
        items.append(f'<span class="pc-authors">{plural(int(authors), "author")}</span>')
    return items


def _clip(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_card(source: Source, prefix: str, cited: bool = True, scored: bool = True) -> str:
    """One numbered source: title, date, org, upvotes, authors, relevance (unless the paper
    was chosen rather than retrieved: `scored=False`), the dumps it was seen in, evidence, and
    the abstract on expand."""
    meta = paper_meta(source.published, source.org, source.upvotes, source.authors_count)
    if scored:
        meta.append(f'<span class="pc-score">relevance {source.score:.2f}</span>')
    if not cited:
        meta.append('<span class="pc-uncited">not cited</span>')
    return (
        f'<div class="pc-card" id="{source_anchor(prefix, source.number)}">'
        f'<div class="pc-card-head"><span class="pc-num">[{source.number}]</span> '
        f'<span class="pc-title">{escape_text(source.title)}</span></div>'
        f'<div class="pc-meta">{" · ".join(meta)}</div>{_dumps_line(source.dumps)}'
        f'<div class="pc-snippet">{escape_text(_clip(source.snippet))}</div>'
        f"{full_abstract(source.abstract, source.snippet)}</div>"
    )


def _squash(text: str) -> str:
    return " ".join(text.split())


def full_abstract(abstract: str, snippet: str) -> str:
    """The expandable abstract of a card, which replaces the snippet instead of repeating it.

    Opened, the card hides its snippet (style.CSS) and the abstract shows the snippet's passage
    highlighted in place, so the reader sees where the evidence sits without reading it twice.
    Nothing to expand when the snippet already is the whole abstract."""
    abstract, snippet = _squash(abstract), _squash(snippet)
    if not abstract or abstract == snippet:
        return ""
    start = abstract.find(snippet) if snippet else -1
    if start < 0:
        body = escape_text(abstract)
    else:
        end = start + len(snippet)
        body = (
            f"{escape_text(abstract[:start])}<mark>{escape_text(snippet)}</mark>"
            f"{escape_text(abstract[end:])}"
        )
    return f'<details class="pc-abstract"><summary>Full abstract</summary><p>{body}</p></details>'


def sources_panel(answer: Answer | None, prefix: str = "panel") -> str:
    """All numbered sources of one answer, cited ones marked, or a hint before the first one."""
    if answer is None:
        return '<div class="pc-empty">Sources of the latest answer appear here.</div>'
    answer = renumber(answer)  # idempotent: numbers 1..n, as in the answer's message
    if not answer.sources:
        why = "relevant enough to answer" if answer.abstained else "matched this question"
        return f'<div class="pc-empty">No indexed paper {why} (check the filters).</div>'
    heading = "Closest papers (none relevant enough)" if answer.abstained else "Sources"
    shown, others = split_cited(answer)
    cards = "".join(source_card(s, prefix) for s in shown)
    if others:
        more = "".join(source_card(s, prefix, cited=False) for s in others)
        label = f"{plural(len(others), 'more paper')} retrieved, not cited"
        cards += f'<details class="pc-more"><summary>{label}</summary>{more}</details>'
    return f'<div class="pc-sources"><div class="pc-sources-head">{heading}</div>{cards}</div>'


def format_timings(timings: Mapping[str, float]) -> str:
    """'retrieve 0.12 s · generate 1.40 s' (whatever phases the chain measured)."""
    return " · ".join(f"{escape_text(name)} {seconds:.2f} s" for name, seconds in timings.items())


def answer_footer(answer: Answer, mode_label: str) -> str:
    """The small line under an answer: mode and timings."""
    mode = answer.model if answer.mode == "llm" and answer.model else mode_label
    if answer.answered_from == "catalog":
        mode = "from the papers' metadata in the index"
    parts = [f"mode: {escape_text(mode)}"]
    if answer.timings:
        parts.append(format_timings(answer.timings))
    return f'<div class="pc-footer"><small>{" · ".join(parts)}</small></div>'


def answer_message(answer: Answer, prefix: str, mode_label: str) -> str:
    """The chat message for a finished answer: banner, linked text, footer, its sources.

    An abstention's own text already says why it did not answer, so it becomes the body of
    the "Not answered" box rather than following a banner that says the same thing again."""
    answer = renumber(answer)
    body = answer_html(answer.text, answer.sources, prefix)
    banner = ""
    if answer.abstained:
        body = f'<div class="pc-abstain"><strong>Not answered</strong>{body}</div>'
    elif answer.uncited:
        banner = (
            '<div class="pc-warn"><strong>Unverified:</strong> this answer cites no source;'
            " check it against the papers below.</div>"
        )
    sources = ""
    if answer.sources:
        count = len(answer.sources)
        label = plural(count, "closest paper") if answer.abstained else plural(count, "source")
        sources = (
            f'<details class="pc-msg-sources"><summary>{label}</summary>'
            f"{sources_panel(answer, prefix)}</details>"
        )
    return (
        f'<div class="pc-answer">{banner}<div class="pc-text">{body}</div>'
        f"{answer_footer(answer, mode_label)}{sources}</div>"
    )


def streaming_message(partial: str) -> str:
    """The chat message while the answer is still arriving."""
    body = answer_html(partial + " ▌", [], "")
    return f'<div class="pc-answer"><div class="pc-text">{body}</div></div>'


def error_message(message: str) -> str:
    """A user-actionable error shown in place of an answer."""
    return f'<div class="pc-error"><strong>Error:</strong> {escape_text(message)}</div>'


def mode_badge(mode_label: str) -> str:
    return f'<span class="pc-mode">Answers: {escape_text(mode_label)}</span>'


def _field(stats: Any, name: str, default: Any = None) -> Any:
    if isinstance(stats, Mapping):
        return stats.get(name, default)
    return getattr(stats, name, default)


def stats_panel(stats: Any) -> str:
    """The index's numbers and the dumps it was built from."""
    date_range = _field(stats, "date_range")
    dates = f"{date_range[0]} … {date_range[1]}" if date_range else "–"
    dumps = _field(stats, "dumps", []) or []
    model = _field(stats, "embedding_model", "")
    dims = _field(stats, "embedding_dimension", "?")
    rows = [
        ("papers", "Papers", _field(stats, "papers", 0)),
        ("chunks", "Chunks", _field(stats, "chunks", 0)),
        ("dumps", "Dumps", len(dumps)),
        ("published", "Published", dates),
        ("model", "Embedding model", f"{model} ({dims} dims)"),
        ("store", "Store", _field(stats, "store", "")),
        ("mode", "Answers", _field(stats, "mode", "")),
    ]
    table = "".join(
        f'<tr><th>{label}</th><td class="pc-stat-{key}">{escape_text(value)}</td></tr>'
        for key, label, value in rows
    )
    dump_items = "".join(_dump_item(d) for d in dumps if isinstance(d, Mapping))
    dump_list = f'<ul class="pc-dumps">{dump_items}</ul>' if dump_items else ""
    return f'<div class="pc-stats"><table>{table}</table>{dump_list}</div>'


def _dump_item(record: Mapping[str, Any]) -> str:
    """One dump as the CLI's `stats` lists it, with its capture date marked when inferred."""
    text = escape_text(record.get("name") or record.get("file") or "?")
    if record.get("captured"):
        inferred = ", inferred" if record.get("captured_inferred") else ""
        text += f" (captured {escape_text(record['captured'])}{inferred})"
    if record.get("papers") is not None:
        text += f" — {plural(int(record['papers']), 'paper')}"
    return f"<li>{text}</li>"


def issues_by_file(issues: Iterable[FileIssue]) -> dict[str, list[FileIssue]]:
    grouped: dict[str, list[FileIssue]] = {}
    for issue in issues:
        grouped.setdefault(issue.file, []).append(issue)
    return grouped


def nothing_changed(report: IndexReport) -> bool:
    """True when the run found only papers already indexed (a re-upload of the same dumps)."""
    changed = report.papers_added + report.papers_updated + report.papers_removed
    return report.ok and changed == 0 and report.chunks_embedded == 0


def report_counts(report: IndexReport) -> str:
    """The CLI summary's counts on one styled line; its issue lines go with their files."""
    counts = [
        ("files", len(report.files)),
        ("added", report.papers_added),
        ("updated", report.papers_updated),
        ("unchanged", report.papers_unchanged),
        ("removed", report.papers_removed),
        ("chunks embedded", report.chunks_embedded),
    ]
    items = [f'<span class="pc-count">{name} {value}</span>' for name, value in counts]
    items.append(f'<span class="pc-count">{report.seconds:.1f} s</span>')
    return f'<div class="pc-report-counts">{" · ".join(items)}</div>'


def _issue_item(issue: FileIssue) -> str:
    where = f" line {issue.line}" if issue.line else ""
    return (
        f'<li class="pc-issue-{issue.level}">{escape_text(issue.level)}{where}: '
        f"{escape_text(issue.message)}</li>"
    )


def _file_outcome(file: str, failed: set[str], unchanged: bool) -> str:
    if file in failed:
        return "failed"
    return "already indexed, nothing new" if unchanged else "indexed"


def index_report_panel(report: IndexReport, names: Mapping[str, str] | None = None) -> str:
    """The counts, then every file with its outcome and its own problems (each shown once).

    Per-file counts are not in IndexReport, so a file's outcome can only say "already indexed"
    when the whole run changed nothing, which is exactly the re-upload case."""
    names = names or {}
    unchanged = nothing_changed(report)
    status = "pc-ok" if report.ok else "pc-failed"
    head = "Indexed with errors" if not report.ok else "Indexed"
    if unchanged:
        head = "Nothing new: these dumps are already indexed"
    grouped = issues_by_file(report.errors)
    failed = set(report.failed_files)
    blocks = []
    for file in dict.fromkeys([*report.files, *grouped]):
        outcome = _file_outcome(file, failed, unchanged)
        css = "failed" if file in failed else "indexed"
        items = "".join(_issue_item(issue) for issue in grouped.get(file, []))
        name = escape_text(names.get(file, Path(file).name if file in report.files else file))
        blocks.append(
            f'<div class="pc-file pc-file-{css}"><strong>{name}</strong> — {outcome}'
            f"{f'<ul>{items}</ul>' if items else ''}</div>"
        )
    return (
        f'<div class="pc-report {status}"><div class="pc-report-head">{head}</div>'
        f"{report_counts(report)}{''.join(blocks)}</div>"
    )


def progress_panel(phase: str, done: int, total: int, elapsed: float | None = None) -> str:
    """A progress bar for the running index job: phase, count and time so far in words."""
    label = f"{escape_text(phase)}: {done}/{total}" if total else f"{escape_text(phase)}…"
    if elapsed is not None:
        label += f" ({elapsed:.0f} s)"
    value = f' value="{done}" max="{total}"' if total else ""
    bar = f"<progress{value}></progress>"
    return f'<div class="pc-progress">{bar} <span>{label}</span></div>'


def notice(message: str, level: str = "info") -> str:
    """A one-line message (upload refused, index busy, ...)."""
    return f'<div class="pc-notice pc-{escape_text(level)}">{escape_text(message)}</div>'


def hf_search_link(title: str) -> str:
    """A link to Hugging Face's paper search for this title: dumps carry no arXiv id or paper
    URL, so a title search is the only link to the paper's page that can be built honestly."""
    url = escape_text(HF_PAPERS_SEARCH + quote(title, safe=""))
    return (
        f'<a class="pc-hf-link" href="{url}" target="_blank" rel="noopener noreferrer">'
        "Find it on Hugging Face Papers ↗</a>"
    )


def _dumps_line(dumps: list[str]) -> str:
    if not dumps:
        return ""
    names = ", ".join(escape_text(d) for d in dumps)
    return f'<div class="pc-seen-in">Seen in {plural(len(dumps), "dump")}: {names}</div>'


def paper_detail(hit: PaperHit) -> str:
    """A selected paper: title, metadata (incl. authors and dumps), abstract, link to HF.

    The similar papers are a separate, clickable list (ui.app), not part of this HTML."""
    meta = " · ".join(paper_meta(hit.published, hit.org, hit.upvotes, hit.authors_count))
    dumps = list(hit.dumps)
    return (
        f'<div class="pc-paper"><div class="pc-title pc-big">{escape_text(hit.title)}</div>'
        f'<div class="pc-meta">{meta}</div>{_dumps_line(dumps)}'
        f"<p>{escape_multiline(hit.abstract)}</p>{hf_search_link(hit.title)}</div>"
    )


def similar_list(similar: list[PaperHit]) -> str:
    """Similar papers as a plain numbered list (the `/paper` API's text; the UI shows a
    clickable list instead)."""
    rows = "".join(_similar_item(s) for s in similar)
    if not rows:
        return '<div class="pc-empty">No similar papers found.</div>'
    return f'<div class="pc-similar"><strong>Similar papers</strong><ol>{rows}</ol></div>'


def _similar_item(hit: PaperHit) -> str:
    meta = paper_meta(hit.published, hit.org, hit.upvotes)
    if hit.score > 0:  # similar() may come without a score; "0.00" would mislead
        meta.append(f"similarity {hit.score:.2f}")
    details = " · ".join(meta)
    small = f" <small>({details})</small>" if details else ""
    return f'<li><span class="pc-title">{escape_text(hit.title)}</span>{small}</li>'

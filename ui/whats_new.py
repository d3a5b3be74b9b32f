"""The "What's new" tab: the digest of new papers, by topic, with the saved questions.

What a reader checks after new dumps arrive: which papers came, what each contributes (one
quoted sentence, cited), grouped by topic, and which of their saved questions a new paper is
relevant to. A date box switches from "what the last index run added" to "first captured
since"; the digest downloads as Markdown (rag.digest.digest_markdown). Saved questions are
added and removed here; the same list drives `paperchat saved` and each index run's report.
Everything from a dump is escaped (ui.render).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.digest import Digest, DigestPaper, digest_markdown
from rag.errors import PaperchatError
from rag.models import IndexReport
from ui import render

EXPORT_NAME = "paperchat-digest.md"
PRIVATE = {"api_visibility": "private"}


@dataclass
class WhatsNewParts:
    since: gr.DateTime
    show: gr.Button
    download: gr.DownloadButton
    digest: gr.HTML
    question: gr.Textbox
    add: gr.Button
    saved: gr.Dropdown
    remove: gr.Button
    saved_list: gr.HTML

    def digest_outputs(self) -> list[Any]:
        return [self.digest, self.download]

    def saved_outputs(self) -> list[Any]:
        return [self.saved_list, self.saved, self.question, self.digest, self.download]


# --- HTML -----------------------------------------------------------------------------------


def paper_anchor(number: int) -> str:
    return f"pc-digest-{number}"


def _cite(number: int) -> str:
    link = f'<a class="pc-cite-link" href="#{paper_anchor(number)}">{number}</a>'
    return f'<sup class="pc-cite">[{link}]</sup>'


def paper_html(paper: DigestPaper) -> str:
    """One paper: number, title, date/org/upvotes, its contribution sentence with [n]."""
    meta = " · ".join(render.paper_meta(paper.published, paper.org, paper.upvotes))
    sentence = paper.summary.removesuffix(f" [{paper.number}]")
    return (
        f'<div class="pc-digest-paper" id="{paper_anchor(paper.number)}">'
        f'<div class="pc-card-head"><span class="pc-num">[{paper.number}]</span> '
        f'<span class="pc-title">{render.escape_text(paper.title)}</span></div>'
        f'<div class="pc-meta">{meta}</div>'
        f'<div class="pc-summary">{render.escape_text(sentence)} {_cite(paper.number)}</div></div>'
    )


def saved_hits_html(digest: Digest) -> str:
    """Each saved question with the digest's papers relevant to it (linked by number)."""
    if not digest.saved:
        return ""
    numbers = {p.paper_id: p.number for p in digest.papers}
    items = []
    for match in digest.saved:
        found = [
            f"{_cite(numbers[p.paper_id])} {render.escape_text(p.title)} "
            f"<small>(relevance {p.relevance:.2f})</small>"
            for p in match.papers
            if p.paper_id in numbers
        ]
        body = (
            "; ".join(found)
            if found
            else '<span class="pc-empty-inline">no new paper is relevant enough</span>'
        )
        items.append(f"<li><em>{render.escape_text(match.question)}</em>: {body}</li>")
    return (
        '<div class="pc-saved-hits"><div class="pc-sources-head">Your saved questions</div>'
        f"<ul>{''.join(items)}</ul></div>"
    )


def digest_html(digest: Digest) -> str:
    """The whole digest: headline, scope, saved-question hits, then topic by topic."""
    head = (
        f'<div class="pc-digest-head">What\'s new: {render.escape_text(digest.headline())}</div>'
        f'<div class="pc-digest-scope">{render.escape_text(digest.scope)}</div>'
    )
    if not digest.papers:
        hint = "Index new dumps (Index tab), or pick a date to see the papers first captured since."
        return f'<div class="pc-digest">{head}<div class="pc-empty">{hint}</div></div>'
    head += f'<div class="pc-digest-scope">{render.escape_text(digest.summaries)}.</div>'
    by_topic: dict[str, list[DigestPaper]] = {}
    for paper in digest.papers:
        by_topic.setdefault(paper.topic, []).append(paper)
    blocks = []
    for number, topic in enumerate(digest.topics, start=1):
        papers = by_topic.get(topic.label, [])
        counts = (
            f"{render.plural(len(papers), 'paper')} · ▲ {render.plural(topic.upvotes, 'upvote')}"
        )
        blocks.append(
            f'<div class="pc-topic"><div class="pc-topic-head">{number}. '
            f"{render.escape_text(topic.label)} <small>({counts})</small></div>"
            f"{''.join(paper_html(p) for p in papers)}</div>"
        )
    return f'<div class="pc-digest">{head}{saved_hits_html(digest)}{"".join(blocks)}</div>'


def saved_list_html(questions: list[Any]) -> str:
    if not questions:
        return '<div class="pc-empty">No saved questions yet.</div>'
    items = "".join(
        f'<li><span class="pc-saved-id">[{render.escape_text(q.id)}]</span> '
        f"{render.escape_text(q.question)}</li>"
        for q in questions
    )
    return f'<ol class="pc-saved-list">{items}</ol>'


def arrivals_html(report: IndexReport) -> str:
    """The Index tab's last lines: saved-question hits, then how many papers arrived."""
    lines = [f"<li>{render.escape_text(str(match))}</li>" for match in report.saved]
    saved = f'<ul class="pc-arrival-saved">{"".join(lines)}</ul>' if lines else ""
    line = report.arrivals_line("see them in the What's new tab")
    last = f'<div class="pc-arrival-line">{render.escape_text(line)}</div>'
    return f'<div class="pc-arrivals">{saved}{last}</div>'


# --- handlers -------------------------------------------------------------------------------


class WhatsNewHandler:
    """Digest, Markdown download and saved questions for one ResearchAssistant."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def show(self, since: Any = None) -> tuple[str, Any]:
        """(digest HTML, download button) for the last run's papers or those since a date."""
        from ui.app import parse_day

        try:
            digest = self.assistant.digest(parse_day(since, "First captured since"))
        except PaperchatError as exc:
            return render.notice(str(exc), "error"), gr.update(value=None, visible=False)
        return digest_html(digest), gr.update(value=export_file(digest), visible=True)

    def saved_state(self) -> tuple[str, Any]:
        """(list HTML, dropdown of questions to remove)."""
        try:
            questions = self.assistant.saved_list()
        except PaperchatError as exc:
            return render.notice(str(exc), "error"), gr.update(choices=[], value=None)
        choices = [(f"{n}. {q.question}", q.id) for n, q in enumerate(questions, start=1)]
        return saved_list_html(questions), gr.update(choices=choices, value=None)

    def add(self, question: str, since: Any = None) -> tuple:
        """Save the question, then redraw the list and the digest (its hits may change)."""
        return self._change(lambda: self.assistant.saved_add(question or ""), since)

    def remove(self, key: str | None, since: Any = None) -> tuple:
        if not key:
            listing, choices = self.saved_state()
            return listing, choices, gr.skip(), gr.skip(), gr.skip()
        return self._change(lambda: self.assistant.saved_remove(key), since)

    def _change(self, change: Any, since: Any) -> tuple:
        try:
            change()
        except PaperchatError as exc:
            listing, choices = self.saved_state()
            return (
                render.notice(str(exc), "error") + listing,
                choices,
                gr.skip(),
                gr.skip(),
                gr.skip(),
            )
        listing, choices = self.saved_state()
        digest, download = self.show(since)
        return listing, choices, "", digest, download


def export_file(digest: Digest) -> str:
    folder = Path(tempfile.mkdtemp(prefix="paperchat-digest-"))
    path = folder / EXPORT_NAME
    path.write_text(digest_markdown(digest), encoding="utf-8")
    return str(path)


# --- layout and wiring ----------------------------------------------------------------------


def whats_new_tab() -> WhatsNewParts:
    """The digest on the left; saved questions on the right."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            with gr.Row(elem_id="pc-digest-controls"):
                since = gr.DateTime(
                    include_time=False,
                    type="string",
                    label="First captured since (empty: what the last index run added)",
                    elem_classes="pc-date-field",
                    elem_id="pc-digest-since",
                    scale=3,
                )
                show = gr.Button(
                    "Show", variant="primary", scale=1, min_width=80, elem_id="pc-digest-show"
                )
            download = gr.DownloadButton(
                "Download digest (Markdown)",
                value=None,
                visible=False,
                size="sm",
                elem_id="pc-download-digest",
            )
            digest = gr.HTML(elem_id="pc-digest")
        with gr.Column(scale=2, min_width=280):
            gr.HTML('<div class="pc-sources-head">Saved questions</div>')
            question = gr.Textbox(
                label="Save a question",
                placeholder="e.g. Which papers improve face swapping?",
                elem_id="pc-saved-question",
            )
            add = gr.Button("Save question", elem_id="pc-saved-add")
            saved_list = gr.HTML(elem_id="pc-saved-list")
            saved = gr.Dropdown(
                choices=[], value=None, label="Remove a saved question", elem_id="pc-saved-pick"
            )
            remove = gr.Button("Remove", size="sm", elem_id="pc-saved-remove")
    return WhatsNewParts(since, show, download, digest, question, add, saved, remove, saved_list)


def wire(parts: WhatsNewParts, handler: WhatsNewHandler) -> dict[str, Any]:
    """Show (api /digest), save (/saved_add) and remove (/saved_remove). Returns the digest
    refresh, for the index run and the page load to repeat."""
    refresh = {"fn": handler.show, "inputs": [parts.since], "outputs": parts.digest_outputs()}
    gr.on([parts.show.click, parts.since.submit], **refresh, api_name="digest")
    saved_outputs = parts.saved_outputs()
    gr.on(
        [parts.add.click, parts.question.submit],
        handler.add,
        [parts.question, parts.since],
        saved_outputs,
        api_name="saved_add",
    )
    parts.remove.click(
        handler.remove, [parts.saved, parts.since], saved_outputs, api_name="saved_remove"
    )
    return refresh


def saved_refresh(parts: WhatsNewParts, handler: WhatsNewHandler) -> dict[str, Any]:
    """The saved list's redraw, for the page load."""
    return {"fn": handler.saved_state, "inputs": None, "outputs": [parts.saved_list, parts.saved]}

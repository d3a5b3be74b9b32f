"""The Gradio app: layout and event wiring only; rag's ResearchAssistant does the work.

Tabs: Chat (streaming cited answers, sources, filters), Index (stats, dump upload with a
background re-index), Papers (browse, filter, similar papers), What's new (ui.whats_new: the
digest and saved questions) and Trends (ui.trends_tab: topic shares plotted per month). All
HTML comes from ui.render, which escapes everything that originates in a dump.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import gradio as gr

from rag.errors import InputError, PaperchatError
from rag.followup import assistant_turn
from rag.models import Answer, PaperHit
from rag.settings import Settings
from ui import answer_tools, compare_panel, render, trends_tab, whats_new
from ui.auth import load_auth
from ui.heap import start_trimming
from ui.index_jobs import IndexJobRunner
from ui.numbering import renumber
from ui.papers_table import (
    COLUMNS,
    PAGE_ROWS,
    SIMILAR_COLUMNS,
    SIMILAR_SORTS,
    SORTS,
    filter_papers,
    org_choices,
    similar_rows,
    sort_papers,
    sort_similar,
    table_rows,
)
from ui.style import CSS
from ui.uploads import check_uploads, store_uploads

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25


# --- chat -----------------------------------------------------------------------------------


def parse_day(value: Any, label: str) -> date | None:
    """A DateTime/Textbox value ('2025-10-16', a datetime, a timestamp or empty) -> date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise InputError(f"{label}: {value!r} is not a date (YYYY-MM-DD).") from None


def parse_count(value: Any, label: str) -> int | None:
    """A non-negative whole number from a text box ('' or None: no filter)."""
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        number = -1.0
    if number < 0 or number != int(number):
        raise InputError(f"{label}: {value!r} is not a whole number of 0 or more.")
    return int(number)


def chat_options(since: Any, until: Any, org: Any, min_upvotes: Any, k: Any) -> dict[str, Any]:
    """Filter widgets -> keyword arguments of ResearchAssistant.stream."""
    return {
        "since": parse_day(since, "From"),
        "until": parse_day(until, "Until"),
        "org": (str(org).strip() or None) if org else None,
        "min_upvotes": parse_count(min_upvotes, "Min upvotes"),
        "k": int(k) if k else None,
    }


EXTRACTIVE_PACE_SECONDS = 0.15


class ChatHandler:
    """Streams one answer into the chat; keeps the plain-text history the chain needs."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant
        # The extractive answerer scores all sentences, then emits its quotes in one burst; a
        # browser paints only the last of updates that arrive together, so the answer seemed
        # to appear at once. Spacing quote-sized pieces lets a reader watch it arrive quote by
        # quote. LLM tokens already arrive spread out and are never delayed.
        extractive = str(getattr(assistant, "mode_label", "")).startswith("extractive")
        self.pace = EXTRACTIVE_PACE_SECONDS if extractive else 0.0

    def respond(
        self,
        question: str,
        chat: list[dict] | None,
        history: list[dict] | None,
        since: Any = None,
        until: Any = None,
        org: Any = None,
        min_upvotes: Any = None,
        k: Any = None,
        ignore: list[str] | None = None,
    ) -> Iterator[tuple]:
        """Yield (chat, history, sources panel, question box, last answer) as the answer
        streams in. `ignore`: kinds of filters written in the question not to apply (removed
        chips, ui.answer_tools); the last answer (a state) feeds those chips and the export."""
        chat = list(chat or [])
        history = list(history or []) if chat else []  # an empty chat is a new conversation
        question = (question or "").strip()
        if not question:
            yield chat, history, gr.skip(), "", gr.skip()
            return
        chat += [
            {"role": "user", "content": render.escape_multiline(question)},
            {"role": "assistant", "content": render.streaming_message("")},
        ]
        yield chat, history, gr.skip(), "", None
        try:
            options = chat_options(since, until, org, min_upvotes, k)
            options["ignore_question_filters"] = list(ignore or [])
            answer = yield from self._stream(question, history, options, chat)
        except PaperchatError as exc:
            chat[-1] = {"role": "assistant", "content": render.error_message(str(exc))}
            yield chat, history, gr.skip(), "", None
            return
        except Exception as exc:  # a chat must never end in a stack trace
            log.exception("answering failed")
            message = f"answering failed ({type(exc).__name__}: {exc})"
            chat[-1] = {"role": "assistant", "content": render.error_message(message)}
            yield chat, history, gr.skip(), "", None
            return
        yield self._finish(question, answer, chat, history, list(ignore or []))

    def _stream(
        self, question: str, history: list[dict], options: dict[str, Any], chat: list[dict]
    ) -> Generator[tuple, None, Answer]:
        """Yield the chat after each streamed piece (paced, see __init__); return the Answer."""
        answer: Answer | None = None
        partial = ""
        last = time.monotonic()
        for event in self.assistant.stream(question, history, **options):
            if isinstance(event, Answer):
                answer = event
                continue
            partial += event
            wait = self.pace - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
            chat[-1] = {"role": "assistant", "content": render.streaming_message(partial)}
            last = time.monotonic()
            yield chat, history, gr.skip(), "", gr.skip()
        return answer if answer is not None else Answer(text=partial)

    def _finish(
        self,
        question: str,
        answer: Answer,
        chat: list[dict],
        history: list[dict],
        ignore: list[str],
    ):
        """The final state: the renumbered answer in the chat, its sources, the new history,
        and the last answer as asked (for the filter chips and the Markdown download).

        The history keeps the numbers the reader saw, so "what does [2] say" refers to the
        card labelled [2]."""
        shown = renumber(answer)
        prefix = f"a{uuid.uuid4().hex[:8]}"
        mode = self.assistant.mode_label
        chat[-1] = {"role": "assistant", "content": render.answer_message(shown, prefix, mode)}
        history += [{"role": "user", "content": question}, assistant_turn(shown)]
        last = {"question": question, "answer": shown, "ignore": ignore}
        return chat, history, render.sources_panel(shown), "", last


def new_chat() -> tuple:
    """Forget the conversation: empty chat, history, sources and last answer."""
    return [], [], render.sources_panel(None), "", None


# --- index tab ------------------------------------------------------------------------------


class UploadHandler:
    """Checks uploads, starts the background index job, and streams its progress."""

    def __init__(self, assistant: Any, settings: Settings, runner: IndexJobRunner) -> None:
        self.assistant = assistant
        self.settings = settings
        self.runner = runner

    def stats_html(self) -> str:
        try:
            return render.stats_panel(self.assistant.stats())
        except PaperchatError as exc:
            return render.notice(str(exc), "error")

    def index_uploads(self, files: list[str] | None) -> Iterator[tuple[str, str]]:
        """Yield (status, stats) while the uploaded dumps are indexed.

        The first state is ours, in words, at once: Gradio's own pending timer (a bare "0.0s")
        is hidden for this event, so the reader never sees a number without a meaning."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            yield render.notice("Choose one or more .txt dump files first.", "error"), gr.skip()
            return
        started = time.monotonic()
        yield render.progress_panel("checking the uploaded files", 0, 0), gr.skip()
        check = check_uploads(paths, self.settings.ui.max_upload_mb)
        refused = "".join(render.notice(m, "error") for m in check.refused)
        if not check.accepted:
            yield refused, gr.skip()
            return
        stored = store_uploads(check.accepted, self.settings.index.home / "uploads")
        job = yield from self._start_when_free(stored, refused, started)
        state = self.runner.state_of(job)
        while state.running:
            elapsed = time.monotonic() - started
            panel = render.progress_panel(state.phase, state.done, state.total, elapsed)
            yield refused + panel, gr.skip()
            time.sleep(POLL_SECONDS)
            state = self.runner.state_of(job)
        yield refused + self._outcome(state, stored), self.stats_html()

    def _start_when_free(
        self, stored: list[Any], refused: str, started: float
    ) -> Generator[tuple[str, Any], None, int]:
        """Start the run for `stored` and return its number, first saying, while another
        upload's run goes on, that this one waits for it. The runner does one run at a time;
        the event itself is not limited (wire_index), because a queued event with its progress
        hidden showed nothing at all until the other run ended: a frozen page."""
        while (job := self.runner.start(stored)) is None:
            other = self.runner.snapshot()
            phase = f"waiting for another upload's index run to finish ({other.phase})"
            elapsed = time.monotonic() - started
            panel = render.progress_panel(phase, other.done, other.total, elapsed)
            yield refused + panel, gr.skip()
            time.sleep(POLL_SECONDS)
        return job

    def _outcome(self, state: Any, stored: list[Any]) -> str:
        if state.error:
            return render.notice(state.error, "error")
        names = {str(p): p.name for p in stored}
        if not state.report:
            return ""
        panel = render.index_report_panel(state.report, names)
        return panel + whats_new.arrivals_html(state.report)  # ends: "2 new papers arrived, ..."


# --- papers tab -----------------------------------------------------------------------------

NO_SELECTION = "Click a paper to see its abstract, details and similar papers."


def inert_cells(rows: list[list[str]]) -> list[list[str]]:
    """Escape every cell for the lists' HTML cells (see paper_list for why HTML)."""
    return [[render.escape_text(cell) for cell in row] for row in rows]


class PapersHandler:
    """Browse the catalogue: filter, sort, open a paper, and follow its similar papers."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def _papers(self) -> list[PaperHit]:
        try:
            return self.assistant.papers()
        except PaperchatError:
            return []

    def table(self, text: str | None, sort: str | None) -> tuple[Any, list[str], str]:
        """(paper list, ids of the shown rows, count line)."""
        papers = self._papers()
        shown = sort_papers(filter_papers(papers, text), sort or SORTS[0])
        rows = table_rows(shown)
        count = f"{len(shown)} of {len(papers)} papers"
        if len(rows) < len(shown):
            count += f" (first {len(rows)} shown; filter to narrow)"
        ids = [p.paper_id for p in shown[: len(rows)]]
        return gr.Dataset(samples=inert_cells(rows)), ids, render.notice(count)

    def orgs(self) -> Any:
        return gr.update(choices=org_choices(self._papers()))

    def keep_selection(self, ids: list[str], selected: str | None, similar_sort: str) -> tuple:
        """Close the detail pane when the filter hides the paper it shows (else leave it)."""
        if selected and selected in (ids or []):
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self.closed()

    def closed(self) -> tuple:
        """(detail, similar list, similar ids, selected id) with no paper open."""
        hidden = gr.Dataset(samples=[], visible=False)
        return render.notice(NO_SELECTION), hidden, [], None

    def select(self, ids: list[str], similar_sort: str, evt: gr.SelectData) -> tuple:
        """Open the clicked row of the paper list."""
        return self._open_row(ids, similar_sort, evt)

    def select_similar(self, ids: list[str], similar_sort: str, evt: gr.SelectData) -> tuple:
        """Open the clicked similar paper: the pane moves on to it and its own neighbours."""
        return self._open_row(ids, similar_sort, evt)

    def _open_row(self, ids: list[str], similar_sort: str, evt: gr.SelectData) -> tuple:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not ids or row is None or row >= len(ids):
            return self.closed()
        return self.open(ids[row], similar_sort)

    def open(self, paper_id: str, similar_sort: str | None = None) -> tuple:
        """(detail, similar list, similar ids, selected id) for one paper."""
        hit = {p.paper_id: p for p in self._papers()}.get(paper_id)
        if hit is None:
            detail = render.notice(f"No indexed paper has id {paper_id}.", "error")
            return detail, gr.Dataset(samples=[], visible=False), [], None
        try:
            similar = self._similar(paper_id, similar_sort)
        except PaperchatError as exc:
            return render.notice(str(exc), "error"), gr.skip(), [], paper_id
        rows = inert_cells(similar_rows(similar))
        listing = gr.Dataset(samples=rows, visible=bool(rows))
        return render.paper_detail(hit), listing, [s.paper_id for s in similar], paper_id

    def resort_similar(self, selected: str | None, similar_sort: str) -> tuple:
        """Re-sort the open paper's similar papers (recency, upvotes or similarity)."""
        if not selected:
            return gr.skip(), gr.skip()
        similar = self._similar(selected, similar_sort)
        rows = inert_cells(similar_rows(similar))
        return gr.Dataset(samples=rows), [s.paper_id for s in similar]

    def _similar(self, paper_id: str, similar_sort: str | None) -> list[PaperHit]:
        similar = [s for s in self.assistant.similar(paper_id, k=5) if s.paper_id != paper_id]
        return sort_similar(similar, similar_sort or SIMILAR_SORTS[0])

    def detail(self, paper_id: str) -> str:
        """The detail HTML of one paper, with its similar papers listed (for the API)."""
        detail, _, _, _ = self.open(paper_id)
        if not detail.startswith('<div class="pc-paper"'):
            return detail
        similar = self._similar(paper_id, None)
        return detail + render.similar_list(similar)


# --- layout: one builder per tab or panel -------------------------------------------------


@dataclass
class ChatParts:
    """The chat column's components, for the event wiring."""

    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    clear: gr.Button
    sources: gr.HTML
    history: gr.State
    tools: answer_tools.AnswerToolsParts | None = None


@dataclass
class FilterParts:
    """The filter widgets, in the order ChatHandler.respond takes them."""

    since: gr.DateTime
    until: gr.DateTime
    org: gr.Dropdown
    min_upvotes: gr.Textbox
    k: gr.Slider

    def inputs(self) -> list[Any]:
        return [self.since, self.until, self.org, self.min_upvotes, self.k]


@dataclass
class IndexParts:
    stats: gr.HTML
    refresh: gr.Button
    files: gr.File
    button: gr.Button
    status: gr.HTML


@dataclass
class PapersParts:
    text_filter: gr.Textbox
    sort: gr.Radio
    count: gr.HTML
    table: gr.Dataset
    shown_ids: gr.State
    detail: gr.HTML
    similar_sort: gr.Radio
    similar: gr.Dataset
    similar_ids: gr.State
    selected: gr.State

    def pane(self) -> list[Any]:
        """The outputs of PapersHandler.open/closed, in their order."""
        return [self.detail, self.similar, self.similar_ids, self.selected]


def header(mode_label: str) -> None:
    """Name, tagline and answer mode, so a reader knows at once whether an LLM writes."""
    gr.HTML(
        '<div class="pc-header"><span class="pc-logo">paperchat</span>'
        '<span class="pc-tagline">cited answers from your Daily Papers dumps</span>'
        f"{render.mode_badge(mode_label)}</div>"
    )


def chat_column() -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Button]:
    """The conversation and the question box. The box and its button sit in a row that
    wraps on narrow screens (style.CSS) instead of squeezing the box to a sliver."""
    chatbot = gr.Chatbot(
        show_label=False,
        elem_id="pc-chat",
        height=560,
        sanitize_html=True,
        latex_delimiters=[],
        buttons=[],
        feedback_options=None,
        layout="bubble",
        placeholder="Ask about the indexed papers, e.g. *Which papers improve video generation?*",
    )
    with gr.Row(elem_id="pc-ask-row"):
        question = gr.Textbox(
            show_label=False,
            placeholder="Ask a question about the papers…",
            elem_id="pc-question",
            scale=8,
            min_width=240,
            lines=1,
            max_lines=4,
        )
        send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="pc-ask")
    clear = gr.Button("New chat", size="sm", elem_id="pc-new-chat")
    return chatbot, question, send, clear


def filters_panel(settings: Settings) -> FilterParts:
    """Date range, organisation, minimum upvotes and number of sources. The dates are
    stacked: side by side in the narrow side column their calendar buttons were cut off.
    Min upvotes is a text box because a Number shows an unset value as 0, which reads as
    a filter that is on."""
    with gr.Accordion("Filters", open=False, elem_id="pc-filters"):
        since = gr.DateTime(
            include_time=False, type="string", label="From", elem_classes="pc-date-field"
        )
        until = gr.DateTime(
            include_time=False, type="string", label="Until", elem_classes="pc-date-field"
        )
        org = gr.Dropdown(choices=[], value=None, label="Organisation", allow_custom_value=True)
        with gr.Row():
            min_upvotes = gr.Textbox(
                value="", label="Min upvotes", placeholder="any", elem_id="pc-min-upvotes"
            )
            k = gr.Slider(1, 10, value=settings.retrieval.top_k, step=1, label="Sources")
    return FilterParts(since, until, org, min_upvotes, k)


def chat_tab(settings: Settings) -> tuple[ChatParts, FilterParts]:
    """The Chat tab: conversation on the left, filters and the latest sources on the right."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            chatbot, question, send, clear = chat_column()
            tools = answer_tools.answer_tools()
        with gr.Column(scale=2, min_width=300):
            filters = filters_panel(settings)
            sources = gr.HTML(render.sources_panel(None), elem_id="pc-sources")
    chat = ChatParts(chatbot, question, send, clear, sources, gr.State([]), tools)
    return chat, filters


def index_tab(settings: Settings) -> IndexParts:
    """The Index tab: what is indexed, and an upload that re-indexes in the background."""
    with gr.Row():
        with gr.Column():
            stats = gr.HTML(elem_id="pc-stats")
            refresh = gr.Button("Refresh stats", size="sm")
        with gr.Column():
            files = gr.File(
                file_count="multiple",
                file_types=[".txt"],
                type="filepath",
                label=f"Dump files (.txt, at most {settings.ui.max_upload_mb} MB each)",
                elem_id="pc-upload",
            )
            button = gr.Button("Index these dumps", variant="primary")
            status = gr.HTML(elem_id="pc-index-status")
    return IndexParts(stats, refresh, files, button, status)


def paper_list() -> gr.Dataset:
    """The papers as a clickable list (a Dataset: rows highlight and open on click), not a
    spreadsheet: a Dataframe showed cell cursors and selection handles on a read-only list.

    Cells are HTML holding escaped text (inert_cells): the textbox cells cut titles at 60
    characters, and a title is what the reader scans for."""
    return gr.Dataset(
        components=["html"] * len(COLUMNS),
        headers=COLUMNS,
        samples=[],
        layout="table",
        samples_per_page=PAGE_ROWS,
        elem_id="pc-papers",
        show_label=False,
    )


def detail_pane() -> tuple[gr.HTML, gr.Radio, gr.Dataset]:
    """The open paper, then its similar papers: clickable, sortable by recency or upvotes."""
    detail = gr.HTML(render.notice(NO_SELECTION), elem_id="pc-paper-detail")
    similar_sort = gr.Radio(
        list(SIMILAR_SORTS), value=SIMILAR_SORTS[0], label="Similar papers", elem_id="pc-sim-sort"
    )
    similar = gr.Dataset(
        components=["html"] * len(SIMILAR_COLUMNS),
        headers=SIMILAR_COLUMNS,
        samples=[],
        layout="table",
        elem_id="pc-similar",
        show_label=False,
        visible=False,
    )
    return detail, similar_sort, similar


def papers_tab() -> PapersParts:
    """The Papers tab: filter and sort on top, the list left, the open paper right."""
    with gr.Row():
        text_filter = gr.Textbox(
            label="Filter", placeholder="words in title, org or abstract", scale=3
        )
        sort = gr.Radio(list(SORTS), value=SORTS[0], label="Sort", scale=2)
    count = gr.HTML(elem_id="pc-papers-count")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            table = paper_list()
        with gr.Column(scale=2, min_width=300):
            detail, similar_sort, similar = detail_pane()
    return PapersParts(
        text_filter,
        sort,
        count,
        table,
        gr.State([]),
        detail,
        similar_sort,
        similar,
        gr.State([]),
        gr.State(None),
    )


PRIVATE = {"api_visibility": "private"}


def wire_chat(chat: ChatParts, filters: FilterParts, handler: ChatHandler) -> None:
    """Ask on Enter or the button (api /ask); New chat forgets the conversation. Each answer
    then refreshes its filter chips and Markdown download (api /answer_tools); unticking a chip
    asks again without that filter (api /reask)."""
    assert chat.tools is not None
    inputs = [chat.question, chat.chatbot, chat.history, *filters.inputs()]
    outputs = [chat.chatbot, chat.history, chat.sources, chat.question, chat.tools.last]
    triggers = [chat.question.submit, chat.send.click]
    asked = gr.on(triggers, handler.respond, inputs, outputs, api_name="ask")
    again = [chat.chatbot, chat.history, *filters.inputs()]
    answer_tools.wire(asked, chat.tools, again, outputs, handler)
    cleared = chat.clear.click(new_chat, None, outputs, api_name="new_chat", queue=False)
    tools = answer_tools.outputs(chat.tools)
    cleared.then(answer_tools.refresh, [chat.tools.last], tools, **PRIVATE)


def wire_papers(parts: PapersParts, handler: PapersHandler) -> dict[str, Any]:
    """Filter/sort refresh the list (closing a paper the filter hides); clicks open papers.
    Returns the list refresh as keyword arguments, for the index run to repeat."""
    refresh = {
        "fn": handler.table,
        "inputs": [parts.text_filter, parts.sort],
        "outputs": [parts.table, parts.shown_ids, parts.count],
    }
    keep = {
        "fn": handler.keep_selection,
        "inputs": [parts.shown_ids, parts.selected, parts.similar_sort],
        "outputs": parts.pane(),
    }
    triggers = [parts.text_filter.change, parts.sort.change]
    gr.on(triggers, **refresh, api_name="papers").then(**keep, **PRIVATE)
    open_inputs = [parts.similar_sort]
    parts.table.select(handler.select, [parts.shown_ids, *open_inputs], parts.pane(), **PRIVATE)
    parts.similar.select(
        handler.select_similar, [parts.similar_ids, *open_inputs], parts.pane(), **PRIVATE
    )
    parts.similar_sort.change(
        handler.resort_similar,
        [parts.selected, parts.similar_sort],
        [parts.similar, parts.similar_ids],
        **PRIVATE,
    )
    gr.api(handler.detail, api_name="paper")
    return {**refresh, "keep": keep}


def wire_index(parts: IndexParts, uploads: UploadHandler, after: list[dict[str, Any]]) -> None:
    """Upload -> background index run (one at a time), then refresh whatever `after` lists.

    Not limited to one event at a time: the runner already runs one index at a time, and an
    upload made during another's run must say that it waits (UploadHandler), which it cannot
    do from Gradio's queue with its progress display hidden."""
    event = parts.button.click(
        uploads.index_uploads,
        parts.files,
        [parts.status, parts.stats],
        api_name="index_uploads",
        concurrency_limit=None,
        show_progress="hidden",
    )
    for step in after:
        event = event.then(**step, **PRIVATE)
    parts.refresh.click(uploads.stats_html, None, parts.stats, api_name="stats")


def build_app(assistant: Any, settings: Settings | None = None) -> gr.Blocks:
    """The whole UI for one ResearchAssistant; queued so chats run side by side."""
    settings = settings or assistant.settings
    runner = IndexJobRunner(assistant)
    uploads = UploadHandler(assistant, settings, runner)
    papers = PapersHandler(assistant)
    with gr.Blocks(title="paperchat", fill_width=True) as demo:
        demo.index_runner = runner  # type: ignore[attr-defined]  # for shutdown and tests
        header(assistant.mode_label)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat, filters = chat_tab(settings)
            with gr.Tab("Index", id="index"):
                index = index_tab(settings)
            with gr.Tab("Papers", id="papers"):
                papers_parts = papers_tab()
                compare_parts = compare_panel.compare_panel()
            with gr.Tab("What's new", id="whats-new"):
                news = whats_new.whats_new_tab()
            with gr.Tab("Trends", id="trends") as trends_page:
                trend_parts = trends_tab.trends_tab()
        wire_chat(chat, filters, ChatHandler(assistant))
        refresh = wire_papers(papers_parts, papers)
        keep = refresh.pop("keep")
        orgs = {"fn": papers.orgs, "inputs": None, "outputs": filters.org}
        news_handler = whats_new.WhatsNewHandler(assistant)
        digest = whats_new.wire(news, news_handler)
        trends_tab.wire(trend_parts, trends_tab.TrendsHandler(assistant), trends_page)
        choices = compare_panel.wire(compare_parts, compare_panel.CompareHandler(assistant))
        wire_index(index, uploads, [refresh, keep, orgs, digest, choices])
        demo.load(**choices, **PRIVATE)
        demo.load(**digest, **PRIVATE)
        demo.load(**whats_new.saved_refresh(news, news_handler), **PRIVATE)
        demo.load(uploads.stats_html, None, index.stats, **PRIVATE)
        demo.load(**refresh, **PRIVATE)
        demo.load(**orgs, **PRIVATE)
    demo.queue(default_concurrency_limit=settings.ui.concurrency_limit)
    return demo


def warm_up(assistant: Any) -> None:
    """Load the embedding model and open the store now, not on the first user's question
    (the model loads lazily: embedding one word is what loads it)."""
    try:
        assistant.stats()
        embedder = getattr(assistant, "embedder", None)  # a stand-in assistant may have none
        if embedder is not None:
            embedder.embed_query("paperchat")
    except PaperchatError as exc:  # shown again in the Index tab; the UI still starts
        log.warning("index not ready: %s", exc)


def launch(
    assistant: Any,
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> gr.Blocks:
    """Serve the UI; bound to settings.ui.ui_host (127.0.0.1) and never shared publicly.

    Gradio runs quiet because its start-up hint "To create a public link, set share=True"
    invites the one thing paperchat deliberately never does; we print the local address
    ourselves (unless `quiet`), then block unless told not to."""
    settings = settings or assistant.settings
    warm_up(assistant)
    start_trimming(settings.ui.heap_trim_seconds)
    demo = build_app(assistant, settings)
    demo.launch(
        server_name=host or settings.ui.ui_host,
        server_port=port or settings.ui.ui_port,
        share=False,
        auth=load_auth(settings.ui.auth),
        auth_message="paperchat: sign in to ask about the indexed papers.",
        max_file_size=f"{settings.ui.max_upload_mb}mb",
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        theme=gr.themes.Soft(),
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        show_error=True,
    )
    if not quiet:
        print(f"paperchat UI on {demo.local_url} (this machine only; sharing is off)", flush=True)
    if not prevent_thread_lock:
        demo.block_thread()
    return demo

"""The Gradio app: layout and event wiring only; rag's ResearchAssistant does the work.

Three tabs: Chat (streaming cited answers, sources, filters), Index (stats, dump upload with a
background re-index) and Papers (browse, filter, similar papers). All HTML comes from
ui.render, which escapes everything that originates in a dump.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import gradio as gr

from rag.errors import InputError, PaperchatError
from rag.followup import assistant_turn
from rag.models import Answer, PaperHit
from rag.settings import Settings
from ui import render
from ui.auth import load_auth
from ui.index_jobs import IndexJobRunner
from ui.papers_table import COLUMNS, SORTS, filter_papers, org_choices, sort_papers, table_rows
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


def chat_options(since: Any, until: Any, org: Any, min_upvotes: Any, k: Any) -> dict[str, Any]:
    """Filter widgets -> keyword arguments of ResearchAssistant.stream."""
    return {
        "since": parse_day(since, "From"),
        "until": parse_day(until, "Until"),
        "org": (str(org).strip() or None) if org else None,
        "min_upvotes": int(min_upvotes) if min_upvotes not in (None, "") else None,
        "k": int(k) if k else None,
    }


class ChatHandler:
    """Streams one answer into the chat; keeps the plain-text history the chain needs."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

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
    ) -> Iterator[tuple]:
        """Yield (chat, history, sources panel, question box) as the answer streams in."""
        chat = list(chat or [])
        history = list(history or []) if chat else []  # an empty chat is a new conversation
        question = (question or "").strip()
        if not question:
            yield chat, history, gr.skip(), ""
            return
        chat += [
            {"role": "user", "content": render.escape_multiline(question)},
            {"role": "assistant", "content": render.streaming_message("")},
        ]
        yield chat, history, gr.skip(), ""
        prefix = f"a{uuid.uuid4().hex[:8]}"
        answer: Answer | None = None
        partial = ""
        try:
            options = chat_options(since, until, org, min_upvotes, k)
            for event in self.assistant.stream(question, history, **options):
                if isinstance(event, Answer):
                    answer = event
                else:
                    partial += event
                    chat[-1] = {"role": "assistant", "content": render.streaming_message(partial)}
                    yield chat, history, gr.skip(), ""
        except PaperchatError as exc:
            chat[-1] = {"role": "assistant", "content": render.error_message(str(exc))}
            yield chat, history, gr.skip(), ""
            return
        except Exception as exc:  # a chat must never end in a stack trace
            log.exception("answering failed")
            message = f"answering failed ({type(exc).__name__}: {exc})"
            chat[-1] = {"role": "assistant", "content": render.error_message(message)}
            yield chat, history, gr.skip(), ""
            return
        if answer is None:
            answer = Answer(text=partial)
        mode = self.assistant.mode_label
        chat[-1] = {"role": "assistant", "content": render.answer_message(answer, prefix, mode)}
        history += [
            {"role": "user", "content": question},
            assistant_turn(answer),  # keeps "[n] Title" lines so "the second one" resolves
        ]
        yield chat, history, render.sources_panel(answer), ""


def new_chat() -> tuple:
    """Forget the conversation: empty chat, history and sources."""
    return [], [], render.sources_panel(None), ""


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
        """Yield (status, stats) while the uploaded dumps are indexed."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            yield render.notice("Choose one or more .txt dump files first.", "error"), gr.skip()
            return
        check = check_uploads(paths, self.settings.max_upload_mb)
        refused = "".join(render.notice(m, "error") for m in check.refused)
        if not check.accepted:
            yield refused, gr.skip()
            return
        stored = store_uploads(check.accepted, self.settings.home / "uploads")
        if not self.runner.start(stored):
            busy = "Another index run is in progress; upload again when it has finished."
            yield refused + render.notice(busy, "error"), gr.skip()
            return
        state = self.runner.snapshot()
        while state.running:
            yield refused + render.progress_panel(state.phase, state.done, state.total), gr.skip()
            time.sleep(POLL_SECONDS)
            state = self.runner.snapshot()
        if state.error:
            yield refused + render.notice(state.error, "error"), self.stats_html()
            return
        names = {str(p): p.name for p in stored}
        report_html = render.index_report_panel(state.report, names) if state.report else ""
        yield refused + report_html, self.stats_html()


# --- papers tab -----------------------------------------------------------------------------


class PapersHandler:
    """Browse the catalogue: filter, sort, select a paper, show its similar papers."""

    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def _papers(self) -> list[PaperHit]:
        try:
            return self.assistant.papers()
        except PaperchatError:
            return []

    def table(self, text: str | None, sort: str | None) -> tuple[Any, list[str], str]:
        """(table, ids of the shown rows, count line)."""
        papers = self._papers()
        shown = sort_papers(filter_papers(papers, text), sort or SORTS[0])
        rows = table_rows(shown)
        count = f"{len(shown)} of {len(papers)} papers"
        if len(rows) < len(shown):
            count += f" (first {len(rows)} shown; filter to narrow)"
        return rows, [p.paper_id for p in shown[: len(rows)]], render.notice(count)

    def orgs(self) -> Any:
        return gr.update(choices=org_choices(self._papers()))

    def select(self, ids: list[str], evt: gr.SelectData) -> str:
        """Show the clicked paper with its similar papers."""
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not ids or row is None or row >= len(ids):
            return render.notice("Select a paper in the table.")
        return self.detail(ids[row])

    def detail(self, paper_id: str) -> str:
        papers = {p.paper_id: p for p in self._papers()}
        hit = papers.get(paper_id)
        if hit is None:
            return render.notice(f"No indexed paper has id {paper_id}.", "error")
        try:
            similar = self.assistant.similar(paper_id, k=5)
        except PaperchatError as exc:
            return render.notice(str(exc), "error")
        return render.paper_detail(hit, [s for s in similar if s.paper_id != paper_id])


# --- layout ---------------------------------------------------------------------------------


def build_app(assistant: Any, settings: Settings | None = None) -> gr.Blocks:
    """The whole UI for one ResearchAssistant; queued so chats run side by side."""
    settings = settings or assistant.settings
    chat_handler = ChatHandler(assistant)
    runner = IndexJobRunner(assistant)
    uploads = UploadHandler(assistant, settings, runner)
    papers = PapersHandler(assistant)

    with gr.Blocks(title="paperchat", fill_width=True) as demo:
        demo.index_runner = runner  # type: ignore[attr-defined]  # for shutdown and tests
        gr.HTML(
            '<div class="pc-header"><span class="pc-logo">paperchat</span>'
            '<span class="pc-tagline">cited answers from your Daily Papers dumps</span>'
            f"{render.mode_badge(assistant.mode_label)}</div>"
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            show_label=False,
                            elem_id="pc-chat",
                            height=560,
                            sanitize_html=True,
                            latex_delimiters=[],
                            buttons=[],
                            feedback_options=None,
                            layout="bubble",
                            placeholder="Ask about the indexed papers, e.g. "
                            "*Which papers improve video generation?*",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Ask a question about the papers…",
                                elem_id="pc-question",
                                scale=8,
                                lines=1,
                                max_lines=4,
                            )
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="pc-ask")
                        clear = gr.Button("New chat", size="sm", elem_id="pc-new-chat")
                    with gr.Column(scale=2):
                        with gr.Accordion("Filters", open=False, elem_id="pc-filters"):
                            with gr.Row():
                                since = gr.DateTime(include_time=False, type="string", label="From")
                                until = gr.DateTime(
                                    include_time=False, type="string", label="Until"
                                )
                            org = gr.Dropdown(
                                choices=[],
                                value=None,
                                label="Organisation",
                                allow_custom_value=True,
                            )
                            with gr.Row():
                                min_upvotes = gr.Number(
                                    value=None, label="Min upvotes", precision=0, minimum=0
                                )
                                k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Sources")
                        sources = gr.HTML(render.sources_panel(None), elem_id="pc-sources")
                history = gr.State([])

            with gr.Tab("Index", id="index"), gr.Row():
                with gr.Column():
                    stats = gr.HTML(elem_id="pc-stats")
                    refresh_stats = gr.Button("Refresh stats", size="sm")
                with gr.Column():
                    files = gr.File(
                        file_count="multiple",
                        file_types=[".txt"],
                        type="filepath",
                        label=f"Dump files (.txt, at most {settings.max_upload_mb} MB each)",
                        elem_id="pc-upload",
                    )
                    index_button = gr.Button("Index these dumps", variant="primary")
                    status = gr.HTML(elem_id="pc-index-status")

            with gr.Tab("Papers", id="papers"):
                with gr.Row():
                    text_filter = gr.Textbox(
                        label="Filter", placeholder="words in title, org or abstract", scale=3
                    )
                    sort = gr.Radio(list(SORTS), value=SORTS[0], label="Sort", scale=2)
                count = gr.HTML(elem_id="pc-papers-count")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        table = gr.Dataframe(
                            headers=COLUMNS,
                            datatype="str",
                            interactive=False,
                            wrap=True,
                            elem_id="pc-papers",
                            column_widths=["55%", "15%", "18%", "12%"],
                        )
                    with gr.Column(scale=2):
                        detail = gr.HTML(
                            render.notice("Click a paper to see its abstract and similar papers."),
                            elem_id="pc-paper-detail",
                        )
                shown_ids = gr.State([])

        chat_inputs = [question, chatbot, history, since, until, org, min_upvotes, k]
        chat_outputs = [chatbot, history, sources, question]
        gr.on(
            [question.submit, send.click],
            chat_handler.respond,
            chat_inputs,
            chat_outputs,
            api_name="ask",
        )
        clear.click(new_chat, None, chat_outputs, api_name="new_chat", queue=False)

        index_event = index_button.click(
            uploads.index_uploads,
            files,
            [status, stats],
            api_name="index_uploads",
            concurrency_limit=1,
            concurrency_id="index",
        )
        table_args = {"fn": papers.table, "inputs": [text_filter, sort]}
        table_outputs = [table, shown_ids, count]
        private = {"api_visibility": "private"}
        index_event.then(**table_args, outputs=table_outputs, **private).then(
            papers.orgs, None, org, **private
        )
        refresh_stats.click(uploads.stats_html, None, stats, api_name="stats")
        table_triggers = [text_filter.change, sort.change]
        gr.on(table_triggers, **table_args, outputs=table_outputs, api_name="papers")
        table.select(papers.select, shown_ids, detail, **private)
        gr.api(papers.detail, api_name="paper")

        demo.load(uploads.stats_html, None, stats, **private)
        demo.load(**table_args, outputs=table_outputs, **private)
        demo.load(papers.orgs, None, org, **private)

    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    return demo


def warm_up(assistant: Any) -> None:
    """Load the embedding model and open the store now, not on the first user's question."""
    try:
        assistant.stats()
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
    """Serve the UI; bound to settings.ui_host (127.0.0.1) and never shared publicly."""
    settings = settings or assistant.settings
    warm_up(assistant)
    demo = build_app(assistant, settings)
    demo.launch(
        server_name=host or settings.ui_host,
        server_port=port or settings.ui_port,
        share=False,
        auth=load_auth(settings.auth),
        auth_message="paperchat: sign in to ask about the indexed papers.",
        max_file_size=f"{settings.max_upload_mb}mb",
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        css=CSS,
        theme=gr.themes.Soft(),
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        show_error=True,
    )
    return demo

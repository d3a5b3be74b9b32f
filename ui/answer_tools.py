"""Under the chat: the filters taken from the last question, as removable chips, and the
last answer as a Markdown download.

A filter read from the question ("in 2025", "from ByteDance") silently hides papers, so the
reader must see it and be able to undo it: each one is a ticked chip, and unticking one asks
the same question again without it (the turn is replaced, not repeated). The download is
rag.export's Markdown of the answer as shown, with the same numbers as the cards.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.export import answer_markdown
from rag.models import Answer
from rag.question_reading import filter_chips

CHIPS_LABEL = "Filters from your question (untick one to ask again without it)"
EXPORT_NAME = "paperchat-answer.md"


@dataclass
class AnswerToolsParts:
    """The chips, the download button and the state they read: the last answer as asked."""

    chips: gr.CheckboxGroup
    download: gr.DownloadButton
    last: gr.State


def answer_tools() -> AnswerToolsParts:
    """Both hidden until there is an answer to show them for."""
    with gr.Row(elem_id="pc-answer-tools"):
        chips = gr.CheckboxGroup(
            choices=[],
            value=[],
            label=CHIPS_LABEL,
            visible=False,
            elem_id="pc-question-filters",
            scale=3,
        )
        download = gr.DownloadButton(
            "Download answer (Markdown)",
            value=None,
            visible=False,
            size="sm",
            elem_id="pc-download-answer",
            scale=1,
        )
    return AnswerToolsParts(chips, download, gr.State(None))


def last_answer(last: dict[str, Any] | None) -> Answer | None:
    """The Answer in the state (a dict after Gradio's deep copy, or an Answer)."""
    if not last or last.get("answer") is None:
        return None
    answer = last["answer"]
    return answer if isinstance(answer, Answer) else Answer.model_validate(answer)


def refresh(last: dict[str, Any] | None) -> tuple[Any, Any]:
    """(chips, download) for the last answer: a chip per filter taken from its question."""
    answer = last_answer(last)
    if answer is None:
        return gr.update(choices=[], value=[], visible=False), gr.update(value=None, visible=False)
    chips = filter_chips(answer.question_filters, answer.sort)
    chip_update = gr.update(
        choices=chips, value=[kind for _, kind in chips], visible=bool(chips), label=CHIPS_LABEL
    )
    return chip_update, gr.update(value=export_file(answer), visible=True)


def export_file(answer: Answer) -> str:
    """The answer's Markdown in a fresh temporary file (Gradio serves files from there)."""
    folder = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
    path = folder / EXPORT_NAME
    path.write_text(answer_markdown(answer), encoding="utf-8")
    return str(path)


def ignored_after(ticked: list[str] | None, last: dict[str, Any] | None) -> list[str]:
    """The kinds to leave out next time: those left out before plus the unticked chips."""
    answer = last_answer(last)
    shown = filter_chips(answer.question_filters, answer.sort) if answer else []
    kept = set(ticked or [])
    dropped = [kind for _, kind in shown if kind not in kept]
    before = list((last or {}).get("ignore") or [])
    return list(dict.fromkeys([*before, *dropped]))


class ReAsk:
    """Asks the last question again without the unticked filters, replacing its turn."""

    def __init__(self, chat_handler: Any) -> None:
        self.chat_handler = chat_handler

    def reask(
        self,
        ticked: list[str] | None,
        last: dict[str, Any] | None,
        chat: list[dict] | None,
        history: list[dict] | None,
        since: Any = None,
        until: Any = None,
        org: Any = None,
        min_upvotes: Any = None,
        k: Any = None,
    ) -> Iterator[tuple]:
        """Yield what ChatHandler.respond yields (chat, history, sources, box, last). The
        filter widgets are named parameters with defaults, as in respond, so an API client
        may leave them out."""
        if not last or not last.get("question"):
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        ignore = ignored_after(ticked, last)
        chat = list(chat or [])[:-2]  # the turn being replaced: its question and its answer
        history = list(history or [])[:-2] if chat else []
        filters = (since, until, org, min_upvotes, k)
        yield from self.chat_handler.respond(last["question"], chat, history, *filters, ignore)


def outputs(parts: AnswerToolsParts) -> list[Any]:
    """What `refresh` updates."""
    return [parts.chips, parts.download]


def wire(
    event: Any, parts: AnswerToolsParts, reask_inputs: list[Any], answer: list[Any], handler: Any
) -> None:
    """After each answer refresh the chips and the download; an unticked chip re-asks, with
    the same `answer` outputs as the ask event."""
    tools = outputs(parts)
    event.then(refresh, [parts.last], tools, api_name="answer_tools")
    again = parts.chips.input(
        ReAsk(handler).reask, [parts.chips, parts.last, *reask_inputs], answer, api_name="reask"
    )
    again.then(refresh, [parts.last], tools, api_visibility="private")

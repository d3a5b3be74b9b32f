"""Compare, in the Papers tab: pick 2-4 papers, get the aspects x papers table (rag.compare).

Each cell is the paper's own sentence with its [n], so a reader can check it against the card
below the table. Everything from a dump is escaped (ui.render); a bad pick (one paper, five) is
a message in the panel, not an exception in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.compare import MAX_PAPERS, NOT_STATED, Comparison
from rag.errors import PaperchatError
from ui import render

PRIVATE = {"api_visibility": "private"}


@dataclass
class CompareParts:
    papers: gr.Dropdown
    button: gr.Button
    table: gr.HTML


def compare_panel() -> CompareParts:
    with gr.Accordion("Compare papers", open=False, elem_id="pc-compare"):
        with gr.Row():
            papers = gr.Dropdown(
                [],
                multiselect=True,
                max_choices=MAX_PAPERS,
                # a typed start of a title works too (rag.compare.resolve)
                allow_custom_value=True,
                label=f"Papers to compare (2 to {MAX_PAPERS})",
                scale=4,
            )
            button = gr.Button("Compare", scale=1, elem_id="pc-compare-button")
        table = gr.HTML(elem_id="pc-compare-table")
    return CompareParts(papers, button, table)


class CompareHandler:
    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def choices(self) -> Any:
        titles = sorted({p.title for p in self.assistant.papers()}, key=str.casefold)
        return gr.update(choices=titles)

    def compare(self, titles: list[str] | None) -> str:
        try:
            return comparison_html(self.assistant.compare(list(titles or [])))
        except PaperchatError as exc:
            return f'<div class="pc-warn">{render.escape_text(exc)}</div>'


def comparison_html(table: Comparison) -> str:
    """Aspects as rows, papers as columns, then the papers' cards (for the [n] to point at)."""
    head = "".join(f"<th>[{p.number}] {render.escape_text(p.title)}</th>" for p in table.papers)
    rows = []
    for aspect in table.aspects:
        cells = "".join(
            f"<td>{render.escape_text(c.sentence)} [{c.number}]</td>"
            if c.sentence
            else f'<td class="pc-not-stated">{NOT_STATED}</td>'
            for c in table.rows.get(aspect, [])
        )
        rows.append(f"<tr><th>{render.escape_text(aspect)}</th>{cells}</tr>")
    # Compared papers were chosen by the user, not retrieved: they have no relevance to show.
    cards = "".join(render.source_card(p, "compare", scored=False) for p in table.papers)
    return (
        f'<table class="pc-compare"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
        f'<div class="pc-sources">{cards}</div>'
    )


def wire(parts: CompareParts, handler: CompareHandler) -> dict[str, Any]:
    """The button compares (api /compare); returns the step that refreshes the choices, for
    the page load and each index run to repeat."""
    parts.button.click(handler.compare, parts.papers, parts.table, api_name="compare")
    return {"fn": handler.choices, "inputs": None, "outputs": parts.papers}

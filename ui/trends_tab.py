"""The "Trends" tab: a line plot of topic shares per capture month, and the rising topics.

The plot is Gradio's own LinePlot over a pandas DataFrame (one row per topic and month), so
a reader hovers a point to read the share, and it shows the topics rising fastest
(rag.trends; the largest topics when none is rising) rather than a dozen tangled lines. A
radio switches between the share of papers and the share of upvotes. Trends are computed
when the tab is opened (and cached until the next index run), not on every page load, since
at 40,000 papers they take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.errors import PaperchatError
from rag.trends import Exemplar, Trends, TrendTopic
from ui import render

MEASURES = {"Share of papers": "paper_share", "Share of upvotes": "upvote_share"}
PLOTTED = 5


@dataclass
class TrendsParts:
    measure: gr.Radio
    refresh: gr.Button
    plot: gr.LinePlot
    rising: gr.HTML

    def outputs(self) -> list[Any]:
        return [self.plot, self.rising]


def plotted(trends: Trends) -> list[TrendTopic]:
    """The rising topics, or the largest ones when nothing rises."""
    return trends.rising_topics()[:PLOTTED] or trends.topics[:PLOTTED]


def frame(trends: Trends, measure: str) -> Any:
    """A DataFrame (month "YYYY-MM", topic, share in %) of the plotted topics. The month is
    text, so the axis shows one label per capture month (a date axis labelled every fortnight
    and put months without captures between them)."""
    import pandas as pd

    column = MEASURES.get(measure, "paper_share")
    labels = {t.label for t in plotted(trends)}
    rows = [
        {
            "month": row["month"],
            "topic": row["topic"],
            "share (%)": round(100 * row[column], 1),
            "papers": row["papers"],
        }
        for row in trends.rows()
        if row["topic"] in labels and row[column] is not None
    ]
    return pd.DataFrame(rows, columns=["month", "topic", "share (%)", "papers"])


def rising_html(trends: Trends) -> str:
    """The rising topics, fastest first, each with its exemplar papers."""
    if not trends.months:
        return '<div class="pc-empty">Nothing dated is indexed yet: no trends to show.</div>'
    rising = trends.rising_topics()
    span = f"{trends.months[0]} … {trends.months[-1]}"
    head = (
        f'<div class="pc-digest-scope">{render.plural(len(trends.months), "capture month")} '
        f"({render.escape_text(span)}), {render.plural(sum(trends.month_papers), 'paper')} in "
        f"{render.plural(len(trends.topics), 'topic')}; momentum = change in share of papers, "
        f"points per month over the last {trends.window} capture months</div>"
    )
    if not rising:
        return head + '<div class="pc-empty">No topic is gaining share.</div>'
    items = "".join(_topic_item(n, t) for n, t in enumerate(rising, start=1))
    return (
        f'{head}<div class="pc-sources-head">Rising fastest</div><ol class="pc-rising">{items}</ol>'
    )


def _topic_item(number: int, topic: TrendTopic) -> str:
    upvotes = f", upvotes {topic.upvote_momentum:+.2f}" if topic.upvote_momentum is not None else ""
    examples = "".join(_exemplar(e) for e in topic.exemplars)
    return (
        f'<li><span class="pc-topic-head">{render.escape_text(topic.label)}</span> '
        f"<small>(papers {topic.momentum:+.2f}{upvotes} pts/month · "
        f"{render.plural(topic.papers, 'paper')})</small><ul>{examples}</ul></li>"
    )


def _exemplar(example: Exemplar) -> str:
    details = " · ".join(
        [render.escape_text(example.month), *render.paper_meta(None, None, example.upvotes)]
    )
    return (
        f'<li><span class="pc-title">{render.escape_text(example.title)}</span> '
        f"<small>({details})</small></li>"
    )


class TrendsHandler:
    def __init__(self, assistant: Any) -> None:
        self.assistant = assistant

    def show(self, measure: str | None = None) -> tuple[Any, str]:
        """(plot, rising topics HTML)."""
        try:
            trends = self.assistant.trends()
        except PaperchatError as exc:
            return gr.skip(), render.notice(str(exc), "error")
        return frame(trends, measure or next(iter(MEASURES))), rising_html(trends)


def trends_tab() -> TrendsParts:
    with gr.Row():
        measure = gr.Radio(list(MEASURES), value=next(iter(MEASURES)), label="Plot", scale=3)
        refresh = gr.Button("Refresh", size="sm", scale=1, min_width=80)
    plot = gr.LinePlot(
        x="month",
        y="share (%)",
        color="topic",
        title="Topic share per capture month",
        x_title="capture month",
        y_title="share (%)",
        tooltip=["topic", "month", "share (%)", "papers"],
        height=380,
        elem_id="pc-trends-plot",
    )
    rising = gr.HTML(elem_id="pc-rising")
    return TrendsParts(measure, refresh, plot, rising)


def wire(parts: TrendsParts, handler: TrendsHandler, tab: gr.Tab) -> dict[str, Any]:
    """Opening the tab, Refresh or a new measure redraw (api /trends); returns the redraw."""
    redraw = {"fn": handler.show, "inputs": [parts.measure], "outputs": parts.outputs()}
    gr.on([tab.select, parts.refresh.click, parts.measure.change], **redraw, api_name="trends")
    return redraw

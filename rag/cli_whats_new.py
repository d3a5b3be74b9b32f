"""`paperchat digest`, `paperchat trends` and `paperchat saved add|list|remove`.

They join rag.cli's `app` (imported at the end of rag.cli, so `paperchat --help` lists them)
and follow its rules: options checked before anything heavy loads, a PaperchatError becomes
one `error:` line, `--json` prints the result as JSON. `saved` reads and writes only its
JSON file, so it answers without loading the embedding model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli import (
    HomeOption,
    JsonOption,
    app,
    load_settings,
    make_assistant,
    parse_date,
    user_errors,
)
from rag.errors import InputError

if TYPE_CHECKING:
    from rag.digest import Digest
    from rag.saved import SavedQuestion
    from rag.trends import Trends

saved_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Saved questions: each index run reports the new papers relevant to them.",
)
app.add_typer(saved_app, name="saved")


@app.command()
def digest(
    since: Annotated[
        str | None,
        typer.Option(
            help="Papers first captured on or after YYYY-MM-DD (default: the papers the last "
            "index run that added any added)."
        ),
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the digest as Markdown with references.")
    ] = False,
    extractive: Annotated[
        bool,
        typer.Option(
            "--extractive",
            help="Quote each abstract's contribution sentence even when an LLM is configured.",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """What's new: the new papers in topics, each with its cited contribution sentence (written
    by the LLM when one is configured)."""
    with user_errors():
        if as_json and markdown:
            raise InputError("--json cannot be combined with --markdown.")
        settings = load_settings(home)
        day = parse_date(since, "--since")
        result = make_assistant(settings).digest(day, extractive=extractive)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    elif markdown:
        from rag.digest import digest_markdown

        typer.echo(digest_markdown(result), nl=False)
    else:
        typer.echo(format_digest(result))


def format_digest(result: Digest) -> str:
    """The digest for a terminal: topics, their papers (numbered), the saved questions."""
    lines = [f"What's new: {result.headline()} — {result.scope}"]
    if result.papers:
        lines.append(f"({result.summaries})")
    by_topic: dict[str, list] = {}
    for paper in result.papers:
        by_topic.setdefault(paper.topic, []).append(paper)
    for number, topic in enumerate(result.topics, start=1):
        count = len(topic.papers)
        lines += ["", f"{number}. {topic.label} ({count} paper{'s' * (count != 1)})"]
        for paper in by_topic.get(topic.label, []):
            details = [paper.published, paper.org]
            if paper.upvotes is not None:
                details.append(f"{paper.upvotes} upvote{'s' * (paper.upvotes != 1)}")
            shown = ", ".join(d for d in details if d)
            lines.append(f"  [{paper.number}] {paper.title}" + (f" ({shown})" if shown else ""))
            lines.append(f"      {paper.summary}")
    if result.saved:
        lines += ["", "Saved questions:"]
        numbers = {p.paper_id: p.number for p in result.papers}
        for match in result.saved:
            found = "; ".join(f"[{numbers[p.paper_id]}] {p.title}" for p in match.papers)
            lines.append(f'  "{match.question}": {found or "no new paper is relevant enough"}')
    return "\n".join(lines)


@app.command()
def trends(
    topics: Annotated[int, typer.Option(min=1, max=50, help="At most this many topics.")] = 12,
    window: Annotated[
        int, typer.Option(min=2, help="Capture months the momentum is measured over.")
    ] = 6,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Topic momentum over capture months: shares of papers and upvotes, topics rising."""
    with user_errors():
        result = make_assistant(load_settings(home)).trends(max_topics=topics, window=window)
    typer.echo(result.model_dump_json(indent=2) if as_json else format_trends(result))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def format_trends(result: Trends) -> str:
    """A table of paper shares per month, then the topics rising fastest with exemplars."""
    if not result.months:
        return "no dated papers indexed: nothing to show trends of"
    total = sum(result.month_papers)
    lines = [
        f"Topic momentum over {len(result.months)} capture months "
        f"({result.months[0]} .. {result.months[-1]}), {total} papers in "
        f"{len(result.topics)} topics; share of each month's papers:",
        "",
    ]
    width = min(max(len(t.label) for t in result.topics), 44)
    head = " ".join(f"{m:>8}" for m in result.months)
    lines.append(f"{'topic':<{width}} {head}  momentum")
    lines.append(
        f"{'(papers that month)':<{width}} " + " ".join(f"{n:>8}" for n in result.month_papers)
    )
    for topic in result.topics:
        cells = " ".join(f"{_percent(s.paper_share):>8}" for s in topic.months)
        lines.append(f"{topic.label[:width]:<{width}} {cells}  {topic.momentum:+.2f}")
    lines += [
        "",
        "momentum: change in share of papers, points per month (last "
        f"{result.window} capture months)",
        "",
    ]
    lines += _rising_lines(result)
    return "\n".join(lines)


def _rising_lines(result: Trends) -> list[str]:
    rising = result.rising_topics()
    if not rising:
        return ["No topic is gaining share."]
    lines = ["Rising fastest:"]
    for number, topic in enumerate(rising, start=1):
        upvotes = (
            f", upvotes {topic.upvote_momentum:+.2f}" if topic.upvote_momentum is not None else ""
        )
        lines.append(f"  {number}. {topic.label} (papers {topic.momentum:+.2f}{upvotes} pts/month)")
        for example in topic.exemplars:
            votes = f", {example.upvotes} upvotes" if example.upvotes is not None else ""
            lines.append(f"       - {example.title} ({example.month}{votes})")
    return lines


# --- saved questions -------------------------------------------------------------------------


def _saved(home):
    from rag.saved import SavedQuestions

    return SavedQuestions(load_settings(home).index.home)


def _print_saved(questions: list[SavedQuestion], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([q.model_dump() for q in questions], indent=2, ensure_ascii=False))
        return
    if not questions:
        typer.echo('no saved questions (add one: paperchat saved add "QUESTION")')
    for number, question in enumerate(questions, start=1):
        typer.echo(f"{number}. [{question.id}] {question.question}")


def _print_entry(entry: SavedQuestion, done: str, as_json: bool) -> None:
    """One saved question after `add` or `remove`: JSON, or "<done> [id] question"."""
    if as_json:
        typer.echo(entry.model_dump_json(indent=2))
    else:
        typer.echo(f"{done} [{entry.id}] {entry.question}")


@saved_app.command("add")
def saved_add(
    question: Annotated[str, typer.Argument(help="The question to keep asking of new papers.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a question; each index run then reports the new papers relevant to it."""
    with user_errors():
        entry = _saved(home).add(question)
    _print_entry(entry, "saved", as_json)


@saved_app.command("list")
def saved_list(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List the saved questions with their numbers and ids."""
    with user_errors():
        questions = _saved(home).list()
    _print_saved(questions, as_json)


@saved_app.command("remove")
def saved_remove(
    key: Annotated[str, typer.Argument(help="Its number in `saved list`, its id, or its text.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove a saved question."""
    with user_errors():
        entry = _saved(home).remove(key)
    _print_entry(entry, "removed", as_json)

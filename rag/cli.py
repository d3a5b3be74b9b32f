"""`paperchat`: index dumps, ask questions, open the UI, show stats, evaluate retrieval.

Every command turns a PaperchatError into one line on stderr and a non-zero exit code,
because a researcher running this daily should read what to fix, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from tqdm import tqdm

from rag.errors import InputError, PaperchatError
from rag.models import Answer, IndexReport
from rag.settings import Settings, describe_invalid

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions about saved Hugging Face Daily Papers dumps, with cited answers.",
)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $PAPERCHAT_HOME or ~/.paperchat)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def main() -> None:
    """Console-script entry point."""
    app()


@contextmanager
def user_errors() -> Iterator[None]:
    """Print user-actionable errors as one line and exit 2 instead of dumping a traceback."""
    try:
        yield
    except PaperchatError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        raise typer.Exit(130) from None


def make_assistant(home: Path | None, **overrides: Any):
    from rag.assistant import ResearchAssistant

    try:
        settings = Settings(home=home, **overrides) if home else Settings(**overrides)
    except ValidationError as exc:
        raise InputError(describe_invalid(exc)) from None
    return ResearchAssistant(settings)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date in the form YYYY-MM-DD.") from None


class ProgressBars:
    """One tqdm bar per indexing phase (papers, chunks, ...), fed by the index progress hook."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, tqdm] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(phase)
        if bar is None:
            bar = self.bars[phase] = tqdm(total=total, desc=phase, unit="", file=sys.stderr)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:  # freeze a finished phase so its clock stops while others run
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def run_index(assistant, paths: list[Path], as_json: bool, **options: Any) -> IndexReport:
    bars = ProgressBars(enabled=not as_json)
    try:
        report = assistant.index(paths, progress=bars, **options)
    finally:
        bars.close()
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(report.summary())
    return report


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Dump files or folders of them.")
    ] = None,
    captured: Annotated[
        str | None,
        typer.Option(help="Capture date YYYY-MM-DD of these dumps (default: inferred)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option(help="Remove indexed papers that are in none of these dumps.")
    ] = False,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed everything (after changing the embedding model).")
    ] = False,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait if another index run holds the data dir.")
    ] = 0,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Index dump files (new papers added, changed ones updated, nothing embedded twice)."""
    with user_errors():
        if not paths and not rebuild:
            raise InputError("Give one or more dump files or folders to index.")
        assistant = make_assistant(home)
        report = run_index(
            assistant,
            paths or [],
            as_json,
            captured=parse_date(captured, "--captured"),
            prune=prune,
            rebuild=rebuild,
            lock_timeout=wait,
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question about the indexed papers.")],
    k: Annotated[int | None, typer.Option("--k", min=1, help="Number of sources.")] = None,
    since: Annotated[str | None, typer.Option(help="Published on/after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Published on/before YYYY-MM-DD.")] = None,
    org: Annotated[str | None, typer.Option(help="Only papers from this organisation.")] = None,
    min_upvotes: Annotated[
        int | None, typer.Option(min=0, help="Only papers with this many.")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the indexed papers, citing them."""
    with user_errors():
        assistant = make_assistant(home)
        answer = assistant.ask(
            question,
            k=k,
            since=parse_date(since, "--since"),
            until=parse_date(until, "--until"),
            org=org,
            min_upvotes=min_upvotes,
        )
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
    else:
        typer.echo(format_answer(answer, assistant.mode_label))


def format_answer(answer: Answer, mode_label: str) -> str:
    """Answer, numbered sources and timings, for a terminal."""
    lines = [answer.text, ""]
    if answer.uncited:
        lines.append("warning: this answer cites no source; check it against the papers below.")
    if answer.sources:
        lines.append("Closest papers (none relevant enough):" if answer.abstained else "Sources:")
        for s in answer.sources:
            extra = ", ".join(
                x for x in (s.published, s.org, f"{s.upvotes} upvotes" if s.upvotes else None) if x
            )
            lines.append(f"  [{s.number}] {s.title}" + (f" ({extra})" if extra else ""))
    t = answer.timings
    lines.append("")
    lines.append(
        f"mode: {mode_label} | retrieve {t.get('retrieve', 0):.2f}s"
        f" | generate {t.get('generate', 0):.2f}s"
    )
    return "\n".join(lines)


@app.command()
def stats(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show what is indexed: papers, chunks, dumps, dates, model, store."""
    with user_errors():
        st = make_assistant(home).stats()
    if as_json:
        typer.echo(st.model_dump_json(indent=2))
        return
    dates = f"{st.date_range[0]} .. {st.date_range[1]}" if st.date_range else "-"
    typer.echo(
        "\n".join(
            [
                f"papers:          {st.papers}",
                f"chunks:          {st.chunks}",
                f"dumps seen:      {len(st.dumps)}",
                *[
                    f"  - {d.get('name')} (captured {d.get('captured')}"
                    + (", inferred)" if d.get("captured_inferred") else ")")
                    for d in st.dumps
                ],
                f"published:       {dates}",
                f"embedding model: {st.embedding_model} ({st.embedding_dimension} dims)",
                f"store:           {st.store}",
                f"answers:         {st.mode}",
            ]
        )
    )


@app.command("eval")
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Question set (JSON lines).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure retrieval (Recall@k, MRR) and abstention on a question set, vs dense-only."""
    from rag.evaluation import format_report

    with user_errors():
        report = make_assistant(home).evaluate(questions)
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    home: HomeOption = None,
) -> None:
    """Open the chat UI in the browser (local only unless --host says otherwise)."""
    from ui.app import launch

    with user_errors():
        assistant = make_assistant(home)
        launch(assistant, host=host, port=port)


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help="Folder where new dump files arrive.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep running; index dump files as they appear in or change under FOLDER."""
    from watchfiles import Change
    from watchfiles import watch as watch_changes

    with user_errors():
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        assistant = make_assistant(home)
        if any(folder.rglob("*.txt")):
            run_index(assistant, [folder], as_json)
        typer.echo(f"watching {folder} for dump files (Ctrl-C to stop)", err=True)
        is_dump: Callable[[Change, str], bool] = lambda change, path: (  # noqa: E731
            change != Change.deleted and path.endswith(".txt")
        )
        for changes in watch_changes(folder, watch_filter=is_dump):
            paths = sorted({Path(p) for _, p in changes if Path(p).is_file()})
            if paths:
                try:
                    run_index(assistant, paths, as_json, lock_timeout=60)
                except PaperchatError as exc:  # one bad batch must not stop the watcher
                    typer.secho(f"error: {exc}", err=True, fg="red")


if __name__ == "__main__":
    main()

"""`paperchat`: index dumps, ask questions, show stats, evaluate retrieval (`ui` is added by
ui.launcher, the console script, so that rag never imports ui).

Every command turns a PaperchatError into one line on stderr and a non-zero exit code,
because a researcher running this daily should read what to fix, not a traceback.

The module imports only typer and the error types at the top: everything heavy (the
assistant, LangChain, Chroma, torch and the embedding model) is imported inside the command
that needs it, after the options, the settings and the paths have been checked. So `--help`,
a usage error, a bad setting, a missing path and `stats` answer in well under two seconds
(benchmarks/bench_cli.py; tests/test_cli_startup.py keeps torch out of them).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.errors import InputError, PaperchatError

if TYPE_CHECKING:
    from tqdm import tqdm

    from rag.assistant import ResearchAssistant
    from rag.models import Answer, IndexReport
    from rag.settings import Settings

Progress = Callable[[str, int, int], None]
LOG_PROGRESS_EVERY_S = 10.0  # without a terminal: one progress line per phase this often

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # Plain click help: typer's rich panels show every flag as `--json <bool>`, as if it took
    # a value, and importing rich costs time on every command.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
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


def load_settings(home: Path | None) -> Settings:
    """Settings from --home, the environment and .env; an invalid value is an InputError that
    names the variable, raised before anything heavy is imported."""
    from pydantic import ValidationError

    from rag.settings import Settings, describe_invalid

    try:
        return Settings(home=home) if home else Settings()
    except ValidationError as exc:
        raise InputError(describe_invalid(exc)) from None


def make_assistant(settings: Settings) -> ResearchAssistant:
    """The assistant (its model and store still load lazily, on first use)."""
    from rag.assistant import ResearchAssistant

    return ResearchAssistant(settings)


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date in the form YYYY-MM-DD.") from None


class ProgressBars:
    """One tqdm bar per indexing phase (papers, chunks, ...), for a terminal.

    Updates go through tqdm's own rate limit (mininterval), so a phase of thousands of papers
    redraws a few times a second, not once per paper."""

    def __init__(self) -> None:
        self.bars: dict[str, tqdm] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(phase)
        if bar is None:
            bar = self.bars[phase] = tqdm(
                total=total, desc=phase, unit="", file=sys.stderr, mininterval=0.5
            )
        if bar.disable:  # closed: a finished phase stays frozen
            return
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:  # freeze a finished phase so its clock stops while others run
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


class ProgressLines:
    """Progress for a log file or a pipe: plain lines, no carriage returns.

    One line when a phase starts, one when it ends, and one every LOG_PROGRESS_EVERY_S in
    between, so `paperchat index big/ > index.log 2>&1` stays readable (tqdm would write one
    `\r` update per paper into the file)."""

    def __init__(self, every_s: float = LOG_PROGRESS_EVERY_S) -> None:
        self.every_s = every_s
        self.last: dict[str, float] = {}
        self.finished: set[str] = set()

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase in self.finished:
            return
        now = time.monotonic()
        if done >= total:
            self.finished.add(phase)
        elif phase in self.last and now - self.last[phase] < self.every_s:
            return
        self.last[phase] = now
        print(f"{phase}: {done}/{total}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to clean up; here so both kinds of progress are closed the same way."""


def make_progress(enabled: bool) -> ProgressBars | ProgressLines | None:
    """Bars on a terminal, plain lines otherwise, nothing when `enabled` is False (--json)."""
    if not enabled:
        return None
    return ProgressBars() if sys.stderr.isatty() else ProgressLines()


def run_index(
    assistant: ResearchAssistant, paths: list[Path], as_json: bool, **options: Any
) -> IndexReport:
    progress = make_progress(enabled=not as_json)
    try:
        report = assistant.index(paths, progress=progress, **options)
    finally:
        if progress is not None:
            progress.close()
    print_report(report, as_json)
    return report


def print_report(report: IndexReport, as_json: bool) -> None:
    typer.echo(report.model_dump_json(indent=2) if as_json else report.summary())


def preflight(paths: list[Path], captured: date | None, settings: Settings) -> IndexReport | None:
    """Check the paths and parse the dumps before the embedding model and the store load.

    When no file can be indexed (missing paths, unreadable or malformed dumps), return the
    failure report: there is nothing to embed, so the user hears about it in a second instead
    of after the model has loaded. Otherwise warn about each failed file now and return None;
    the index run reports every file again (parsing is milliseconds next to embedding)."""
    from rag.assistant import expand_paths
    from rag.dump_parser import parse_dump
    from rag.models import IndexReport

    started = time.perf_counter()
    files, issues = expand_paths(paths)
    for file in files:
        limit = settings.index.max_abstract_chars
        parsed = parse_dump(file, captured=captured, max_abstract_chars=limit)
        issues.extend(i for i in parsed.issues if i.level == "error")
    report = IndexReport(files=[str(f) for f in files], errors=issues)
    if any(str(f) not in report.failed_files for f in files):
        for issue in issues:  # the run goes ahead with the other files
            typer.echo(str(issue), err=True)
        return None
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def unchanged_report(
    paths: list[Path], captured: date | None, settings: Settings
) -> IndexReport | None:
    """For --if-changed: a no-op report when every file is already indexed byte for byte (same
    name and sha256 in the catalog, same capture date if given, no interrupted run to finish);
    None when anything may need work. Reads only the catalog, so run.sh's re-index of the
    sample dumps costs a fraction of a second instead of loading the embedding model."""
    from rag.assistant import expand_paths
    from rag.models import IndexReport
    from vectorstore.catalog import Catalog, DumpRecord

    files, issues = expand_paths(paths)
    catalog = Catalog.in_home(settings.index.home)
    if issues or not files or catalog.reconcile_pending:
        return None
    known = {d.name: d for d in catalog.dumps()}
    for file in files:
        record = DumpRecord.from_file(file, captured, False, 0)
        stored = known.get(record.name)
        if stored is None or stored.sha256 != record.sha256:
            return None
        if captured and stored.captured != record.captured:
            return None
    names = {f.name for f in files}
    papers = sum(1 for d in catalog.papers().values() if names & set(d.metadata.get("dumps", [])))
    return IndexReport(files=[str(f) for f in files], papers_unchanged=papers)


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
    if_changed: Annotated[
        bool,
        typer.Option(
            "--if-changed",
            help="Do nothing, without loading the model, when every file is already indexed "
            "unchanged. Does not notice changed settings or a new paperchat release.",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Index dump files: only new or changed papers get embedded."""
    with user_errors():
        if not paths and not rebuild:
            raise InputError("Give one or more dump files or folders to index.")
        settings = load_settings(home)
        captured_on = parse_date(captured, "--captured")
        failed = None if rebuild else preflight(paths or [], captured_on, settings)
        if failed is not None:
            print_report(failed, as_json)
            raise typer.Exit(1)
        skip = if_changed and not (prune or rebuild)
        if skip and (same := unchanged_report(paths or [], captured_on, settings)):
            print_report(same, as_json)
            return
        report = run_index(
            make_assistant(settings),
            paths or [],
            as_json,
            captured=captured_on,
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
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the answer as Markdown with references.")
    ] = False,
    bibtex: Annotated[
        bool, typer.Option("--bibtex", help="Print a BibTeX @misc entry per cited paper.")
    ] = False,
    no_question_filters: Annotated[
        bool,
        typer.Option(
            "--no-question-filters",
            help="Do not turn phrases such as 'in 2025' or 'from ByteDance' into filters.",
        ),
    ] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the indexed papers, citing them.

    Filters written in the question ("in 2025", "from ByteDance", "with more than 50 upvotes")
    apply like the flags, which win over them; a line on stderr says which were applied."""
    with user_errors():
        if as_json and (markdown or bibtex):
            raise InputError("--json cannot be combined with --markdown or --bibtex.")
        settings = load_settings(home)
        window = parse_date(since, "--since"), parse_date(until, "--until")
        assistant = make_assistant(settings)
        answer = assistant.ask(
            question,
            k=k,
            since=window[0],
            until=window[1],
            org=org,
            min_upvotes=min_upvotes,
            ignore_question_filters=["all"] if no_question_filters else None,
        )
    print_answer(answer, assistant.mode_label, as_json=as_json, markdown=markdown, bibtex=bibtex)


def print_answer(
    answer: Answer, mode_label: str, *, as_json: bool, markdown: bool, bibtex: bool
) -> None:
    """JSON (where Answer.filters says what was filtered), else the line naming the filters
    taken from the question (stderr, so --markdown/--bibtex output stays clean), then the
    answer for a terminal, as Markdown, and/or as BibTeX."""
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    from rag.question_filters import describe

    line = describe(answer.question_filters, answer.sort)
    if line:
        typer.echo(line, err=True)
    if not (markdown or bibtex):
        typer.echo(format_answer(answer, mode_label))
        return
    from rag.export import answer_bibtex, answer_markdown

    parts = [answer_markdown(answer)] if markdown else []
    if bibtex:
        entries = answer_bibtex(answer)
        parts.append(entries or "% The answer cites no paper, so there is nothing to cite.\n")
    typer.echo("\n".join(parts), nl=False)


def format_answer(answer: Answer, mode_label: str) -> str:
    """Answer, the sources it cites (the others counted) and timings, for a terminal."""
    from rag.citations import split_cited

    lines = [answer.text, ""]
    if answer.uncited:
        lines.append("warning: this answer cites no source; check it against the papers below.")
    shown, others = split_cited(answer)
    if shown:
        lines.append("Closest papers (none relevant enough):" if answer.abstained else "Sources:")
        for s in shown:
            extra = ", ".join(
                x for x in (s.published, s.org, f"{s.upvotes} upvotes" if s.upvotes else None) if x
            )
            lines.append(f"  [{s.number}] {s.title}" + (f" ({extra})" if extra else ""))
    if others:
        lines.append(f"  (and {len(others)} more retrieved, not cited: --json lists them)")
    t = answer.timings
    lines.append("")
    if answer.answered_from == "catalog":  # not quoted, not generated: read from the record
        mode_label = "from the papers' metadata in the index"
    lines.append(
        f"mode: {mode_label} | retrieve {t.get('retrieve', 0):.2f}s"
        f" | generate {t.get('generate', 0):.2f}s"
    )
    return "\n".join(lines)


@app.command()
def stats(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show what is indexed: papers, chunks, dumps, dates, model, store."""
    with user_errors():
        st = read_stats(load_settings(home))
    if as_json:
        import json

        typer.echo(json.dumps(st, indent=2))
        return
    typer.echo(format_stats(st))


def read_stats(settings: Settings) -> dict[str, Any]:
    """The fields of ResearchAssistant.stats(), read from the catalog alone.

    The catalog records the chunk set and the embedding model, so neither Chroma nor the model
    (torch: 5-20 s) is needed to say what is indexed."""
    from vectorstore.catalog import Catalog

    summary = Catalog.in_home(settings.index.home).summary()
    dated = summary.published_min and summary.published_max
    return {
        "papers": summary.papers,
        "chunks": summary.chunks,
        "dumps": [asdict(d) for d in summary.dumps],
        "date_range": [summary.published_min, summary.published_max] if dated else None,
        "embedding_model": summary.embedding_model or settings.index.embedding_model,
        "embedding_dimension": summary.dimension,
        "store": settings.index.chroma_url or str(settings.index.home / "chroma"),
        "mode": mode_label(settings),
        "reconcile_pending": summary.reconcile_pending,
        # papers of an interrupted run whose chunks are not all written yet (not in "papers")
        "papers_unwritten": summary.papers_unwritten,
    }


def mode_label(settings: Settings) -> str:
    """As ResearchAssistant.mode_label: the CLI has no way to pass in a chat model."""
    if settings.llm.llm_configured:
        return f"LLM: {settings.llm.llm_model}"
    return "extractive — no LLM configured"


def format_stats(st: dict[str, Any]) -> str:
    dates = f"{st['date_range'][0]} .. {st['date_range'][1]}" if st["date_range"] else "-"
    dims = f"{st['embedding_dimension']} dims" if st["embedding_dimension"] else "nothing embedded"
    lines = [
        f"papers:          {st['papers']}",
        f"chunks:          {st['chunks']}",
        f"dumps seen:      {len(st['dumps'])}",
        *[
            f"  - {d.get('name')} (captured {d.get('captured')}"
            + (", inferred)" if d.get("captured_inferred") else ")")
            for d in st["dumps"]
        ],
        f"published:       {dates}",
        f"embedding model: {st['embedding_model']} ({dims})",
        f"store:           {st['store']}",
        f"answers:         {st['mode']}",
    ]
    if st["reconcile_pending"]:
        lines.append("note:            an index run was interrupted; `paperchat index` finishes it")
    if st.get("papers_unwritten"):
        lines.append(f"not yet written: {st['papers_unwritten']} papers (not counted above)")
    return "\n".join(lines)


@app.command("eval")
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Question set (JSON lines).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure retrieval quality and abstention on a question set.

    Recall@k and MRR, beside a dense-only baseline from the same run.
    """
    from rag.evaluation import format_report

    with user_errors():
        settings = load_settings(home)
        if not questions.is_file():
            raise InputError(f"{questions}: no such question file.")
        report = make_assistant(settings).evaluate(questions)
    typer.echo(report.model_dump_json(indent=2) if as_json else format_report(report))


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help="Folder where new dump files arrive.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep indexing dump files as they arrive in FOLDER."""
    from watchfiles import Change
    from watchfiles import watch as watch_changes

    with user_errors():
        settings = load_settings(home)
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.")
        assistant = make_assistant(settings)
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


# digest, trends, saved questions and compare join `app` from their own modules (they import
# this one).
from rag import cli_compare, cli_whats_new  # noqa: E402, F401

if __name__ == "__main__":
    main()

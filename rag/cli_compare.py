"""`paperchat compare TITLE_OR_ID ...`: 2-4 papers side by side (rag.compare).

Joins rag.cli's `app` like rag.cli_whats_new; the paper count is checked before anything heavy
loads, and a title that matches no paper, or several, is one `error:` line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli import HomeOption, JsonOption, app, load_settings, make_assistant, user_errors
from rag.errors import InputError


@app.command()
def compare(
    papers: Annotated[
        list[str], typer.Argument(help="2 to 4 titles (or the start of them) or paper ids.")
    ],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare papers on task, method, data, results and limitations, quoting each abstract."""
    from rag.compare import MAX_PAPERS, MIN_PAPERS

    with user_errors():
        if not MIN_PAPERS <= len(papers) <= MAX_PAPERS:
            raise InputError(f"Compare {MIN_PAPERS} to {MAX_PAPERS} papers; got {len(papers)}.")
        table = make_assistant(load_settings(home)).compare(papers)
    typer.echo(table.model_dump_json(indent=2) if as_json else table.markdown())

"""The `paperchat` console script: rag's CLI plus the `ui` command that serves the chat UI.

The command that launches the UI lives here, not in rag.cli, so that dependencies keep pointing
one way (ui -> rag -> vectorstore): rag never imports ui. Gradio is imported only when `ui`
runs, so the other commands start as quickly as they do from rag.cli.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli import HomeOption, app, load_settings, make_assistant, user_errors


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    home: HomeOption = None,
) -> None:
    """Serve the chat UI (on 127.0.0.1 unless --host says otherwise)."""
    with user_errors():
        assistant = make_assistant(load_settings(home))
        from ui.app import launch

        launch(assistant, host=host, port=port)


def main() -> None:
    """Console-script entry point (`paperchat`)."""
    app()


if __name__ == "__main__":
    main()

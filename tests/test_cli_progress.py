"""Index progress: bars on a terminal, plain lines in a log (no per-paper carriage returns)."""

from __future__ import annotations

import io

import pytest

from rag import cli


def _feed(progress: cli.ProgressBars | cli.ProgressLines, total: int = 2000) -> None:
    progress("chunking", 0, total)
    for done in range(1, total + 1):
        progress("chunking", done, total)
    progress("embedding", 0, 10)
    progress("embedding", 10, 10)
    progress("embedding", 10, 10)  # a repeated final update prints nothing more
    progress.close()


def test_lines_for_a_log_start_and_end_each_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    _feed(cli.ProgressLines(every_s=3600))
    assert err.getvalue().splitlines() == [
        "chunking: 0/2000",
        "chunking: 2000/2000",
        "embedding: 0/10",
        "embedding: 10/10",
    ]
    assert "\r" not in err.getvalue()


def test_lines_for_a_log_also_come_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    progress = cli.ProgressLines(every_s=0)
    for done in range(4):
        progress("embedding", done, 3)
    assert err.getvalue().splitlines() == [f"embedding: {n}/3" for n in range(4)]


def test_bars_on_a_terminal_redraw_at_a_few_hertz(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    _feed(cli.ProgressBars())
    assert err.getvalue().count("\r") < 20, "one redraw per paper would be 2000"
    assert "2000/2000" in err.getvalue() and "10/10" in err.getvalue()


def test_progress_kind_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(cli.make_progress(enabled=True), cli.ProgressLines)
    assert cli.make_progress(enabled=False) is None
    monkeypatch.setattr("sys.stderr", Tty())
    assert isinstance(cli.make_progress(enabled=True), cli.ProgressBars)

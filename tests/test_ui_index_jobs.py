"""The UI's background index job with the real ResearchAssistant: progress, one at a time,
and a busy data directory reported as a message instead of a crash."""

from __future__ import annotations

from conftest import write_dump

from rag.assistant import ResearchAssistant
from rag.settings import Settings
from ui.index_jobs import IndexJobRunner


def make_assistant(home, embedder) -> ResearchAssistant:
    ra = ResearchAssistant(Settings(home=home))
    ra.__dict__["embedder"] = embedder
    return ra


def test_runner_reports_progress_and_refuses_a_second_job(
    writable_indexed_home, embedder, tmp_path
):
    assistant = make_assistant(writable_indexed_home, embedder)
    dump = write_dump(
        tmp_path / "batch.txt",
        [
            (f"Glacier melt forecasting variant {n}", f"Variant {n} of glacier models.")
            for n in range(40)
        ],
    )
    runner = IndexJobRunner(assistant)
    seen = []
    original = runner._progress

    def spy(phase: str, done: int, total: int) -> None:
        seen.append((phase, done, total))
        original(phase, done, total)

    runner._progress = spy
    assert runner.start([dump])
    assert runner.snapshot().running
    assert not runner.start([dump]), "a second run must wait for the first"
    state = runner.wait(timeout=300)
    assert not state.running and state.error is None
    assert state.report.papers_added == 40
    # the bar appears with its total before the first (slowest) batch, then fills
    assert seen.index(("embedding", 0, 40)) < seen.index(("embedding", 40, 40))
    assert assistant.stats().papers == 141 + 40


def test_busy_data_dir_becomes_an_error_message(writable_indexed_home, embedder, tmp_path):
    assistant = make_assistant(writable_indexed_home, embedder)
    dump = write_dump(tmp_path / "one.txt", [("A lone paper on sea ice", "Sea ice thins.")])
    runner = IndexJobRunner(assistant)
    with assistant.paper_index.write_lock():
        assert runner.start([dump])
        state = runner.wait(timeout=60)
    assert not state.running and state.report is None
    assert "busy" in state.error.lower() or "another" in state.error.lower()

"""The UI's background index job with the real ResearchAssistant: progress, one at a time,
and a busy data directory reported as a message instead of a crash; an upload made during
another's run says that it waits, then reports its own run."""

from __future__ import annotations

import threading

from conftest import write_dump

from rag.assistant import ResearchAssistant
from rag.errors import PaperchatError
from rag.models import IndexReport
from rag.settings import Settings
from ui.app import UploadHandler
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


class GatedIndexer:
    """Index runs that end only when the test opens their gate; run n adds 10 * n papers."""

    def __init__(self) -> None:
        self.gates = [threading.Event(), threading.Event()]
        self.runs = 0

    def index(self, paths, *, progress=None, **options) -> IndexReport:
        run, self.runs = self.runs, self.runs + 1
        progress("embedding", 0, 5)
        assert self.gates[run].wait(30), "the test never opened this run's gate"
        return IndexReport(files=[str(p) for p in paths], papers_added=10 * (run + 1))

    def stats(self):
        raise PaperchatError("no stats in this test")


def test_an_upload_during_another_run_waits_in_words_then_reports_its_own_run(tmp_path):
    indexer = GatedIndexer()
    runner = IndexJobRunner(indexer)
    handler = UploadHandler(indexer, Settings(home=tmp_path), runner)
    dumps = [write_dump(tmp_path / f"{name}.txt", [(name, "An abstract.")]) for name in "ab"]
    first, second = (handler.index_uploads([str(d)]) for d in dumps)
    assert "<progress" in [next(first)[0] for _ in range(2)][-1]
    shown = [next(second)[0] for _ in range(3)]
    assert "checking the uploaded files" in shown[0]
    assert all("waiting for another upload&#x27;s index run" in s for s in shown[1:]), shown
    indexer.gates[0].set()
    runner.wait(timeout=30)
    started = next(second)[0]  # the waiting upload starts its run as soon as the first ends
    assert "<progress" in started and "waiting" not in started
    outcome = next(first)[0]  # ... and the first upload still reports its own run
    assert "added 10" in outcome and "<strong>a.txt</strong>" in outcome
    indexer.gates[1].set()
    outcome = list(second)[-1][0]
    assert "added 20" in outcome and "<strong>b.txt</strong>" in outcome

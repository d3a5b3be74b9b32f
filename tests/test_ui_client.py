"""The launched UI driven through gradio_client: streaming answers, uploads, login."""

from __future__ import annotations

import html
import re
import time

import pytest
from conftest import free_port, write_dump
from gradio_client import Client, handle_file

from rag.models import Answer, Citation, Source
from rag.settings import Settings
from ui.app import launch
from ui.render import escape_text


def message_text(message: dict) -> str:
    """The text of a chat message as the API returns it (a string or a list of parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def stat(panel: str, name: str) -> int:
    return int(re.search(rf'class="pc-stat-{name}">(\d+)<', panel).group(1))


@pytest.fixture(scope="module")
def client(ui_server) -> Client:
    return Client(ui_server, verbose=False)


def test_binds_to_localhost_by_default(ui_server):
    assert ui_server.startswith("http://127.0.0.1:")


def test_ask_streams_text_then_shows_sources(client):
    question = "How does zebrafish swimming gait change under stress?"
    job = client.submit(question, [], api_name="/ask")
    chat, sources, box = job.result(timeout=120)
    partial = [
        message_text(out[0][-1])
        for out in job.outputs()
        if out[0] and out[0][-1]["role"] == "assistant" and "▌" in message_text(out[0][-1])
    ]
    assert len(partial) >= 3, "the answer should arrive in several streamed pieces"
    assert len(set(partial)) >= 3
    assert box == ""
    answer = message_text(chat[-1])
    assert "pc-cite-link" in answer and "mode: extractive — no LLM configured" in answer
    assert re.search(r"retrieve \d+\.\d\d s", answer)
    assert sources.count('class="pc-card"') >= 1 and "Zebrafish swimming gait" in sources
    # the cited number links to the card with the same number in the same message
    target = re.search(r'href="#([^"]+)"', answer).group(1)
    assert f'id="{target}"' in answer


def test_follow_up_uses_history_and_new_chat_clears(client):
    first, _, _ = client.predict("Which papers are about zebrafish swimming?", [], api_name="/ask")
    second, _, _ = client.predict("How do they measure the gait?", first, api_name="/ask")
    assert [m["role"] for m in second] == ["user", "assistant", "user", "assistant"]
    assert "pc-cite-link" in message_text(second[-1])
    cleared, sources, _ = client.predict(api_name="/new_chat")
    assert cleared == [] and "latest answer" in sources


def test_upload_indexes_in_the_background_and_changes_the_stats(client, tmp_path):
    before = client.predict(api_name="/stats")
    dump = write_dump(
        tmp_path / "fresh_dump.txt",
        [
            ("Octopus arm control with soft actuators", "We model octopus arms as soft robots."),
            ("Coral reef acoustics for ecosystem health", "Reef soundscapes predict coral cover."),
        ],
    )
    job = client.submit([handle_file(dump)], api_name="/index_uploads")
    status, stats = job.result(timeout=300)
    assert any("<progress" in out[0] for out in job.outputs()[:-1])
    assert "Indexed" in status and "added 2" in status
    assert f"<strong>{escape_text('fresh_dump.txt')}</strong> — indexed" in status
    assert stat(stats, "papers") == stat(before, "papers") + 2
    assert stat(stats, "dumps") == stat(before, "dumps") + 1
    table, _ = client.predict("octopus", "Newest first", api_name="/papers")
    titles = [html.unescape(row[0]) for row in table["samples"]]
    assert titles == ["Octopus arm control with soft actuators"]


def test_a_reupload_says_nothing_new_and_progress_starts_in_words(client, tmp_path):
    dump = write_dump(
        tmp_path / "twice.txt", [("Axolotl limb regrowth atlas", "Single-cell atlas of regrowth.")]
    )
    client.predict([handle_file(dump)], api_name="/index_uploads")
    job = client.submit([handle_file(dump)], api_name="/index_uploads")
    status, _ = job.result(timeout=300)
    first = job.outputs()[0][0]
    assert "checking the uploaded files" in first and "<progress" in first
    assert "Nothing new: these dumps are already indexed" in status
    assert "— already indexed, nothing new" in status and "— indexed" not in status
    assert "added 0" in status and "unchanged 1" in status


def test_each_bad_file_is_reported_by_name(client, tmp_path):
    junk = tmp_path / "shopping_list.txt"
    junk.write_text("milk\neggs\n", encoding="utf-8")
    status, _ = client.predict([handle_file(junk)], api_name="/index_uploads")
    assert "Indexed with errors" in status
    assert f"<strong>{escape_text('shopping_list.txt')}</strong> — failed" in status
    assert "not a Hugging Face Daily Papers dump" in status


def test_upload_limits_are_enforced(client, tmp_path):
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(Exception, match=r"Invalid file type.*\.txt"):
        client.predict([handle_file(pdf)], api_name="/index_uploads")
    big = tmp_path / "huge.txt"
    big.write_bytes(b"a" * (1024 * 1024 + 10))  # ui_assistant's max_upload_mb is 1
    with pytest.raises(Exception, match="maximum file size"):
        client.predict([handle_file(big)], api_name="/index_uploads")


def test_chat_answers_from_the_previous_index_while_reindexing(client, ui_server, tmp_path):
    entries = [
        (f"Synthetic benchmark study number {n} on tabular forecasting", f"Study {n}. " * 40)
        for n in range(120)
    ]
    dump = write_dump(tmp_path / "bulk_dump.txt", entries)
    indexing = Client(ui_server, verbose=False).submit(
        [handle_file(dump)], api_name="/index_uploads"
    )
    deadline = time.monotonic() + 60
    while not any("<progress" in (out[0] or "") for out in indexing.outputs()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _, sources, _ = client.predict(
        "How does zebrafish swimming gait change under stress?", [], api_name="/ask"
    )
    assert not indexing.done(), "the index run should still be going"
    assert "Zebrafish swimming gait" in sources
    status, _ = indexing.result(timeout=600)
    assert "added 120" in status


def test_an_upload_during_another_run_says_it_waits_instead_of_freezing(
    client, ui_server, tmp_path
):
    """The Index tab hides Gradio's queue display, so an upload queued behind another's run
    showed nothing until that run ended (benchmarks/bench_load.py found it)."""
    entries = [(f"Seagrass meadow carbon survey {n}", f"Survey {n}. " * 30) for n in range(80)]
    bulk = write_dump(tmp_path / "first_of_two.txt", entries)
    late = write_dump(tmp_path / "second_of_two.txt", [("Kelp canopy mapping", "Drones map it.")])
    first = Client(ui_server, verbose=False).submit([handle_file(bulk)], api_name="/index_uploads")
    deadline = time.monotonic() + 60
    while not any("<progress" in (out[0] or "") for out in first.outputs()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = client.submit([handle_file(late)], api_name="/index_uploads")
    while not any("waiting for another upload" in (out[0] or "") for out in second.outputs()):
        assert time.monotonic() < deadline and not second.done(), second.outputs()
        time.sleep(0.1)
    assert not first.done(), "the second upload should say it waits while the first runs"
    assert "added 80" in first.result(timeout=600)[0]
    assert "added 1" in second.result(timeout=600)[0]


def test_login_refuses_a_wrong_password(ui_assistant):
    settings = Settings(home=ui_assistant.settings.home, auth="alice:wonder:land")
    demo = launch(ui_assistant, settings, port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        url = demo.local_url
        with pytest.raises(Exception, match=r"(?i)incorrect|login|credentials|401"):
            Client(url, auth=("alice", "wrong"), verbose=False)
        with pytest.raises(Exception):  # noqa: B017 - no credentials at all
            Client(url, verbose=False)
        ok = Client(url, auth=("alice", "wonder:land"), verbose=False)
        assert "pc-stat-papers" in ok.predict(api_name="/stats")
    finally:
        demo.close()


def test_the_console_never_suggests_a_public_link(ui_assistant, capfd):
    demo = launch(ui_assistant, port=free_port(), prevent_thread_lock=True)
    try:
        out = capfd.readouterr().out
    finally:
        demo.close()
    assert "share=True" not in out and "public link" not in out
    assert f"paperchat UI on {demo.local_url}" in out and "sharing is off" in out


# --- a scripted assistant: exact answers, so numbering, grammar and abstention are checked --


def source(number: int, score: float) -> Source:
    return Source(
        number=number,
        paper_id=f"p{number}",
        title=f"Paper {number}",
        score=score,
        upvotes=1,
        snippet=f"Evidence of paper {number}.",
        abstract=f"Intro. Evidence of paper {number}. Outro.",
    )


LEAD = "Extractive answer — quoted from the most relevant abstracts:\n\n"
QUOTES = ["- **Paper 3** [3]: Evidence of paper 3.\n", "- **Paper 1** [1]: Evidence of paper 1.\n"]
GAPPED = Answer(
    text=LEAD + "".join(QUOTES),
    sources=[source(1, 0.9), source(2, 0.8), source(3, 0.7)],
    citations=[
        Citation(number=3, paper_id="p3", title="Paper 3"),
        Citation(number=1, paper_id="p1", title="Paper 1"),
    ],
)
ABSTAINED = Answer(
    text="The indexed papers don't seem to cover this.",
    abstained=True,
    sources=[source(1, 0.1), source(2, 0.3)],
)


class ScriptedAssistant:
    """Just what the UI calls; `stream` plays a fixed answer piece by piece."""

    mode_label = "extractive — no LLM configured"

    def __init__(self, home) -> None:
        self.settings = Settings(home=home)

    def stream(self, question, history=None, **options):
        answer = ABSTAINED if "bread" in question else GAPPED
        pieces = [answer.text] if answer.abstained else [LEAD, *QUOTES]
        yield from pieces
        yield answer

    def stats(self):
        return {"papers": 0, "chunks": 0, "dumps": [], "date_range": None}

    def papers(self):
        return []

    def similar(self, paper_id, k=5):
        return []


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> Client:
    home = tmp_path_factory.mktemp("scripted")
    demo = launch(ScriptedAssistant(home), port=free_port(), prevent_thread_lock=True, quiet=True)
    yield Client(demo.local_url, verbose=False)
    demo.close()


def test_quotes_stream_one_by_one_then_cited_sources_are_renumbered(scripted):
    job = scripted.submit("How is it done?", [], api_name="/ask")
    chat, sources, _ = job.result(timeout=60)
    partial = [message_text(o[0][-1]) for o in job.outputs() if "▌" in message_text(o[0][-1])]
    assert sum("Paper 3" in m and "Paper 1" not in m for m in partial) >= 1  # one quote shown
    answer = message_text(chat[-1])
    # the chain's [3] and [1] are shown as [1] and [2]; the uncited paper 2 becomes [3]
    assert re.findall(r'title="Paper (\d)" class="pc-cite-link">(\d)<', answer) == [
        ("3", "1"),
        ("1", "2"),
    ]
    cards = re.findall(r'class="pc-num">\[(\d)\]</span> <span class="pc-title">Paper (\d)', sources)
    assert cards == [("1", "3"), ("2", "1"), ("3", "2")]
    assert "▲ 1 upvote<" in sources and "<summary>3 sources</summary>" in answer


def test_an_abstention_says_it_once_with_closest_papers_by_relevance(scripted):
    chat, sources, _ = scripted.predict("Best bread recipe?", [], api_name="/ask")
    answer = message_text(chat[-1])
    assert answer.count("cover this") == 1 and answer.count("Not answered") == 1
    assert "<summary>2 closest papers</summary>" in answer
    titles = re.findall(r'<span class="pc-title">Paper (\d)</span>', sources)
    assert titles == ["2", "1"]  # relevance 0.3 before 0.1

"""The launched UI driven through gradio_client: streaming answers, uploads, login."""

from __future__ import annotations

import re
import time

import pytest
from conftest import free_port, write_dump
from gradio_client import Client, handle_file

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
    assert [row[0] for row in table["data"]] == ["Octopus arm control with soft actuators"]


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

"""ui's pure parts: login settings, upload limits, the papers table, chat option parsing."""

from __future__ import annotations

from datetime import date

import pytest

from rag.errors import InputError
from rag.models import PaperHit
from ui.app import chat_options, parse_count, parse_day
from ui.auth import load_auth
from ui.papers_table import (
    COLUMNS,
    filter_papers,
    org_choices,
    similar_rows,
    sort_papers,
    sort_similar,
    table_rows,
)
from ui.uploads import check_uploads, store_uploads


def test_auth_off_pair_and_file(tmp_path):
    assert load_auth(None) is None and load_auth("  ") is None
    assert load_auth("alice:s3:cret") == [("alice", "s3:cret")]
    users = tmp_path / "users.txt"
    users.write_text("# team\nalice:one\n\nbob:two\n", encoding="utf-8")
    assert load_auth(str(users)) == [("alice", "one"), ("bob", "two")]


def test_bad_auth_names_the_file_and_line(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("alice:one\nbob\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"users\.txt:2: expected 'user:password'"):
        load_auth(str(users))
    with pytest.raises(InputError, match="PAPERCHAT_AUTH"):
        load_auth("no-colon-here")


def test_upload_limits_refuse_with_the_file_name(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Title\n\nAbstract\n", encoding="utf-8")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    check = check_uploads([good, pdf, big, empty], max_mb=1)
    assert check.accepted == [good]
    assert check.refused == [
        "paper.pdf: refused — only .txt dump files can be indexed.",
        "big.txt: refused — 1.0 MB is over the 1 MB upload limit.",
        "empty.txt: refused — the file is empty.",
    ]
    stored = store_uploads(check.accepted, tmp_path / "home" / "uploads")
    assert stored == [tmp_path / "home" / "uploads" / "good.txt"]
    assert stored[0].read_text(encoding="utf-8") == good.read_text(encoding="utf-8")


def hit(title, published=None, upvotes=None, org=None, abstract="", **more):
    return PaperHit(
        paper_id=title,
        title=title,
        score=0,
        published=published,
        upvotes=upvotes,
        org=org,
        abstract=abstract,
        **more,
    )


PAPERS = [
    hit("beta", "2025-01-02", 5, "Meta"),
    hit("alpha", None, None, None, abstract="diffusion video"),
    hit("gamma", "2025-03-01", None, "ByteDance"),
    hit("delta", "2024-12-31", 40, "meta"),
]


def test_sort_by_date_upvotes_and_title():
    titles = lambda papers: [p.title for p in papers]  # noqa: E731
    assert titles(sort_papers(PAPERS, "Newest first")) == ["gamma", "beta", "delta", "alpha"]
    assert titles(sort_papers(PAPERS, "Most upvoted")) == ["delta", "beta", "alpha", "gamma"]
    assert titles(sort_papers(PAPERS, "Title A–Z")) == ["alpha", "beta", "delta", "gamma"]


def test_filter_by_words_in_title_org_or_abstract():
    assert [p.title for p in filter_papers(PAPERS, "META")] == ["beta", "delta"]
    assert [p.title for p in filter_papers(PAPERS, "video diffusion")] == ["alpha"]
    assert len(filter_papers(PAPERS, "")) == 4
    assert org_choices(PAPERS) == ["ByteDance", "Meta", "meta"]
    assert table_rows(PAPERS[:2]) == [
        ["beta", "2025-01-02", "Meta", "5", "", ""],
        ["alpha", "", "", "", "", ""],
    ]


def test_rows_show_authors_and_the_dumps_seen_in():
    seen = hit("t", authors_count=4, dumps=["000_a.txt", "004_b.txt"], upvotes=0)
    once = hit("u", authors_count=1, dumps=["004_b.txt"])
    assert table_rows([seen, once]) == [
        ["t", "", "", "0", "4", "2 dumps"],
        ["u", "", "", "", "1", "1 dump"],
    ]
    assert len(COLUMNS) == len(table_rows([seen])[0])


def test_chat_options_parse_the_filter_widgets():
    opts = chat_options("2025-01-01", "2025-06-30 00:00:00", " ByteDance ", 3.0, 4)
    assert opts == {
        "since": date(2025, 1, 1),
        "until": date(2025, 6, 30),
        "org": "ByteDance",
        "min_upvotes": 3,
        "k": 4,
    }
    empty = chat_options(None, "", None, None, None)
    assert empty == {"since": None, "until": None, "org": None, "min_upvotes": None, "k": None}
    with pytest.raises(InputError, match="From: 'June' is not a date"):
        parse_day("June", "From")


def test_min_upvotes_is_empty_unless_set_and_must_be_a_whole_number():
    assert parse_count("", "Min upvotes") is None and parse_count(None, "x") is None
    assert parse_count(" 50 ", "Min upvotes") == 50 and parse_count("0", "x") == 0
    for bad in ("-1", "2.5", "many"):
        with pytest.raises(InputError, match=r"Min upvotes: .* is not a whole number"):
            parse_count(bad, "Min upvotes")


def test_similar_papers_sort_by_similarity_recency_or_upvotes():
    titles = lambda papers: [p.title for p in papers]  # noqa: E731
    assert titles(sort_similar(PAPERS, "Most similar")) == ["beta", "alpha", "gamma", "delta"]
    assert titles(sort_similar(PAPERS, "Newest first")) == ["gamma", "beta", "delta", "alpha"]
    assert titles(sort_similar(PAPERS, "Most upvoted")) == ["delta", "beta", "alpha", "gamma"]
    assert similar_rows(PAPERS[:1]) == [["beta", "2025-01-02", "5"]]


def test_app_queues_chats_side_by_side_and_index_runs_one_at_a_time(tmp_path):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings
    from ui.app import build_app

    demo = build_app(ResearchAssistant(Settings(home=tmp_path, concurrency_limit=7)))
    fns = {fn.api_name: fn for fn in demo.fns.values()}
    assert demo._queue.default_concurrency_limit == 7
    assert fns["ask"].concurrency_limit == "default"  # i.e. the queue's limit of 7
    # not queued one at a time: an upload during another's run must say it waits, which a
    # queued event cannot (its progress is hidden); the runner runs one index at a time
    assert fns["index_uploads"].concurrency_limit is None
    assert {"ask", "new_chat", "index_uploads", "stats", "papers", "paper"} <= set(fns)


def test_the_ui_loads_the_model_before_the_first_question(indexed_home, embedder):
    """The embedder loads lazily (commands that only read never load it); the UI must not
    leave that cost to its first user's question."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings
    from ui.app import warm_up
    from vectorstore.embeddings import BUNDLED_DIMENSION, LazyEmbedder

    ra = ResearchAssistant(Settings(home=indexed_home, reranker="none"))
    lazy = LazyEmbedder("all-MiniLM-L6-v2", lambda: embedder, BUNDLED_DIMENSION)
    ra.__dict__["embedder"] = lazy
    warm_up(ra)
    assert lazy.is_loaded

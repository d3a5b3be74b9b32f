"""The reader as judge of relevance (vectorstore.judge): read only where its constants were
fitted (judge.json beside the weights), per paper, with fusion's relevance as the fallback."""

from __future__ import annotations

import logging
import math
import socket
from pathlib import Path

import pytest
from langchain_core.documents import Document

from vectorstore import rerank as rr
from vectorstore.judge import JUDGE_FILE, Judge, judged, judged_texts, load_judge
from vectorstore.reader import BUNDLED_PATH, CrossEncoderReader, HttpReader, logit, passage

QUESTION = "What is Lookahead and how does it verify branches?"


@pytest.fixture(scope="module")
def judged_reader_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled reader's weights with judging constants beside them: relevance is the
    reader's probability itself (weight 1 on its log-odds, none on cosine)."""
    folder = tmp_path_factory.mktemp("judged_reader")
    for item in BUNDLED_PATH.iterdir():
        (folder / item.name).symlink_to(item)
    Judge(reader=1.0, cosine=0.0, bias=0.0).save(folder)
    return folder


def paper(title: str, abstract: str, dense: float = 0.5) -> Document:
    meta = {"paper_id": title.lower(), "title": title, "abstract": abstract}
    meta |= {"relevance": 0.42, "score": 0.42, "dense_score": dense}
    return Document(page_content=abstract, metadata=meta)


def searcher(home: Path, embedder, reranker: str):
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    assistant = ResearchAssistant(Settings(home=home, reranker=reranker))
    assistant.__dict__["embedder"] = embedder
    return assistant


def test_a_reader_with_fitted_constants_judges_relevance_and_keeps_fusion_order(
    indexed_home: Path, embedder, judged_reader_dir: Path
) -> None:
    """Each paper's relevance is the judge's reading of its best window and whole abstract;
    the order stays fusion's (rank weight 0), and fusion's relevance is what `none` gives."""
    plain = searcher(indexed_home, embedder, "none").paper_index.searcher
    judging = searcher(indexed_home, embedder, str(judged_reader_dir))
    search = judging.paper_index.searcher
    assert search.judge == Judge(1.0, 0.0, 0.0)
    fused = plain.search(QUESTION, 5)
    docs = search.search(QUESTION, 5)
    assert [d.metadata["title"] for d in docs] == [d.metadata["title"] for d in fused]
    reader = search.reader
    for doc in docs:
        texts = [passage(doc.metadata["title"], t) for t in judged_texts(QUESTION, doc)]
        best = max(reader.score(QUESTION, texts))
        assert doc.metadata["score"] == doc.metadata["relevance"] == pytest.approx(best, abs=1e-5)
    assert [d.metadata["relevance"] for d in docs] != [d.metadata["relevance"] for d in fused]
    hits = judging.search(QUESTION, k=5)
    assert [h.score for h in hits] == [d.metadata["score"] for d in docs]


def test_papers_scored_by_name_get_the_judge_relevance_search_gives(
    indexed_home: Path, embedder, judged_reader_dir: Path
) -> None:
    """score_papers (saved questions over newly added papers) must agree with search."""
    search = searcher(indexed_home, embedder, str(judged_reader_dir)).paper_index.searcher
    found = {d.metadata["paper_id"]: d.metadata["relevance"] for d in search.search(QUESTION, 3)}
    scored = search.score_papers(QUESTION, list(found))
    assert {d.metadata["paper_id"]: d.metadata["relevance"] for d in scored} == pytest.approx(
        found, abs=1e-5
    )
    assert [d.metadata["relevance"] for d in scored] == sorted(found.values(), reverse=True)


def test_judged_relevance_does_not_move_when_other_papers_are_added() -> None:
    """A judgement of the question and that paper alone: other papers in the batch or the
    index must not move it (fp32 reader)."""
    reader = CrossEncoderReader(BUNDLED_PATH)
    judge = Judge(reader=0.8, cosine=5.0, bias=-3.0)
    target = paper("Lookahead", "Lookahead speeds up inference. It verifies branches.", 0.6)
    alone = judged(QUESTION, [target], reader, judge)[0].metadata["relevance"]
    others = [paper(f"Gait {i}", f"Gait recognition from video number {i}.") for i in range(4)]
    target = paper("Lookahead", "Lookahead speeds up inference. It verifies branches.", 0.6)
    crowded = judged(QUESTION, [*others[:2], target, *others[2:]], reader, judge)
    assert crowded[2].metadata["relevance"] == pytest.approx(alone, abs=1e-4)
    assert [d.metadata["title"] for d in crowded][2] == "Lookahead"


def test_a_failing_reader_leaves_fusion_relevance_with_a_warning(caplog) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/rerank"
    docs = [paper("Lookahead", "Lookahead verifies branches.")]
    with caplog.at_level(logging.WARNING):
        kept = judged(QUESTION, docs, HttpReader(url, timeout=2), Judge(1.0, 0.0, 0.0))
    assert kept[0].metadata["relevance"] == 0.42
    assert "relevance by fusion alone" in caplog.text


@pytest.mark.parametrize("content", ["{not json", '{"reader": 1.0}', '{"reader": 1, "x": 2}'])
def test_a_broken_judge_file_is_a_warning_and_fusion_judges(
    tmp_path: Path, caplog, content: str
) -> None:
    (tmp_path / JUDGE_FILE).write_text(content)
    with caplog.at_level(logging.WARNING):
        assert load_judge(CrossEncoderReader(tmp_path)) is None
    assert "relevance stays fusion's" in caplog.text


def test_readers_without_a_judge_file_leave_relevance_to_fusion(tmp_path: Path) -> None:
    assert load_judge(None) is None
    assert load_judge(CrossEncoderReader(BUNDLED_PATH)) is None
    assert load_judge(HttpReader("http://127.0.0.1:9/rerank")) is None


def test_a_judge_names_how_far_its_reader_may_rank(judged_reader_dir: Path) -> None:
    reader = CrossEncoderReader(judged_reader_dir)
    assert rr.weight_for(reader, load_judge(reader)) == 0.0
    assert rr.weight_for(reader, Judge(1.0, 0.0, 0.0, rank_weight=0.5)) == 0.5
    assert rr.weight_for(reader) > 0  # a named reader without a judge ranks alone


def test_the_saved_judge_puts_the_fitted_threshold_at_one_half(tmp_path: Path) -> None:
    """bench_reader --save-judge: the product abstains below 0.5, so the bias moves the
    held-out operating point's threshold there; the order of judgements is unchanged."""
    from benchmarks.bench_reader import save_judge

    weights, threshold = (0.5, 7.0, -4.0), 0.3
    save_judge(tmp_path, {"reader": weights}, {"threshold": threshold})
    judge = load_judge(CrossEncoderReader(tmp_path))
    assert judge is not None
    cosine = 0.2
    # The reader probability at which the fitted logistic 0.5 x logit(p) + 7 x cosine - 4
    # gives exactly the threshold.
    at = 1 / (1 + math.exp(-(logit(threshold) + 4.0 - 7.0 * cosine) / 0.5))
    assert judge.relevance(at, cosine) == pytest.approx(0.5, abs=1e-6)
    assert judge.relevance(at * 0.9, cosine) < 0.5 < judge.relevance(min(1.0, at * 1.1), cosine)


def test_the_judge_reads_the_question_s_window_and_the_whole_abstract() -> None:
    """Two passages per paper, not every window: the window sharing most words with the
    question and the whole abstract; an abstract no longer than a window is read once."""
    sentences = [
        "Large models are slow to serve.",
        "Prior work prunes attention heads.",
        "We cache keys across requests.",
        "Results hold on four benchmarks.",
        "Code is released.",
        "A verifier accepts drafted branches in one pass.",
    ]
    abstract = " ".join(sentences)
    doc = Document(page_content="chunk", metadata={"title": "T", "abstract": abstract})
    texts = judged_texts("How does the verifier accept drafted branches?", doc)
    assert len(texts) == 2 and texts[1] == abstract
    assert sentences[-1] in texts[0] and sentences[0] not in texts[0]
    short = Document(page_content="x", metadata={"title": "T", "abstract": " ".join(sentences[:2])})
    assert judged_texts("verifier", short) == [" ".join(sentences[:2])]

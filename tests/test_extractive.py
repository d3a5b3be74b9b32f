"""The zero-config answerer: short, cited quotations from the most relevant abstracts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from langchain_core.embeddings import Embeddings

from rag.assistant import ResearchAssistant
from rag.chain import number_sources
from rag.citations import check_citations
from rag.extractive import (
    LEAD,
    SHORTLIST,
    Quote,
    SentenceCache,
    clean_sentence,
    extractive_answer,
    focus,
    select_quotes,
    split_sentences,
)
from rag.settings import Settings

DETAIL_QUESTIONS = Path(__file__).parent.parent / "benchmarks" / "questions" / "reader_detail.jsonl"

LOOKAHEAD = (
    "Lookahead: An Inference Acceleration Framework for Large Language Model with "
    "Lossless Generation Accuracy"
)
MARS = "MARS: Paying more attention to visual attributes for text-based person search"
CROSS_VIDEO = "Cross-video Identity Correlating for Person Re-identification Pre-training"
EAR = (
    "ProtoN: Prototype Node Graph Neural Network for Unconstrained Multi-Impression Ear Recognition"
)


def normalized(text: str) -> str:
    return " ".join(text.split())


def test_split_sentences_survives_abbreviations_decimals_and_urls() -> None:
    text = (
        "We study nuisances, e.g. pose and illumination, as in Smith et al. (2023) and J. Doe. "
        "Our model reaches 93.3\\% mAP on Market1501. Code is at https://github.com/a/b.c. "
        "Background. The rest follows!"
    )
    assert split_sentences(text) == [
        "We study nuisances, e.g. pose and illumination, as in Smith et al. (2023) and J. Doe.",
        "Our model reaches 93.3\\% mAP on Market1501.",
        "Code is at https://github.com/a/b.c.",
        "Background. The rest follows!",
    ]


def test_real_abstracts_split_into_whole_sentences(sample_papers_by_title) -> None:
    for paper in sample_papers_by_title.values():
        sentences = split_sentences(paper.abstract)
        assert " ".join(sentences) == normalized(paper.abstract)
        for sentence in sentences[:-1]:
            assert not re.search(r"\b(?:e\.g|i\.e|al)\.$", sentence), sentence


def test_quotes_the_most_relevant_sentences_of_the_right_paper(make_sources, embedder) -> None:
    sources = make_sources([LOOKAHEAD, MARS])
    question = "How does the Verification and Accept step pick the output in Lookahead?"
    text = "".join(extractive_answer(question, sources, embedder))

    assert text.startswith(LEAD)
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines[0].startswith(f"- **{LOOKAHEAD}** [1]: ")
    quoted = lines[0].split("]: ", 1)[1]
    assert "Verification and Accept (VA)" in quoted
    assert quoted in normalized(sources[0].abstract)  # a quotation, not a paraphrase
    assert len(quoted) < len(sources[0].abstract) / 2  # not an abstract dump
    assert MARS not in text  # an unrelated paper adds nothing and is left out
    assert [c.number for c in check_citations(text, sources).citations] == [1]


def test_every_kept_paper_is_quoted_with_its_own_number(make_sources, embedder) -> None:
    sources = make_sources([MARS, CROSS_VIDEO, EAR])
    question = "Which papers retrieve or re-identify a specific person across images?"
    quotes = select_quotes(question, sources, embedder)

    assert quotes[0].source.title == MARS
    assert EAR not in [q.source.title for q in quotes]
    for quote in quotes:
        assert 1 <= len(quote.sentences) <= 2
        for sentence in quote.sentences:
            assert sentence.rstrip(" …") in normalized(quote.source.abstract)


def test_no_abstract_text_gives_only_the_label(make_sources, embedder) -> None:
    sources = [s.model_copy(update={"abstract": "", "snippet": ""}) for s in make_sources([MARS])]
    assert extractive_answer("anything", sources, embedder) == [LEAD + "\n\n"]


def test_sentence_cache_embeds_each_sentence_once(embedder) -> None:
    class Counting(type(embedder)):
        def __init__(self) -> None:
            self.__dict__.update(embedder.__dict__)
            self.embedded: list[str] = []

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.embedded.extend(texts)
            return super().embed_documents(texts)

    counting = Counting()
    cache = SentenceCache(counting)
    first = cache.embed_documents(["A sentence about faces.", "Another one on speech."])
    again = cache.embed_documents(["Another one on speech.", "A new third sentence."])

    assert counting.embedded == [
        "A sentence about faces.",
        "Another one on speech.",
        "A new third sentence.",
    ]
    assert again[0] == first[1]
    assert again[1] == embedder.embed_documents(["A new third sentence."])[0]


class CountingEmbeddings(Embeddings):
    """The real model behind a user's Embeddings, recording every text it is asked for."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.model_name = inner.model_name  # the name the sample index was built with
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self.inner.embed_query(text)


def test_a_repeated_question_embeds_nothing_again(indexed_home, embedder) -> None:
    """Sentence vectors come from the chain's cache, the question's from the query memo:
    a repeated question costs no model pass, and the first one embeds its question once."""
    counting = CountingEmbeddings(embedder)
    ra = ResearchAssistant(Settings(home=indexed_home, reranker="none"), embeddings=counting)
    question = "How does the Verification and Accept step pick the output in Lookahead?"
    first = ra.ask(question)
    documents, queries = list(counting.documents), list(counting.queries)
    again = ra.ask(question)

    assert not first.abstained and first.mode == "extractive"
    assert documents  # the quoted papers' shortlisted sentences were embedded, the first time
    assert queries.count(question) == 1  # search and the answerer share one question vector
    assert (counting.documents, counting.queries) == (documents, queries)  # nothing again
    assert again.text == first.text


def quoted(quotes: list[Quote]) -> list[tuple[str, list[str]]]:
    return [(q.source.paper_id, q.sentences) for q in quotes]


def test_cached_sentence_vectors_choose_the_same_quotes(indexed_home, embedder) -> None:
    """The cache's vectors were embedded in other batches (other questions' papers) than a
    fresh embedding would use, yet every question on the sample index quotes the same."""
    ra = ResearchAssistant(Settings(home=indexed_home, reranker="none"))
    ra.__dict__["embedder"] = embedder
    lines = DETAIL_QUESTIONS.read_text(encoding="utf-8").splitlines()[:6]
    questions = [json.loads(line)["question"] for line in lines]
    cases = [(q, number_sources(ra.retriever.invoke(q))) for q in questions]
    cache = SentenceCache(embedder)
    for question, sources in reversed(cases):
        select_quotes(question, sources, cache)
    for question, sources in cases:
        cached = quoted(select_quotes(question, sources, cache))
        assert cached == quoted(select_quotes(question, sources, embedder)), question


def test_titles_from_a_follow_up_rewrite_do_not_steer_the_quote(make_sources, embedder) -> None:
    sources = make_sources([LOOKAHEAD])
    question = f'What code release does "{LOOKAHEAD}" mention?'
    assert focus(question, sources) == "What code release does the paper mention?"
    (quote,) = select_quotes(question, sources, embedder)
    assert any("github.com/alipay" in sentence for sentence in quote.sentences)


def test_a_paper_far_less_relevant_than_the_top_one_is_not_quoted(make_sources, embedder):
    question = "Which papers retrieve or re-identify a specific person across images?"
    close = select_quotes(question, make_sources([MARS, CROSS_VIDEO], [0.9, 0.85]), embedder)
    far = select_quotes(question, make_sources([MARS, CROSS_VIDEO], [0.9, 0.2]), embedder)
    assert [q.source.title for q in close] == [MARS, CROSS_VIDEO]
    assert [q.source.title for q in far] == [MARS]


def test_a_far_less_relevant_paper_is_not_even_embedded(make_sources, embedder) -> None:
    """Its sentences would be dropped anyway; embedding them was most of a first ask's time."""
    counting = CountingEmbeddings(embedder)
    question = "Which papers retrieve or re-identify a specific person across images?"
    sources = make_sources([MARS, CROSS_VIDEO], [0.9, 0.2])
    select_quotes(question, sources, counting)
    far_sentences = set(split_sentences(sources[1].abstract))
    assert counting.documents and not far_sentences & set(counting.documents)


def test_only_each_papers_shortlist_is_embedded_and_the_quote_comes_from_it(
    make_sources, embedder
) -> None:
    """Sentences are shortlisted by shared words before any is embedded, a few per paper."""
    counting = CountingEmbeddings(embedder)
    sources = make_sources([LOOKAHEAD])
    sentences = split_sentences(sources[0].abstract)
    question = "How does Lookahead verify its branches and accept an output?"
    (quote,) = select_quotes(question, sources, counting)
    embedded = counting.documents
    assert len(sentences) > SHORTLIST and 0 < len(embedded) <= SHORTLIST
    assert set(embedded) <= set(sentences)
    assert {clean_sentence(s) for s in embedded} >= set(quote.sentences)


def test_numbers_in_the_question_find_the_sentence_that_reports_them(
    make_sources, sample_papers_by_title, embedder
) -> None:
    (spartacus,) = [title for title in sample_papers_by_title if "Spartacus" in title]
    question = (
        "Which study found that 25.93% of 27 examined large language models misrepresent "
        "who developed them?"
    )
    (quote,) = select_quotes(question, make_sources([spartacus]), embedder, max_sentences=1)
    assert any("25.93%" in sentence for sentence in quote.sentences)

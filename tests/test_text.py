"""One text-processing module (vectorstore.text) for BM25, coverage, quotes and follow-ups."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import bm25s
import pytest
import Stemmer

from rag.extractive import keywords, weighted_keywords
from vectorstore.keyword_index import CURRENT, TOKENIZER, KeywordIndex, tokenize
from vectorstore.text import index_terms, is_filler, stem, topic_of, words

ROOT = Path(__file__).resolve().parent.parent
# Names that used to hold a module's own stop words, word regex or stemmer.
OWN_LEXICON = {"_STOPWORDS", "_FILLER", "_WORD_RE", "_stem", "_STEMMER", "_QUERY_STOPWORDS"}


def _lexical_leaks(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "Stemmer"}
        elif isinstance(node, ast.ImportFrom) and node.module == "bm25s.stopwords":
            found.add("bm25s.stopwords")
        elif isinstance(node, ast.Attribute) and node.attr == "tokenize":
            if isinstance(node.value, ast.Name) and node.value.id == "bm25s":
                found.add("bm25s.tokenize")
        elif (
            isinstance(node, ast.Name | ast.FunctionDef)
            and (getattr(node, "id", None) or getattr(node, "name", None)) in OWN_LEXICON
        ):
            found.add(getattr(node, "id", None) or node.name)
    return found


def test_only_vectorstore_text_owns_stop_words_word_regex_and_stemmer() -> None:
    paths = [*(ROOT / "rag").glob("*.py"), *(ROOT / "vectorstore").glob("*.py")]
    leaks = {
        p.name: sorted(bad) for p in paths if p.name != "text.py" and (bad := _lexical_leaks(p))
    }
    assert leaks == {}


def test_bm25_and_coverage_tokenise_alike_with_snowball_stems() -> None:
    text = "Text-to-image models reach 93.3 FID on the benchmarks"
    assert tokenize([text]) == [index_terms(text)]
    terms = index_terms(text)
    assert {"text", "imag", "model", "93.3", "benchmark"} <= set(terms)
    assert "the" not in terms and "on" not in terms
    assert stem("studies") == Stemmer.Stemmer("english").stemWord("studies") == "studi"


def test_extractive_and_followups_share_the_filler_words() -> None:
    assert keywords("Which papers propose models for restoring faces?") == {
        stem("restoring"),
        stem("faces"),
    }
    assert weighted_keywords("SymFace reaches 25.93") == {"symfac": 3.0, "reach": 1.0, "25.93": 3.0}
    assert is_filler("Paper") and is_filler("the") and not is_filler("diffusion")
    assert words("The models") == ["model"]  # the reader's words: stop words only


def test_an_index_from_an_older_tokenizer_is_rebuilt_in_memory(tmp_path: Path) -> None:
    ids, docs = ["a#h#0", "b#h#0"], ["Face restoration reaches 93.3 PSNR", "Speculative decoding"]
    root = tmp_path / "bm25"
    KeywordIndex(root).build(ids, docs, "sig")
    # Rewrite the live generation as an older release did: bm25s's own tokenizer, no record.
    pointer = json.loads((root / CURRENT).read_text())
    old = bm25s.BM25()
    old.index(bm25s.tokenize(docs, stopwords="en", return_ids=False, show_progress=False))
    old.save(str(root / pointer["generation"]))
    del pointer["tokenizer"]
    (root / CURRENT).write_text(json.dumps(pointer))
    assert KeywordIndex(root).search("93.3") == []  # "93.3" is no token of the old index

    rebuilt = KeywordIndex(root, rows=lambda: (ids, docs))
    assert [cid for cid, _ in rebuilt.search("93.3")] == ["a#h#0"]
    assert TOKENIZER and rebuilt.document_frequency(stem("restoration")) == 1


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Which papers are about video generation?", "video generation?"),
        ("Are there any works that do video generation?", "video generation?"),
        ("I'm looking for research on talking heads", "talking heads"),
        ("Which papers improve video generation?", "improve video generation?"),
        ("Any recent papers from ByteDance on face swapping?", "ByteDance on face swapping?"),
        # no request for papers: unchanged, even when it opens with stop words
        ("How does Lookahead verify branches?", "How does Lookahead verify branches?"),
        ("What is LoRA?", "What is LoRA?"),
        # scaffolding words inside the topic stay
        ("diffusion methods for video", "diffusion methods for video"),
        ("Which papers?", "Which papers?"),  # nothing but the request: kept as written
    ],
)
def test_topic_of_takes_off_the_opening_request_only(question: str, topic: str) -> None:
    assert topic_of(question) == topic

"""Sentences and words as paperchat's lexical signals see them.

The one place for splitting abstracts into sentences and for tokenising: one word regex
(WORD_RE), one stop-word list (STOPWORDS) and one stemmer (PyStemmer, Snowball English), used
by BM25 and coverage (`index_terms`), the reader's passage windows and its training data
(`words`), the extractive answerer and follow-up rewriting (`is_filler`, `stem`). If they
disagreed, a word one signal matches would be invisible to another.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-]*|\d+(?:\.\d+)?")
STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
# Words a question or abstract about papers uses without naming what it is about ("which paper
# proposes a method ..."): not stop words in English, but no evidence of a topic either.
RESEARCH_FILLER = frozenset({
    "also", "approach", "approaches", "based", "could", "else", "find", "give", "looking",
    "method", "methods", "model", "models", "new", "one", "ones", "paper", "papers", "please",
    "propose", "proposed", "show", "shows", "study", "tell", "use", "used", "uses", "using",
    "work", "works", "would",
})  # fmt: skip
# Words that open a request for papers ("Which papers ...", "Are there any works that ...",
# "I'm looking for research on ...") without saying what it is about. Only a leading run of them
# (with stop words) is scaffolding: "diffusion methods" keeps its "methods".
SCAFFOLDING = frozenset({
    "papers", "paper", "works", "work", "research", "studies", "study", "articles", "article",
    "publications", "publication", "literature", "approaches", "methods", "techniques",
    "looking", "searching", "find", "show", "tell", "give", "list", "know", "want", "need",
    "interested", "please", "recent", "new", "latest", "existing", "exist", "published",
    "anything", "something", "ones", "hi", "hey", "im", "i'm", "i'd", "id", "there's",
})  # fmt: skip
_TOKEN_RE = re.compile(r"[\w'’]+")
# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "al", "vs", "cf", "fig", "figs", "eq", "eqs", "sec", "ref", "refs", "approx",
    "resp", "no", "nos", "dr", "prof", "mr", "ms", "st", "ca", "viz", "incl", "esp",
}  # fmt: skip
_BOUNDARY_RE = re.compile(r"[.!?][\"”’)\]]*\s+(?=[\"“(\[]?[A-Z0-9])")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Content words of `text`, stemmed, in order (duplicates kept)."""
    found = [w for w in WORD_RE.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer().stemWords(found)


def word_set(text: str) -> set[str]:
    return set(words(text))


def stem(word: str) -> str:
    """The Snowball stem of one lower-cased word."""
    return _stemmer().stemWord(word)


def is_filler(word: str) -> bool:
    """A stop word or research filler: carries no content of a question or a sentence."""
    low = word.lower()
    return low in STOPWORDS or low in RESEARCH_FILLER


def topic_of(question: str) -> str:
    """The question without its opening request for papers: "Which papers are about video
    generation?" -> "video generation?".

    Search reads the topic: the request's words are in no abstract, so left in they lowered
    the paper's coverage and cosine until a paper that answers was declined (EchoVideo at
    relevance 0.06 for "Which papers improve video generation?", 0.996 for "video
    generation"). Only a leading run of stop words and SCAFFOLDING words that holds at least
    one SCAFFOLDING word is taken off, so "How does Lookahead verify branches?" is unchanged."""
    scaffolded = False
    for match in _TOKEN_RE.finditer(question):
        token = match.group().lower().replace("’", "'")
        if token in SCAFFOLDING:
            scaffolded = True
        elif token not in STOPWORDS:
            return question[match.start() :] if scaffolded else question
    return question  # nothing but scaffolding: keep what the user wrote


def index_terms(text: str) -> list[str]:
    """The terms BM25 indexes and coverage weighs: `words`, with hyphenated words split into
    their parts ("text-to-image" -> text, image), so a question that writes them apart still
    matches. Single characters are dropped: a "2" from "2-bit" matches nearly every abstract
    and lifted an out-of-scope question over the abstention boundary. Keeping the compound as
    well measured worse (dev MRR 1.000 -> 0.974)."""
    found: list[str] = []
    for word in WORD_RE.findall(text.lower()):
        parts = word.split("-") if "-" in word else [word]
        found += [part for part in parts if len(part) > 1 and part not in STOPWORDS]
    return _stemmer().stemWords(found)


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; robust to 'e.g.', 'et al.', '93.3\\%', URLs and initials."""
    text = " ".join(text.split())
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY_RE.finditer(text):
        candidate = text[start : match.end()].strip()
        last_word = candidate.rstrip('.!?"”’)]').split(" ")[-1].lstrip('(["“').lower()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue  # "e.g. ImageNet", "et al. (2023)", "J. Smith"
        sentences.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return _merge_fragments(sentences)


def _merge_fragments(sentences: list[str], min_chars: int = 25) -> list[str]:
    """Glue splitter debris onto a neighbour: headings ("Background.") forward, the rest back."""
    merged: list[str] = []
    carry = ""
    for sentence in sentences:
        sentence = f"{carry} {sentence}" if carry else sentence
        carry = ""
        if len(sentence) < min_chars and len(sentence.split()) <= 2:
            carry = sentence  # a heading: it belongs to what follows
        elif merged and len(sentence) < min_chars:
            merged[-1] = f"{merged[-1]} {sentence}"
        else:
            merged.append(sentence)
    if carry:
        merged.append(carry)
    return merged

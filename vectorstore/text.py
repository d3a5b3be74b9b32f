"""Sentences and words as paperchat's lexical signals see them.

One place for splitting abstracts into sentences and for tokenising, so that the reader's
passage windows, its training data and the extractive answerer agree on what a sentence and a
word are; PyStemmer (Snowball English) does the stemming.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-]*|\d+(?:\.\d+)?")
STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
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

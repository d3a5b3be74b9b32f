"""Split an abstract into chunks that the embedding model can read whole.

A model like all-MiniLM-L6-v2 silently truncates input past 256 word pieces, so a chunk that is too
long would be indexed by its first part only. The splitter therefore counts tokens with the
embedder's own tokenizer (`Embedder.count_tokens`), and the budget covers the whole document the
model sees: `f"{title}\\n{chunk_text}"` plus the model's special tokens ([CLS]/[SEP]).
Separators prefer sentence ends, then clauses, then words, so chunks read naturally.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from langchain_text_splitters import RecursiveCharacterTextSplitter

from vectorstore.defaults import CHUNK_OVERLAP_TOKENS, CHUNK_TOKENS
from vectorstore.embeddings import Embedder

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
# Below this many tokens for the abstract text a chunk is mostly title; long titles get trimmed.
MIN_BODY_TOKENS = 48
COUNT_MEMO = 4096  # token counts remembered: the pieces of the last few papers


@dataclass(frozen=True)
class ChunkConfig:
    """What decides the chunk texts; recorded in the catalog so a change is detected."""

    chunk_tokens: int
    chunk_overlap_tokens: int

    def describe(self) -> str:
        return f"chunk_tokens={self.chunk_tokens}, chunk_overlap_tokens={self.chunk_overlap_tokens}"


class Chunker:
    """Produces the documents (title line + chunk text) stored for one paper."""

    def __init__(
        self,
        embedder: Embedder,
        chunk_tokens: int = CHUNK_TOKENS,
        chunk_overlap_tokens: int = CHUNK_OVERLAP_TOKENS,
    ):
        if chunk_tokens <= MIN_BODY_TOKENS:
            raise ValueError(f"chunk_tokens must be more than {MIN_BODY_TOKENS}")
        self.embedder = embedder
        self.config = ChunkConfig(chunk_tokens, chunk_overlap_tokens)
        # The splitter counts each piece when it splits and again when it merges: a small memo
        # halves the tokenizer calls (thread-safe; the same text always has the same count).
        self._count: Callable[[str], int] = functools.lru_cache(maxsize=COUNT_MEMO)(
            embedder.count_tokens
        )

    # Read on the first chunk, not here: a lazy embedder would load its model to answer.
    @cached_property
    def limit(self) -> int:
        """The hard limit: never more than the model reads, whatever the settings say."""
        return min(self.config.chunk_tokens, self.embedder.max_tokens)

    @cached_property
    def _special(self) -> int:
        return self._count("")

    def _text_tokens(self, text: str) -> int:
        """Tokens of `text` alone, without the special tokens added once per model input."""
        return self._count(text) - self._special

    def _title_prefix(self, title: str) -> str:
        """The title line, trimmed by words only if it would leave too little room for text."""
        room = self.limit - self._special - MIN_BODY_TOKENS
        words = title.split()
        while words and self._text_tokens(" ".join(words) + "\n") > room:
            words.pop()
        return " ".join(words) + "\n"

    def _splitter(self, budget: int) -> RecursiveCharacterTextSplitter:
        overlap = min(self.config.chunk_overlap_tokens, budget // 4)
        length: Callable[[str], int] = self._text_tokens
        return RecursiveCharacterTextSplitter(
            chunk_size=budget,
            chunk_overlap=overlap,
            length_function=length,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def _fit(self, prefix: str, text: str, budget: int) -> list[str]:
        """Split `text`; re-split any piece that still overflows (token counts of pieces do not
        always add up exactly, e.g. when a word is cut into characters)."""
        pieces: list[str] = []
        for piece in self._splitter(budget).split_text(text):
            excess = self._count(prefix + piece) - self.limit
            if excess > 0 and budget > 8:
                pieces.extend(self._fit(prefix, piece, max(8, budget - excess - 4)))
            else:
                pieces.append(piece)
        return pieces

    def split(self, title: str, abstract: str) -> list[str]:
        """Documents for one paper, in order; each fits the model whole."""
        prefix = self._title_prefix(title)
        budget = self.limit - self._special - self._text_tokens(prefix)
        pieces = self._fit(prefix, abstract.strip(), budget) if abstract.strip() else [""]
        return [prefix + piece for piece in pieces]

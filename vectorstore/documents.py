"""The unit the vector store indexes: one paper, independent of where it was parsed from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SCALAR = (str, int, float, bool)


def paper_of(chunk_id: str) -> str:
    """Chunk ids are `{paper_id}#{content_hash[:12]}#{i}` (vectorstore.indexer, CONTRACTS.md)."""
    return chunk_id.split("#", 1)[0]


@dataclass(frozen=True)
class PaperDoc:
    """A paper as the store sees it: what is indexed, chunked and returned by the catalog.

    `metadata` scalars (published, year, org, upvotes, authors_count, ...) are copied onto every
    chunk so Chroma can filter on them; non-scalar values (lists, dicts) are kept only in the
    catalog. None values are dropped, because Chroma metadata cannot hold None.
    """

    paper_id: str
    title: str
    abstract: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Changes exactly when the embedded text changes, so only then do we re-embed."""
        return _sha(self.title + "\n" + self.abstract)

    @property
    def metadata_hash(self) -> str:
        return _sha(json.dumps(self.metadata, sort_keys=True, default=str))

    def chunk_metadata(self) -> dict[str, str | int | float | bool]:
        return {k: v for k, v in self.metadata.items() if isinstance(v, SCALAR)}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

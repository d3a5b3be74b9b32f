"""paperchat's one error family, and the errors the vector store raises on purpose.

`PaperchatError` is the base of every error whose message a user can act on; the CLI and the
UI catch it alone and print the message instead of a traceback. It lives here, in the lowest
layer, because vectorstore may not import rag: rag.errors re-exports it and adds its own
subclasses (InputError, LLMError), so both layers raise one family and nothing translates.
"""

from __future__ import annotations

REBUILD_HINT = "run `paperchat index --rebuild` to re-embed every indexed paper with it"


class PaperchatError(Exception):
    """Base of every error whose message tells the user what went wrong and what to do."""


class PaperIndexError(PaperchatError):
    """An index or storage problem whose message is meant for the user."""


class EmbeddingModelMismatch(PaperIndexError):
    """The store was built with another embedding model (vectors would not be comparable)."""

    def __init__(self, stored: str, stored_dim: int | None, current: str, current_dim: int):
        self.stored, self.stored_dim = stored, stored_dim
        self.current, self.current_dim = current, current_dim
        super().__init__(
            f"The index was built with embedding model {stored!r} (dimension {stored_dim}), "
            f"but the configured model is {current!r} (dimension {current_dim}). Vectors of "
            f"different models cannot be mixed: set the embedding model back to {stored!r}, or "
            f"{REBUILD_HINT}."
        )


class ChunkingMismatch(PaperIndexError):
    """The chunk size settings changed: chunk ids would no longer name the same text."""

    def __init__(self, stored: str, current: str):
        self.stored, self.current = stored, current
        super().__init__(
            f"The index was chunked with {stored}, but the settings now say {current}. "
            f"Restore the old chunk settings, or {REBUILD_HINT}."
        )


class IndexBusyError(PaperIndexError):
    """Another process (or thread) is writing to the same data directory."""


class StoreUnavailable(PaperIndexError):
    """The Chroma server cannot be reached (or answered with a transport error)."""


class EmbeddingUnavailable(PaperIndexError):
    """The embedding model could not be loaded, or the embedding server could not be reached."""


class ReaderUnavailable(PaperIndexError):
    """The reader (cross-encoder or rerank server) could not be loaded or did not answer.

    Search catches it, warns, and falls back to the fusion order: a missing reranker must not
    stop a user from getting an answer."""


class DataDirUnwritable(PaperIndexError):
    """The data directory cannot be written: its file system is read-only, full, or denies us.

    Raised instead of the storage layers' own errors (sqlite3, chromadb, OSError), which say
    neither which directory is meant nor that the index in it is still intact. `reason` is
    "read-only", "full" or "not writable". See vectorstore.storage_errors."""

    def __init__(self, message: str, home: str, reason: str):
        self.home, self.reason = home, reason
        super().__init__(message)


class CollectionOwnedElsewhere(PaperIndexError):
    """The Chroma collection belongs to another data directory (see ChromaStore.claim).

    Each data directory keeps its own catalog and BM25 index of the collection it writes; two
    of them writing one collection would drift apart, so only the owner may write or search it."""

    def __init__(self, message: str, owner: str):
        self.owner = owner
        super().__init__(message)

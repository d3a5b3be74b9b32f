"""The Chroma side of the index: connect (embedded or server), open the collection, move chunks.

Embedded mode uses `PersistentClient(<home>/chroma)`; a `chroma_url` (http://host:port) switches to
`HttpClient`, every request of which is bounded by a timeout (see `connect`). The collection uses
cosine space and records the embedding model and dimension in its metadata, because vectors from
two models must never be mixed in one collection.
Chroma never embeds anything itself (embedding_function=None): vectors always come from our
Embedder, so Chroma never tries to download its own default model.

One collection, one writer: the first data directory that writes a collection records itself
in the collection's metadata as its owner (`claim`), and another data directory is refused,
for writing and for searching alike (`check_reader`): each data dir keeps its own catalog and
BM25 index of the collection, so a second writer would make the two drift apart, and a second
reader would search Chroma's chunks with a catalog that does not describe them (its answers
would silently miss papers). To share one server, give each data dir its own collection
(PAPERCHAT_COLLECTION). A copy of the owner's data dir counts as the owner (it carries the same
id). The claim is atomic: Chroma has no compare-and-set on metadata, but creating a collection
is (a name exists once on the server), so a data dir claims an unowned collection by creating
its owner marker (`owner_marker`, an empty collection holding the owner); of two data dirs
claiming at once, the one whose marker exists wins and the other is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings

from vectorstore.defaults import CHROMA_TIMEOUT
from vectorstore.embeddings import Embedder
from vectorstore.errors import CollectionOwnedElsewhere, EmbeddingModelMismatch, StoreUnavailable
from vectorstore.storage_errors import cannot_write, scratch_dir, storage_errors, unwritable

MODEL_KEY = "embedding_model"
DIMENSION_KEY = "embedding_dimension"
OWNER_KEY = "paperchat_owner"  # the id of the one data dir that writes this collection
OWNER_WHERE_KEY = "paperchat_owner_home"  # where that data dir is ("<path> on <host>")
SCAN_PAGE = 5000
SCAN_PAPERS = 200  # papers per metadata-filtered get when reading back only some papers
WRITE_BATCH = 1000
CONNECT_TIMEOUT = 5.0  # most seconds to open a TCP connection to the server
log = logging.getLogger(__name__)


def _read_only_copy(path: Path) -> tuple[ClientAPI, str]:
    """A client on a temporary copy of a read-only data dir's Chroma store.

    Embedded Chroma opens its database for writing even to search, so a data dir on a
    read-only mount (a shared archive, a backup) could not be searched at all. A copy can; it is
    deleted when the process ends, and nothing written to it reaches the data dir (writes are
    refused anyway: the catalog and the lock live in the read-only dir)."""
    started = time.perf_counter()
    copy = scratch_dir() / "chroma"
    try:
        shutil.copytree(path, copy)
    except OSError as exc:
        shutil.rmtree(copy.parent, ignore_errors=True)
        raise StoreUnavailable(
            f"The data directory {path.parent} is read-only, and its Chroma store could not be "
            f"copied to {copy.parent} to be searched ({exc}). Free space there (or set TMPDIR), "
            f"or make the data directory writable."
        ) from exc
    log.warning(
        "%s is read-only: searching a copy of its Chroma store in %s (copied in %.1f s)",
        path.parent,
        copy,
        time.perf_counter() - started,
    )
    client = chromadb.PersistentClient(path=str(copy), settings=_settings())
    return client, f"{path} (read-only: searched from a copy in {copy})"


def _settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


def _server_down(url: str, exc: Exception, timeout: float | None = None) -> StoreUnavailable:
    if isinstance(exc, httpx.TimeoutException) and timeout is not None:
        return StoreUnavailable(
            f"The Chroma server at {url} did not answer within {timeout:g} s "
            f"({type(exc).__name__}: {exc}): it may be overloaded or frozen. Check the server, "
            f"or raise PAPERCHAT_CHROMA_TIMEOUT (seconds) if it is only slow."
        )
    return StoreUnavailable(
        f"Cannot reach the Chroma server at {url} ({type(exc).__name__}: {exc}). Start it "
        f"(`chroma run --path DIR --port PORT`) or unset PAPERCHAT_CHROMA_URL to use the "
        f"embedded store."
    )


def _http_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))


def _bound_requests(client: ClientAPI, timeout: float) -> None:
    """Give the HttpClient's requests a timeout: chromadb creates its httpx session with
    `timeout=None`, so a server that accepts connections and then hangs (overloaded, frozen,
    partitioned) would block every search and sync forever. chromadb has no setting for this;
    the session is the private `client._server._session` (chromadb.api.fastapi.FastAPI).
    If a chromadb release moves it, fail here (and in tests/test_chroma_server.py) rather than
    silently going back to requests that can hang. chromadb shares one session per server
    address in a process, so the latest `connect` to an address sets its timeout."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise RuntimeError(
            f"chromadb {chromadb.__version__} no longer keeps its httpx session at "
            f"client._server._session: vectorstore.chroma_store cannot bound its requests "
            f"with a timeout; update _bound_requests for this chromadb version."
        )
    session.timeout = _http_timeout(timeout)


def connect(
    home: Path, chroma_url: str | None = None, timeout: float = CHROMA_TIMEOUT
) -> tuple[ClientAPI, str]:
    """A Chroma client and a human-readable location (path or URL).

    With a server, `timeout` bounds the wait for each response (seconds; opening a connection
    waits at most CONNECT_TIMEOUT); running out raises httpx.TimeoutException, which
    `ChromaStore.guard` turns into StoreUnavailable."""
    if not chroma_url:
        path = home / "chroma"
        if path.is_dir() and cannot_write(home):
            return _read_only_copy(path)
        with storage_errors(home):  # Chroma writes as it opens: fails on a read-only/full disk
            path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=_settings()), str(path)
    parsed = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    ssl = parsed.scheme == "https"
    port = parsed.port or (443 if ssl else 8000)
    base = f"{parsed.scheme}://{parsed.hostname}:{port}"
    # A pre-flight with our timeout: the HttpClient below already talks to the server while it
    # is built (identity, tenant, database), before _bound_requests can reach its session.
    try:
        httpx.get(f"{base}/api/v2/heartbeat", timeout=_http_timeout(timeout)).raise_for_status()
        client = chromadb.HttpClient(
            host=parsed.hostname or "localhost", port=port, ssl=ssl, settings=_settings()
        )
    except (httpx.HTTPError, ValueError) as exc:
        raise _server_down(base, exc, timeout) from exc
    _bound_requests(client, timeout)
    return client, base


@dataclass(frozen=True)
class Owner:
    """A data directory as the owner of a collection: its id, and where it is for messages."""

    id: str
    where: str


def owner_marker(name: str) -> str:
    """The name of the empty collection that records who claimed collection `name` (a valid
    Chroma name whatever `name` is: 3-63 characters of [a-z0-9-])."""
    return "paperchat-owner-" + hashlib.sha256(name.encode()).hexdigest()[:24]


def owner_of(collection: Collection) -> Owner | None:
    """Who owns `collection` (None: nobody yet, e.g. one written by an older release)."""
    meta = collection.metadata or {}
    found = meta.get(OWNER_KEY)
    return Owner(str(found), str(meta.get(OWNER_WHERE_KEY, "?"))) if found else None


class ChromaStore:
    """One named collection on one client, with the batch operations the indexer needs."""

    def __init__(
        self, client: ClientAPI, name: str, location: str, timeout: float = CHROMA_TIMEOUT
    ):
        self.client = client
        self.name = name
        self.location = location
        self.timeout = timeout

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn a lost or timed-out server connection into StoreUnavailable, not a traceback.

        Code that calls the Collection directly (the retriever) runs under it too, see
        vectorstore.paper_store."""
        try:
            yield
        except httpx.TransportError as exc:  # incl. httpx.TimeoutException
            raise _server_down(self.location, exc, self.timeout) from exc
        except Exception as exc:  # the embedded store on a read-only or full disk
            local = self.local_dir
            error = unwritable(local.parent, exc) if local is not None else None
            if error is None:
                raise
            raise error from exc

    @property
    def local_dir(self) -> Path | None:
        """The embedded store's directory; None for a server (its disk is not ours to watch)."""
        return None if "://" in self.location else Path(self.location)

    def claim(self, collection: Collection, owner: Owner) -> Collection:
        """Record `owner` as the collection's one writer, or refuse: see the module docstring.

        Returns the collection as re-read after the claim, whose metadata says it is ours."""
        found = owner_of(collection)
        if found is not None and found.id != owner.id:
            raise self._owned_elsewhere(found, owner, "write to")
        if found is not None:
            return collection
        with self.guard():
            winner = self._take_marker(owner)
            if winner.id != owner.id:
                raise self._owned_elsewhere(winner, owner, "write to")
            kept = {k: v for k, v in (collection.metadata or {}).items() if ":" not in k}
            # modify() replaces all metadata; "hnsw:*" keys may not be re-sent (Chroma keeps
            # the distance in the collection's configuration).
            collection.modify(metadata={**kept, OWNER_KEY: owner.id, OWNER_WHERE_KEY: owner.where})
            collection = self.client.get_collection(self.name, embedding_function=None)
        found = owner_of(collection)
        if found is None or found.id != owner.id:  # another data dir claimed it meanwhile
            raise self._owned_elsewhere(found or owner, owner, "write to")
        return collection

    def _take_marker(self, owner: Owner) -> Owner:
        """Create this collection's owner marker for `owner`, or read who created it first."""
        marker = owner_marker(self.name)
        metadata = {OWNER_KEY: owner.id, OWNER_WHERE_KEY: owner.where}
        try:
            self.client.create_collection(marker, metadata=metadata, embedding_function=None)
            return owner
        except Exception as create_error:  # "already exists": its type differs by client
            try:
                existing = self.client.get_collection(marker, embedding_function=None)
            except Exception:
                raise create_error from None  # not a duplicate: the create's own failure
            return owner_of(existing) or owner

    def check_reader(self, collection: Collection, home_id: str | None, where: str) -> None:
        """Refuse to search a collection another data directory owns (module docstring)."""
        found = owner_of(collection)
        if found is not None and found.id != home_id:
            raise self._owned_elsewhere(found, Owner(home_id or "-", where), "search")

    def _owned_elsewhere(self, owner: Owner, me: Owner, doing: str) -> CollectionOwnedElsewhere:
        why = (
            "its catalog does not describe that collection, so answers would miss papers"
            if doing == "search"
            else "each data directory keeps its own catalog of the collection it writes, and "
            "two catalogs of one collection would drift apart"
        )
        return CollectionOwnedElsewhere(
            f"The Chroma collection {self.name!r} at {self.location} belongs to another "
            f"paperchat data directory: {owner.where} (id {owner.id[:8]}). The data directory "
            f"{me.where} may not {doing} it: {why}. Index and ask from the owner's data "
            f"directory (PAPERCHAT_HOME), or give this one a collection of its own by setting "
            f"PAPERCHAT_COLLECTION to another name, then run `paperchat index`.",
            owner.where,
        )

    def existing(self) -> Collection | None:
        """The collection if it exists, without any model check (for stats and rebuild)."""
        with self.guard():
            names = {
                c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()
            }
            if self.name not in names:
                return None
            return self.client.get_collection(self.name, embedding_function=None)

    def open(self, embedder: Embedder, owner: Owner | None = None) -> Collection:
        """Get or create the collection, refusing one built with another model. A collection
        created here for a writer records `owner` from the start (see `claim`)."""
        with self.guard():
            collection = self.existing()
            if collection is not None:
                stored = collection.metadata or {}
                model, dim = stored.get(MODEL_KEY), stored.get(DIMENSION_KEY)
                if model is None and collection.count() == 0:
                    # Created empty by another tool: safe to take over.
                    self.client.delete_collection(self.name)
                    collection = None
                elif model != embedder.model_name or dim != embedder.dimension:
                    raise EmbeddingModelMismatch(
                        str(model), dim, embedder.model_name, embedder.dimension
                    )
            if collection is None:
                collection = self.client.get_or_create_collection(
                    self.name,
                    metadata={
                        "hnsw:space": "cosine",
                        MODEL_KEY: embedder.model_name,
                        DIMENSION_KEY: embedder.dimension,
                        **({OWNER_KEY: owner.id, OWNER_WHERE_KEY: owner.where} if owner else {}),
                    },
                    embedding_function=None,
                )
            return collection

    def drop(self) -> None:
        """Delete the collection and its owner marker (a rebuild re-creates it owned)."""
        with self.guard():
            if self.existing() is not None:
                self.client.delete_collection(self.name)
            with contextlib.suppress(Exception):  # no marker: the collection was created owned
                self.client.delete_collection(owner_marker(self.name))

    def scan(
        self, collection: Collection, paper_ids: Iterable[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """chunk id -> metadata for everything in the collection, or for the chunks of these
        papers only (paged, no documents)."""
        if paper_ids is not None:
            return self._scan_papers(collection, sorted(paper_ids))
        found: dict[str, dict[str, Any]] = {}
        with self.guard():
            offset = 0
            while True:
                page = collection.get(include=["metadatas"], limit=SCAN_PAGE, offset=offset)
                for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                    found[chunk_id] = dict(meta or {})
                if len(page["ids"]) < SCAN_PAGE:
                    return found
                offset += SCAN_PAGE

    def _scan_papers(self, collection: Collection, paper_ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict[str, Any]] = {}
        with self.guard():
            for start in range(0, len(paper_ids), SCAN_PAPERS):
                batch = paper_ids[start : start + SCAN_PAPERS]
                page = collection.get(where={"paper_id": {"$in": batch}}, include=["metadatas"])
                for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=False):
                    found[chunk_id] = dict(meta or {})
        return found

    def delete(self, collection: Collection, ids: Sequence[str]) -> None:
        with self.guard():
            for start in range(0, len(ids), WRITE_BATCH):
                collection.delete(ids=list(ids[start : start + WRITE_BATCH]))

    def set_metadata(
        self, collection: Collection, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]
    ) -> None:
        """Replace chunk metadata without touching vectors (None values delete stale keys)."""
        with self.guard():
            for start in range(0, len(ids), WRITE_BATCH):
                end = start + WRITE_BATCH
                collection.update(ids=list(ids[start:end]), metadatas=list(metadatas[start:end]))

    def put(
        self,
        collection: Collection,
        ids: list[str],
        documents: list[str],
        metadatas: list[dict[str, Any]],
        embeddings: list[list[float]],
    ) -> None:
        """Upsert, so that re-adding an id after a crash is harmless."""
        with self.guard():
            collection.upsert(
                ids=ids, documents=documents, metadatas=metadatas, embeddings=embeddings
            )

    def count(self, collection: Collection) -> int:
        with self.guard():
            return collection.count()

"""Search reads the index only through a small store interface (issue 9, "The house").

- no import cycle among vectorstore modules, not even one hidden behind TYPE_CHECKING;
- nothing subclasses the search to add behaviour (the facade used to, to guard errors);
- the search runs on any object with the SearchStore methods (here an in-memory fake);
- the store's guard turns a transport error into StoreUnavailable, so search needs no wrapper.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from vectorstore.catalog import ChunkRow
from vectorstore.chroma_store import ChromaStore
from vectorstore.documents import PaperDoc
from vectorstore.errors import StoreUnavailable
from vectorstore.keyword_index import KeywordIndex
from vectorstore.paper_store import PaperStore
from vectorstore.retriever import PaperSearch

VECTORSTORE = Path(__file__).resolve().parent.parent / "vectorstore"


def _vectorstore_imports(path: Path) -> set[str]:
    """Modules of vectorstore that `path` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "vectorstore":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("vectorstore."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.count(".") >= 1)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, node])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_vectorstore_modules_import_each_other_without_a_cycle() -> None:
    graph = {p.stem: _vectorstore_imports(p) for p in VECTORSTORE.glob("*.py")}
    assert _cycle(graph) is None
    assert "paper_index" not in graph["retriever"]


def test_no_vectorstore_module_hides_imports_behind_type_checking() -> None:
    offenders = [p.name for p in VECTORSTORE.glob("*.py") if "TYPE_CHECKING" in p.read_text()]
    assert offenders == []


def test_nothing_subclasses_the_search() -> None:
    import vectorstore.paper_index  # noqa: F401  (the facade used to subclass PaperSearch)

    assert PaperSearch.__subclasses__() == []


# --- the search on a fake store ----------------------------------------------------------------


def _embed(text: str, size: int = 64) -> np.ndarray:
    """A bag-of-words vector: enough for a deterministic dense side."""
    vector = np.zeros(size, dtype=np.float32)
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % size] += 1.0
    return vector / (np.linalg.norm(vector) or 1.0)


PAPERS = {
    "pa": PaperDoc("pa", "Speculative decoding", "Draft tokens verified by a large model."),
    "pb": PaperDoc("pb", "Face restoration", "Diffusion priors restore degraded faces."),
    "pc": PaperDoc("pc", "Clothes-changing re-identification", "People change clothes."),
}


class FakeStore:
    """Only the SearchStore methods, over three papers of one chunk each."""

    def __init__(self, root: Path, unkeyed: tuple[str, ...] = ()):
        self.rows = [
            ChunkRow(f"{p.paper_id}#h#0", p.paper_id, 0, f"{p.title}\n{p.abstract}", {}, "m")
            for p in PAPERS.values()
        ]
        keyed = [r for r in self.rows if r.paper_id not in unkeyed]  # an index run's window
        self.keywords = KeywordIndex(root)
        self.keywords.build([r.chunk_id for r in keyed], [r.document for r in keyed], "s")
        self._vectors = {r.chunk_id: _embed(r.document) for r in self.rows}

    def embed_query(self, text: str) -> np.ndarray:
        return _embed(text)

    def nearest(self, vector: np.ndarray, n: int, where: dict[str, Any] | None):
        scored = sorted(((float(v @ vector), c) for c, v in self._vectors.items()), reverse=True)
        return [(cid, score) for score, cid in scored[:n]]

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {c: self._vectors[c] for c in chunk_ids if c in self._vectors}

    def chunks(self, paper_ids: Iterable[str]) -> list[ChunkRow]:
        wanted = set(paper_ids)
        return [r for r in self.rows if r.paper_id in wanted]

    def papers(self, paper_ids: Iterable[str] | None = None) -> dict[str, PaperDoc]:
        return {k: v for k, v in PAPERS.items() if paper_ids is None or k in set(paper_ids)}

    def paper_metadata(self) -> dict[str, dict[str, Any]]:
        return {k: v.metadata for k, v in PAPERS.items()}


def test_search_needs_only_the_store_interface(tmp_path: Path) -> None:
    search = PaperSearch(FakeStore(tmp_path / "bm25"))
    docs = search.search("diffusion priors restore faces", k=2)
    assert docs[0].metadata["paper_id"] == "pb"
    assert {d.metadata["paper_id"] for d in search.similar("pb", k=5)} == {"pa", "pc"}


def test_a_paper_the_keyword_index_lacks_yet_is_scored_from_the_catalog(tmp_path: Path) -> None:
    """Chroma holds it, the keyword index does not yet: its words come from its text."""
    query = "diffusion priors restore faces"
    keyed = PaperSearch(FakeStore(tmp_path / "all")).search(query, k=3)
    lagging = PaperSearch(FakeStore(tmp_path / "lag", unkeyed=("pb",))).search(query, k=3)
    (pb,) = [d.metadata for d in lagging if d.metadata["paper_id"] == "pb"]
    assert pb["bm25_score"] == 0.0 and pb["coverage"] == keyed[0].metadata["coverage"] > 0


# --- the guard lives in the store ----------------------------------------------------------------


class _LostServer:
    def query(self, **_: Any) -> dict:
        raise httpx.ConnectError("connection refused")

    def get(self, **_: Any) -> dict:
        raise httpx.ReadTimeout("timed out")


@pytest.mark.parametrize("call", ["nearest", "vectors"])
def test_store_turns_transport_errors_into_store_unavailable(call: str) -> None:
    chroma = ChromaStore(client=None, name="papers", location="http://127.0.0.1:9", timeout=1.0)
    store = PaperStore(chroma, catalog=None, keywords=None, embedder=None)  # type: ignore[arg-type]
    store._collection = _LostServer()  # type: ignore[assignment]
    with pytest.raises(StoreUnavailable):
        if call == "nearest":
            store.nearest(np.ones(4, dtype=np.float32), 5, None)
        else:
            store.vectors(["p#h#0"])


def test_concurrent_filtered_searches_build_the_filter_columns_once_from_metadata(
    tmp_path: Path,
) -> None:
    """Chats searching with a filter just after a re-index share one build of the filter
    columns, made from the papers' metadata without reading every abstract."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from vectorstore.filters import SearchFilters

    store = FakeStore(tmp_path / "bm25")
    builds: list[int] = []

    def metadata() -> dict[str, dict[str, Any]]:
        builds.append(threading.get_ident())
        time.sleep(0.05)  # every thread arrives while the first one builds
        return {"pa": {"upvotes": 30}, "pb": {"upvotes": 1}, "pc": {"upvotes": 30}}

    def papers(paper_ids: Iterable[str] | None = None) -> dict[str, PaperDoc]:
        assert paper_ids is not None, "the filter columns read every paper's abstract"
        return FakeStore.papers(store, paper_ids)

    store.paper_metadata = metadata  # type: ignore[method-assign]
    store.papers = papers  # type: ignore[method-assign]
    search = PaperSearch(store)
    start = threading.Barrier(6)

    def ask(_: int) -> list[str]:
        start.wait()
        query = "diffusion faces draft tokens clothes"
        docs = search.search(query, 3, SearchFilters(min_upvotes=10))
        return [d.metadata["paper_id"] for d in docs]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(ask, range(6)))
    assert len(builds) == 1
    assert results[0] and "pb" not in results[0]
    assert all(found == results[0] for found in results)

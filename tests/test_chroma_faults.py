"""Faults around a real `chroma run` server: it dies in the middle of an index run, and two data
directories point at the same server and collection.

The server dies: the user hears so in one clear error, the catalog counts as indexed only the
papers whose chunks reached the server (the others are reported as not yet written), and a
rerun after the server is restarted completes to the very index a clean build makes.

Two data dirs, one collection: the first to write owns it; the second is refused, for writing
and for searching, with a message that names the owner and how to go on (its own collection,
PAPERCHAT_COLLECTION), and nothing of it reaches the owner's collection or its own catalog.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_chroma_server import PAPERCHAT, running_chroma
from test_crash import CAPTURED, assert_same, snapshot, write_scenario

from rag.assistant import ResearchAssistant
from rag.cli import read_stats
from rag.settings import Settings
from vectorstore.catalog import Catalog
from vectorstore.embeddings import Embedder
from vectorstore.errors import CollectionOwnedElsewhere, StoreUnavailable
from vectorstore.paper_index import PaperIndex

BATCH = 2  # chunks per Chroma write: the server dies between two of them


def assistant(home: Path, embedder: Embedder, url: str | None, collection: str = "papers"):
    """The product's index path (ResearchAssistant.index) against `url` (None: embedded)."""
    settings = Settings(home=home, chroma_url=url, collection=collection, reranker="none")
    ra = ResearchAssistant(settings)
    ra.__dict__["embedder"] = embedder
    ra.__dict__["paper_index"] = PaperIndex(
        home, embedder=embedder, chroma_url=url, collection=collection, add_batch_size=BATCH
    )
    return ra


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_scenario(tmp_path_factory.mktemp("server_dumps"), "base")


def test_server_killed_mid_index_then_rerun_completes(
    tmp_path: Path, dumps: list[Path], embedder: Embedder
) -> None:
    home, data = tmp_path / "home", tmp_path / "chroma_data"
    with running_chroma(data) as (url, server):
        ra = assistant(home, embedder, url)

        def kill_server_after_two_batches(phase: str, done: int, total: int) -> None:
            if phase == "embedding" and 2 * BATCH <= done < total and server.poll() is None:
                server.kill()
                server.wait(10)

        with pytest.raises(StoreUnavailable, match=f"Cannot reach the Chroma server at {url}"):
            ra.index(dumps, captured=CAPTURED, progress=kill_server_after_two_batches)
        assert server.poll() is not None, "the server was never killed"

    # Nothing half-written is reported as done: stats count only papers whose chunks all got
    # to the server, and say how many did not.
    stats = read_stats(Settings(home=home, chroma_url=url))
    catalog = Catalog.in_home(home)
    total = len(catalog.papers())
    assert stats["papers"] > 0 and stats["papers_unwritten"] > 0
    assert stats["papers"] + stats["papers_unwritten"] == total
    assert stats["reconcile_pending"]

    with running_chroma(data) as (url, _):  # restarted on the same data, a new port
        collection = PaperIndex(home, embedder=embedder, chroma_url=url).collection
        stored = set(collection.get(include=[])["ids"])
        unwritten = catalog.unwritten()
        for row in catalog.chunks():  # every paper counted as indexed is entirely there
            assert row.paper_id in unwritten or row.chunk_id in stored, row.chunk_id
        assert any(row.chunk_id not in stored for row in catalog.chunks())  # work was left

        report = assistant(home, embedder, url).index(dumps, captured=CAPTURED)
        assert report.ok and report.chunks_embedded > 0

        recovered = PaperIndex(home, embedder=embedder, chroma_url=url)
        assert recovered.verify() == []
        assert read_stats(Settings(home=home))["papers"] == total
        clean_home = tmp_path / "clean"
        assistant(clean_home, embedder, None).index(dumps, captured=CAPTURED)
        assert_same(snapshot(recovered), snapshot(PaperIndex(clean_home, embedder=embedder)))


def test_a_second_home_on_the_same_collection_is_refused(
    tmp_path: Path, dumps: list[Path], embedder: Embedder
) -> None:
    owner_home, second_home = tmp_path / "alice", tmp_path / "bob"
    with running_chroma(tmp_path / "chroma_data") as (url, _):
        assistant(owner_home, embedder, url, "shared").index(dumps[:1], captured=CAPTURED)
        owner = PaperIndex(owner_home, embedder=embedder, chroma_url=url, collection="shared")
        before = snapshot(owner)

        second = assistant(second_home, embedder, url, "shared")
        with pytest.raises(CollectionOwnedElsewhere) as refused:
            second.index(dumps, captured=CAPTURED)
        message = str(refused.value)
        assert f"belongs to another paperchat data directory: {owner_home} on " in message
        assert f"The data directory {second_home} on " in message
        assert "may not write to it" in message and "PAPERCHAT_COLLECTION" in message
        with pytest.raises(CollectionOwnedElsewhere, match="may not search it"):
            second.search("video generation", k=3)
        with pytest.raises(CollectionOwnedElsewhere):  # a rebuild would drop the collection
            second.index([], rebuild=True)

        # Nothing of the refused runs reached either side.
        assert Catalog.in_home(second_home).count_papers() == 0
        assert_same(snapshot(owner), before)
        assert owner.verify() == []

        # The CLI says it in one line; the way out it names works.
        env = {
            **os.environ,
            "PAPERCHAT_HOME": str(second_home),
            "PAPERCHAT_CHROMA_URL": url,
            "PAPERCHAT_COLLECTION": "shared",
            "PAPERCHAT_RERANKER": "none",
        }
        done = subprocess.run(
            [str(PAPERCHAT), "index", str(dumps[1]), "--captured", CAPTURED.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: The Chroma collection 'shared' at ")
        assert str(owner_home) in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1

        own = assistant(second_home, embedder, url, "bobs-papers").index(dumps, captured=CAPTURED)
        assert own.ok and own.papers_added == len(Catalog.in_home(second_home).papers())
        assert_same(snapshot(owner), before)


def _store(home: Path, url: str, name: str = "shared"):
    from vectorstore.chroma_store import ChromaStore, connect

    client, location = connect(home, url)
    return ChromaStore(client, name, location)


def test_two_homes_claiming_one_unowned_collection_at_once_leave_one_owner(
    tmp_path: Path, embedder: Embedder
) -> None:
    """The race the metadata alone could not settle: both data dirs read the collection while
    nobody owned it (an older release's collection), then both claim it. The second must be
    refused, and the owner recorded must stay the first (its marker was created first)."""
    import threading

    from vectorstore.chroma_store import Owner, owner_of

    with running_chroma(tmp_path / "chroma_data") as (url, _):
        alice, bob = _store(tmp_path / "alice", url), _store(tmp_path / "bob", url)
        alice.open(embedder)  # created unowned, as release 0.1 did
        stale_alice, stale_bob = alice.existing(), bob.existing()
        assert owner_of(stale_alice) is None and owner_of(stale_bob) is None
        first = Owner("a" * 32, "/alice on host")
        claimed = alice.claim(stale_alice, first)
        assert owner_of(claimed) == first
        with pytest.raises(CollectionOwnedElsewhere, match="/alice on host"):
            bob.claim(stale_bob, Owner("b" * 32, "/bob on host"))
        assert owner_of(bob.existing()) == first
        assert alice.claim(stale_alice, first).name == "shared"  # the owner may claim again

        # Many at once on another unowned collection: exactly one wins.
        stores = [_store(tmp_path / f"home{i}", url, "contested") for i in range(6)]
        stores[0].open(embedder)
        stale = [s.existing() for s in stores]
        barrier, results = threading.Barrier(len(stores)), {}

        def claim(i: int) -> None:
            barrier.wait()
            try:
                stores[i].claim(stale[i], Owner(f"{i}" * 32, f"/home{i}"))
                results[i] = "owner"
            except CollectionOwnedElsewhere:
                results[i] = "refused"

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, result in results.items() if result == "owner"]
        assert len(results) == len(stores) and len(winners) == 1, results
        assert owner_of(stores[0].existing()).id == f"{winners[0]}" * 32

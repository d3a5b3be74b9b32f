"""Crash safety: SIGKILL a real index run at ten named points, rerun, compare with a clean build.

Each kill point names one place in `ResearchAssistant.index` (parsing the dumps, chunking, the
catalog commit, embedding, the Chroma writes, the BM25 write). The run is killed there with a
real SIGKILL; the test then runs the same index command again in this process and requires the
result to equal a clean build of the same dumps: the same chunk ids, documents, metadata and
vectors in Chroma, the same papers in the catalog, the same BM25 rows and hits. The pytest
summary says how many of the ten points survive (one parametrized case each).

This file is also the script that runs the killed index runs: `python tests/test_crash.py`
imports the product once, then reads one JSON request a line from stdin and forks a child per
request, which installs that request's kill point (by wrapping a product function in the child
only: no test hook lives in the product), runs the index and SIGKILLs itself when the point is
reached. The parent answers with how the child ended. Forking after the imports saves a 7 s
start-up per kill point; the parent has imported only (no threads, no model, no store open).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "dumps"
N_PAPERS = 16
ABSTRACT_CHARS = 600  # about one chunk per paper: embedding is most of this test's time
ADD_BATCH = 2  # small batches: several Chroma writes, so kills land between them
CAPTURED = date(2025, 10, 20)
HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nOct 20\n\n"
)


# --- the scenarios: two dumps, then the same two files re-saved with changes -----------------


@dataclass(frozen=True)
class Entry:
    title: str
    abstract: str
    upvotes: int
    day: int


def sample_pairs(count: int = N_PAPERS, skip: int = 0) -> list[tuple[str, str]]:
    """(title, abstract) pairs taken from the sample dumps: real text, `count` of them after
    the first `skip` (other tests take papers that the scenarios do not use)."""
    blocks: list[str] = []
    for path in sorted(SAMPLE.glob("*.txt")):
        blocks += [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n")]
    pairs: dict[str, str] = {}
    for title, abstract in itertools.pairwise(blocks):
        if len(abstract) > 300 and 10 < len(title) < 300 and "\n" not in title:
            pairs.setdefault(title, abstract[:ABSTRACT_CHARS].rsplit(" ", 1)[0])
    return list(pairs.items())[skip : skip + count]


def scenario(name: str) -> dict[str, list[Entry]]:
    """The entries of each dump file. "changed" re-saves both files: 6 re-worded abstracts,
    3 upvote changes, 3 papers dropped (removed by --prune); every paper stays in its file."""
    entries = [Entry(t, a, n, 1 + n % 28) for n, (t, a) in enumerate(sample_pairs())]
    if name == "changed":
        reworded = [
            Entry(e.title, e.abstract + " We also release code.", e.upvotes, e.day)
            for e in entries[:6]
        ]
        bumped = [Entry(e.title, e.abstract, 900, e.day) for e in entries[6:9]]
        entries = reworded + bumped + entries[9:-3]
    half = N_PAPERS // 2
    return {"dump_a.txt": entries[:half], "dump_b.txt": entries[half:]}


def write_scenario(folder: Path, name: str) -> list[Path]:
    """Write the scenario's dumps in the Daily Papers page format; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file_name, entries in scenario(name).items():
        blocks = [
            f"{e.title}\n\n{e.abstract}\n\n  • 4 authors\n·\nOct {e.day}, 2025 {e.upvotes}"
            for e in entries
        ]
        path = folder / file_name
        path.write_text(HEADER + "\n\n".join(blocks) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def make_assistant(home: Path, embedder: Any) -> Any:
    """The product's own index command path, with small Chroma batches."""
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings
    from vectorstore.paper_index import PaperIndex

    assistant = ResearchAssistant(Settings(home=home, reranker="none"))
    assistant.__dict__["embedder"] = embedder
    assistant.__dict__["paper_index"] = PaperIndex(
        home, embedder=embedder, add_batch_size=ADD_BATCH
    )
    return assistant


def index(home: Path, dumps: list[Path], embedder: Any) -> Any:
    """`paperchat index DUMPS --prune --captured 2025-10-20`, as the Python API runs it."""
    report = make_assistant(home, embedder).index(dumps, captured=CAPTURED, prune=True)
    assert report.ok, report.summary()
    return report


# --- kill points (installed in the forked child only) -----------------------------------------


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_at_call(
    owner: Any,
    name: str,
    nth: int = 1,
    when: str = "after",
    match: Callable[..., bool] = lambda *args, **kwargs: True,
) -> None:
    """Replace `owner.name` so that its `nth` matching call SIGKILLs the process before it
    runs (`when="before"`) or after it returned (`when="after"`)."""
    original = getattr(owner, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        hit = match(*args, **kwargs) and (calls := calls + 1) == nth
        if hit and when == "before":
            die()
        result = original(*args, **kwargs)
        if hit and when == "after":
            die()
        return result

    setattr(owner, name, wrapper)


def _named(prefix: str) -> Callable[..., bool]:
    return lambda path, *args, **kwargs: Path(path).name.startswith(prefix)


def install_kill_point(point: str) -> None:
    import rag.assistant
    import vectorstore.catalog
    import vectorstore.indexer
    import vectorstore.keyword_index
    from vectorstore.chroma_store import ChromaStore
    from vectorstore.embeddings import SentenceTransformerEmbedder

    bm25 = vectorstore.keyword_index
    points: dict[str, Callable[[], None]] = {
        # parsing: the second dump file, then chunking the papers (before any commit)
        "parse:second-dump": lambda: kill_at_call(rag.assistant, "parse_dump", 2, "before"),
        "parse:chunking": lambda: kill_at_call(vectorstore.indexer, "build_chunks", 3, "before"),
        # the catalog commit: inside its one open transaction, and just after it committed
        "catalog:mid-transaction": lambda: kill_at_call(vectorstore.catalog, "_insert_chunks", 3),
        "catalog:after-commit": lambda: kill_at_call(vectorstore.catalog.Catalog, "apply"),
        # embedding: the first batch's vectors computed but not stored; the third batch
        "embedding:first-batch": lambda: kill_at_call(
            SentenceTransformerEmbedder, "embed_documents"
        ),
        "embedding:third-batch": lambda: kill_at_call(
            SentenceTransformerEmbedder, "embed_documents", 3, "before"
        ),
        # Chroma writes: stale chunks deleted (re-tags and upserts not done); two batches upserted
        "chroma:after-delete": lambda: kill_at_call(ChromaStore, "delete"),
        "chroma:after-second-upsert": lambda: kill_at_call(ChromaStore, "put", 2),
        # the BM25 write: new generation's matrix saved, ids.json not yet; new CURRENT not swapped
        "bm25:mid-generation": lambda: kill_at_call(
            bm25, "_write_durable", 1, "before", _named("ids.json")
        ),
        "bm25:before-swap": lambda: kill_at_call(
            bm25, "_write_durable", 1, "after", _named("CURRENT")
        ),
    }
    points[point]()


def child(request: dict[str, Any]) -> None:
    """Run one index command with its kill point installed; print "finished" if it survives."""
    from vectorstore.embeddings import load_embedder

    install_kill_point(request["kill_at"])
    dumps = [Path(p) for p in request["dumps"]]
    make_assistant(Path(request["home"]), load_embedder()).index(
        dumps, captured=CAPTURED, prune=True
    )
    print(json.dumps({"finished": True}), flush=True)


def serve() -> None:
    """Import the product once, then fork one child per request line on stdin."""
    import sentence_transformers  # noqa: F401 - the heavy imports: torch, transformers
    import transformers.models.bert.modeling_bert  # noqa: F401

    import rag.assistant  # noqa: F401 - chromadb, langchain
    import vectorstore.paper_index  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(request)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        print(json.dumps({"signal": killed, "exit": exit_code}), flush=True)


if __name__ == "__main__":
    serve()
    sys.exit(0)


# --- the test ---------------------------------------------------------------------------------
import pytest  # noqa: E402

from vectorstore.catalog import Catalog  # noqa: E402
from vectorstore.embeddings import Embedder  # noqa: E402
from vectorstore.paper_index import PaperIndex  # noqa: E402

# kill point -> the scenario it interrupts: "base" is the first build into an empty home,
# "changed" the re-saved dumps indexed over a clean build of "base".
KILL_POINTS = {
    "parse:second-dump": "base",
    "parse:chunking": "changed",
    "catalog:mid-transaction": "changed",
    "catalog:after-commit": "changed",
    "embedding:first-batch": "base",
    "embedding:third-batch": "changed",
    "chroma:after-delete": "changed",
    "chroma:after-second-upsert": "changed",
    "bm25:mid-generation": "changed",
    "bm25:before-swap": "changed",
}
BEFORE_COMMIT = {"parse:second-dump", "parse:chunking", "catalog:mid-transaction"}


class Killer:
    """The forking script above, started once for the module."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"},
            cwd=ROOT,
        )
        assert self._answer() == {"ready": True}

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                answer = json.loads(line)
                if "finished" not in answer:
                    return answer
        pytest.fail(f"the crash script died; its log:\n{self.log.read_text()[-3000:]}")

    def run(self, home: Path, dumps: list[Path], kill_at: str) -> dict[str, Any]:
        """One index run with `kill_at` installed: {"signal": 9, "exit": None} when killed."""
        assert self.proc.stdin is not None
        request = {"home": str(home), "dumps": [str(p) for p in dumps], "kill_at": kill_at}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def killer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killer]:
    server = Killer(tmp_path_factory.mktemp("killer") / "crash_script.log")
    yield server
    server.close()


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("crash_dumps")
    return {name: write_scenario(root / name, name) for name in ("base", "changed")}


@pytest.fixture(scope="module")
def clean(
    tmp_path_factory: pytest.TempPathFactory, dumps: dict[str, list[Path]], embedder: Embedder
) -> dict[str, Path]:
    """Clean builds, once for the module: "base" (also the start of every "changed" point),
    and "changed" indexed into an empty home."""
    homes = {}
    for name, files in dumps.items():
        home = tmp_path_factory.mktemp(f"clean_{name}") / "home"
        index(home, files, embedder)
        homes[name] = home
    return homes


def open_index(home: Path, embedder: Embedder) -> PaperIndex:
    return PaperIndex(home, embedder=embedder, add_batch_size=ADD_BATCH)


def snapshot(index: PaperIndex) -> dict:
    got = index.collection.get(include=["documents", "metadatas", "embeddings"])
    return {
        "ids": got["ids"],
        "rows": {
            cid: (doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        },
        "vectors": dict(zip(got["ids"], got["embeddings"], strict=True)),
        "papers": index.papers(),
        "bm25": sorted(index.keyword_index.ids),
        "bm25_hits": index.keyword_index.search("retrieval language model video", k=10),
    }


def assert_same(crashed: dict, clean: dict) -> None:
    assert len(crashed["ids"]) == len(set(crashed["ids"]))  # no duplicates
    assert sorted(crashed["ids"]) == sorted(clean["ids"])  # none missing, none extra
    assert crashed["rows"] == clean["rows"]  # same documents and metadata
    for cid, vector in clean["vectors"].items():
        assert max(abs(a - b) for a, b in zip(crashed["vectors"][cid], vector, strict=True)) < 1e-4
    assert crashed["papers"] == clean["papers"]
    assert crashed["bm25"] == clean["bm25"] == sorted(clean["ids"])
    assert [c for c, _ in crashed["bm25_hits"]] == [c for c, _ in clean["bm25_hits"]]


def assert_killed_with_work_left(point: str, home: Path, clean: dict[str, Path], embedder) -> None:
    """The kill really interrupted the run at that point (else the test proves nothing)."""
    if point == "parse:second-dump":  # nothing was committed to the empty home
        assert Catalog.in_home(home).count_papers() == 0
    elif point in BEFORE_COMMIT:  # the uncommitted plan left the base index as it was
        crashed = open_index(home, embedder)
        assert crashed.verify() == []
        assert crashed.papers() == open_index(clean["base"], embedder).papers()
    else:  # the new state was committed, the stores lag behind it
        crashed = open_index(home, embedder)
        assert crashed.verify() != []
        assert_counts_only_written_papers(crashed)


def assert_counts_only_written_papers(index: PaperIndex) -> None:
    """Every paper the catalog counts as indexed has all its chunks in Chroma."""
    stored = set(index.collection.get(include=[])["ids"])
    unwritten = index.catalog.unwritten()
    for row in index.catalog.chunks():
        assert row.paper_id in unwritten or row.chunk_id in stored, row.chunk_id
    assert index.catalog.count_papers() == len(index.papers()) - len(unwritten)


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_rerun_equals_a_clean_build(
    point: str,
    tmp_path: Path,
    killer: Killer,
    dumps: dict[str, list[Path]],
    clean: dict[str, Path],
    embedder: Embedder,
) -> None:
    name = KILL_POINTS[point]
    home = tmp_path / "home"
    if name == "changed":
        shutil.copytree(clean["base"], home)
    ended = killer.run(home, dumps[name], point)
    assert ended == {"signal": signal.SIGKILL, "exit": None}, f"{point} was never reached"
    assert_killed_with_work_left(point, home, clean, embedder)

    index(home, dumps[name], embedder)  # the rerun: the same command again

    recovered = open_index(home, embedder)
    assert recovered.verify() == []
    assert_same(snapshot(recovered), snapshot(open_index(clean[name], embedder)))
    assert index(home, dumps[name], embedder).chunks_embedded == 0  # nothing left to redo

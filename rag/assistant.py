"""ResearchAssistant: the one public object behind the CLI, the UI and users' own code.

It wires the pieces together and nothing more: parsing and merging (rag.papers,
rag.dump_parser), storage and search (vectorstore.PaperIndex), and answering (rag.chain).
Expensive parts (the embedding model, the Chroma client, the chat model) load on first use, so
that `paperchat --help` or a stats call stays quick. A user may bring their own LangChain chat
model and embeddings; the settings supply only the defaults.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from rag.arrivals import record_arrival
from rag.dump_parser import ParsedDump, parse_dump
from rag.errors import InputError
from rag.evaluation import EvalReport, run_eval
from rag.models import Answer, FileIssue, IndexReport, PaperHit, SavedMatch
from rag.papers import Paper, merge_papers
from rag.settings import Settings
from vectorstore.filters import SearchFilters

if TYPE_CHECKING:
    from rag.compare import Comparison
    from rag.digest import Digest
    from rag.digest_summaries import SummaryWriter
    from rag.saved import SavedQuestion, SavedQuestions
    from rag.trends import Trends

Progress = Callable[[str, int, int], None]
DUMP_SUFFIXES = {".txt"}


class Stats(BaseModel):
    """What is indexed, where, and with which model."""

    papers: int
    chunks: int
    dumps: list[dict[str, Any]]
    date_range: tuple[str, str] | None
    embedding_model: str
    embedding_dimension: int
    store: str
    mode: str


class ResearchAssistant:
    """Index dumps, search papers and answer questions with cited sources.

    `llm`: any LangChain chat model (ChatOpenAI, ChatOllama, ChatAnthropic, ...); without one,
    the OPENAI_* settings build a ChatOpenAI, and without those answers are extractive.
    `embeddings`: any LangChain Embeddings, used to index and to search; an index built with
    another model is refused (see vectorstore.embeddings.LangChainEmbedder for the name it is
    recorded under)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        llm: BaseChatModel | None = None,
        embeddings: Embeddings | None = None,
    ) -> None:
        if llm is not None and not isinstance(llm, BaseChatModel):
            raise TypeError(f"llm must be a LangChain chat model, got {type(llm).__name__}")
        if embeddings is not None and not isinstance(embeddings, Embeddings):
            raise TypeError(f"embeddings must be LangChain Embeddings, got {type(embeddings)}")
        self.settings = settings or Settings()
        self.settings.index.home.mkdir(parents=True, exist_ok=True)
        self._llm = llm
        self._embeddings = embeddings

    # --- lazily built parts -----------------------------------------------------------------

    @cached_property
    def embedder(self):
        from vectorstore.embeddings import as_embedder, load_embedder

        if self._embeddings is not None:
            return as_embedder(self._embeddings)
        s = self.settings.index
        return load_embedder(
            s.embedding_model,
            base_url=s.embedding_base_url,
            api_key=s.embedding_api_key.get_secret_value() if s.embedding_api_key else None,
            batch_size=s.embedding_batch_size,
            backend=s.embedding_backend,
            timeout=s.embedding_timeout,
            max_retries=s.embedding_max_retries,
            lazy=True,  # commands that only read the index never load the model
        )

    @cached_property
    def paper_index(self):
        from vectorstore.paper_index import PaperIndex

        s = self.settings.index
        return PaperIndex(
            s.home,
            embedder=self.embedder,
            chroma_url=s.chroma_url,
            chroma_timeout=s.chroma_timeout,
            collection=s.collection,
            chunk_tokens=s.chunk_tokens,
            chunk_overlap_tokens=s.chunk_overlap_tokens,
            reader=self.reader,
            rerank_top_n=self.settings.retrieval.rerank_top_n,
        )

    @cached_property
    def reader(self):
        """The cross-encoder that re-reads papers and picks quotes (PAPERCHAT_RERANKER);
        None for `none`. It loads on its first question, not here."""
        from vectorstore.reader import load_reader

        s = self.settings.retrieval
        return load_reader(s.reranker, timeout=s.reranker_timeout)

    @cached_property
    def llm(self) -> BaseChatModel | None:
        """The chat model answers come from: the one passed in, else the settings' (or None)."""
        if self._llm is not None:
            return self._llm
        from rag.chain import default_llm

        return default_llm(self.settings)

    @cached_property
    def retriever(self) -> BaseRetriever:
        """The retriever the chain uses: one Document per paper (id = paper_id, PaperHit's
        fields as metadata), `k` = PAPERCHAT_TOP_K unless a call says `k=`; `filters=` takes a
        SearchFilters or a mapping of its fields. Reusable in a pipeline of one's own."""
        return self.paper_index.retriever(k=self.settings.retrieval.top_k)

    @cached_property
    def chain(self) -> Runnable:
        """The LCEL chain: {"question", "history", "k"?, "filters"?} -> Answer (rag.chain)."""
        from rag.chain import build_chain

        return build_chain(
            self.retriever,
            self.settings,
            self.embedder,
            llm=self.llm,
            reader=self.reader,
            facts=self.index_facts,
        )

    @cached_property
    def index_facts(self) -> Callable[[], Any]:
        """Orgs, newest capture and dumps of the index (rag.index_facts), cached until it
        changes: what filters written in a question and metadata answers are read against."""
        from rag.index_facts import CachedFacts

        index = self.paper_index
        return CachedFacts(index, index.catalog.count_papers)

    @property
    def mode_label(self) -> str:
        if self._llm is not None:
            from rag.llm import chat_model_name

            return f"LLM: {chat_model_name(self._llm)}"
        if self.settings.llm.llm_configured:
            return f"LLM: {self.settings.llm.llm_model}"
        return "extractive — no LLM configured"

    # --- indexing -----------------------------------------------------------------------------

    def index(
        self,
        paths: Iterable[str | Path],
        *,
        captured: date | None = None,
        prune: bool = False,
        rebuild: bool = False,
        progress: Progress | None = None,
        lock_timeout: float = 0,
    ) -> IndexReport:
        """Parse dumps, merge them with what is indexed, and sync the store.

        A bad file is reported in `errors` and contributes nothing; the other files are still
        indexed. Pruning is skipped when any file failed, because a paper missing from a dump
        that could not be read is not evidence that the paper should go.
        """
        from vectorstore.storage_errors import require_writable

        started = time.perf_counter()
        require_writable(self.settings.index.home)  # before a read-only store is copied
        files, issues = expand_paths(paths)
        parsed = [self._parse(f, captured) for f in files]
        for dump in parsed:
            issues.extend(dump.issues)
        good = [d for d in parsed if not any(i.level == "error" for i in d.issues)]
        report = IndexReport(files=[str(f) for f in files], errors=issues)
        index = self.paper_index
        with index.write_lock(timeout=lock_timeout):
            rebuilt = index.rebuild(progress=progress) if rebuild else None
            sync, added = self._sync(good, prune and report.ok, progress)
            record_arrival(self.settings.index.home, added, report.files)  # for digest()
        if prune and not report.ok:
            report.errors.append(
                FileIssue(file="(prune)", message="--prune skipped: some files failed to parse")
            )
        report.papers_added = sync.added
        report.papers_updated = sync.updated
        report.papers_unchanged = sync.unchanged
        report.papers_removed = sync.removed
        report.chunks_embedded = sync.chunks_embedded + (rebuilt.chunks_embedded if rebuilt else 0)
        embedding = sync.embedding_seconds + (rebuilt.embedding_seconds if rebuilt else 0.0)
        report.embedding_seconds = round(embedding, 2)
        from rag.digest import report_arrivals

        report_arrivals(self, report, added)  # topics of the new papers, saved questions
        report.seconds = round(time.perf_counter() - started, 2)
        return report

    def _parse(self, path: Path, captured: date | None) -> ParsedDump:
        return parse_dump(
            path, captured=captured, max_abstract_chars=self.settings.index.max_abstract_chars
        )

    def _sync(self, dumps: list[ParsedDump], prune: bool, progress: Progress | None):
        """The sync's report, and the ids of the papers it added (not indexed before)."""
        from vectorstore.catalog import DumpRecord

        index = self.paper_index
        indexed = index.paper_ids()  # not every paper: 40,000 abstracts held ~100 MB for this
        observed = [p for d in dumps for p in d.papers]
        seen_ids = {p.paper_id for p in observed}
        existing = [Paper.from_doc(doc) for doc in index.get_papers(seen_ids & indexed).values()]
        merged = merge_papers(existing, observed)
        remove_ids = sorted(indexed - seen_ids) if prune else []
        records = [
            DumpRecord.from_file(d.file, d.captured, d.captured_inferred, len(d.papers))
            for d in dumps
        ]
        sync = index.sync(
            [p.to_doc() for p in merged], remove_ids=remove_ids, dumps=records, progress=progress
        )
        return sync, [p.paper_id for p in merged if p.paper_id not in indexed]

    # --- search and answers ---------------------------------------------------------------------

    def search(
        self,
        question: str,
        k: int = 10,
        *,
        since: date | None = None,
        until: date | None = None,
        org: str | None = None,
        min_upvotes: int | None = None,
    ) -> list[PaperHit]:
        """Papers relevant to `question`, one hit per paper, best first."""
        filters = make_filters(since, until, org, min_upvotes)
        docs = self.retriever.invoke(question, k=k, filters=filters)
        return [PaperHit.from_document(d) for d in docs]

    def ask(self, question: str, history: list[dict] | None = None, **options: Any) -> Answer:
        payload = self._chain_input(question, history, **options)  # validate before loading
        return self.chain.invoke(payload)

    def stream(
        self, question: str, history: list[dict] | None = None, **options: Any
    ) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the final Answer."""
        payload = self._chain_input(question, history, **options)
        yield from self.chain.stream(payload)

    def evaluate(self, questions_path: str | Path, k_max: int = 10) -> EvalReport:
        """Retrieval quality and abstention on a question set, beside a dense-only baseline."""
        searcher = self.paper_index.searcher

        def run(mode: str) -> Callable[[str, int], list[Document]]:
            return lambda question, k: searcher.search(question, k, mode=mode)

        return run_eval(
            run("hybrid"),
            questions_path,
            k_max,
            baseline_fn=run("dense"),
            threshold=self.settings.retrieval.abstain_threshold,
        )

    def similar(self, paper_id: str, k: int = 5) -> list[PaperHit]:
        return [PaperHit.from_document(d) for d in self.paper_index.similar(paper_id, k)]

    def papers(self) -> list[PaperHit]:
        """Every indexed paper (no score), for browsing."""
        return [PaperHit.from_paper(doc) for doc in self.paper_index.papers().values()]

    def compare(self, titles_or_ids: Iterable[str]) -> Comparison:
        """2-4 papers side by side: task, method, data, results, limitations, each cell the
        paper's own sentence, cited (rag.compare); titles may be given in part."""
        from rag.compare import compare_papers, resolve
        from rag.extractive import SentenceScorer

        papers = resolve(list(titles_or_ids), self.papers())
        return compare_papers(papers, SentenceScorer(self.embedder, self.reader))

    # --- what's new, trends, saved questions (rag.digest, rag.trends, rag.saved) ---------------

    def digest(self, since: date | str | None = None, *, extractive: bool = False) -> Digest:
        """What's new: the papers the last index run that added any added, or with `since`
        those first captured on or after that day; in topics, each with its cited
        contribution sentence, and the saved questions they are relevant to (rag.digest).
        With an LLM configured it writes those sentences, checked and cited
        (rag.digest_summaries), unless `extractive`."""
        from rag.digest import build_digest

        writer = None if extractive else self.summary_writer
        return build_digest(self, _as_day(since, "since"), writer)

    @cached_property
    def summary_writer(self) -> SummaryWriter | None:
        """Writes digest summaries with the LLM (None without one); remembers what it wrote."""
        if self.llm is None:
            return None
        from rag.digest_summaries import SummaryWriter

        return SummaryWriter(self.llm, self.settings.llm)

    def trends(self, *, max_topics: int | None = None, window: int | None = None) -> Trends:
        """Topic momentum over capture months: each topic's share of papers and upvotes per
        month, and the topics rising fastest with exemplar papers (rag.trends)."""
        from rag.trends import TREND_TOPICS, WINDOW_MONTHS, cached_trends

        return cached_trends(self, max_topics or TREND_TOPICS, window or WINDOW_MONTHS)

    @cached_property
    def saved(self) -> SavedQuestions:
        """The saved questions of this data dir (`<home>/saved_questions.json`)."""
        from rag.saved import SavedQuestions

        return SavedQuestions(self.settings.index.home)

    def saved_add(self, question: str) -> SavedQuestion:
        return self.saved.add(question)

    def saved_list(self) -> list[SavedQuestion]:
        return self.saved.list()

    def saved_remove(self, key: str | int) -> SavedQuestion:
        """Remove a saved question by id, number in `saved_list()` (1-based) or text."""
        return self.saved.remove(key)

    def saved_matches(self, paper_ids: Iterable[str], *, vectors: Any = None) -> list[SavedMatch]:
        """Per saved question, which of these papers clear the answer threshold (rag.saved)."""
        from rag.saved import match_saved

        ids = list(paper_ids)
        index = self.paper_index
        return match_saved(
            self.saved.list(),
            ids,
            scorer=index,
            metadata={pid: doc.metadata for pid, doc in index.get_papers(ids).items()},
            facts=self.index_facts(),
            threshold=self.settings.retrieval.abstain_threshold,
            vectors=vectors,
            embed=index.paper_store.embed_query,
        )

    def stats(self) -> Stats:
        st = self.paper_index.stats()
        dated = st.published_min and st.published_max
        return Stats(
            papers=st.papers,
            chunks=st.chunks,
            dumps=[_as_dict(r) for r in st.dumps],
            date_range=(st.published_min, st.published_max) if dated else None,
            embedding_model=st.embedding_model,
            embedding_dimension=st.dimension,
            store=st.store,
            mode=self.mode_label,
        )

    # --- internals ------------------------------------------------------------------------------

    def _chain_input(
        self,
        question: str,
        history: list[dict] | None,
        *,
        k: int | None = None,
        since: date | None = None,
        until: date | None = None,
        org: str | None = None,
        min_upvotes: int | None = None,
        ignore_question_filters: list[str] | None = None,
    ) -> dict[str, Any]:
        """The chain's input. Filters written in the question apply too, under these explicit
        ones; `ignore_question_filters` ("dates", "org", "min_upvotes", "sort" or "all") drops
        kinds of them (the UI's removed chips, the CLI's --no-question-filters)."""
        if not question or not question.strip():
            raise InputError("Ask a question: the text is empty.")
        return {
            "question": question.strip(),
            "history": list(history or []),
            "k": k or self.settings.retrieval.top_k,
            "filters": make_filters(since, until, org, min_upvotes),
            "ignore_question_filters": list(ignore_question_filters or []),
        }


# --- helpers (module level so the CLI and the UI can share them) -----------------------------


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileIssue]]:
    """Files as given, folders as their dump files (sorted, recursive); missing ones reported."""
    files: list[Path] = []
    issues: list[FileIssue] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in DUMP_SUFFIXES)
            if not found:
                issues.append(FileIssue(file=str(path), message="folder holds no .txt dump files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            issues.append(FileIssue(file=str(path), message="no such file or folder"))
    return list(dict.fromkeys(files)), issues


def make_filters(
    since: date | None, until: date | None, org: str | None, min_upvotes: int | None
) -> SearchFilters | None:
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}.")
    if since is None and until is None and not org and min_upvotes is None:
        return None
    return SearchFilters(since=since, until=until, org=org or None, min_upvotes=min_upvotes)


def _as_day(value: date | str | None, name: str) -> date | None:
    """A date given as a date or as YYYY-MM-DD text."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{name} {value!r} is not a date in the form YYYY-MM-DD.") from None


def _as_dict(record: Any) -> dict[str, Any]:
    if hasattr(record, "model_dump"):
        return record.model_dump()
    from dataclasses import asdict

    return asdict(record)

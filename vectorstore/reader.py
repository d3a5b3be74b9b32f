"""The reader: a cross-encoder that reads the question and a passage together.

Bi-encoder cosine and word overlap judge a question and a paper separately, then compare;
they cannot tell the sentence that answers from the background sentence that restates the
question's problem, nor a near-topic paper from one that answers. A cross-encoder reads both
at once. paperchat ships its own (trained from the bundled all-MiniLM-L6-v2 on team-written
questions over ../shared/corpus, see training/train_reader.py); `PAPERCHAT_RERANKER` picks:

- `bundled` (default): the shipped reader, offline;
- any sentence-transformers CrossEncoder name or path;
- an `http(s)://…/rerank` URL: a Hugging Face text-embeddings-inference style server;
- `none`: no reader, fusion order and the fusion relevance as before.

Every reader answers the same question: for each passage, the probability that it answers.
Passages are `title\\nwindow`, where the window is the few sentences of the abstract that share
most words with the question (`best_window`): the same construction at training and at
question time, and short enough to read fast on a CPU.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from vectorstore.errors import ReaderUnavailable
from vectorstore.inference import on_inference_thread
from vectorstore.text import word_set

log = logging.getLogger(__name__)

BUNDLED = "bundled"
NONE = "none"
BUNDLED_PATH = Path(__file__).parent / "reader_model"
# What the bundled reader was trained with, and where a reader whose saved tokenizer names no
# length of its own cuts its inputs (reader_length).
MAX_TOKENS = 128
# Pairs per forward pass: 24 question lists (10 abstracts, or 32 sentences) took 7.6-7.8 s
# at 32, 6.0 s at 16, 5.7-6.4 s at 8 (2 cores), and 8 holds a quarter of 32's activations.
BATCH_SIZE = 8
WINDOW_SENTENCES = 3
WINDOW_STRIDE = 2


class Reader(Protocol):
    """Scores (question, passage) pairs: the probability that the passage answers."""

    name: str

    def score(self, question: str, passages: Sequence[str]) -> list[float]: ...


def passage(title: str, text: str) -> str:
    """The reader's input for one passage of one paper."""
    return f"{title}\n{text}"


def best_window(question: str, sentences: Sequence[str], size: int = WINDOW_SENTENCES) -> str:
    """The `size` consecutive sentences sharing most distinct words with the question."""
    if len(sentences) <= size:
        return " ".join(sentences)
    wanted = word_set(question)
    owned = [word_set(s) for s in sentences]
    best, best_start = -1, 0
    for start in range(len(sentences) - size + 1):
        shared = len(wanted & set().union(*owned[start : start + size]))
        if shared > best:
            best, best_start = shared, start
    return " ".join(sentences[best_start : best_start + size])


def window_starts(count: int, size: int = WINDOW_SENTENCES) -> list[int]:
    """Where every `size`-sentence window of a `count`-sentence abstract starts, `WINDOW_STRIDE`
    apart, the last one included: so every sentence is read, in some window, with context."""
    if count <= size:
        return [0]
    starts = list(range(0, count - size + 1, WINDOW_STRIDE))
    if starts[-1] != count - size:
        starts.append(count - size)
    return starts


def windows(sentences: Sequence[str], size: int = WINDOW_SENTENCES) -> list[str]:
    """Every window of the abstract (window_starts), as text."""
    return [" ".join(sentences[i : i + size]) for i in window_starts(len(sentences), size)]


def logit(p: float) -> float:
    """The reader's probability back on the log-odds scale, where it combines linearly."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class CrossEncoderReader:
    """A sentence-transformers CrossEncoder on the CPU, loaded on first use.

    fp32 by default. Dynamic int8 (`quantize=True`) measured 2.4x faster here, but it scales
    activations per batch, so a paper's score depended on which other papers shared its
    batch: gold-paper relevance moved by up to 0.14 when 3,000 papers were added, against
    exactly 0 in fp32 (benchmarks/bench_reader.py).
    """

    def __init__(self, name_or_path: str | Path, *, quantize: bool = False) -> None:
        self.name = str(name_or_path)
        self.path = name_or_path  # where a judge.json may sit (vectorstore.judge)
        self._quantize = quantize
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_cross_encoder(self.path, self._quantize)
        return self._model

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        import torch

        model = self._load()
        pairs = [(question, p) for p in passages]

        def predict() -> Any:
            with torch.inference_mode():
                return model.predict(
                    pairs,
                    batch_size=BATCH_SIZE,
                    activation_fn=torch.nn.Sigmoid(),
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )

        scores = on_inference_thread(predict)
        return [float(s) for s in scores]


def reader_length(path: str | Path) -> int:
    """How many word pieces a reader reads: as many as it was trained on, which
    training/train_reader.py saves as the tokenizer's `model_max_length`. Inputs past it were
    never seen in training; the bundled reader reads 128. A hub name, or a saved tokenizer
    without a length of its own (1e30 or missing), gets MAX_TOKENS."""
    config = Path(path).expanduser() / "tokenizer_config.json"
    try:
        length = json.loads(config.read_text(encoding="utf-8")).get("model_max_length")
    except (OSError, ValueError):
        return MAX_TOKENS
    if not isinstance(length, int) or not 0 < length <= 512:
        return MAX_TOKENS
    return length


def _load_cross_encoder(path: str | Path, quantize: bool) -> Any:
    try:
        import torch
        from sentence_transformers import CrossEncoder

        # Shipped as fp16 to stay small; the CPU computes in fp32 (or int8).
        model = CrossEncoder(
            str(path),
            max_length=reader_length(path),
            device="cpu",
            # Weights on disk are read without a hub lookup; a hub name still resolves.
            local_files_only=Path(path).expanduser().exists(),
            model_kwargs={"dtype": torch.float32},
        )
    except Exception as exc:  # a missing path, an unknown hub name offline, a broken file
        raise ReaderUnavailable(f"cannot load the reader {str(path)!r}: {exc}") from exc
    if quantize:
        torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    model.eval()
    return model


class HttpReader:
    """A `/rerank` server (text-embeddings-inference's API): POST {query, texts} ->
    [{index, score}]. Scores are taken as probabilities (TEI applies the sigmoid)."""

    def __init__(self, url: str, *, timeout: float = 10.0, api_key: str | None = None) -> None:
        self.name = url
        self.url = url
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        import httpx

        body = {"query": question, "texts": list(passages), "truncate": True}
        try:
            response = httpx.post(self.url, json=body, timeout=self.timeout, headers=self._headers)
            response.raise_for_status()
            scores = {int(item["index"]): float(item["score"]) for item in response.json()}
            return [min(max(scores[i], 0.0), 1.0) for i in range(len(passages))]
        except httpx.TimeoutException as exc:
            raise ReaderUnavailable(
                f"the rerank server {self.url} did not answer within {self.timeout:g} s"
            ) from exc
        except httpx.HTTPStatusError as exc:
            raise ReaderUnavailable(
                f"the rerank server {self.url} answered HTTP {exc.response.status_code}"
            ) from exc
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ReaderUnavailable(f"the rerank server {self.url} failed: {exc}") from exc


def load_reader(spec: str | None, *, timeout: float = 10.0) -> Reader | None:
    """The reader `PAPERCHAT_RERANKER` names; None for `none`. Nothing loads until first use."""
    spec = (spec or BUNDLED).strip()
    if spec.lower() == NONE:
        return None
    if spec.lower() == BUNDLED:
        if not (BUNDLED_PATH / "config.json").is_file():
            log.warning("the bundled reader is not installed; answering without it")
            return None
        return CrossEncoderReader(BUNDLED_PATH)
    if spec.startswith(("http://", "https://")):
        return HttpReader(spec, timeout=timeout)
    return CrossEncoderReader(spec)

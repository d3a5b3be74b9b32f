"""The reader as the judge of relevance, for a reader whose judging constants were fitted.

Fusion's relevance (vectorstore.fusion.relevance) reads cosine, word coverage and unseen
names: signals of the question and the paper compared apart. A reader trained to read whole
abstracts too (training/train_reader.py --whole) reads them together, and a long question that
names details from several parts of one abstract finds them in no single window, so the judge
reads the whole abstract besides the window sharing most words with the question, and keeps
the better. Reading every window instead cost 2.5x as long and judged no better (BENCHMARKS.md,
"What the judge reads"). Its relevance is the logistic of that best probability's log-odds
and the paper's cosine ("combine, don't replace"), a judgement of the question and that paper
alone: adding papers to the index cannot move it.

The constants belong to one reader: benchmarks/bench_reader.py --fit --save-judge writes them
beside its weights as `judge.json`, the bias moved so that 0.5 is the threshold that falsely
abstained on at most 3 % of the fit questions. A reader without that file (the bundled one,
a /rerank server) leaves relevance to fusion.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from langchain_core.documents import Document

from vectorstore.errors import ReaderUnavailable
from vectorstore.reader import Reader, best_window, logit, passage
from vectorstore.text import split_sentences

log = logging.getLogger(__name__)

JUDGE_FILE = "judge.json"


@dataclass(frozen=True)
class Judge:
    """Relevance = sigmoid(reader x logit(best passage) + cosine x cosine + bias)."""

    reader: float
    cosine: float
    bias: float
    rank_weight: float = 0.0  # how far the reader may move fusion's order (vectorstore.rerank)

    def relevance(self, probability: float, cosine: float) -> float:
        z = self.reader * logit(probability) + self.cosine * cosine + self.bias
        return 1.0 / (1.0 + math.exp(-z))

    def save(self, folder: Path) -> Path:
        path = Path(folder) / JUDGE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def load_judge(reader: Reader | None) -> Judge | None:
    """The judge fitted for `reader`, from the `judge.json` beside its weights; None where
    there is none. A broken file is a warning, not a failed start: relevance stays fusion's."""
    folder = getattr(reader, "path", None)
    if folder is None:
        return None
    path = Path(folder).expanduser() / JUDGE_FILE
    if not path.is_file():
        return None
    try:
        return Judge(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring %s (%s); relevance stays fusion's", path, exc)
        return None


def abstract_of(doc: Document) -> str:
    return doc.metadata.get("abstract") or doc.page_content


def question_window(question: str, doc: Document) -> str:
    """The paper's window sharing most words with the question: what the bundled reader reads
    to rank (vectorstore.rerank) and the judge reads beside the whole abstract."""
    return best_window(question, split_sentences(abstract_of(doc)))


def judged_texts(question: str, doc: Document) -> list[str]:
    """What the judge reads of one paper: its question window, then the whole abstract (once,
    where the abstract is that window)."""
    return list(dict.fromkeys([question_window(question, doc), abstract_of(doc)]))


def best_probabilities(
    reader: Reader,
    question: str,
    docs: Sequence[Document],
    texts_of: Callable[[str, Document], list[str]] = judged_texts,
) -> list[float]:
    """Per paper, the reader's best probability over its texts, all scored in one batch."""
    owners, passages = [], []
    for i, doc in enumerate(docs):
        for text in texts_of(question, doc):
            owners.append(i)
            passages.append(passage(doc.metadata["title"], text))
    best = [0.0] * len(docs)
    scores = reader.score(question, passages) if passages else []
    for owner, probability in zip(owners, scores, strict=True):
        best[owner] = max(best[owner], probability)
    return best


def judged(question: str, docs: Sequence[Document], reader: Reader, judge: Judge) -> list[Document]:
    """`docs` in the same order, each relevance (`score`) the judge's; fusion's, with a
    warning, if the reader fails."""
    try:
        best = best_probabilities(reader, question, docs)
    except ReaderUnavailable as exc:
        log.warning("%s; relevance by fusion alone for this question", exc)
        return list(docs)
    for doc, probability in zip(docs, best, strict=True):
        meta = doc.metadata
        relevance = round(judge.relevance(probability, float(meta["dense_score"])), 6)
        meta.update(reader_score=round(probability, 6), score=relevance, relevance=relevance)
    return list(docs)

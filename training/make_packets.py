"""Packets of related corpus papers for the team writing the reader's training questions.

The reader (a cross-encoder) must learn from questions like the ones researchers ask, with
near-topic papers as negatives. So each packet holds clusters of four related papers from the
*training months* (TRAIN_MONTHS; the later months stay unseen, for distractors), each abstract
split into numbered sentences, so that a writer can name a gold paper, an answering sentence,
and questions that none of the four papers answers. Clusters are a seed paper plus its three
nearest BM25 neighbours (by its title and first sentences); no paper is used twice.

    python training/make_packets.py --packets 6 --clusters 32 --out training/packets
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import bm25s
import Stemmer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus_split import SHARED, corpus_files
from rag.dump_parser import parse_dump
from vectorstore.text import split_sentences


def training_papers() -> list:
    """Corpus papers from the training months, minus any title also in the sample dumps."""
    sample = {p.paper_id for f in (SHARED / "dumps").glob("*.txt") for p in _parse(f).papers}
    papers = []
    for path in corpus_files(training=True):
        papers.extend(p for p in _parse(path).papers if p.paper_id not in sample)
    return papers


def _parse(path: Path):
    return parse_dump(path, max_abstract_chars=20_000)


def clusters(papers: list, count: int, size: int, seed: int) -> list[list]:
    """`count` clusters of `size` mutually near papers, disjoint."""
    stemmer = Stemmer.Stemmer("english")
    corpus = [f"{p.title} {p.abstract}" for p in papers]
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", stemmer=stemmer, show_progress=False),
        show_progress=False,
    )
    order = list(range(len(papers)))
    random.Random(seed).shuffle(order)
    used: set[int] = set()
    found: list[list] = []
    for i in order:
        if len(found) == count:
            break
        if i in used or len(papers[i].abstract) < 400:
            continue
        query = papers[i].title + " " + " ".join(split_sentences(papers[i].abstract)[:2])
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        ids, _ = retriever.retrieve(tokens, k=20, show_progress=False)
        near = [int(j) for j in ids[0] if int(j) != i and int(j) not in used]
        group = [i, *near[: size - 1]]
        if len(group) < size:
            continue
        used.update(group)
        found.append([papers[j] for j in group])
    return found


def render(packet: int, groups: list[list]) -> str:
    lines = [f"# Packet {packet:02d}", ""]
    for c, group in enumerate(groups):
        lines += [f"## Cluster c{c:02d}", ""]
        for paper in group:
            lines += [f"### {paper.paper_id} — {paper.title}", ""]
            for n, sentence in enumerate(split_sentences(paper.abstract)):
                lines.append(f"[{n}] {sentence}")
            lines.append("")
    return "\n".join(lines)


PACKETS = Path(__file__).parent / "packets"


def write_packets(
    out: Path = PACKETS, packets: int = 6, per_packet: int = 35, size: int = 4, seed: int = 13
) -> Path:
    """Write the packets and clusters.json; the defaults rebuild what the questions were
    written against (the corpus is read from ../shared, so nothing of it is committed)."""
    papers = training_papers()
    groups = clusters(papers, packets * per_packet, size, seed)
    out.mkdir(parents=True, exist_ok=True)
    index = {}
    for k in range(packets):
        chunk = groups[k * per_packet : (k + 1) * per_packet]
        (out / f"packet_{k:02d}.md").write_text(render(k, chunk), encoding="utf-8")
        index[f"packet_{k:02d}"] = [[p.paper_id for p in g] for g in chunk]
    (out / "clusters.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    print(f"{len(papers)} training papers; {len(groups)} clusters in {packets} packets")
    return out / "clusters.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=6)
    parser.add_argument("--clusters", type=int, default=35, help="clusters per packet")
    parser.add_argument("--size", type=int, default=4)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=PACKETS)
    args = parser.parse_args()
    write_packets(args.out, args.packets, args.clusters, args.size, args.seed)


if __name__ == "__main__":
    main()

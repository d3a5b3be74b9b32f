"""Check a question file written against a packet: ids, kinds, gold papers, sentence indexes.

python training/check_questions.py training/questions/packet_00.jsonl training/questions/long/*
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

PACKETS = Path(__file__).parent / "packets"
KINDS = {"paraphrase", "detail", "multi", "out_of_scope"}


def packet_papers(packet: str, packets: Path = PACKETS) -> dict[str, tuple[str, int]]:
    """paper_id -> (cluster, number of sentences), read from the packet's markdown."""
    papers: dict[str, tuple[str, int]] = {}
    cluster, current = "", ""
    for line in (packets / f"{packet}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## Cluster "):
            cluster = line.split()[-1]
        elif line.startswith("### "):
            current = line[4:].split(" ", 1)[0]
            papers[current] = (cluster, 0)
        elif re.match(r"\[\d+\] ", line):
            papers[current] = (cluster, papers[current][1] + 1)
    return papers


def problems(path: Path, packets: Path = PACKETS) -> list[str]:
    """What is wrong with a question file, checked against the packet its name gives."""
    papers = packet_papers(path.stem, packets)
    found: list[str] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            found.append(f"line {n}: not JSON ({exc})")
            continue
        where = f"line {n} ({q.get('id')})"
        if q.get("id") in seen:
            found.append(f"{where}: duplicate id")
        seen.add(q.get("id"))
        if q.get("kind") not in KINDS:
            found.append(f"{where}: kind must be one of {sorted(KINDS)}")
        if not isinstance(q.get("question"), str) or len(q["question"]) < 10:
            found.append(f"{where}: question missing or too short")
        gold = q.get("gold")
        if not isinstance(gold, list) or any(g not in papers for g in gold):
            found.append(f"{where}: gold must list paper ids from this packet")
            continue
        if any(papers[g][0] != q.get("cluster") for g in gold):
            found.append(f"{where}: a gold paper is not in cluster {q.get('cluster')}")
        kind = q.get("kind")
        want = {"out_of_scope": (0, 0), "multi": (2, 4)}.get(kind, (1, 4))
        if not want[0] <= len(gold) <= want[1]:
            found.append(f"{where}: {kind} needs {want[0]}..{want[1]} gold papers")
        if kind == "detail":
            s = q.get("sentence")
            if not isinstance(s, int) or not 1 <= s < papers[gold[0]][1]:
                found.append(f"{where}: detail needs 'sentence', an index >= 1 of gold[0]")
    return found


if __name__ == "__main__":
    status = 0
    for arg in sys.argv[1:]:
        issues = problems(Path(arg))
        count = sum(1 for line in Path(arg).read_text().splitlines() if line.strip())
        print(f"{arg}: {count} questions, {len(issues)} problems")
        for issue in issues:
            print("  " + issue)
        status |= bool(issues)
    sys.exit(status)

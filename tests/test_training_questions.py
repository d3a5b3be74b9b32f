"""Every committed training question passes the checker its writers ran."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.check_questions import PACKETS, problems  # noqa: E402

FILES = sorted((ROOT / "training" / "questions").rglob("packet_*.jsonl"))


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packets the questions were written against (rebuilt from ../shared on a fresh clone)."""
    if (PACKETS / "packet_00.md").is_file():
        return PACKETS
    if not (ROOT.parent / "shared" / "corpus").is_dir():
        pytest.skip("needs ../shared/corpus")
    from training.make_packets import write_packets

    out = tmp_path_factory.mktemp("packets")
    write_packets(out)
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_question_file_has_no_problems(path: Path, packets: Path) -> None:
    assert problems(path, packets) == []


def test_a_gold_paper_from_another_cluster_is_reported(tmp_path: Path, packets: Path) -> None:
    rows = [json.loads(line) for line in FILES[0].read_text().splitlines() if line.strip()]
    good = next(r for r in rows if r["kind"] == "paraphrase")
    other = next(r for r in rows if r["cluster"] != good["cluster"] and r["gold"])
    bad = tmp_path / FILES[0].name
    bad.write_text(json.dumps({**good, "gold": other["gold"][:1]}) + "\n")
    assert any("not in cluster" in p for p in problems(bad, packets))

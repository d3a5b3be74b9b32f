"""Compare: 2-4 papers side by side, every cell the paper's own sentence, cited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.compare import ASPECTS, NOT_STATED, resolve
from rag.errors import InputError
from tests.test_cli import run

ECHO = "EchoVideo: Identity-Preserving Human Video Generation by Multimodal Feature Fusion"
DREAM = (
    "DreamID: High-Fidelity and Fast diffusion-based Face Swapping via Triplet ID Group Learning"
)
LOOKAHEAD = "Lookahead: An Inference Acceleration Framework for Large Language Model with Lossless"


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def comparison(assistant):
    return assistant.compare(["EchoVideo", "DreamID: High-Fidelity", LOOKAHEAD])


def test_every_cell_quotes_its_own_paper_and_cites_it(comparison) -> None:
    assert [p.title for p in comparison.papers][:2] == [ECHO, DREAM]
    assert [p.number for p in comparison.papers] == [1, 2, 3]
    assert list(comparison.rows) == list(ASPECTS)
    filled = 0
    for cells in comparison.rows.values():
        assert [c.number for c in cells] == [1, 2, 3]
        for cell, paper in zip(cells, comparison.papers, strict=True):
            if cell.sentence is not None:
                filled += 1
                assert squash(cell.sentence).rstrip(".")[:80] in squash(paper.abstract)
    assert filled >= 9, "task, method and results are stated in all three abstracts"


def test_aspects_take_the_sentences_that_answer_them(comparison) -> None:
    method = {c.number: c.sentence for c in comparison.rows["method"]}
    assert "we introduce DreamID" in method[2]
    assert "we propose EchoVideo" in method[1]
    results = comparison.rows["results"][1].sentence
    assert results is not None and "0.6 seconds" in results
    # EchoVideo's abstract names no dataset and no limitation: said so, nothing quoted
    assert comparison.rows["data"][0].sentence is None
    assert all(c.sentence is None for c in comparison.rows["limitations"])
    # background about earlier work is not this paper's limitation
    table = comparison.markdown()
    assert "existing methods struggle" not in table


def test_markdown_is_a_table_with_references(comparison) -> None:
    table = comparison.markdown()
    lines = table.splitlines()
    assert lines[0].startswith("| aspect | [1] EchoVideo") and "[3] Lookahead" in lines[0]
    assert lines[1] == "|---|---|---|---|"
    assert [line.split(" | ")[0] for line in lines[2:7]] == [f"| {a}" for a in ASPECTS]
    assert f"_{NOT_STATED}_" in table
    assert "[2] **DreamID: High-Fidelity" in table and "9 upvotes" in table


def test_titles_resolve_by_id_title_or_unique_part(assistant) -> None:
    papers = assistant.papers()
    echo = next(p for p in papers if p.title == ECHO)
    assert resolve([echo.paper_id], papers)[0].title == ECHO
    assert resolve(["echovideo: identity"], papers)[0].title == ECHO
    with pytest.raises(InputError, match="matches 2 papers"):
        resolve(["DreamID"], papers)
    with pytest.raises(InputError, match="No indexed paper"):
        resolve(["quantum gravity on a teapot"], papers)
    with pytest.raises(InputError, match="named twice"):
        resolve([echo.paper_id, "EchoVideo"], papers)


def test_two_to_four_papers(assistant) -> None:
    with pytest.raises(InputError, match="2 to 4"):
        assistant.compare(["EchoVideo"])


def test_cli_compare_json_and_errors(indexed_home: Path) -> None:
    result = run("compare", "EchoVideo", "DreamID: High-Fidelity", "--json", home=indexed_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [p["title"] for p in data["papers"]] == [ECHO, DREAM]
    assert set(data["rows"]) == set(ASPECTS)
    one = run("compare", "EchoVideo", home=indexed_home)
    assert one.returncode == 2 and one.stderr.strip() == "error: Compare 2 to 4 papers; got 1."
    vague = run("compare", "EchoVideo", "DreamID", home=indexed_home)
    assert vague.returncode == 2 and "give more of the title" in vague.stderr
    assert "Traceback" not in vague.stderr


def test_the_papers_tab_compares_through_the_ui(ui_server) -> None:
    """The real app over gradio_client: the /compare endpoint gives the escaped table and
    the papers' cards; one paper is a message, not an error."""
    from gradio_client import Client

    client = Client(ui_server, verbose=False)
    html = client.predict([ECHO, DREAM], api_name="/compare")
    assert '<table class="pc-compare">' in html
    assert html.count("<tr>") == 1 + len(ASPECTS)
    assert "we introduce DreamID" in html and html.count('class="pc-card"') == 2
    assert "pc-score" not in html  # chosen, not retrieved: no relevance to show
    one = client.predict([ECHO], api_name="/compare")
    assert "pc-warn" in one and "2 to 4" in one


def test_a_limitation_cell_takes_the_papers_own_limits_not_earlier_works() -> None:
    """Abstracts name a limitation mostly to say they overcome it; quoting that sentence as
    the paper's limitation says the opposite of what it means."""
    from rag.compare import _candidates

    not_limits = [
        "We will release the code and the dataset to facilitate future work.",
        "To address this limitation, we propose LAFR, a latent adapter.",
        "Existing methods fail to preserve identity under large poses.",
        "However, these approaches face critical limitations in real-world use.",
        "Experiments show that our model reduces the failure rate by 40%.",
        "This effectively addresses the limitation of requiring paired data.",
    ]
    own = [
        "Our method still struggles with extreme head poses, which we leave to future work.",
        "We also discuss the limitations of our approach.",
        "Limitations of the proposed method include its memory cost.",
    ]
    assert _candidates("limitations", not_limits + own) == own

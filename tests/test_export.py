"""Markdown and BibTeX export (issue 10), on answers built from real sample-dump papers."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rag.export import (
    answer_bibtex,
    answer_markdown,
    bibtex,
    bibtex_escape,
    bibtex_key,
    cited_sources,
    markdown_escape,
)
from rag.models import Answer, Citation, Source

DREAMID_V = "DreamID-V:Bridging the Image-to-Video Gap for High-Fidelity Face Swapping via Diffusion Transformer"  # noqa: E501
W_PLUS = "When StyleGAN Meets Stable Diffusion: a W_+ Adapter for Personalized Image Generation"
S2EDIT = "S^2Edit: Text-Guided Image Editing with Precise Semantic and Spatial Control"
BARLOW = "Barlow Twins: Self-Supervised Learning via Redundancy Reduction"  # dump 001: no metadata
ID_ALIGNER = "ID-Aligner: Enhancing Identity-Preserving Text-to-Image Generation with Reward Feedback Learning"  # noqa: E501
WITHANYONE = "WithAnyone: Towards Controllable and ID Consistent Image Generation"
# Real titles from ../shared/corpus, put on a sample paper's metadata: LaTeX and specials.
LATEX_TITLES = [
    "Di$\\mathtt{[M]}$O: Distilling Masked Diffusion Models into One-step Generator",
    "$\\texttt{Complex-Edit}$: CoT-Like Instruction Generation for Complexity-Controllable Image "
    "Editing Benchmark",
    "Babel: Open Multilingual Large Language Models Serving Over 90% of Global Speakers",
    "MM1: Methods, Analysis & Insights from Multimodal LLM Pre-training",
    "X^{2}-Gaussian: 4D Radiative Gaussian Splatting for Continuous-time Tomographic "
    "Reconstruction",
]


def source(paper, number: int, title: str | None = None) -> Source:
    return Source(
        number=number,
        paper_id=paper.paper_id,
        title=title or paper.title,
        score=0.8,
        published=paper.published.isoformat() if paper.published else None,
        org=paper.org,
        upvotes=paper.upvotes,
        snippet=paper.abstract[:200],
        abstract=paper.abstract,
    )


def answer_citing(sources: list[Source], cited: list[int], **fields) -> Answer:
    by_number = {s.number: s for s in sources}
    citations = [
        Citation(number=n, paper_id=by_number[n].paper_id, title=by_number[n].title) for n in cited
    ]
    text = fields.pop("text", " ".join(f"A finding [{n}]." for n in cited))
    return Answer(text=text, citations=citations, sources=sources, **fields)


@pytest.fixture(scope="module")
def sample_answer(sample_papers_by_title) -> Answer:
    """Cites [1] DreamID-V (all metadata), [2] W_+ (date only), [4] Barlow Twins (none),
    [5] ID-Aligner (1 upvote); [3] S^2Edit is a source it does not cite."""
    titles = [DREAMID_V, W_PLUS, S2EDIT, BARLOW, ID_ALIGNER]
    sources = [source(sample_papers_by_title[t], n) for n, t in enumerate(titles, start=1)]
    return answer_citing(
        sources,
        [4, 1, 2, 5, 1],
        text="DreamID-V swaps faces in video [1]; W+ adapters [2]; Barlow Twins [4]; [5].",
        question="Which papers do *face* swapping?",
    )


def test_sample_metadata_is_as_the_tests_assume(sample_papers_by_title):
    dreamid, barlow = sample_papers_by_title[DREAMID_V], sample_papers_by_title[BARLOW]
    assert (dreamid.published, dreamid.org, dreamid.upvotes) == (date(2026, 1, 4), "ByteDance", 6)
    assert (barlow.published, barlow.org, barlow.upvotes) == (None, None, None)
    assert sample_papers_by_title[ID_ALIGNER].upvotes == 1


def test_cited_sources_are_the_cited_ones_in_number_order(sample_answer):
    assert [s.number for s in cited_sources(sample_answer)] == [1, 2, 4, 5]
    abstained = sample_answer.model_copy(update={"citations": [], "abstained": True})
    assert cited_sources(abstained) == []


def test_markdown_has_the_answer_then_numbered_references(sample_answer):
    markdown = answer_markdown(sample_answer)
    heading, text = markdown.split("\n\n")[:2]
    assert heading == "## Which papers do \\*face\\* swapping?"
    assert text == sample_answer.text  # the [n] markers are kept as written
    references = markdown.split("### References\n\n", 1)[1].strip().split("\n\n")
    assert references == [
        f"[1] **{DREAMID_V}**, published 2026-01-04, ByteDance, 6 upvotes",
        "[2] **When StyleGAN Meets Stable Diffusion: a W\\_+ Adapter for Personalized Image "
        "Generation**, published 2023-11-29",
        f"[4] **{BARLOW}**",  # no metadata in any dump: nothing is made up
        f"[5] **{ID_ALIGNER}**, published 2024-04-23, 1 upvote",
    ]
    assert "S^2Edit" not in markdown  # a source the answer does not cite
    assert "Extractive answer" in markdown


def test_markdown_of_an_abstention_and_of_an_llm_answer(sample_answer):
    abstained = sample_answer.model_copy(
        update={"citations": [], "abstained": True, "text": "Not covered.", "question": ""}
    )
    assert answer_markdown(abstained).startswith("Not covered.")
    assert "References" not in answer_markdown(abstained)
    llm = sample_answer.model_copy(update={"mode": "llm", "model": "llama3.1"})
    assert "written by llama3.1" in answer_markdown(llm)


def test_markdown_escaping_keeps_dump_text_as_text(sample_papers_by_title):
    markdown_it = pytest.importorskip("markdown_it")
    paper = sample_papers_by_title[WITHANYONE]
    hostile = "<img src=x onerror=alert(1)> *bold* [link](http://x) `code` a|b ~~gone~~ $x$"
    answer = answer_citing([source(paper, 1, title=hostile), source(paper, 2, W_PLUS)], [1, 2])
    html = markdown_it.MarkdownIt("commonmark").render(answer_markdown(answer))
    assert "<img" not in html and "<a " not in html and "<code>" not in html
    assert html.count("<strong>") == 2  # only the titles' own bold, nothing from the text
    assert html.count("<em>") == 1  # the mode line; "W_+ ... _" and *bold* stay literal
    assert markdown_escape("a\nb_c") == "a b\\_c"


def test_bibtex_one_misc_per_cited_paper(sample_answer):
    text = answer_bibtex(sample_answer)
    entries = text.strip().split("\n\n")
    assert len(entries) == 4 and all(e.startswith("@misc{") for e in entries)
    dreamid = entries[0]
    assert dreamid == (
        f"@misc{{{bibtex_key(DREAMID_V)},\n"
        "  title = {{DreamID-V:Bridging the Image-to-Video Gap for High-Fidelity Face Swapping "
        "via Diffusion Transformer}},\n"
        "  year = {2026},\n"
        "  organization = {ByteDance},\n"
        "  note = {Hugging Face Daily Papers}\n"
        "}"
    )
    barlow = entries[2]
    assert "year" not in barlow and "organization" not in barlow  # missing stays missing
    assert "note = {Hugging Face Daily Papers}" in barlow
    for forbidden in ("arxiv", "eprint", "url", "doi", "author", "http"):
        assert forbidden not in text.lower()


def test_bibtex_org_in_howpublished_for_classic_styles(sample_answer):
    text = answer_bibtex(sample_answer, org_field="howpublished")
    assert "howpublished = {ByteDance}" in text and "organization" not in text


def test_bibtex_keys_are_stable_unique_and_from_the_title(sample_papers_by_title):
    assert bibtex_key(S2EDIT).startswith("s2edit_")
    assert bibtex_key(W_PLUS).startswith("stylegan_")  # "When" is skipped
    assert bibtex_key(DREAMID_V) == bibtex_key(DREAMID_V.upper())  # same paper, same key
    keys = [bibtex_key(title) for title in sample_papers_by_title]
    assert len(set(keys)) == len(keys) == 141  # incl. "Lookahead" vs "LookAhead"
    assert all(re.fullmatch(r"[a-z0-9]+_[0-9a-f]{6}", key) for key in keys)


def test_bibtex_folds_duplicates_and_accepts_papers(sample_papers_by_title):
    paper = sample_papers_by_title[DREAMID_V]
    text = bibtex([paper, source(paper, 1), source(paper, 2, DREAMID_V.lower())])
    assert text.count("@misc{") == 1
    assert "year = {2026}" in text  # a Paper's published is a date, a Source's a string
    assert bibtex([]) == ""


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("title", [W_PLUS, S2EDIT, *LATEX_TITLES])
def test_bibtex_titles_with_latex_and_specials_stay_valid(sample_papers_by_title, title):
    paper = sample_papers_by_title[WITHANYONE]
    entry = bibtex([source(paper, 1, title=title)])
    assert _balanced(entry)
    title_field = re.search(r"title = \{\{(.*)\}\},\n", entry).group(1)
    assert not re.search(r"(?<!\\)[$&%#_]", title_field)  # every special is escaped
    unescaped = (
        title_field.replace("\\textbackslash{}", "\\")
        .replace("\\textasciitilde{}", "~")
        .replace("\\^{}", "^")
    )
    assert re.sub(r"\\([{}$&%#_])", r"\1", unescaped) == title  # nothing lost or changed


def test_bibtex_escape_table():
    assert bibtex_escape("a_b ^ ~ {x} $ & % # \\") == (
        "a\\_b \\^{} \\textasciitilde{} \\{x\\} \\$ \\& \\% \\# \\textbackslash{}"
    )

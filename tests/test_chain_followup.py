"""Rule-based standalone questions (extractive mode) and cleaning of LLM rewrites."""

from __future__ import annotations

from rag.followup import assistant_turn, cited_papers, clean_llm_rewrite, rewrite_without_llm
from rag.models import Answer, Citation, HistoryMessage

EXTRACTIVE_TURN = (
    "Extractive answer (no LLM configured) — quoted from the most relevant abstracts:\n\n"
    "- **MARS: Paying more attention to visual attributes** [1]: The task is ...\n"
    "- **PLIP: Language-Image Pre-training for Person Representation Learning** [3]: We ...\n"
)
SOURCE_LIST_TURN = (
    "Both papers study person search [1, 2].\n\nSources:\n"
    "[1] MARS: Paying more attention to visual attributes (2024-07-05)\n"
    "[2] PLIP: Language-Image Pre-training for Person Representation Learning (2023-05-15)\n"
)


def history(assistant: str, user: str = "Which papers do text-based person search?"):
    return [
        HistoryMessage(role="user", content=user),
        HistoryMessage(role="assistant", content=assistant),
    ]


def test_cited_papers_reads_bold_bullets_and_source_lines() -> None:
    assert cited_papers(EXTRACTIVE_TURN) == [
        (1, "MARS: Paying more attention to visual attributes"),
        (3, "PLIP: Language-Image Pre-training for Person Representation Learning"),
    ]
    assert [n for n, _ in cited_papers(SOURCE_LIST_TURN)] == [1, 2]
    assert cited_papers(SOURCE_LIST_TURN)[1][1].startswith("PLIP")
    assert not cited_papers(SOURCE_LIST_TURN)[1][1].endswith(")")


def test_ordinal_refers_to_listing_order() -> None:
    rewritten = rewrite_without_llm(
        "Which dataset did the second one use?", history(EXTRACTIVE_TURN)
    )
    assert rewritten == (
        'Which dataset did "PLIP: Language-Image Pre-training for Person Representation '
        'Learning" use?'
    )
    last = rewrite_without_llm("Is the last paper open source?", history(EXTRACTIVE_TURN))
    assert "PLIP" in last and "last paper" not in last


def test_bracket_number_refers_to_that_source() -> None:
    rewritten = rewrite_without_llm("What loss does [1] use?", history(SOURCE_LIST_TURN))
    assert rewritten == 'What loss does "MARS: Paying more attention to visual attributes" use?'


def test_demonstrative_and_pronoun_refer_to_the_top_paper() -> None:
    that = rewrite_without_llm("How is that paper evaluated?", history(EXTRACTIVE_TURN))
    assert that == 'How is "MARS: Paying more attention to visual attributes" evaluated?'
    it = rewrite_without_llm("What benchmarks does it report?", history(EXTRACTIVE_TURN))
    assert it.startswith("What benchmarks does it report?")
    assert it.endswith('(about "MARS: Paying more attention to visual attributes")')


def test_elliptical_follow_up_borrows_the_previous_question_terms() -> None:
    past = history("No paper listed here.", user="Which papers use diffusion for face aging?")
    rewritten = rewrite_without_llm("And for video?", past)
    assert rewritten == "And for video? (diffusion face aging)"


def test_standalone_question_is_left_alone() -> None:
    question = "Which papers propose benchmarks for machine unlearning of facial identities?"
    assert rewrite_without_llm(question, history(EXTRACTIVE_TURN)) == question
    expletive = "Is it possible to age faces with diffusion models while keeping identity?"
    assert rewrite_without_llm(expletive, history(EXTRACTIVE_TURN)) == expletive
    assert rewrite_without_llm("Which dataset did the second one use?", []) == (
        "Which dataset did the second one use?"
    )


def test_clean_llm_rewrite() -> None:
    assert clean_llm_rewrite('Standalone question: "Which dataset does PLIP use?"\n', "q") == (
        "Which dataset does PLIP use?"
    )
    assert clean_llm_rewrite("  \n", "original") == "original"


def test_assistant_turn_lists_cited_papers_for_the_next_question() -> None:
    answer = Answer(
        text="MARS weighs attributes [2]. Lookahead verifies branches [1].",
        citations=[
            Citation(number=2, paper_id="p2", title="MARS: Paying more attention"),
            Citation(number=1, paper_id="p1", title="Lookahead: An Inference Acceleration"),
        ],
        mode="llm",
    )
    turn = assistant_turn(answer)
    assert turn["role"] == "assistant"
    assert turn["content"].startswith(answer.text)
    rewritten = rewrite_without_llm(
        "Is the second one open source?",
        [HistoryMessage(role="user", content="q"), HistoryMessage(**turn)],
    )
    assert rewritten == 'Is "Lookahead: An Inference Acceleration" open source?'


def test_short_question_naming_something_is_standalone() -> None:
    past = history("No paper listed here.", user="Which papers use diffusion for face aging?")
    assert rewrite_without_llm("What does MimicTalk adapt?", past) == "What does MimicTalk adapt?"
    assert rewrite_without_llm("Which datasets?", past) == "Which datasets? (diffusion face aging)"


def test_terms_come_from_the_last_standalone_question() -> None:
    past = [
        HistoryMessage(role="user", content="Which papers use diffusion for face aging?"),
        HistoryMessage(role="assistant", content="No paper listed here."),
        HistoryMessage(role="user", content="And for video?"),
        HistoryMessage(role="assistant", content="Still nothing listed."),
    ]
    assert rewrite_without_llm("What about speed?", past) == (
        "What about speed? (diffusion face aging)"
    )

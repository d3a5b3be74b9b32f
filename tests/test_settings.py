"""Settings precedence: arguments, then PAPERCHAT_* / OPENAI_* variables, then .env."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_defaults_are_zero_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.home == Path("~/.paperchat").expanduser()
    assert s.chroma_url is None
    assert s.chroma_timeout == 30.0
    assert s.embedding_model == "all-MiniLM-L6-v2"
    assert not s.llm_configured


def test_arguments_beat_environment_which_beats_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "PAPERCHAT_LLM_MODEL=from-dotenv\nPAPERCHAT_CHROMA_URL=http://dotenv:1\nPAPERCHAT_TOP_K=7\n"
    )
    monkeypatch.setenv("PAPERCHAT_LLM_MODEL", "from-env")
    monkeypatch.setenv("PAPERCHAT_HOME", str(tmp_path / "envhome"))
    s = Settings()
    assert s.llm_model == "from-env"
    assert s.chroma_url == "http://dotenv:1"
    assert s.top_k == 7
    assert s.home == tmp_path / "envhome"
    assert Settings(llm_model="from-arg").llm_model == "from-arg"


def test_openai_sdk_variables_switch_on_the_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    s = Settings()
    assert s.openai_base_url == "http://127.0.0.1:11434/v1"
    assert s.llm_configured
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    s = Settings()
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test"
    assert s.llm_configured
    assert "sk-test" not in repr(s)


def test_home_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings(home="~/data").home == tmp_path / "data"


def test_chroma_timeout_from_environment_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERCHAT_CHROMA_TIMEOUT", "2.5")
    assert Settings().chroma_timeout == 2.5
    monkeypatch.setenv("PAPERCHAT_CHROMA_TIMEOUT", "0")
    with pytest.raises(ValidationError, match="chroma_timeout"):
        Settings()


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`OPENAI_BASE_URL= paperchat ask ...` must give extractive answers, not an LLM at ''."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("PAPERCHAT_CHROMA_URL", "")
    s = Settings()
    assert not s.llm_configured
    assert s.chroma_url is None


def test_settings_are_grouped_and_flat_names_still_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One flat name per setting (its variable without PAPERCHAT_), landing in its group."""
    from rag.settings import IndexSettings, LLMSettings, RetrievalSettings, UISettings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPERCHAT_CHUNK_TOKENS", "180")
    monkeypatch.setenv("PAPERCHAT_RERANKER", "none")
    monkeypatch.setenv("PAPERCHAT_LLM_TIMEOUT", "12")
    monkeypatch.setenv("PAPERCHAT_UI_PORT", "7999")
    s = Settings(home=tmp_path / "h", top_k=3, llm_model="m", max_upload_mb=2)
    assert isinstance(s.index, IndexSettings) and isinstance(s.ui, UISettings)
    assert isinstance(s.retrieval, RetrievalSettings) and isinstance(s.llm, LLMSettings)
    assert (s.index.home, s.index.chunk_tokens) == (tmp_path / "h", 180)
    assert (s.retrieval.top_k, s.retrieval.reranker) == (3, "none")
    assert (s.llm.llm_model, s.llm.llm_timeout) == ("m", 12.0)
    assert (s.ui.max_upload_mb, s.ui.ui_port) == (2, 7999)
    # Flat reads are the group's values, not copies that could drift.
    assert (s.home, s.top_k, s.llm_timeout, s.ui_port) == (s.index.home, 3, 12.0, 7999)
    # A group passed whole is used as given; the others still read the environment.
    whole = Settings(llm=LLMSettings(llm_model="whole"))
    assert whole.llm.llm_model == "whole" and whole.ui.ui_port == 7999


def test_a_misspelt_setting_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match=r"unknown setting.*tpo_k"):
        Settings(tpo_k=3)
    with pytest.raises(AttributeError):
        _ = Settings().tpo_k


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAPERCHAT_EMBEDDING_TIMEOUT", "0"),
        ("PAPERCHAT_RERANK_TOP_N", "0"),
        ("PAPERCHAT_LLM_MAX_RETRIES", "-1"),
        ("PAPERCHAT_CONCURRENCY_LIMIT", "many"),
    ],
)
def test_an_invalid_value_is_named_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    from rag.settings import describe_invalid

    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_invalid(caught.value).startswith(f"invalid setting: {variable}={value!r}: ")


def test_each_default_is_written_once() -> None:
    """The store's signatures and Settings read one table (vectorstore.defaults): a default
    changed there changes everywhere, and a number written elsewhere fails here."""
    import inspect

    from vectorstore import defaults
    from vectorstore.chunking import Chunker
    from vectorstore.embeddings import (
        OpenAICompatibleEmbedder,
        SentenceTransformerEmbedder,
        load_embedder,
    )
    from vectorstore.paper_index import PaperIndex

    def default(fn, name):
        return inspect.signature(fn).parameters[name].default

    s = Settings()
    for fn in (PaperIndex, Chunker):
        assert default(fn, "chunk_tokens") == s.chunk_tokens == defaults.CHUNK_TOKENS
        assert default(fn, "chunk_overlap_tokens") == s.chunk_overlap_tokens
    assert default(PaperIndex, "collection") == s.collection == defaults.COLLECTION
    assert default(PaperIndex, "chroma_timeout") == s.chroma_timeout == defaults.CHROMA_TIMEOUT
    assert default(PaperIndex, "rerank_top_n") == s.rerank_top_n == defaults.RERANK_TOP_N
    assert default(load_embedder, "model") == s.embedding_model == defaults.EMBEDDING_MODEL
    for fn in (load_embedder, OpenAICompatibleEmbedder):
        assert default(fn, "timeout") == s.embedding_timeout == defaults.EMBEDDING_TIMEOUT
        assert default(fn, "max_retries") == s.embedding_max_retries
    assert default(load_embedder, "batch_size") is s.embedding_batch_size is None  # per kind:
    assert default(OpenAICompatibleEmbedder, "batch_size") == defaults.REMOTE_EMBEDDING_BATCH_SIZE
    assert default(SentenceTransformerEmbedder, "batch_size") == defaults.EMBEDDING_BATCH_SIZE

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

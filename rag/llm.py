"""The optional LLM: any OpenAI-compatible chat server, and what its failures mean to a user.

Used only when the user configured one (OPENAI_API_KEY and/or OPENAI_BASE_URL). Local servers
(Ollama, vLLM, llama.cpp server, LM Studio) need no key, so a placeholder key is sent when
only a base URL is given. Every failure of the server or the network becomes `LLMError`,
whose message says what failed and what to check, so callers never see an SDK traceback; and
it comes quickly: a server's Retry-After is obeyed only up to PAPERCHAT_LLM_RETRY_MAX_WAIT
seconds, so a rate-limited retry cannot keep the user waiting a minute.

A user may instead pass any LangChain chat model to ResearchAssistant(llm=...); its failures
become LLMError too, described from the model object itself (LLMTarget).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from rag.errors import LLMError
from rag.settings import LLMSettings

__all__ = [
    "OPENAI_DEFAULT_URL",
    "LLMError",
    "LLMTarget",
    "chat_model_name",
    "describe_failure",
    "llm_errors",
    "make_chat_model",
]

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
NO_KEY_PLACEHOLDER = "not-needed"


def make_chat_model(settings: LLMSettings) -> ChatOpenAI:
    """A streaming ChatOpenAI on the chat-completions API, with the user's timeout and retries.

    Its HTTP clients lower a server's Retry-After to `llm_retry_max_wait` before the openai SDK
    reads it: the SDK otherwise sleeps whatever the server asks (up to 2 minutes) between
    retries. The SDK still sends `timeout` with every request, so the clients' own default
    timeout never applies.
    """
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    api_key = key or NO_KEY_PLACEHOLDER
    max_wait = settings.llm_retry_max_wait

    # httpx event hooks; the response is httpx's (openai<3) or httpx2's (openai>=3).
    def cap(response: Any) -> None:
        cap_retry_after(response.headers, max_wait)

    async def acap(response: Any) -> None:
        cap_retry_after(response.headers, max_wait)

    return ChatOpenAI(
        model=settings.llm_model,
        api_key=api_key,
        base_url=settings.openai_base_url,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        streaming=True,
        # Local servers speak chat completions, not OpenAI's newer Responses API.
        use_responses_api=False,
        http_client=openai.DefaultHttpxClient(event_hooks={"response": [cap]}),
        http_async_client=openai.DefaultAsyncHttpxClient(event_hooks={"response": [acap]}),
    )


def cap_retry_after(headers: MutableMapping[str, str], max_wait: float) -> None:
    """Rewrite the Retry-After headers of a response to ask for at most `max_wait` seconds.

    Read like the openai SDK reads them (`retry-after-ms` first, then `retry-after` in seconds).
    A wait that is not a number (an HTTP date) is capped too; shorter waits are left alone.
    """
    if "retry-after-ms" not in headers and "retry-after" not in headers:
        return
    asked = math.inf
    for name, seconds in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            asked = float(headers[name]) * seconds
            break
        except (KeyError, ValueError):
            continue
    if not asked <= max_wait:  # also true for NaN
        headers["retry-after-ms"] = f"{max_wait * 1000:g}"
        headers["retry-after"] = f"{max_wait:g}"


@dataclass(frozen=True)
class LLMTarget:
    """What an error message names: the model, where it is served and the client's limits.

    Read from the chat model itself when it exposes them (ChatOpenAI does), so a model passed
    in by the user is described as it is, not as the settings would have built it."""

    model: str
    url: str
    timeout: float
    max_retries: int
    openai: bool = True

    @classmethod
    def of(cls, settings: LLMSettings, llm: BaseChatModel | None = None) -> LLMTarget:
        if llm is None:
            model, url = settings.llm_model, server_url(settings)
            return cls(model, url, settings.llm_timeout, settings.llm_max_retries)
        timeout = getattr(llm, "request_timeout", None)
        retries = getattr(llm, "max_retries", None)
        return cls(
            model=chat_model_name(llm),
            url=str(getattr(llm, "openai_api_base", None) or server_url(settings)),
            timeout=float(timeout) if isinstance(timeout, int | float) else settings.llm_timeout,
            max_retries=retries if isinstance(retries, int) else 0,
            openai=isinstance(llm, ChatOpenAI),
        )


def chat_model_name(llm: BaseChatModel) -> str:
    """Shown as the answer's `model` and in the UI: the model's own name, else its class."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(llm, attribute, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return type(llm).__name__


@contextmanager
def llm_errors(
    settings: LLMSettings, step: str = "answer", llm: BaseChatModel | None = None
) -> Iterator[None]:
    """Turn any failure of an LLM call made inside the block into an actionable LLMError.

    A chat model of another provider raises its own SDK's errors; those become an LLMError
    naming the model and the step, so the CLI and UI still show one line, not a traceback."""
    target = LLMTarget.of(settings, llm)
    try:
        yield
    except LLMError:
        raise
    except openai.OpenAIError as exc:
        raise LLMError(describe_failure(exc, target, step)) from exc
    except ValueError as exc:  # langchain-openai's reaction to a malformed response body
        if not target.openai:
            raise LLMError(_other_failure(exc, target, step)) from exc
        raise LLMError(
            f"The LLM server at {target.url} sent a response that is not valid "
            f"OpenAI chat-completions output while writing the {step} ({exc}). Check that "
            "OPENAI_BASE_URL points at an OpenAI-compatible /v1 endpoint."
        ) from exc
    except Exception as exc:
        if target.openai:
            raise
        raise LLMError(_other_failure(exc, target, step)) from exc


def _other_failure(exc: Exception, target: LLMTarget, step: str) -> str:
    return (
        f"The chat model '{target.model}' failed while writing the {step}: "
        f"{type(exc).__name__}: {exc}. Check the model's configuration and its server."
    )


def server_url(settings: LLMSettings) -> str:
    return settings.openai_base_url or OPENAI_DEFAULT_URL


def describe_failure(
    exc: openai.OpenAIError, target: LLMTarget | LLMSettings, step: str = "answer"
) -> str:
    """One sentence on what failed, one on what to check; the server's own words when useful."""
    if isinstance(target, LLMSettings):
        target = LLMTarget.of(target)
    url, model = target.url, target.model
    doing = f"while writing the {step} with model '{model}' at {url}"
    tries = target.max_retries + 1
    attempts = f"{tries} attempt{'s' if tries != 1 else ''}"
    detail = _server_message(exc)
    if isinstance(exc, openai.APITimeoutError):
        return (
            f"The LLM did not answer within {target.timeout:g} s ({attempts}) {doing}. "
            "Check that the server is up and not overloaded, or raise PAPERCHAT_LLM_TIMEOUT."
        )
    if isinstance(exc, openai.APIConnectionError):
        return (
            f"Could not connect to the LLM server {doing}. Check that the server is running "
            "and that OPENAI_BASE_URL is right (for example http://localhost:11434/v1 for "
            "Ollama, http://localhost:8000/v1 for vLLM)."
        )
    if isinstance(exc, openai.AuthenticationError):
        return (
            f"The LLM server rejected the API key (HTTP 401) {doing}. Check OPENAI_API_KEY."
            + detail
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return (
            f"The API key may not use this model (HTTP 403) {doing}. Check OPENAI_API_KEY "
            "and PAPERCHAT_LLM_MODEL." + detail
        )
    if isinstance(exc, openai.NotFoundError):
        return (
            f"Model '{model}' or the chat endpoint was not found (HTTP 404) at {url}. Check "
            "PAPERCHAT_LLM_MODEL (is the model pulled/served?) and that OPENAI_BASE_URL ends "
            "in /v1." + detail
        )
    if isinstance(exc, openai.RateLimitError):
        return (
            f"The LLM server is rate-limiting requests (HTTP 429, {attempts}) {doing}. Wait "
            "and try again, or check your quota and plan." + detail
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500:
            return (
                f"The LLM server failed with HTTP {status} ({attempts}) {doing}. Check the "
                "server's status and logs, and that it can serve this model." + detail
            )
        return (
            f"The LLM server refused the request with HTTP {status} {doing}. Check "
            "PAPERCHAT_LLM_MODEL and that the server supports chat completions." + detail
        )
    return f"The LLM call failed {doing}: {exc}. Check OPENAI_BASE_URL and the server's status."


# Some servers and proxies echo the key they refused ("Incorrect API key provided: sk-..."):
# anything key-shaped is masked before a server's words reach a user or a log.
_KEY_RE = re.compile(r"\b(?:sk|key|api)[-_][A-Za-z0-9_\-]{8,}", re.IGNORECASE)


def _server_message(exc: openai.OpenAIError) -> str:
    message = getattr(exc, "message", "") or ""
    message = _KEY_RE.sub("***", " ".join(str(message).split()))
    if not message:
        return ""
    return f" Server said: {message[:300]}"

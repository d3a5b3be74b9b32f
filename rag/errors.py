"""Errors a user can act on. The CLI and UI print their message, never a traceback."""

from __future__ import annotations


class PaperchatError(Exception):
    """Base of every error whose message tells the user what went wrong and what to do."""


class LLMError(PaperchatError):
    """The configured LLM failed or could not be reached (see README, "Using an LLM")."""


class InputError(PaperchatError):
    """A path, date or option given by the user cannot be used."""

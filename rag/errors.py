"""Errors a user can act on. The CLI and UI print their message, never a traceback.

The base class, `PaperchatError`, is defined in vectorstore.errors (the lowest layer, so that
storage errors such as StoreUnavailable belong to the same family); it is re-exported here.
"""

from __future__ import annotations

from vectorstore.errors import PaperchatError, PaperIndexError

__all__ = ["InputError", "LLMError", "PaperIndexError", "PaperchatError"]


class LLMError(PaperchatError):
    """The configured LLM failed or could not be reached (see README, "Using an LLM")."""


class InputError(PaperchatError):
    """A path, date or option given by the user cannot be used."""

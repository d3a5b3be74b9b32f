"""One error family: every error meant for the user is a PaperchatError, from any layer.

Storage errors used to be a second family (PaperIndexError) that rag translated with `_wrap` at
each call site; a missed site meant a traceback. Now vectorstore.errors defines the base and
rag.errors re-exports it, so nothing translates and the CLI and UI catch one class.
"""

from __future__ import annotations

import ast
import inspect
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

import rag.errors
import vectorstore.catalog
import vectorstore.errors
from rag.assistant import ResearchAssistant
from rag.errors import InputError, LLMError, PaperchatError
from rag.settings import Settings
from vectorstore.errors import StoreUnavailable

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "paperchat"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_user_error_class_is_one_family() -> None:
    assert rag.errors.PaperchatError is vectorstore.errors.PaperchatError
    classes = [
        obj
        for module in (vectorstore.errors, vectorstore.catalog, rag.errors)
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == module.__name__
    ]
    assert {InputError, LLMError, StoreUnavailable} <= set(classes)
    assert [c.__name__ for c in classes if not issubclass(c, PaperchatError)] == []


def test_rag_does_not_translate_storage_errors() -> None:
    """No `_wrap`, no `except PaperIndexError: raise PaperchatError` left in rag."""
    for path in sorted((ROOT / "rag").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not names & {"_wrap", "PaperIndexError"}, path.name


def test_a_lost_store_reaches_the_api_as_a_paperchat_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, chroma_url=f"http://127.0.0.1:{_closed_port()}")
    assistant = ResearchAssistant(settings, embeddings=DeterministicFakeEmbedding(size=8))
    with pytest.raises(PaperchatError, match="Cannot reach the Chroma server"):
        assistant.search("faces")
    with pytest.raises(PaperchatError, match="Cannot reach the Chroma server"):
        assistant.stats()


def test_a_lost_store_is_one_error_line_in_the_cli(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PAPERCHAT_HOME": str(tmp_path),
        "PAPERCHAT_CHROMA_URL": f"http://127.0.0.1:{_closed_port()}",
    }
    dump = next((ROOT / "sample_data" / "dumps").glob("*.txt"))
    done = subprocess.run(
        [str(BIN), "index", str(dump)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: Cannot reach the Chroma server")
    assert "Traceback" not in done.stderr

"""Short inputs run on ONNX Runtime, with the model's own vectors; long ones stay on PyTorch."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from vectorstore.embeddings import ONNX_MAX_TEXTS, SentenceTransformerEmbedder, load_embedder

TEXTS = [
    "Lookahead drafts several token sequences from a prefix tree.",
    "A short one.",
    "Speculative decoding verifies the drafted branches in one forward pass of the large model, "
    "and accepts the longest prefix that the model itself would have generated, so outputs are "
    "exactly the same as without acceleration.",
    # past the model's 256 tokens: cut where PyTorch cuts it
    " ".join(f"Sentence {i} of an abstract far longer than the model reads." for i in range(60)),
]


def _torch_vectors(embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    return embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def _count_runs(embedder: SentenceTransformerEmbedder, monkeypatch) -> list[str]:
    """The text of each ONNX Runtime run, recorded as they run."""
    assert embedder.onnx is not None
    runs: list[str] = []
    original = embedder.onnx._run

    def recording(text: str) -> np.ndarray:
        runs.append(text)
        return original(text)

    monkeypatch.setattr(embedder.onnx, "_run", recording)
    return runs


def test_the_bundled_model_runs_short_inputs_on_onnx_runtime_with_its_own_vectors(
    embedder, monkeypatch
) -> None:
    runs = _count_runs(embedder, monkeypatch)
    query = np.asarray(embedder.embed_query(TEXTS[0] + " (onnx test)"))
    documents = np.asarray(embedder.embed_documents(TEXTS))
    # One text per run, nothing padded (the list's halves run side by side, in either order).
    assert runs[0] == TEXTS[0] + " (onnx test)" and sorted(runs[1:]) == sorted(TEXTS)
    expected = _torch_vectors(embedder, [TEXTS[0] + " (onnx test)", *TEXTS])
    assert np.allclose(np.linalg.norm(documents, axis=1), 1.0, atol=1e-5)
    assert float(query @ expected[0]) > 0.99999
    assert np.all(np.sum(documents * expected[1:], axis=1) > 0.99999)


def test_long_lists_stay_on_pytorch(embedder, monkeypatch) -> None:
    runs = _count_runs(embedder, monkeypatch)
    texts = [f"{TEXTS[i % len(TEXTS)]} ({i})" for i in range(ONNX_MAX_TEXTS + 1)]
    vectors = np.asarray(embedder.embed_documents(texts))
    assert runs == []
    assert np.all(np.sum(vectors * _torch_vectors(embedder, texts), axis=1) > 0.99999)


def test_the_export_is_made_once_and_reused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PAPERCHAT_ONNX_CACHE", str(tmp_path / "cache"))
    first = load_embedder()
    (exported,) = (tmp_path / "cache").glob("*.onnx")
    stamp = exported.stat().st_mtime_ns
    second = load_embedder()
    assert first.onnx is not None and second.onnx is not None
    assert list((tmp_path / "cache").glob("*.onnx")) == [exported]
    assert exported.stat().st_mtime_ns == stamp
    assert not list((tmp_path / "cache").glob("*.tmp"))
    a, b = first.embed_query("one question"), second.embed_query("one question")
    assert float(np.dot(a, b)) > 0.99999


def test_an_unusable_cache_falls_back_to_pytorch_with_a_log_line(
    tmp_path: Path, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("PAPERCHAT_ONNX_CACHE", str(blocker / "onnx"))
    with caplog.at_level(logging.INFO, logger="vectorstore.onnx_encoder"):
        embedder = load_embedder()
    assert embedder.onnx is None
    assert "embedding with PyTorch" in caplog.text
    vector = np.asarray(embedder.embed_query("still answers"))
    assert vector.shape == (embedder.dimension,)


@pytest.mark.parametrize(("backend", "has_session"), [("torch", False), ("onnx", True)])
def test_the_backend_setting_chooses_the_runtime(
    tmp_path: Path, monkeypatch, backend: str, has_session: bool
) -> None:
    from rag.assistant import ResearchAssistant
    from rag.settings import Settings

    monkeypatch.setenv("PAPERCHAT_EMBEDDING_BACKEND", backend)
    assistant = ResearchAssistant(Settings(home=tmp_path / "home"))
    assert (assistant.embedder.onnx is not None) is has_session

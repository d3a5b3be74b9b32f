"""Run a plain sentence-transformers model (a BERT, mean pooling) with ONNX Runtime, for short
inputs.

Why: on these 2 cores PyTorch spends most of a short input's time outside the arithmetic. One
question embeds in 6-11 ms with ONNX Runtime against 15-21 ms in PyTorch, and query embedding
was a third of a search's time at 85k chunks. The cost is memory: about 240 MB more in a busy
server (`PAPERCHAT_EMBEDDING_BACKEND=torch` keeps to PyTorch). Batches are another matter: 128
abstracts took 15-25 % longer than in PyTorch, with a higher peak (BENCHMARKS.md), so indexing
stays on PyTorch (vectorstore.embeddings decides by the batch's size). The vectors are the
model's own: cosine to PyTorch's is above 0.99999, so both backends answer the same.

Optimum, sentence-transformers' own ONNX route, pins transformers 4 and an older hub client,
which break sentence-transformers 6 and Gradio 6; so the model is exported here with
`torch.onnx`, once per model and library versions, into a cache folder, and any failure falls
back to PyTorch with one log line.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask")
_PLAIN_PIPELINE = ("Transformer", "Pooling", "Normalize")


def cache_dir() -> Path:
    """Where exported models live: `PAPERCHAT_ONNX_CACHE`, else the user's cache folder."""
    explicit = os.environ.get("PAPERCHAT_ONNX_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "paperchat" / "onnx"


def exportable(model: Any) -> bool:
    """Only the pipeline reproduced below (mean pooling, then normalising) may be exported."""
    names = tuple(type(module).__name__ for module in model)
    if names not in (_PLAIN_PIPELINE, _PLAIN_PIPELINE[:2]):
        return False
    return model[1].get_config_dict().get("pooling_mode") == "mean"


def _export_name(source: str) -> str:
    """A file name that changes whenever the weights or the libraries that export them do."""
    import torch
    import transformers

    weights = sorted(Path(source).glob("*.safetensors")) + sorted(Path(source).glob("*.bin"))
    stamp = [f"{w.name}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights]
    key = "|".join([os.path.abspath(source), torch.__version__, transformers.__version__, *stamp])
    return f"{Path(source).name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"


def _export(model: Any, path: Path) -> None:
    """Write the transformer's token embeddings as an ONNX graph (written aside, then renamed,
    so a reader never sees half a file)."""
    import onnx  # noqa: F401 - torch.onnx writes the graph with it; missing, say so first
    import torch

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
            return out.last_hidden_state

    sample = model.tokenizer(["a sample input"], return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "tokens")}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    # The tracer warns about shape checks it records as constants; the tests compare the graph's
    # vectors with PyTorch's at other lengths.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenEmbeddings(model[0].auto_model.eval()),
            tuple(sample[name] for name in _INPUTS),
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["tokens"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, path)


class OnnxEncoder:
    """The model's `encode` (mean pooling, normalised as paperchat always asks), on an ONNX
    Runtime session."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length

    def encode(self, texts: list[str]) -> np.ndarray:
        """One text per run: a short list's texts differ in length, and a batch would pad
        them all to its longest. For 12 answer sentences that halved the p95 (BENCHMARKS.md)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._run(text) for text in texts])

    def _run(self, text: str) -> np.ndarray:
        """Mean of the text's token embeddings (nothing is padded), as a unit vector."""
        enc = self.tokenizer(text, truncation=True, max_length=self.max_length, return_tensors="np")
        feed = {name: enc[name].astype(np.int64) for name in _INPUTS}
        vector = self.session.run(None, feed)[0][0].mean(axis=0)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


def onnx_encoder(model: Any, source: str, threads: int) -> OnnxEncoder | None:
    """An ONNX Runtime encoder for `model` loaded from `source`, or None (logged) when the model
    is not a plain pipeline, ONNX Runtime is missing, or the export fails."""
    if not exportable(model) or not Path(source).is_dir():
        return None
    try:
        import onnxruntime as ort

        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _export_name(source)
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                _export(model, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No busy-waiting between runs: spinning threads took a third more CPU for the same
        # answers, CPU that concurrent chats and an index run need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory arena and no prepacked copy of the weights: with ONNX Runtime's defaults a
        # busy server (20 chats, an upload) ended 400 MB above PyTorch's 1.68 GB and answered
        # fewer chats; like this, 240 MB above and as many (BENCHMARKS.md).
        options.enable_cpu_mem_arena = False
        options.add_session_config_entry("session.disable_prepacking", "1")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # missing package, unwritable cache, an exporter error
        log.info("embedding with PyTorch: ONNX Runtime is unavailable (%s)", exc)
        return None
    # Its own tokenizer: a fast tokenizer keeps padding settings as state, and PyTorch's encode
    # may run on the other inference thread at the same time.
    return OnnxEncoder(session, copy.deepcopy(model.tokenizer), int(model.max_seq_length))

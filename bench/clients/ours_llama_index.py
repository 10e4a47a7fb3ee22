"""Our LlamaIndex adapter, driven exactly like `llama-index-llms-ollama` (same constructor by design)."""

from __future__ import annotations

from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama

from bench.clients.llama_index_common import LlamaIndexBench


class OursLlamaIndex(LlamaIndexBench):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, Ollama, OllamaEmbedding)

"""`llama-index-llms-ollama` and `llama-index-embeddings-ollama`: LlamaIndex's official integrations."""

from __future__ import annotations

from llama_index.embeddings.ollama import OllamaEmbedding
from llama_index.llms.ollama import Ollama

from bench.clients.llama_index_common import LlamaIndexBench


class LlamaIndexOllamaPeer(LlamaIndexBench):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, Ollama, OllamaEmbedding)

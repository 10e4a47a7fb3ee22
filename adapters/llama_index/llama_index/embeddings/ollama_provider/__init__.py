"""LlamaIndex embeddings for Ollama over the ollama-provider core:
``from llama_index.embeddings.ollama_provider import OllamaEmbedding``."""

from llama_index.embeddings.ollama_provider.base import OllamaEmbedding

__all__ = ["OllamaEmbedding"]

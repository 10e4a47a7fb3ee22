"""LangChain integration of ollama-provider: ``ChatOllama``, ``OllamaLLM`` and ``OllamaEmbeddings``.

A drop-in for the official ``langchain-ollama`` (change the import line only), built on the
ollama-provider core: pooled connections, retries with backoff, per-chunk read timeouts, typed errors
(``ollama_provider.OllamaError`` and subclasses).

>>> from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM
>>> ChatOllama(model="llama3.2")._llm_type, OllamaLLM(model="llama3.2")._llm_type
('chat-ollama', 'ollama-llm')
"""

from __future__ import annotations

from importlib import metadata

from ._serialization import register_serializable_classes
from .chat_models import ChatOllama
from .embeddings import OllamaEmbeddings
from .llms import OllamaLLM

register_serializable_classes()

try:
    __version__ = metadata.version("langchain-ollama-provider")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = ""

__all__ = ["ChatOllama", "OllamaEmbeddings", "OllamaLLM", "__version__"]

"""LlamaIndex LLM for Ollama over the ollama-provider core.

``from llama_index.llms.ollama_provider import Ollama``
"""

from llama_index.llms.ollama_provider.base import Ollama
from llama_index.llms.ollama_provider.structured import StructuredOutputError

__all__ = ["Ollama", "StructuredOutputError"]

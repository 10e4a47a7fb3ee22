"""`langchain-ollama`: LangChain's official Ollama integration."""

from __future__ import annotations

from langchain_ollama import ChatOllama, OllamaEmbeddings

from bench.clients.langchain_common import LangChainBench


class LangChainOllamaPeer(LangChainBench):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, ChatOllama, OllamaEmbeddings)

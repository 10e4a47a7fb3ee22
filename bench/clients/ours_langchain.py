"""Our LangChain adapter, driven exactly like `langchain-ollama` (same constructor by design)."""

from __future__ import annotations

from langchain_ollama_provider import ChatOllama, OllamaEmbeddings

from bench.clients.langchain_common import LangChainBench


class OursLangChain(LangChainBench):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, ChatOllama, OllamaEmbeddings)

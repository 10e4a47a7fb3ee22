"""Drives any LangChain chat model / embeddings pair with the constructor of `langchain-ollama`.

Shared by the peer (`langchain_ollama`) and our adapter (`langchain_ollama_provider`), which promise the
same constructor, so both are measured with exactly the same calling code.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage

from bench.clients.base import PROMPT
from bench.payloads import chat_model

_MESSAGES = [HumanMessage(content=PROMPT)]


def _text(content: Any) -> str:
    # A chunk's content is a str for plain text; content blocks (lists) would mean a different code path.
    if not isinstance(content, str):
        raise TypeError(f"expected str content, got {type(content).__name__}")
    return content


class LangChainBench:
    def __init__(self, base_url: str, chat_cls: Any, embeddings_cls: Any) -> None:
        self._base_url = base_url
        self._chat_cls = chat_cls
        self._embeddings_cls = embeddings_cls
        # The model (which carries the size) is fixed at construction, so keep one object per model:
        # it is built on the warm-up call, outside the timed region.
        self._chats: dict[str, Any] = {}
        self._embedders: dict[str, Any] = {}

    def _chat(self, model: str) -> Any:
        if model not in self._chats:
            self._chats[model] = self._chat_cls(model=model, base_url=self._base_url)
        return self._chats[model]

    def construct_once(self) -> object:
        return self._chat_cls(model=chat_model(16), base_url=self._base_url)

    def prepare(self, model: str) -> None:
        self._chat(model)

    def stream_sync(self, model: str) -> str:
        return "".join(_text(chunk.content) for chunk in self._chat(model).stream(_MESSAGES))

    async def stream_async(self, model: str) -> str:
        parts = []
        async for chunk in self._chat(model).astream(_MESSAGES):
            parts.append(_text(chunk.content))
        return "".join(parts)

    def small_request(self, model: str) -> str:
        return _text(self._chat(model).invoke(_MESSAGES).content)

    def embed(self, texts: list[str], model: str) -> int:
        if model not in self._embedders:
            self._embedders[model] = self._embeddings_cls(model=model, base_url=self._base_url)
        return len(self._embedders[model].embed_documents(texts))

    async def aclose(self) -> None:
        return None

    def close(self) -> None:
        return None

"""Drives any LlamaIndex LLM / embedding pair with the constructor of `llama-index-llms-ollama`.

Shared by the peer and our adapter, which promise the same constructor. Embeddings go through
``get_text_embedding_batch`` with each package's default ``embed_batch_size``, as a LlamaIndex user
gets it (10 texts a request for the official package; 2,048 at a time for ours, sent 256 a request).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.llms import ChatMessage

from bench.clients.base import PROMPT
from bench.payloads import chat_model

_MESSAGES = [ChatMessage(role="user", content=PROMPT)]
_TIMEOUT_S = 300.0  # generous: the 100k-chunk stream must never hit it


class LlamaIndexBench:
    def __init__(self, base_url: str, llm_cls: Any, embedding_cls: Any) -> None:
        self._base_url = base_url
        self._llm_cls = llm_cls
        self._embedding_cls = embedding_cls
        # The model is fixed at construction: one object per model, built on the warm-up call.
        self._llms: dict[str, Any] = {}
        self._embedders: dict[str, Any] = {}

    def _llm(self, model: str) -> Any:
        if model not in self._llms:
            self._llms[model] = self._llm_cls(
                model=model, base_url=self._base_url, request_timeout=_TIMEOUT_S
            )
        return self._llms[model]

    def construct_once(self) -> object:
        return self._llm_cls(model=chat_model(16), base_url=self._base_url, request_timeout=_TIMEOUT_S)

    def prepare(self, model: str) -> None:
        self._llm(model)

    def stream_sync(self, model: str) -> str:
        return "".join(response.delta or "" for response in self._llm(model).stream_chat(_MESSAGES))

    async def stream_async(self, model: str) -> str:
        parts = []
        async for response in await self._llm(model).astream_chat(_MESSAGES):
            parts.append(response.delta or "")
        return "".join(parts)

    def small_request(self, model: str) -> str:
        return str(self._llm(model).chat(_MESSAGES).message.content or "")

    def embed(self, texts: list[str], model: str) -> int:
        if model not in self._embedders:
            self._embedders[model] = self._embedding_cls(model_name=model, base_url=self._base_url)
        return len(self._embedders[model].get_text_embedding_batch(texts))

    async def aclose(self) -> None:
        return None

    def close(self) -> None:
        return None

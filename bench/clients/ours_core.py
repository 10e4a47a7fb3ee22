"""Our core, `ollama_provider`, used through its public API only."""

from __future__ import annotations

from typing import Any

from bench.clients.base import PROMPT
from ollama_provider import AsyncOllamaProvider, OllamaProvider

_MESSAGES = [{"role": "user", "content": PROMPT}]


class OursCore:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._provider = OllamaProvider(host=base_url)
        self._async_provider: Any = None

    def construct_once(self) -> object:
        return OllamaProvider(host=self._base_url)

    def stream_sync(self, model: str) -> str:
        return "".join(
            chunk.message.content or "" for chunk in self._provider.chat(_MESSAGES, model=model, stream=True)
        )

    async def stream_async(self, model: str) -> str:
        if self._async_provider is None:
            self._async_provider = AsyncOllamaProvider(host=self._base_url)
        parts = []
        async for chunk in await self._async_provider.chat(_MESSAGES, model=model, stream=True):
            parts.append(chunk.message.content or "")
        return "".join(parts)

    def small_request(self, model: str) -> str:
        return str(self._provider.chat(_MESSAGES, model=model).message.content or "")

    def embed(self, texts: list[str], model: str) -> int:
        result = self._provider.embed(texts, model=model)
        # A list of vectors is promised; accept an EmbedResponse too so a design change doesn't void a run.
        return len(getattr(result, "embeddings", result))

    async def aclose(self) -> None:
        if self._async_provider is not None:
            await self._async_provider.close()
            self._async_provider = None

    def close(self) -> None:
        self._provider.close()

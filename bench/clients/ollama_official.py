"""The official `ollama` python client, used as its README shows."""

from __future__ import annotations

import ollama

from bench.clients.base import PROMPT

_MESSAGES = [{"role": "user", "content": PROMPT}]


class OfficialOllama:
    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._client = ollama.Client(host=base_url)
        self._async_client: ollama.AsyncClient | None = None

    def construct_once(self) -> object:
        return ollama.Client(host=self._base_url)

    def stream_sync(self, model: str) -> str:
        return "".join(
            part.message.content or ""
            for part in self._client.chat(model=model, messages=_MESSAGES, stream=True)
        )

    async def stream_async(self, model: str) -> str:
        if self._async_client is None:
            self._async_client = ollama.AsyncClient(host=self._base_url)
        parts = []
        async for part in await self._async_client.chat(model=model, messages=_MESSAGES, stream=True):
            parts.append(part.message.content or "")
        return "".join(parts)

    def small_request(self, model: str) -> str:
        return self._client.chat(model=model, messages=_MESSAGES).message.content or ""

    def embed(self, texts: list[str], model: str) -> int:
        return len(self._client.embed(model=model, input=texts).embeddings)

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None

    def close(self) -> None:
        self._client.close()

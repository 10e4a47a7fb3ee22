"""The floor: what a hand-written httpx loop costs. Nothing a library does can be cheaper than this."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bench.clients.base import PROMPT

_MESSAGES = [{"role": "user", "content": PROMPT}]


class BareHttpx:
    decode: Callable[[bytes | str], Any] = staticmethod(json.loads)

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._client = httpx.Client(base_url=base_url, timeout=None)
        self._async_client: httpx.AsyncClient | None = None

    def construct_once(self) -> object:
        return httpx.Client(base_url=self._base_url, timeout=None)

    def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"json": body}

    def stream_sync(self, model: str) -> str:
        decode = self.decode
        parts = []
        request = self._request({"model": model, "messages": _MESSAGES})
        with self._client.stream("POST", "/api/chat", **request) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line:
                    parts.append(decode(line)["message"]["content"])
        return "".join(parts)

    async def stream_async(self, model: str) -> str:
        if self._async_client is None:  # created on the running loop, shared by all concurrent streams
            self._async_client = httpx.AsyncClient(base_url=self._base_url, timeout=None)
        decode = self.decode
        parts = []
        request = self._request({"model": model, "messages": _MESSAGES})
        async with self._async_client.stream("POST", "/api/chat", **request) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line:
                    parts.append(decode(line)["message"]["content"])
        return "".join(parts)

    def small_request(self, model: str) -> str:
        response = self._client.post(
            "/api/chat", **self._request({"model": model, "messages": _MESSAGES, "stream": False})
        )
        response.raise_for_status()
        return str(self.decode(response.content)["message"]["content"])

    def embed(self, texts: list[str], model: str) -> int:
        response = self._client.post("/api/embed", **self._request({"model": model, "input": texts}))
        response.raise_for_status()
        return len(self.decode(response.content)["embeddings"])

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    def close(self) -> None:
        self._client.close()


class BareHttpxOrjson(BareHttpx):
    """Same loop, orjson for both directions: shows how much of the floor is JSON."""

    def __init__(self, base_url: str) -> None:
        import orjson  # imported here so the floor's process never loads it

        self._dumps = orjson.dumps
        self.decode = orjson.loads
        super().__init__(base_url)

    def _request(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"content": self._dumps(body), "headers": {"Content-Type": "application/json"}}

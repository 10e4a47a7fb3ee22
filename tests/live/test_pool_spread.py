"""Concurrent streams through one pool of three real Ollama servers spread over all three.

Each server's log says what it was asked; every answer is checked against the same question asked of one
server alone (temperature 0, a seed: the same tokens wherever it runs).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from ollama_provider import AsyncOllamaProvider, ChatResponse, OllamaProvider

from .conftest import CHAT_MODEL, OPTIONS
from .servers import OllamaServers

pytestmark = pytest.mark.live_servers

STREAMS = 9
QUESTION = "Name a colour."


@pytest.fixture(scope="module")
def reference(servers: OllamaServers) -> str:
    """The answer of one server alone."""
    with OllamaProvider(servers[0].url) as alone:
        return alone.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS).message.content


def streamed(chunks: list[ChatResponse]) -> str:
    """The text of a stream, once it is certain the stream ended with exactly one ``done`` chunk, last."""
    assert [chunk.done for chunk in chunks].count(True) == 1 and chunks[-1].done
    return "".join(chunk.message.content for chunk in chunks)


def assert_spread(counts: list[int]) -> None:
    assert sum(counts) == STREAMS, counts
    # The fewest in flight wins: concurrent streams never pile on one server while another idles.
    assert min(counts) >= 1 and max(counts) <= STREAMS // 3 + 1, counts


def test_concurrent_streams_from_threads_spread_over_the_servers(
    servers: OllamaServers, reference: str
) -> None:
    marks = servers.marks()
    with OllamaProvider(hosts=servers.urls) as provider:

        def ask(_: int) -> str:
            return streamed(list(provider.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS, stream=True)))

        with ThreadPoolExecutor(STREAMS) as threads:
            answers = list(threads.map(ask, range(STREAMS)))
    assert answers == [reference] * STREAMS
    assert_spread(servers.requests("POST", "/api/chat", since=marks, total=STREAMS))


async def test_concurrent_async_streams_spread_over_the_servers(
    servers: OllamaServers, reference: str
) -> None:
    marks = servers.marks()
    provider = AsyncOllamaProvider(hosts=servers.urls)

    async def ask() -> str:
        stream = await provider.chat(QUESTION, model=CHAT_MODEL, options=OPTIONS, stream=True)
        return streamed([chunk async for chunk in stream])

    try:
        answers = await asyncio.gather(*(ask() for _ in range(STREAMS)))
    finally:
        await provider.close()
    assert answers == [reference] * STREAMS
    assert_spread(servers.requests("POST", "/api/chat", since=marks, total=STREAMS))

"""Leaving a stream early gives its connection back, whichever way the caller leaves.

The server sends one chunk and then stalls, so a client that tried to drain the rest (or forgot
the response) would keep the connection open: the server would never see it closed, and the
pool would grow with every repetition. Both are counted here, over many repetitions.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import httpx
import pytest

from ollama_provider import AsyncOllamaProvider, ChatResponse, OllamaProvider

from .fault_server import Exchange, FaultServer, Stats, chat_chunk

REPEAT = 12


def one_chunk_then_stall(exchange: Exchange) -> None:
    if exchange.request.path != "/api/chat":
        exchange.respond(200, {"version": "0.12.6"})
        return
    exchange.start_stream()
    exchange.line(chat_chunk("Hel"))
    exchange.stall()


def pooled(client: httpx.Client | httpx.AsyncClient | None) -> int:
    """Connections held by an httpx client's pool (httpx keeps its pool private)."""
    if client is None:
        return 0
    return len(client._transport._pool.connections)  # type: ignore[attr-defined]


def sync_pool(provider: OllamaProvider) -> int:
    return pooled(provider._transport._slot.current)


def async_pool(provider: AsyncOllamaProvider) -> int:
    slot = provider._transport._slots.get(asyncio.get_running_loop())
    return pooled(slot.current if slot else None)


def all_released(repetitions: int) -> Any:
    return lambda s: s.open == 0 and s.closed_by_client == repetitions


async def async_wait_for(server: FaultServer, condition: Any) -> Stats:
    """Like server.wait_for, but lets the event loop run (async closes happen on the loop)."""
    for _ in range(250):
        if condition(server.stats):
            break
        await asyncio.sleep(0.02)
    return server.stats


@pytest.fixture
def stalling(server: FaultServer) -> FaultServer:
    server.script = one_chunk_then_stall
    return server


@pytest.fixture
def settings(fast: dict[str, Any]) -> dict[str, Any]:
    # A long read timeout: a client that waited for the stalled rest would fail, not pass slowly.
    return {**fast, "model": "llama3.2", "timeout": 5.0}


def test_break_out_of_a_temporary_stream(stalling: FaultServer, settings: dict[str, Any]) -> None:
    with OllamaProvider(stalling.url, **settings) as provider:
        for _ in range(REPEAT):
            for chunk in provider.chat("hi", stream=True):
                assert chunk.message.content == "Hel"
                break
            assert sync_pool(provider) == 0  # the broken connection left the pool at once
        stats = stalling.wait_for(all_released(REPEAT))
        assert stats.open == 0 and stats.closed_by_client == REPEAT  # seen closed by the server
        assert provider.version() == "0.12.6"  # the provider still works
    assert stats.accepted == REPEAT


def test_leave_a_kept_stream_with_with(stalling: FaultServer, settings: dict[str, Any]) -> None:
    with OllamaProvider(stalling.url, **settings) as provider:
        kept = []
        for _ in range(REPEAT):
            with provider.chat("hi", stream=True) as stream:
                assert next(stream).message.content == "Hel"
            kept.append(stream)  # still referenced: only `with` released it
            assert sync_pool(provider) == 0
        stats = stalling.wait_for(all_released(REPEAT))
    assert stats.open == 0 and stats.closed_by_client == REPEAT


def test_close_a_kept_stream_explicitly_twice(stalling: FaultServer, settings: dict[str, Any]) -> None:
    with OllamaProvider(stalling.url, **settings) as provider:
        stream = provider.chat("hi", stream=True)
        next(stream)
        stream.close()
        stream.close()  # idempotent
        stats = stalling.wait_for(all_released(1))
        with pytest.raises(StopIteration):
            next(stream)
    assert stats.closed_by_client == 1


def test_fully_read_streams_reuse_one_connection(server: FaultServer, settings: dict[str, Any]) -> None:
    """The control: a stream read to its end leaves its connection in the pool for the next call."""
    with OllamaProvider(server.url, **settings) as provider:
        for _ in range(REPEAT):
            assert len(list(provider.chat("hi", stream=True))) == 3
            assert sync_pool(provider) == 1
    assert server.stats.accepted == 1


async def test_break_in_async_for(stalling: FaultServer, settings: dict[str, Any]) -> None:
    async with AsyncOllamaProvider(stalling.url, **settings) as provider:
        for _ in range(REPEAT):
            async for chunk in await provider.chat("hi", stream=True):
                assert chunk.message.content == "Hel"
                break
            assert async_pool(provider) <= 1  # at most the one whose close is scheduled
        stats = await async_wait_for(stalling, all_released(REPEAT))
        assert async_pool(provider) == 0
        assert stats.open == 0 and stats.closed_by_client == REPEAT
        assert await provider.version() == "0.12.6"


async def test_leave_a_kept_async_stream_with_async_with(
    stalling: FaultServer, settings: dict[str, Any]
) -> None:
    async with AsyncOllamaProvider(stalling.url, **settings) as provider:
        for _ in range(REPEAT):
            async with await provider.chat("hi", stream=True) as stream:
                assert (await stream.__anext__()).message.content == "Hel"
            assert async_pool(provider) == 0  # released before `async with` returned
        stats = stalling.wait_for(all_released(REPEAT))
    assert stats.closed_by_client == REPEAT


async def test_cancel_the_task_iterating_a_stream(stalling: FaultServer, settings: dict[str, Any]) -> None:
    async with AsyncOllamaProvider(stalling.url, **settings) as provider:
        for _ in range(REPEAT):
            first = asyncio.Event()
            received: list[ChatResponse] = []

            async def consume() -> None:
                async for chunk in await provider.chat("hi", stream=True):
                    received.append(chunk)  # noqa: B023
                    first.set()  # noqa: B023

            task = asyncio.create_task(consume())
            await first.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert len(received) == 1
        stats = await async_wait_for(stalling, all_released(REPEAT))
        assert async_pool(provider) == 0
        assert stats.open == 0 and stats.closed_by_client == REPEAT
        assert await provider.version() == "0.12.6"


def socket_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [
        str(w.message)[:80] for w in caught if "socket" in str(w.message) or "transport" in str(w.message)
    ]


def test_a_provider_dropped_without_close_releases_its_connections(server: FaultServer) -> None:
    # Adapters and notebooks rarely close providers: garbage collection must not leak sockets.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        provider = OllamaProvider(server.url, model="llama3.2")
        provider.version()
        assert "".join(c.message.content for c in provider.chat("hi", stream=True)) == "Hello"
        del provider
        gc.collect()
    assert socket_warnings(caught) == []
    stats = server.wait_for(lambda s: s.open == 0)
    assert stats.accepted == 1 and stats.closed_by_client == 1


async def test_an_async_provider_dropped_without_close_releases_its_connections(server: FaultServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        provider = AsyncOllamaProvider(server.url)
        await provider.version()
        del provider
        gc.collect()
        stats = await async_wait_for(server, lambda s: s.open == 0)  # closed on this (running) loop
    assert socket_warnings(caught) == []
    assert stats.accepted == 1 and stats.closed_by_client == 1

"""One provider, many callers: successive event loops (async) and many threads (sync)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ollama_provider import AsyncOllamaProvider, OllamaProvider
from ollama_provider._forks import built_once

from .fault_server import VERSION, FaultServer

THREADS = 8
CALLS_PER_THREAD = 10


async def a_bit_of_everything(provider: AsyncOllamaProvider) -> list[str]:
    """A plain call, a stream, and concurrent calls on the current loop."""
    answer = await provider.chat("hi")
    streamed = "".join([c.message.content async for c in await provider.chat("hi", stream=True)])
    versions = await asyncio.gather(*(provider.version() for _ in range(5)))
    return [answer.message.content, streamed, *versions]


def test_async_provider_across_successive_event_loops(server: FaultServer, fast: dict[str, Any]) -> None:
    provider = AsyncOllamaProvider(server.url, model="llama3.2", **fast)  # never closed by the "user"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        first = asyncio.run(a_bit_of_everything(provider))
        second = asyncio.run(a_bit_of_everything(provider))  # the first loop is closed by now
        gc.collect()  # the finished loops and their clients are unreachable: no socket may be left
    assert first == second == ["Hello", "Hello", *[VERSION] * 5]
    assert provider.health.consecutive_failures == 0
    leaks = [str(w.message)[:80] for w in caught if issubclass(w.category, ResourceWarning)]
    # (asyncio.run drops the thread's previous default loop: an earlier test's loop may warn here)
    assert [leak for leak in leaks if "socket" in leak or "transport" in leak] == []
    stats = server.wait_for(lambda s: s.open == 0)
    assert stats.open == 0 and stats.closed_by_client == stats.accepted  # each loop closed its connections


async def test_async_close_then_reuse_on_this_and_another_loop(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    provider = AsyncOllamaProvider(server.url, **fast)
    await provider.version()
    other_thread = ThreadPoolExecutor(max_workers=1)
    with other_thread:
        # A second loop, in another thread, keeps using the provider after this loop closed it.
        await provider.close()
        assert other_thread.submit(asyncio.run, provider.version()).result(timeout=10) == VERSION
        assert await provider.version() == VERSION  # usable again after close on this loop
    await provider.close()


def test_async_provider_from_two_threads_each_with_its_loop(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    provider = AsyncOllamaProvider(server.url, model="llama3.2", **fast)

    async def use() -> list[str]:
        try:
            return await a_bit_of_everything(provider)
        finally:
            await provider.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: asyncio.run(use()), range(2)))
    assert results == [["Hello", "Hello", *[VERSION] * 5]] * 2


def test_sync_provider_shared_by_many_threads(server: FaultServer, fast: dict[str, Any]) -> None:
    start = threading.Barrier(THREADS)

    def worker(index: int) -> list[str]:
        start.wait(timeout=10)  # all threads hit the lazily built client at once
        results = []
        for call in range(CALLS_PER_THREAD):
            if call % 3 == 0:
                results.append("".join(c.message.content for c in provider.chat("hi", stream=True)))
            elif call % 3 == 1:
                results.append(provider.chat("hi").message.content)
            else:
                results.append(provider.version())
        return results

    with OllamaProvider(server.url, model="llama3.2", **fast) as provider:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            results = list(pool.map(worker, range(THREADS)))
        assert provider.health.consecutive_failures == 0
    expected = [["Hello", "Hello", VERSION][call % 3] for call in range(CALLS_PER_THREAD)]
    assert results == [expected] * THREADS
    stats = server.stats
    assert len(stats.requests) == THREADS * CALLS_PER_THREAD
    assert stats.accepted <= THREADS  # one pool: connections are reused, at most one per thread


def test_threads_survive_a_restart_in_the_middle(server: FaultServer, fast: dict[str, Any]) -> None:
    with OllamaProvider(server.url, **fast) as provider, ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: provider.version(), range(8))) == [VERSION] * 8
        server.restart()
        assert list(pool.map(lambda _: provider.version(), range(8))) == [VERSION] * 8


def test_threads_racing_for_a_lazily_built_provider_get_one() -> None:
    cache: dict[str, Any] = {"provider": None}
    built: list[object] = []

    def build() -> object:
        time.sleep(0.02)  # a slow build keeps the window open for every racing thread
        built.append(object())
        return built[-1]

    start = threading.Barrier(THREADS)

    def take(_: int) -> object:
        start.wait(10)
        return built_once(cache, "provider", build)

    with ThreadPoolExecutor(THREADS) as pool:
        taken = list(pool.map(take, range(THREADS)))
    assert len(built) == 1
    assert all(provider is built[0] for provider in taken)
    assert cache["provider"] is built[0]

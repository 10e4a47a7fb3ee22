"""Stale keep-alive connections: an Ollama restart, an idle-closing server, a drop before answering.

Real sockets on the loopback fault server: the pooled connection of the first call is dead by
the second call, which must still succeed without the user doing anything.
"""

from __future__ import annotations

from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaConnectionError, OllamaProvider

from .fault_server import Exchange, FaultServer, ollama_like


def drop_reused_connections(exchange: Exchange) -> None:
    """The worst timing of a restart: the request reached a connection that then closes unanswered."""
    if exchange.request.seq > 1:
        exchange.drop()
    else:
        ollama_like(exchange)


@pytest.mark.parametrize("retries", [0, 2])
def test_next_call_after_a_restart_succeeds(server: FaultServer, fast: dict[str, Any], retries: int) -> None:
    with OllamaProvider(server.url, **{**fast, "retries": retries}) as provider:
        assert provider.version() == "0.12.6"
        server.restart()  # every connection closed, a new listener on the same port
        assert provider.version() == "0.12.6"
        assert provider.health.consecutive_failures == 0
    stats = server.stats
    assert stats.accepted == 2  # the dead keep-alive connection was replaced
    assert server.paths() == ["/api/version", "/api/version"]


async def test_next_call_after_a_restart_succeeds_async(server: FaultServer, fast: dict[str, Any]) -> None:
    async with AsyncOllamaProvider(server.url, **fast) as provider:
        assert len(await provider.list_models()) == 1
        server.restart()
        assert len(await provider.list_models()) == 1
    assert server.stats.accepted == 2


def test_stream_after_a_restart_succeeds(server: FaultServer, fast: dict[str, Any]) -> None:
    with OllamaProvider(server.url, model="llama3.2", **fast) as provider:
        assert provider.chat("hi").message.content == "Hello"
        server.restart()
        assert [c.message.content for c in provider.chat("hi", stream=True)] == ["Hel", "lo", ""]
    assert server.stats.accepted == 2


def test_server_closing_idle_keep_alive_connections(server: FaultServer, fast: dict[str, Any]) -> None:
    server.idle_timeout = 0.05
    with OllamaProvider(server.url, **fast) as provider:
        provider.version()
        assert server.wait_for(lambda s: s.closed_by_server == 1).closed_by_server == 1
        provider.version()
        assert provider.health.consecutive_failures == 0
    assert server.stats.accepted == 2


def test_connection_reused_while_the_server_keeps_it(server: FaultServer, fast: dict[str, Any]) -> None:
    """The control for the tests above: without a fault, one connection serves every call."""
    with OllamaProvider(server.url, **fast) as provider:
        for _ in range(5):
            provider.version()
    stats = server.stats
    assert stats.accepted == 1 and [r.seq for r in stats.requests] == [1, 2, 3, 4, 5]


def test_drop_before_any_answer_is_retried_on_a_fresh_connection(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = drop_reused_connections
    with OllamaProvider(server.url, **fast) as provider:
        provider.version()
        assert provider.version() == "0.12.6"
        assert provider.health.consecutive_failures == 0
    stats = server.stats
    assert len(stats.requests) == 3 and stats.accepted == 2


def test_stream_dropped_before_any_answer_is_retried(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = drop_reused_connections
    with OllamaProvider(server.url, model="llama3.2", **fast) as provider:
        provider.version()
        assert [c.message.content for c in provider.chat("hi", stream=True)] == ["Hel", "lo", ""]
    assert server.paths() == ["/api/version", "/api/chat", "/api/chat"]


async def test_drop_before_any_answer_is_retried_async(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = drop_reused_connections
    async with AsyncOllamaProvider(server.url, model="llama3.2", **fast) as provider:
        await provider.version()
        assert [c.message.content async for c in await provider.chat("hi", stream=True)] == ["Hel", "lo", ""]
        assert (await provider.chat("hi")).message.content == "Hello"
    assert server.paths() == ["/api/version", "/api/chat", "/api/chat", "/api/chat", "/api/chat"]


def test_drop_before_any_answer_without_retries_is_a_connection_error(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = drop_reused_connections
    with OllamaProvider(server.url, **{**fast, "retries": 0}) as provider:
        provider.version()
        with pytest.raises(OllamaConnectionError, match="closed the connection before answering"):
            provider.version()
        assert provider.health.consecutive_failures == 1
        assert provider.version() == "0.12.6"  # the pool was rebuilt: the next call needs no retry
    assert server.stats.accepted == 2

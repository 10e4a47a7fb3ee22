"""Unreachable servers: refused connections, unknown names, connect timeouts.

Each must surface as our own error naming the host and saying how to start Ollama, after the
configured number of attempts (counted by the health tracker, which sees every attempt).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ollama_provider import AsyncOllamaProvider, OllamaConnectionError, OllamaProvider, OllamaTimeoutError

if TYPE_CHECKING:
    from .conftest import MockProviders


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound once to get a free number, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port whose listen backlog is full: the kernel drops new SYNs, so connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break  # the backlog is full now
        else:
            pytest.skip("this platform accepts connections beyond the listen backlog")
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.parametrize("retries", [0, 2])
def test_refused_names_host_and_how_to_start_after_all_attempts(
    closed_port: int, retries: int, fast: dict[str, Any]
) -> None:
    with OllamaProvider(f"127.0.0.1:{closed_port}", **{**fast, "retries": retries}) as provider:
        with pytest.raises(OllamaConnectionError) as caught:
            provider.version()
        assert provider.health.consecutive_failures == retries + 1  # one failure per attempt
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message
    assert "ollama serve" in message
    assert caught.value.host == f"http://127.0.0.1:{closed_port}"


async def test_refused_async(closed_port: int, fast: dict[str, Any]) -> None:
    async with AsyncOllamaProvider(f"127.0.0.1:{closed_port}", **fast) as provider:
        with pytest.raises(OllamaConnectionError, match="ollama serve"):
            await provider.chat("hi", model="llama3.2")
        assert provider.health.consecutive_failures == fast["retries"] + 1


def test_refused_stream_fails_on_first_iteration(closed_port: int, fast: dict[str, Any]) -> None:
    with OllamaProvider(f"127.0.0.1:{closed_port}", **fast) as provider:
        stream = provider.chat("hi", model="llama3.2", stream=True)
        with pytest.raises(OllamaConnectionError, match=str(closed_port)):
            next(stream)
        assert provider.health.consecutive_failures == fast["retries"] + 1


def test_dns_failure_names_host(fast: dict[str, Any]) -> None:
    # trust_env=False: a proxy from the environment would answer instead of the resolver.
    with OllamaProvider("ollama-fault-test.invalid", trust_env=False, **fast) as provider:
        with pytest.raises(OllamaConnectionError) as caught:
            provider.list_models()
        assert provider.health.consecutive_failures == fast["retries"] + 1
    assert "ollama-fault-test.invalid:11434" in str(caught.value)
    assert "ollama serve" in str(caught.value)


async def test_dns_failure_async(fast: dict[str, Any]) -> None:
    async with AsyncOllamaProvider("ollama-fault-test.invalid", trust_env=False, **fast) as provider:
        with pytest.raises(OllamaConnectionError, match=r"ollama-fault-test\.invalid"):
            await provider.version()


def test_connect_timeout_is_retried_then_raised(black_hole: int) -> None:
    settings: dict[str, Any] = {"retries": 1, "backoff_base": 0.001, "connect_timeout": 0.2}
    with OllamaProvider(f"127.0.0.1:{black_hole}", **settings) as provider:
        with pytest.raises(OllamaTimeoutError) as caught:
            provider.version()
        assert provider.health.consecutive_failures == 2
    assert str(black_hole) in str(caught.value) and "ollama serve" in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ConnectTimeout("timed out")],
    ids=["refused", "connect-timeout"],
)
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_attempts_follow_the_retries_setting(
    mock: MockProviders, waits: list[float], failure: httpx.HTTPError, retries: int
) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise failure

    provider = mock.sync(handler, retries=retries)
    with pytest.raises((OllamaConnectionError, OllamaTimeoutError)):
        provider.list_models()
    assert attempts == retries + 1


async def test_async_attempts_follow_the_retries_setting(mock: MockProviders, waits: list[float]) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        raise httpx.ConnectError("[Errno 111] Connection refused")

    async with mock.async_(handler, retries=3) as provider:
        with pytest.raises(OllamaConnectionError):
            await provider.list_models()
    assert attempts == 4


def test_recovers_when_the_server_comes_up_between_attempts(mock: MockProviders, waits: list[float]) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return httpx.Response(200, json={"version": "0.12.6"})

    provider = mock.sync(handler, retries=3)
    assert provider.version() == "0.12.6"
    assert attempts == 3
    assert provider.health.consecutive_failures == 0 and provider.health.connected

"""Connection state: check_health() and the tracker that every request updates."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ollama_provider import (
    AsyncOllamaProvider,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaProvider,
    OllamaResponseError,
    StreamError,
)

from .fault_server import VERSION, FaultServer, chat_chunk

if TYPE_CHECKING:
    from .conftest import MockProviders


class Switchable:
    """A mock Ollama that is up or down (refusing connections), or answers chat with ``chat_status``."""

    def __init__(self) -> None:
        self.up = True
        self.chat_status = 200
        self.tags_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        path = request.url.path
        if path == "/api/version":
            return httpx.Response(200, json={"version": VERSION})
        if path == "/api/tags":
            if self.tags_status != 200:
                return httpx.Response(self.tags_status, json={"error": "listing failed"})
            return httpx.Response(200, json={"models": [{"name": "llama3.2:latest"}, {"name": "qwen3:0.6b"}]})
        if self.chat_status == 404:
            return httpx.Response(404, json={"error": "model 'llama9' not found"})
        if self.chat_status != 200:
            return httpx.Response(self.chat_status, json={"error": "llama runner process has terminated"})
        return httpx.Response(200, json=chat_chunk("Hello", done=True))


def test_check_health_of_a_live_server(server: FaultServer) -> None:
    with OllamaProvider(server.url) as provider:
        status = provider.check_health()
    assert status.healthy and status.status == "healthy"
    assert status.version == VERSION and status.models == 1
    assert status.latency is not None and status.latency > 0
    assert status.last_error is None and status.consecutive_failures == 0
    assert status.host == server.url and status.checked_at is not None
    assert server.paths() == ["/api/version", "/api/tags"]


async def test_check_health_async(server: FaultServer) -> None:
    async with AsyncOllamaProvider(server.url) as provider:
        status = await provider.check_health()
    assert status.healthy and status.version == VERSION and status.models == 1


def test_check_health_of_a_missing_server_never_raises(mock: MockProviders) -> None:
    ollama = Switchable()
    ollama.up = False
    status = mock.sync(ollama, retries=3).check_health()
    assert status.status == "unhealthy" and not status.healthy
    assert status.version is None and status.models is None
    assert status.last_error is not None and "OllamaConnectionError" in status.last_error
    assert status.consecutive_failures == 1  # the health probe is not retried: one quick answer


def test_every_request_updates_the_connection_state(mock: MockProviders) -> None:
    ollama = Switchable()
    provider = mock.sync(ollama, retries=0)
    ollama.up = False
    for expected in (1, 2):
        with pytest.raises(OllamaConnectionError):
            provider.chat("hi")
        assert provider.health.consecutive_failures == expected and provider.health.connected is False
    status = provider.check_health()
    assert status.status == "unhealthy" and status.consecutive_failures == 3
    ollama.up = True
    assert provider.chat("hi").message.content == "Hello"
    assert provider.health.consecutive_failures == 0 and provider.health.connected is True
    status = provider.check_health()
    assert status.healthy and status.consecutive_failures == 0
    assert status.last_error is not None and "Connection refused" in status.last_error  # the last one seen


async def test_every_request_updates_the_connection_state_async(mock: MockProviders) -> None:
    ollama = Switchable()
    async with mock.async_(ollama, retries=0) as provider:
        ollama.up = False
        with pytest.raises(OllamaConnectionError):
            await provider.list_models()
        assert provider.health.consecutive_failures == 1
        ollama.up = True
        await provider.list_models()
        assert provider.health.consecutive_failures == 0


def test_a_server_error_counts_as_a_failure(mock: MockProviders) -> None:
    ollama = Switchable()
    ollama.chat_status = 500
    provider = mock.sync(ollama)
    with pytest.raises(OllamaResponseError):
        provider.chat("hi")
    with pytest.raises(OllamaResponseError):
        list(provider.chat("hi", stream=True))
    assert provider.health.consecutive_failures == 2
    assert (
        provider.health.last_error is not None
        and "runner process has terminated" in provider.health.last_error
    )
    ollama.chat_status = 200
    provider.chat("hi")
    assert provider.health.consecutive_failures == 0


def test_a_stream_error_counts_as_a_failure(mock: MockProviders) -> None:
    body = (json.dumps(chat_chunk("Hel")) + "\n" + json.dumps({"error": "runner crashed"}) + "\n").encode()
    provider = mock.sync(lambda request: httpx.Response(200, content=body))
    with pytest.raises(StreamError):
        list(provider.chat("hi", stream=True))
    assert provider.health.consecutive_failures == 1
    assert provider.health.last_error is not None and "runner crashed" in provider.health.last_error


def test_a_caller_mistake_is_not_a_server_failure(mock: MockProviders) -> None:
    ollama = Switchable()
    provider = mock.sync(ollama)
    ollama.chat_status = 404
    with pytest.raises(ModelNotFoundError):
        provider.chat("hi", model="llama9")
    assert provider.health.consecutive_failures == 0 and provider.health.connected is True


def test_degraded_when_the_server_answers_but_listing_fails(mock: MockProviders) -> None:
    ollama = Switchable()
    ollama.tags_status = 500
    status = mock.sync(ollama).check_health()
    assert status.status == "degraded" and status.version == VERSION and status.models is None
    assert status.last_error is not None and "listing failed" in status.last_error  # why it is degraded


def test_health_after_an_ollama_restart(server: FaultServer, fast: dict[str, Any]) -> None:
    with OllamaProvider(server.url, **fast) as provider:
        assert provider.check_health().healthy
        server.restart()
        status = provider.check_health()  # no retry in the probe: the pool must already cope
    assert status.healthy and status.consecutive_failures == 0

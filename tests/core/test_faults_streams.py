"""Streams that go wrong: dropped, stalled, slow, erroring, malformed, truncated.

A stream is never retried once a chunk reached the caller (that would duplicate tokens), and it
never ends silently short: every way of losing the end is a typed error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ollama_provider import (
    AsyncOllamaProvider,
    ChatResponse,
    IncompleteStreamError,
    InvalidResponseError,
    OllamaProvider,
    OllamaResponseError,
    OllamaTimeoutError,
    StreamError,
)

from .fault_server import Exchange, FaultServer, chat_chunk

if TYPE_CHECKING:
    from .conftest import MockProviders

READ_TIMEOUT = 0.3


def two_chunks_then(fault: str) -> Any:
    def script(exchange: Exchange) -> None:
        exchange.start_stream()
        exchange.line(chat_chunk("Hel"))
        exchange.line(chat_chunk("lo"))
        if fault == "drop":
            exchange.drop()
        elif fault == "cut-line":  # the connection dies inside the third line
            exchange.send_raw(b"20\r\n" + b'{"model":"llama3.2","message":{"')
            exchange.drop()
        else:
            exchange.stall()

    return script


def steady(chunks: int, interval: float) -> Any:
    def script(exchange: Exchange) -> None:
        exchange.start_stream()
        for i in range(chunks):
            exchange.pause(interval)
            exchange.line(chat_chunk(str(i)))
        exchange.line(chat_chunk("", done=True))
        exchange.end_stream()

    return script


def provider_on(server: FaultServer, fast: dict[str, Any], **settings: Any) -> OllamaProvider:
    return OllamaProvider(server.url, model="llama3.2", **{**fast, "timeout": READ_TIMEOUT, **settings})


def async_provider_on(server: FaultServer, fast: dict[str, Any], **settings: Any) -> AsyncOllamaProvider:
    return AsyncOllamaProvider(server.url, model="llama3.2", **{**fast, "timeout": READ_TIMEOUT, **settings})


# -- real sockets: drops and stalls after the first chunk ------------------------------------------
@pytest.mark.parametrize("fault", ["drop", "cut-line"])
def test_drop_mid_stream_raises_after_the_chunks_received_and_never_retries(
    server: FaultServer, fast: dict[str, Any], fault: str
) -> None:
    server.script = two_chunks_then(fault)
    received: list[str] = []
    with provider_on(server, fast) as provider:
        with pytest.raises(IncompleteStreamError, match="incomplete"):
            for chunk in provider.chat("hi", stream=True):
                received.append(chunk.message.content)
        assert provider.health.consecutive_failures == 1
    assert received == ["Hel", "lo"]  # exactly those two, no duplicate from a retry
    assert len(server.stats.requests) == 1


async def test_drop_mid_stream_async(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = two_chunks_then("drop")
    received: list[str] = []
    async with async_provider_on(server, fast) as provider:
        with pytest.raises(IncompleteStreamError):
            async for chunk in await provider.chat("hi", stream=True):
                received.append(chunk.message.content)
    assert received == ["Hel", "lo"]
    assert len(server.stats.requests) == 1


def test_stall_mid_stream_times_out_after_the_read_timeout(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = two_chunks_then("stall")
    received: list[str] = []
    with (
        provider_on(server, fast) as provider,
        pytest.raises(OllamaTimeoutError, match=f"nothing for {READ_TIMEOUT}s"),
    ):
        for chunk in provider.chat("hi", stream=True):
            received.append(chunk.message.content)
    assert received == ["Hel", "lo"]
    assert len(server.stats.requests) == 1


async def test_stall_mid_stream_times_out_async(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = two_chunks_then("stall")
    received: list[str] = []
    async with async_provider_on(server, fast) as provider:
        with pytest.raises(OllamaTimeoutError):
            async for chunk in await provider.chat("hi", stream=True):
                received.append(chunk.message.content)
    assert received == ["Hel", "lo"]
    assert len(server.stats.requests) == 1


def test_stall_before_any_answer_is_a_timeout_not_a_resend(server: FaultServer, fast: dict[str, Any]) -> None:
    # A read timeout may be a model still loading: sending the request again would queue it twice.
    server.script = Exchange.stall
    with (
        provider_on(server, fast, first_chunk_timeout=2 * READ_TIMEOUT) as provider,
        pytest.raises(OllamaTimeoutError, match="may be busy"),
    ):
        provider.chat("hi")
    assert len(server.stats.requests) == 1


def test_slow_but_steady_stream_never_times_out(server: FaultServer, fast: dict[str, Any]) -> None:
    server.script = steady(15, READ_TIMEOUT / 3)  # ~1.5 s in all, five times the read timeout
    with provider_on(server, fast) as provider:
        chunks = list(provider.chat("hi", stream=True))
    assert [c.message.content for c in chunks[:-1]] == [str(i) for i in range(15)]
    assert chunks[-1].done


async def test_slow_but_steady_stream_never_times_out_async(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = steady(15, READ_TIMEOUT / 3)
    async with async_provider_on(server, fast) as provider:
        chunks = [c async for c in await provider.chat("hi", stream=True)]
    assert len(chunks) == 16 and chunks[-1].done


def test_error_line_read_together_with_good_chunks(server: FaultServer, fast: dict[str, Any]) -> None:
    # Ollama writes the error right after the last chunk: both often arrive in one socket read.
    def script(exchange: Exchange) -> None:
        exchange.start_stream()
        lines = [chat_chunk("Hel"), chat_chunk("lo"), {"error": "model runner crashed"}]
        exchange.raw_line(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        exchange.end_stream()

    server.script = script
    received: list[str] = []
    with provider_on(server, fast) as provider, pytest.raises(StreamError, match="model runner crashed"):
        for chunk in provider.chat("hi", stream=True):
            received.append(chunk.message.content)
    assert received == ["Hel", "lo"]  # the good chunks of the same read reached the caller first


# -- what the server says inside a 200 stream (MockTransport is byte-exact here) -------------------
def ndjson(*lines: Any) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    )


STREAM_ERROR = "an error was encountered while running the model: unexpected EOF"
BODIES: dict[str, tuple[bytes, type[Exception], str]] = {
    "error-object": (
        ndjson(chat_chunk("Hel"), {"error": STREAM_ERROR}),
        StreamError,
        "unexpected EOF",
    ),
    "malformed-line": (
        ndjson(chat_chunk("Hel"), b'{"model": "llama3.2", "mess'),
        InvalidResponseError,
        "malformed",
    ),
    "not-an-object": (ndjson(chat_chunk("Hel"), b"[1, 2]"), InvalidResponseError, "JSON object"),
    "eof-without-done": (ndjson(chat_chunk("Hel"), chat_chunk("lo")), IncompleteStreamError, "final chunk"),
}


def stream_handler(body: bytes) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/x-ndjson"})

    return handler


@pytest.mark.parametrize(("body", "error", "message"), BODIES.values(), ids=BODIES.keys())
def test_bad_streams_raise_typed_errors_after_the_good_chunks(
    mock: MockProviders, body: bytes, error: type[Exception], message: str
) -> None:
    received: list[ChatResponse] = []
    with pytest.raises(error, match=message):
        for chunk in mock.sync(stream_handler(body)).chat("hi", stream=True):
            received.append(chunk)
    assert received[0].message.content == "Hel"


@pytest.mark.parametrize(("body", "error", "message"), BODIES.values(), ids=BODIES.keys())
async def test_bad_streams_raise_typed_errors_async(
    mock: MockProviders, body: bytes, error: type[Exception], message: str
) -> None:
    received: list[ChatResponse] = []
    async with mock.async_(stream_handler(body)) as provider:
        with pytest.raises(error, match=message):
            async for chunk in await provider.chat("hi", stream=True):
                received.append(chunk)
    assert received[0].message.content == "Hel"


def test_error_object_keeps_the_server_message(mock: MockProviders) -> None:
    body = ndjson({"error": STREAM_ERROR})
    with pytest.raises(StreamError) as caught:
        list(mock.sync(stream_handler(body)).generate("hi", stream=True))
    assert caught.value.message == STREAM_ERROR and caught.value.status_code == 200


def test_malformed_non_streamed_body(mock: MockProviders) -> None:
    provider = mock.sync(lambda request: httpx.Response(200, content=b'{"version": '))
    with pytest.raises(InvalidResponseError, match="malformed JSON"):
        provider.version()


@pytest.mark.parametrize(
    ("status", "text"), [(404, "404 page not found"), (405, "405 method not allowed")], ids=["404", "405"]
)
def test_plain_text_error_bodies_keep_their_text(mock: MockProviders, status: int, text: str) -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return httpx.Response(status, text=text, headers={"content-type": "text/plain; charset=utf-8"})

    provider = mock.sync(handler)
    for call in (
        lambda: provider.request("GET", "/api/nope"),
        lambda: list(provider.chat("hi", stream=True)),
    ):
        with pytest.raises(OllamaResponseError) as caught:
            call()
        assert caught.value.status_code == status and caught.value.message == text
    assert attempts == 2  # neither was retried


async def test_http_errors_on_async_streams(mock: MockProviders) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": "llama runner process has terminated: exit status 2"})

    async with mock.async_(handler) as provider:
        with pytest.raises(OllamaResponseError, match="runner process has terminated") as caught:
            async for _ in await provider.chat("hi", stream=True):
                pass
    assert caught.value.status_code == 500

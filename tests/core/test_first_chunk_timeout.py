"""The first chunk's own timeout: a request waiting in a queue or for a model load is not stalled.

Real sockets (the fault server): the server holds back its answer's headers, as Ollama does while
a request waits for a slot or for the model to load, then streams.
"""

from __future__ import annotations

from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider, OllamaTimeoutError

from .fault_server import Exchange, FaultServer, chat_chunk

TIMEOUT = 0.3  # between chunks
FIRST = 2.0  # for the first chunk


def queued_then(chunks: int, *, wait: float, gap: float = 0.0) -> Any:
    """Say nothing for ``wait`` seconds (queued, loading), then stream ``chunks`` with ``gap`` between."""

    def script(exchange: Exchange) -> None:
        exchange.pause(wait)
        if exchange.request.json().get("stream") is False:
            exchange.respond(200, chat_chunk("queued answer", done=True))
            return
        exchange.start_stream()
        for i in range(chunks):
            if i:
                exchange.pause(gap)
            exchange.line(chat_chunk(str(i)))
        exchange.line(chat_chunk("", done=True))
        exchange.end_stream()

    return script


def provider_on(server: FaultServer, fast: dict[str, Any], **settings: Any) -> OllamaProvider:
    return OllamaProvider(
        server.url, model="llama3.2", **{**fast, "timeout": TIMEOUT, "first_chunk_timeout": FIRST, **settings}
    )


def test_a_stream_whose_first_chunk_waits_longer_than_the_chunk_timeout_still_arrives(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = queued_then(3, wait=3 * TIMEOUT)
    with provider_on(server, fast) as provider:
        chunks = list(provider.chat("hi", stream=True))
    assert [c.message.content for c in chunks] == ["0", "1", "2", ""]
    assert len(server.stats.requests) == 1


def test_a_whole_answer_that_comes_after_the_chunk_timeout_still_arrives(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    # Not streamed, Ollama sends nothing until the answer is complete.
    server.script = queued_then(1, wait=3 * TIMEOUT)
    with provider_on(server, fast) as provider:
        assert provider.chat("hi").message.content == "queued answer"


async def test_async_streams_get_the_first_chunk_timeout_too(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = queued_then(2, wait=3 * TIMEOUT)
    async with AsyncOllamaProvider(
        server.url, model="llama3.2", **{**fast, "timeout": TIMEOUT, "first_chunk_timeout": FIRST}
    ) as provider:
        chunks = [c async for c in await provider.chat("hi", stream=True)]
    assert [c.message.content for c in chunks] == ["0", "1", ""]


def test_after_the_first_chunk_the_per_chunk_timeout_applies(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = queued_then(3, wait=0.0, gap=3 * TIMEOUT)
    with provider_on(server, fast) as provider:
        stream = provider.chat("hi", stream=True)
        assert next(stream).message.content == "0"
        with pytest.raises(
            OllamaTimeoutError, match=rf"nothing for {TIMEOUT}s \(read timeout between chunks\)"
        ):
            next(stream)
    assert len(server.stats.requests) == 1


def test_no_first_chunk_within_first_chunk_timeout_says_the_server_may_be_busy_or_loading(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = Exchange.stall
    with (
        provider_on(server, fast, first_chunk_timeout=0.5) as provider,
        pytest.raises(
            OllamaTimeoutError, match=r"within 0\.5s: the server may be busy.*loading the model"
        ) as caught,
    ):
        provider.chat("hi")
    assert "first_chunk_timeout" in str(caught.value)
    assert len(server.stats.requests) == 1  # a read timeout is never sent again


def test_requests_that_do_not_run_the_model_keep_the_plain_read_timeout(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = Exchange.stall  # /api/version answers at once on a real server, busy or not
    with (
        provider_on(server, fast) as provider,
        pytest.raises(OllamaTimeoutError, match=rf"nothing for {TIMEOUT}s \(read timeout\)"),
    ):
        provider.version()


def test_the_first_chunk_timeout_is_honoured_as_given() -> None:
    from ollama_provider import OllamaConfig

    assert OllamaConfig(timeout=30, first_chunk_timeout=5).first_read_timeout() == 5  # not raised to 30
    assert OllamaConfig(timeout=600, first_chunk_timeout=300).first_read_timeout() == 300
    assert OllamaConfig(timeout=30).first_read_timeout() == 300
    assert OllamaConfig(timeout=None).first_read_timeout() == 300
    assert OllamaConfig(first_chunk_timeout=None).first_read_timeout() is None


def test_a_first_chunk_timeout_below_the_chunk_timeout_is_what_the_caller_waits(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    server.script = Exchange.stall
    with (
        provider_on(server, fast, timeout=30.0, first_chunk_timeout=0.5) as provider,
        pytest.raises(OllamaTimeoutError, match=r"sent no answer within 0\.5s") as caught,
    ):
        provider.chat("hi")
    assert caught.value.silent  # nothing of the answer came: a pool would try another host
    assert len(server.stats.requests) == 1


def test_a_client_pool_with_every_connection_busy_is_our_limit_not_a_dead_server(
    server: FaultServer, fast: dict[str, Any]
) -> None:
    import threading

    server.script = queued_then(1, wait=1.0)
    with provider_on(server, fast, max_connections=1, connect_timeout=0.2) as provider:
        busy = threading.Thread(target=provider.chat, args=("first",))
        busy.start()
        server.wait_for(lambda stats: len(stats.requests) == 1)
        with pytest.raises(OllamaTimeoutError, match="all 1 connections of the client's pool") as caught:
            provider.chat("second")
        busy.join()
    assert not caught.value.retryable  # waiting again for our own pool would not help
    assert len(server.stats.requests) == 1

"""Which HTTP answers are retried, how often, and how long the provider waits in between.

Waits are recorded by the ``waits`` fixture (the policy's answer for each attempt) instead of
being slept, so Retry-After values of seconds cost nothing and nothing is timed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from ollama_provider import (
    ModelNotFoundError,
    OllamaResponseError,
    ServerBusyError,
)
from ollama_provider._retry import MAX_RETRY_AFTER

if TYPE_CHECKING:
    from .conftest import MockProviders

BUSY = "server busy, please try again.  maximum pending requests exceeded"  # Ollama's text, two spaces
CHAT_OK = {
    "model": "llama3.2",
    "created_at": "2025-01-01T00:00:00Z",
    "message": {"role": "assistant", "content": "Hello"},
    "done": True,
    "done_reason": "stop",
}
FAILURES: dict[str, Callable[[], httpx.Response]] = {
    "503-busy": lambda: httpx.Response(503, json={"error": BUSY}),
    "502-proxy": lambda: httpx.Response(502, text="<html>502 Bad Gateway</html>"),
    "504-proxy": lambda: httpx.Response(504, text=""),
}


class Script:
    """A mock server: answers ``failures`` times with ``failure``, then ``success``; counts chat calls."""

    def __init__(self, failure: Callable[[], httpx.Response], failures: int, success: httpx.Response) -> None:
        self.failure = failure
        self.failures = failures
        self.success = success
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tags":  # asked for model suggestions after a 404
            return httpx.Response(200, json={"models": [{"name": "llama3.2:latest"}]})
        self.attempts += 1
        if self.attempts <= self.failures:
            return self.failure()
        return self.success


def ndjson(*objects: dict[str, object]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_busy_answers_are_retried_until_success(
    mock: MockProviders, waits: list[float], failure: Callable[[], httpx.Response]
) -> None:
    script = Script(failure, 2, httpx.Response(200, json=CHAT_OK))
    provider = mock.sync(script, retries=2)
    assert provider.chat("hi").message.content == "Hello"
    assert script.attempts == 3


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_busy_answers_are_retried_until_success_async(
    mock: MockProviders, waits: list[float], failure: Callable[[], httpx.Response]
) -> None:
    script = Script(failure, 2, httpx.Response(200, json=CHAT_OK))
    async with mock.async_(script, retries=2) as provider:
        assert (await provider.chat("hi")).message.content == "Hello"
    assert script.attempts == 3


@pytest.mark.parametrize("retries", [0, 1, 4])
def test_busy_until_the_end_raises_server_busy_with_the_message(
    mock: MockProviders, waits: list[float], retries: int
) -> None:
    script = Script(FAILURES["503-busy"], 99, httpx.Response(200, json=CHAT_OK))
    provider = mock.sync(script, retries=retries)
    with pytest.raises(ServerBusyError) as caught:
        provider.chat("hi")
    assert script.attempts == retries + 1  # retries=0 means exactly one attempt
    assert caught.value.status_code == 503 and caught.value.message == BUSY


def test_busy_stream_is_retried_before_its_first_chunk(mock: MockProviders, waits: list[float]) -> None:
    body = ndjson({**CHAT_OK, "done": False, "message": {"role": "assistant", "content": "Hel"}}, CHAT_OK)
    script = Script(FAILURES["503-busy"], 1, httpx.Response(200, content=body))
    provider = mock.sync(script, retries=1)
    assert [c.message.content for c in provider.chat("hi", stream=True)] == ["Hel", "Hello"]
    assert script.attempts == 2


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            400,
            {"error": 'invalid options: "num_gpu_layers"'},
            OllamaResponseError,
            'invalid options: "num_gpu_layers"',
        ),
        (404, {"error": "model 'llama9' not found"}, ModelNotFoundError, "model 'llama9' not found"),
        (500, {"error": "llama runner process has terminated"}, OllamaResponseError, "llama runner process"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_client_and_server_errors_are_never_retried(
    mock: MockProviders,
    waits: list[float],
    status: int,
    body: dict[str, str],
    error: type[OllamaResponseError],
    message: str,
    stream: bool,
) -> None:
    script = Script(lambda: httpx.Response(status, json=body), 99, httpx.Response(200, json=CHAT_OK))
    provider = mock.sync(script, retries=3)
    with pytest.raises(error) as caught:
        if stream:
            list(provider.chat("hi", stream=True))
        else:
            provider.chat("hi")
    assert script.attempts == 1
    assert caught.value.status_code == status and message in caught.value.message


async def test_client_errors_are_never_retried_async(mock: MockProviders, waits: list[float]) -> None:
    script = Script(lambda: httpx.Response(400, json={"error": "bad"}), 99, httpx.Response(200, json=CHAT_OK))
    async with mock.async_(script, retries=3) as provider:
        with pytest.raises(OllamaResponseError, match="bad"):
            await provider.chat("hi")
    assert script.attempts == 1


def busy_with_retry_after(value: str) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(503, json={"error": BUSY}, headers={"Retry-After": value})


def test_retry_after_in_seconds_is_honoured(mock: MockProviders, waits: list[float]) -> None:
    script = Script(busy_with_retry_after("7"), 1, httpx.Response(200, json=CHAT_OK))
    mock.sync(script, retries=1, backoff_base=0.001).chat("hi")
    assert script.attempts == 2
    assert waits[0] >= 7.0  # far above the 1 ms backoff: the server's wish wins


def test_retry_after_as_http_date_is_honoured(mock: MockProviders, waits: list[float]) -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    script = Script(busy_with_retry_after(later), 1, httpx.Response(200, json=CHAT_OK))
    mock.sync(script, retries=1, backoff_base=0.001).chat("hi")
    assert script.attempts == 2
    assert 15.0 <= waits[0] <= 20.0  # the date has a one-second resolution


async def test_retry_after_is_honoured_async(mock: MockProviders, waits: list[float]) -> None:
    script = Script(busy_with_retry_after("4"), 1, httpx.Response(200, json=CHAT_OK))
    async with mock.async_(script, retries=1) as provider:
        await provider.chat("hi")
    assert waits[0] >= 4.0


def test_retry_after_is_capped(mock: MockProviders, waits: list[float]) -> None:
    script = Script(busy_with_retry_after("86400"), 1, httpx.Response(200, json=CHAT_OK))
    mock.sync(script, retries=1).chat("hi")
    assert waits[0] == MAX_RETRY_AFTER


def test_backoff_is_exponential_capped_and_jittered(mock: MockProviders, waits: list[float]) -> None:
    def run() -> list[float]:
        waits.clear()
        script = Script(FAILURES["502-proxy"], 99, httpx.Response(200, json=CHAT_OK))
        with pytest.raises(ServerBusyError):
            mock.sync(script, retries=6, backoff_base=0.5, backoff_max=4.0).chat("hi")
        return list(waits)

    first = run()
    for attempt, wait in enumerate(first, start=1):
        ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))  # 0.5, 1, 2, 4, 4, ...
        assert ceiling / 2 <= wait <= ceiling  # "equal jitter": half fixed, half random
    assert run() != first  # random jitter: two runs do not wait the same

"""What a live test's own code received from the server, kept as it was read: :class:`LiveAnswers`.

Recorded tests read their expected values from the cassette; a test that runs live (``@pytest.mark.live``)
has no cassette, yet has the same need: compare what our code made of an answer with the answer itself,
whatever the model said this time. The ``live_answers`` fixture (tests/conftest.py) wraps httpx's
transports for the test: every response to an ``/api/...`` POST streams through unchanged, chunk by
chunk as it arrives (no buffering, unlike vcrpy), while a copy of its bytes is kept; the answers then read
like a cassette (:class:`~tests.recordings.Cassette`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from .recordings import Cassette, Exchange, to_exchange


class LiveAnswers:
    """The answers to the ``/api/...`` POSTs of one test, in the order they were sent."""

    def __init__(self) -> None:
        self._sent: list[tuple[httpx.Request, httpx.Response, bytearray]] = []

    def keep(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """Pass ``response`` on, keeping a copy of what its reader reads."""
        if request.method == "POST" and request.url.path.startswith("/api/"):
            copy = bytearray()
            self._sent.append((request, response, copy))
            response.stream = _Tee(response.stream, copy)
        return response

    def cassette(self, name: str = "live answers") -> Cassette:
        """The answers so far, as a cassette to read expected values from."""

        def read() -> list[Exchange]:
            return [
                to_exchange(
                    request.method,
                    str(request.url),
                    request.content,
                    {"status": {"code": response.status_code}, "body": {"string": bytes(copy)}},
                )
                for request, response, copy in self._sent
            ]

        return Cassette(name, read, replaying=False)


class _Tee(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response stream that hands every chunk on as it comes, and keeps a copy."""

    def __init__(self, stream: Any, copy: bytearray) -> None:
        self._stream, self._copy = stream, copy

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            self._copy.extend(chunk)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            self._copy.extend(chunk)
            yield chunk

    def close(self) -> None:
        self._stream.close()

    async def aclose(self) -> None:
        await self._stream.aclose()


def keep_answers(monkeypatch: pytest.MonkeyPatch) -> LiveAnswers:
    """Wrap httpx's sync and async transports (until ``monkeypatch`` undoes it) to keep the answers."""
    answers = LiveAnswers()
    send, asend = httpx.HTTPTransport.handle_request, httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        return answers.keep(request, send(self, request))

    async def handle_async_request(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        return answers.keep(request, await asend(self, request))

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)
    return answers

"""An httpx transport that sends nothing, to prove that a request was rejected (or repaired) before I/O.

>>> import httpx
>>> transport = RefusingTransport()
>>> with httpx.Client(transport=transport) as client:
...     client.post("http://ollama.invalid/api/chat", json={"model": "m"})
Traceback (most recent call last):
...
tests.recorded.refusing_transport.Refused: POST /api/chat reached the transport
>>> transport.requests[0].content
b'{"model":"m"}'
"""

from __future__ import annotations

import httpx


class Refused(Exception):
    """Raised by :class:`RefusingTransport`: not an httpx error, so the provider never retries it."""


class RefusingTransport(httpx.BaseTransport):
    """Records each request it is given (body read), then raises :class:`Refused`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        raise Refused(f"{request.method} {request.url.path} reached the transport")

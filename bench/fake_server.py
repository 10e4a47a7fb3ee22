"""A fast fake Ollama for benchmarks: loopback only, HTTP/1.1 keep-alive, pre-encoded responses.

Run it in its own process: ``python -m bench.fake_server --port 0`` prints ``listening http://127.0.0.1:PORT``.

It is a raw ``asyncio.Protocol`` rather than a web framework so that serving a chunk costs a slice of a
``memcpy``: the request is parsed just enough to route it, and the whole response (headers and every
chunked frame) is one cached ``bytes`` written with a single ``transport.write``. Sizes come from the
model name (see ``bench.payloads``). ``GET /_bench/stats`` reports connections and requests served (the runner
checks connection reuse with them) and the server's own CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time
from collections.abc import Callable

from bench import fake_responses, payloads

try:  # orjson parses the 100k-text embed request several times faster; it is a core dependency anyway.
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - fallback for a bare interpreter
    _loads = json.loads

_HEADER_END = b"\r\n\r\n"
_MAX_HEADER_BYTES = 64 * 1024
STATS_PATH = "/_bench/stats"  # not an Ollama route; not counted in its own figures


class ServerStats:
    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0


def _wants_stream(body: dict[str, object]) -> bool:
    # Ollama streams unless "stream" is explicitly false (a missing or null value means stream).
    return body.get("stream") is not False


def route(method: str, path: str, body: dict[str, object], stats: ServerStats) -> bytes:
    """The full HTTP response (status line to last byte) for one request."""
    path = path.split("?", 1)[0]
    model = str(body.get("model") or body.get("name") or "")
    if method == "POST" and path == "/api/chat":
        return fake_responses.chat(model, _wants_stream(body))
    if method == "POST" and path == "/api/generate":
        return fake_responses.generate(model, _wants_stream(body))
    if method == "POST" and path == "/api/embed":
        inputs = body.get("input")
        count = len(inputs) if isinstance(inputs, list) else (1 if inputs else 0)
        return fake_responses.embed(model, count)
    if method == "POST" and path == "/api/show":
        return fake_responses.show(model)
    if method in ("GET", "HEAD") and path == "/api/tags":
        return fake_responses.tags()
    if method in ("GET", "HEAD") and path == "/api/version":
        return fake_responses.version()
    if method in ("GET", "HEAD") and path == "/":
        return fake_responses.root()
    if method == "GET" and path == STATS_PATH:
        return fake_responses.stats(stats.connections, stats.requests, time.process_time())
    return fake_responses.not_found()


class OllamaProtocol(asyncio.Protocol):
    """One connection: parse pipelined requests out of a byte buffer and answer each with cached bytes."""

    def __init__(self, stats: ServerStats) -> None:
        self._stats = stats
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._counted = False  # counted on its first real request, so stats queries never count

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None and self._handle_one_request():
            pass

    def _handle_one_request(self) -> bool:
        """Answer the first complete request in the buffer; False when more bytes are needed."""
        header_end = self._buffer.find(_HEADER_END)
        if header_end < 0:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                self._reply_and_close(fake_responses.error("431 Request Header Fields Too Large", "headers"))
            return False
        head = bytes(self._buffer[:header_end]).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            # Every client under test sends JSON with Content-Length; say so plainly if one ever does not.
            self._reply_and_close(fake_responses.error("411 Length Required", "send Content-Length"))
            return False
        body_start = header_end + len(_HEADER_END)
        body_end = body_start + int(headers.get("content-length", "0") or 0)
        if len(self._buffer) < body_end:
            return False
        raw_body = bytes(self._buffer[body_start:body_end])
        del self._buffer[:body_end]

        method, path, _version = request_line.split(" ", 2)
        if path != STATS_PATH:
            self._stats.requests += 1
            if not self._counted:
                self._stats.connections += 1
                self._counted = True
        try:
            body = _loads(raw_body) if raw_body else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            response = fake_responses.error("400 Bad Request", "invalid JSON body")
        else:
            response = route(method, path, body, self._stats)
        if method == "HEAD":
            response = response[: response.find(_HEADER_END) + len(_HEADER_END)]
        if headers.get("connection", "").lower() == "close":
            self._reply_and_close(response)
            return False
        assert self._transport is not None
        self._transport.write(response)
        return True

    def _reply_and_close(self, response: bytes) -> None:
        assert self._transport is not None
        self._transport.write(response)
        self._transport.close()
        self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(host: str, port: int, on_ready: Callable[[str], None]) -> None:
    stats = ServerStats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: OllamaProtocol(stats), host, port, backlog=1024)
    bound_port = server.sockets[0].getsockname()[1]
    on_ready(f"http://{host}:{bound_port}")
    async with server:
        await server.serve_forever()


def _loopback_host(value: str) -> str:
    if not ipaddress.ip_address(value).is_loopback:
        raise argparse.ArgumentTypeError(f"{value} is not loopback; the fake server listens on loopback only")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", type=_loopback_host, default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument(
        "--warm",
        action="append",
        default=[],
        metavar="CHUNKS",
        type=int,
        help="pre-encode a chat stream of this many chunks before announcing readiness (repeatable)",
    )
    args = parser.parse_args(argv)
    for n_chunks in args.warm:
        fake_responses.chat(payloads.chat_model(n_chunks), True)

    def announce(url: str) -> None:
        print(f"listening {url}", flush=True)

    try:
        asyncio.run(serve(args.host, args.port, announce))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()

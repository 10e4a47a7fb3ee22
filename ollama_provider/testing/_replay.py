"""A local fake Ollama that replays recorded cassettes over real HTTP.

Point any Ollama client at it (this project's provider, the official ``ollama`` package, LangChain
or LlamaIndex integrations, ``curl``) for offline demos, notebooks and benchmarks. Every ``*.yaml``
vcrpy cassette under a directory is served; requests are matched as described in
:mod:`._cassettes` and answered as chosen by :mod:`._replay_catalog`.

>>> import httpx
>>> with ReplayServer("cassettes/recorded") as server:
...     httpx.get(server.url + "/api/version").json()
{'version': '0.33.0-rc2'}

Streams are sent as recorded: ``application/x-ndjson``, chunked, one line per chunk; by default as
fast as possible, or at the recorded speed with ``pace=1.0`` (``0.5`` = twice as fast).

Stdlib HTTP server (HTTP/1.1, keep-alive, one thread per connection), loopback only by default.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from ._replay_catalog import ReplayAnswer, ReplayCatalog

__all__ = ["ReplayServer", "recorded_delays", "serve"]

log = logging.getLogger(__name__)

_CREATED_AT = re.compile(rb'"created_at"\s*:\s*"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)"')
_IDLE_TIMEOUT_SECONDS = 60.0  # drop keep-alive connections a client forgot about


def _created_at_seconds(line: bytes) -> float | None:
    """The ``created_at`` of one NDJSON line as POSIX seconds (nanosecond digits kept)."""
    match = _CREATED_AT.search(line)
    if match is None:
        return None
    whole, fraction, zone = (part.decode("ascii") if part else "" for part in match.groups())
    # fromisoformat before 3.11 rejects "Z" and more than 6 fraction digits: add them separately.
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return stamp + (float("0" + fraction) if fraction else 0.0)


def recorded_delays(lines: list[bytes], pace: float = 1.0) -> list[float]:
    """Seconds to wait before sending each NDJSON line so a stream keeps its recorded rhythm.

    The gaps come from the ``created_at`` differences between consecutive lines, multiplied by
    *pace* (``1.0`` = recorded speed, ``0.5`` = twice as fast). The first line, lines without a
    timestamp and out-of-order timestamps wait 0.

    >>> lines = [b'{"created_at":"2026-11-26T17:28:27.5Z"}', b'{"created_at":"2026-11-26T17:28:27.75Z"}',
    ...          b'{"status":"success"}', b'{"created_at":"2026-11-26T17:28:28.000000001Z"}']
    >>> [round(d, 3) for d in recorded_delays(lines, pace=2.0)]
    [0.0, 0.5, 0.0, 0.5]
    """
    delays: list[float] = []
    previous: float | None = None
    for line in lines:
        current = _created_at_seconds(line)
        gap = current - previous if current is not None and previous is not None else 0.0
        delays.append(max(gap, 0.0) * pace)
        if current is not None:
            previous = current
    return delays


class _ReplayHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its open keep-alive connections on shutdown."""

    daemon_threads = False  # handler threads are joined by server_close(): no leaked threads
    block_on_close = True

    def __init__(self, address: tuple[str, int], catalog: ReplayCatalog, pace: float | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.catalog = catalog
        self.pace = pace
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _ReplayHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Wake every handler blocked on an idle keep-alive connection so it can exit."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)


class _ReplayHandler(BaseHTTPRequestHandler):
    """Reads one request, asks the catalog for the answer, writes it (keep-alive)."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT_SECONDS
    server: _ReplayHTTPServer

    def handle(self) -> None:
        # A client that leaves a stream early closes its keep-alive connection with our answer
        # unread; the reset then surfaces while waiting for its next request. That is a client
        # going away, not a server error worth a traceback.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_GET(self) -> None:
        self._replay()

    def do_HEAD(self) -> None:
        self._replay()

    def do_POST(self) -> None:
        self._replay()

    def do_DELETE(self) -> None:
        self._replay()

    def do_PUT(self) -> None:
        self._replay()

    def do_PATCH(self) -> None:
        self._replay()

    def do_OPTIONS(self) -> None:
        self._replay()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _replay(self) -> None:
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        answer = self.server.catalog.answer(self.command, path, body)
        log.debug("%s %s -> %s", self.command, path, answer.status)
        try:
            self._write(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-answer, as Ollama allows

    def _write(self, answer: ReplayAnswer) -> None:
        self.send_response_only(answer.status, answer.reason or None)
        self.send_header("Date", formatdate(usegmt=True))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", str(answer.head_length or 0))
            self.end_headers()
        elif answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._write_chunks(answer)
        else:
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    def _write_chunks(self, answer: ReplayAnswer) -> None:
        chunks = answer.chunks()
        pace = self.server.pace
        delays = recorded_delays(chunks, pace) if pace and answer.is_ndjson else [0.0] * len(chunks)
        for chunk, delay in zip(chunks, delays, strict=True):
            if delay and self.server.stopping.wait(delay):
                self.close_connection = True  # server stopping: end the stream without its terminator
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.address_string(), *args)


class ReplayServer:
    """Serve the cassettes under *cassette_dir* as a fake Ollama on ``http://host:port``
    (*cassette_dir* may also be one cassette file: that session alone is served).

    ``port=0`` picks a free port (read it from :attr:`port` / :attr:`url` once started).
    ``pace=None`` sends streams as fast as possible; a number replays them at the recorded speed
    times *pace*. Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    >>> server = ReplayServer("cassettes/recorded").start()
    >>> server.url.startswith("http://127.0.0.1:") and server.port > 0
    True
    >>> import ollama
    >>> with ollama.Client(host=server.url) as client:
    ...     "smollm2:135m" in [m.model for m in client.list().models]
    True
    >>> server.stop()
    """

    def __init__(
        self,
        cassette_dir: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: float | None = None,
    ) -> None:
        if pace is not None and pace < 0:
            raise ValueError(f"pace must be >= 0 (a multiplier of the recorded delays), not {pace}")
        self.cassette_dir = Path(cassette_dir)
        self.host = host
        self.pace = pace
        self._requested_port = port
        self._catalog: ReplayCatalog | None = None
        self._httpd: _ReplayHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def catalog(self) -> ReplayCatalog:
        """The indexed recordings (loaded on first use)."""
        if self._catalog is None:
            self._catalog = ReplayCatalog.from_directory(self.cassette_dir)
        return self._catalog

    @property
    def port(self) -> int:
        """The port listened on (the requested one until :meth:`start` binds a free one)."""
        return self._httpd.server_address[1] if self._httpd is not None else self._requested_port

    @property
    def url(self) -> str:
        """Base URL to give clients, e.g. ``http://127.0.0.1:54321``.

        A wildcard bind address is not connectable everywhere, so it becomes loopback here.

        >>> ReplayServer("cassettes/recorded", host="0.0.0.0", port=11434).url
        'http://127.0.0.1:11434'
        >>> ReplayServer("cassettes/recorded", host="::", port=11434).url
        'http://[::1]:11434'
        """
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ReplayServer:
        """Load the cassettes, bind the socket and serve in a background thread. Returns self."""
        if self._httpd is not None:
            raise RuntimeError("replay server already started")
        self._httpd = _ReplayHTTPServer((self.host, self._requested_port), self.catalog, self.pace)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ollama-replay:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, join all threads and free the port. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ReplayServer({str(self.cassette_dir)!r}, url={self.url!r}, {state})"


def _announce(server: ReplayServer) -> None:
    print(
        f"Replaying {len(server.catalog)} recorded interactions from {server.cassette_dir} "
        f"as Ollama on {server.url} (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )


def serve(
    cassette_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 11434,
    pace: float | None = None,
    *,
    on_ready: Callable[[ReplayServer], None] | None = _announce,
) -> None:
    """Serve *cassette_dir* on ``host:port`` until Ctrl-C (``ollama-provider replay`` calls this).

    *on_ready* is called once the socket is bound (by default it prints the URL to stderr).
    Binding a non-loopback *host* exposes the recordings to the network: only do it on purpose.
    """
    server = ReplayServer(cassette_dir, host=host, port=port, pace=pace)
    server.catalog  # noqa: B018 -- load (and validate) the cassettes before binding the port
    server.start()
    try:
        if on_ready is not None:
            on_ready(server)
        while server.running:
            threading.Event().wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()

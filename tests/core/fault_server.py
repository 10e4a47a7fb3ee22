"""A tiny scripted HTTP/1.1 server on 127.0.0.1 for fault tests that need real sockets.

httpx.MockTransport cannot show what a socket does: keep-alive reuse, a server restarting on the
same port, a connection dropped half way through a chunked body, a read that stalls. This server can.
Every request is handed to the current *script* (a function of an :class:`Exchange`), which answers
it, streams NDJSON lines, pauses, stalls or drops the connection. The server counts accepted TCP
connections, requests and who closed each connection, so tests can prove a connection was reused
or released.

Bounded by construction: it listens on loopback only, stops by itself after ``max_lifetime``
seconds, every blocking call polls a stop flag, and :meth:`FaultServer.stop` joins every thread.

>>> with FaultServer() as server:
...     server.script = lambda exchange: exchange.respond(200, {"version": "0.12.6"})
...     import httpx
...     httpx.get(server.url + "/api/version").json()
{'version': '0.12.6'}
>>> server.threads_alive()
0
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

#: How often blocked threads look at the stop flag (seconds).
POLL = 0.02
#: Longest a script may stall before the server gives up on its own.
MAX_STALL = 10.0

Script = Callable[["Exchange"], None]


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int  # serial number of the TCP connection, 1 for the first accepted
    seq: int  # 1 for the first request on that connection, 2 for the next (keep-alive reuse)...

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ClientGone(Exception):
    """The client closed the connection while the script was writing to it."""


@dataclass
class Stats:
    """What the server saw since the last :meth:`FaultServer.reset` (read under the server's lock)."""

    accepted: int = 0
    requests: list[Request] = field(default_factory=list)
    open: int = 0
    closed_by_client: int = 0
    closed_by_server: int = 0


class Exchange:
    """The answer to one request, written by a script. The connection stays open (keep-alive)
    unless the script drops or stalls it."""

    def __init__(self, server: FaultServer, conn: socket.socket, request: Request) -> None:
        self.server = server
        self.request = request
        self.keep_alive = True
        self.client_gone = False
        self._conn = conn

    # -- plain answers ---------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        try:
            self._conn.sendall(data)
        except OSError as exc:
            raise ClientGone from exc

    def respond(
        self,
        status: int,
        body: Any = b"",
        *,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        """A complete answer with Content-Length; dicts and lists are sent as JSON."""
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            content_type = content_type or "application/json; charset=utf-8"
        else:
            data = body.encode() if isinstance(body, str) else body
            content_type = content_type or "text/plain; charset=utf-8"
        head = {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})}
        self.send_raw(_head(status, head) + data)

    # -- NDJSON streams (chunked, like Ollama) ----------------------------------------------------
    def start_stream(self, status: int = 200) -> None:
        self.send_raw(_head(status, {"Content-Type": "application/x-ndjson", "Transfer-Encoding": "chunked"}))

    def line(self, obj: Any) -> None:
        """One NDJSON line as one HTTP chunk."""
        self.raw_line(json.dumps(obj).encode() + b"\n")

    def raw_line(self, data: bytes) -> None:
        self.send_raw(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self) -> None:
        self.send_raw(b"0\r\n\r\n")

    # -- faults ---------------------------------------------------------------------------------
    def drop(self) -> None:
        """Close the connection once the script returns, whatever was (not) sent."""
        self.keep_alive = False

    def pause(self, seconds: float) -> None:
        self.server.sleep(seconds)

    def stall(self) -> None:
        """Send nothing more until the client gives up (or the server stops); then drop."""
        self.keep_alive = False
        deadline = time.monotonic() + MAX_STALL
        while time.monotonic() < deadline and not self.server.stopping:
            readable, _, _ = select.select([self._conn], [], [], POLL)
            if readable:
                try:
                    self.client_gone = not self._conn.recv(1, socket.MSG_PEEK)
                except OSError:
                    self.client_gone = True
                if self.client_gone:
                    return
                self.server.sleep(POLL)  # the client sent more: not an answer to wait for


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class FaultServer:
    """A threaded loopback HTTP/1.1 server answering with ``script`` (default: a minimal Ollama).

    ``idle_timeout`` makes it close keep-alive connections idle for that long (like a proxy would).
    ``restart()`` stops it and listens again on the same port, as an Ollama restart does.
    """

    def __init__(
        self, script: Script | None = None, *, max_lifetime: float = 120.0, idle_timeout: float | None = None
    ) -> None:
        self.script: Script = script or ollama_like
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.port = 0
        self._lock = threading.Lock()
        self._stats = Stats()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._conns: set[socket.socket] = set()
        self._serial = 0

    # -- lifetime -------------------------------------------------------------------------------
    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(POLL)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop = threading.Event()
        self._spawn(self._accept_loop, listener, time.monotonic() + self.max_lifetime)
        return self

    def stop(self) -> None:
        """Stop listening, close every connection (the clients see a FIN) and join all threads."""
        self._stop.set()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=MAX_STALL)
        self._threads = [t for t in self._threads if t.is_alive()]

    def restart(self) -> None:
        """An Ollama restart: every connection closed, then a new listener on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def threads_alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    # -- observations ---------------------------------------------------------------------------
    def reset(self, script: Script | None = None) -> None:
        """Forget what was seen so far and answer with ``script`` from now on."""
        with self._lock:
            self._stats = Stats(open=self._stats.open)
        self.script = script or ollama_like
        self.idle_timeout = None

    @property
    def stats(self) -> Stats:
        with self._lock:
            s = self._stats
            return Stats(s.accepted, list(s.requests), s.open, s.closed_by_client, s.closed_by_server)

    def paths(self) -> list[str]:
        return [r.path for r in self.stats.requests]

    def wait_for(self, condition: Callable[[Stats], bool], timeout: float = 5.0) -> Stats:
        """The stats once ``condition`` holds (the server notices closes asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats
            if condition(stats) or time.monotonic() > deadline:
                return stats
            time.sleep(POLL)

    # -- serving --------------------------------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"fault-server-{self.port}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket, deadline: float) -> None:
        with listener:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                conn.settimeout(POLL)
                # Each NDJSON line leaves at once, as Ollama flushes it (no Nagle / delayed-ACK stalls).
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    self._serial += 1
                    self._stats.accepted += 1
                    self._stats.open += 1
                    self._conns.add(conn)
                    serial = self._serial
                self._spawn(self._serve, conn, serial, deadline)

    def _serve(self, conn: socket.socket, serial: int, deadline: float) -> None:
        reader = _RequestReader(self, conn, deadline)
        try:
            seq = 0
            while (head := reader.next_request()) is not None:
                seq += 1
                request = Request(*head, connection=serial, seq=seq)
                with self._lock:
                    self._stats.requests.append(request)
                exchange = Exchange(self, conn, request)
                try:
                    self.script(exchange)
                except ClientGone:
                    exchange.client_gone = True
                if exchange.client_gone:
                    reader.client_closed = True
                    break
                if not exchange.keep_alive:
                    break
        finally:
            with self._lock:
                self._conns.discard(conn)
                self._stats.open -= 1
                if reader.client_closed:
                    self._stats.closed_by_client += 1
                else:
                    self._stats.closed_by_server += 1
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class _RequestReader:
    """Reads successive requests (Content-Length bodies) from one connection."""

    def __init__(self, server: FaultServer, conn: socket.socket, deadline: float) -> None:
        self.server = server
        self.conn = conn
        self.deadline = deadline
        self.buffer = b""
        self.client_closed = False

    def next_request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        """The next request, or None at EOF, idle timeout, server stop or the lifetime's end."""
        idle_since = time.monotonic()
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
            if self.buffer:
                continue
            idle = self.server.idle_timeout
            if idle is not None and time.monotonic() - idle_since > idle:
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                return None
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return method, path, headers, body

    def _fill(self) -> bool:
        """Wait up to one poll for bytes; False when the connection or the server is done."""
        if self.server.stopping or time.monotonic() > self.deadline:
            return False
        try:
            data = self.conn.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            data = b""
        if not data:
            self.client_closed = True
            return False
        self.buffer += data
        return True


# -- a minimal Ollama ------------------------------------------------------------------------------
MODEL = "llama3.2:latest"
VERSION = "0.12.6"


def chat_chunk(content: str, *, done: bool = False) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "model": MODEL,
        "created_at": "2025-01-01T00:00:00.000000Z",
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        chunk.update(done_reason="stop", prompt_eval_count=3, eval_count=2, eval_duration=1_000_000)
    return chunk


def progress_line(status: str, completed: int | None = None, total: int | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"status": status}
    if total is not None:
        line.update(digest="sha256:" + "ab" * 32, completed=completed, total=total)
    return line


def ollama_like(exchange: Exchange) -> None:
    """Answers version, tags, chat (streamed or not) and pull like a healthy Ollama."""
    request = exchange.request
    if request.path == "/api/version":
        exchange.respond(200, {"version": VERSION})
    elif request.path == "/api/tags":
        exchange.respond(200, {"models": [{"name": MODEL, "model": MODEL, "size": 1, "digest": "ab"}]})
    elif request.path == "/api/chat":
        if (request.json() or {}).get("stream", True):
            exchange.start_stream()
            for word in ("Hel", "lo"):
                exchange.line(chat_chunk(word))
            exchange.line(chat_chunk("", done=True))
            exchange.end_stream()
        else:
            exchange.respond(200, chat_chunk("Hello", done=True))
    elif request.path == "/api/pull":
        exchange.start_stream()
        exchange.line(progress_line("pulling manifest"))
        exchange.line(progress_line("pulling ab", 50, 100))
        exchange.line(progress_line("pulling ab", 100, 100))
        exchange.line(progress_line("success"))
        exchange.end_stream()
    else:
        exchange.respond(404, "404 page not found")

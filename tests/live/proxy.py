"""A loopback TCP proxy for faults between two real programs: it counts, slows down and cuts.

``TcpProxy(target, cut=..., rate=...)`` listens on a free loopback port and relays every connection to
``target``. ``rate`` (bytes per second, all connections together) slows the answers down; ``cut`` is asked
after every piece relayed towards the client with what that connection relayed so far, and when it says so
the connection is cut (both sides closed at once, as a dropped network or a killed proxy would), once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from .servers import PORTS

CHUNK = 64 * 1024


class TcpProxy:
    def __init__(
        self,
        target: tuple[str, int],
        *,
        cut: Callable[[bytes], bool] | None = None,
        rate: float | None = None,
    ) -> None:
        self.target = target
        self.cut = cut
        self.rate = rate
        #: Bytes relayed towards the clients, all connections together.
        self.relayed = 0
        #: Connections accepted, and connections cut.
        self.connections = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._started = time.monotonic()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", PORTS.take()))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._spawn(self._accept)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        _close(self._listener)  # shut down first: closing alone does not wake a thread blocked in accept()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _close(sock)
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, towards_client: bool) -> None:
        seen = bytearray()
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
                if not towards_client:
                    continue
                self._throttle(len(data))
                if self.cut is not None:
                    seen += data
                    if self._should_cut(bytes(seen)):
                        _close(source)
                        _close(sink)
                        return
        except OSError:
            pass
        finally:
            # One side ended: end the other too (the relay of a connection is over).
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def _should_cut(self, seen: bytes) -> bool:
        with self._lock:
            if self.cuts or self.cut is None or not self.cut(seen):
                return False
            self.cuts += 1
            return True

    def _throttle(self, size: int) -> None:
        with self._lock:
            self.relayed += size
            ahead = self.relayed / self.rate - (time.monotonic() - self._started) if self.rate else 0.0
        if ahead > 0:
            time.sleep(ahead)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class RegistryFront:
    """A registry as Ollama's own serves models: blobs come from another host (its CDN), by redirect.

    Ollama (0.12.11 and 0.33.0-rc2 alike) downloads a blob only from the ``Location`` of a redirect: a
    registry that serves blobs itself, as Debian's ``docker-registry`` (the reference ``registry:2``) does,
    fails every pull that has a blob to download with ``http: no Location header in response`` (ollama/ollama
    issue 7244; pulls whose blobs are already in the store do not notice). This front answers every blob
    ``GET`` with a ``307`` to ``cdn`` under another host name (``localhost``, where the registry's name is
    ``127.0.0.1``: Ollama follows redirects within a host itself) and relays everything else to the real
    registry, whose answers and bytes are unchanged.
    """

    def __init__(self, registry: str, cdn: TcpProxy) -> None:
        import http.server

        import httpx

        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if "/blobs/sha256:" in self.path:
                    front.redirected += 1
                    self.send_response(307)
                    self.send_header("Location", f"http://localhost:{cdn.port}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._relay()

            def do_HEAD(self) -> None:
                self._relay()

            def _relay(self) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
                answer = httpx.request(
                    self.command, f"http://{registry}{self.path}", headers=headers, timeout=30
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("connection", "transfer-encoding", "content-encoding"):
                        self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

        self.redirected = 0
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", PORTS.take()), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> RegistryFront:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

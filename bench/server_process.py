"""Start and stop the fake server in its own process, and check it is never the bottleneck."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from bench import payloads

REPO_ROOT = Path(__file__).resolve().parent.parent


class FakeServerProcess:
    """``with FakeServerProcess(warm_chunks=[...]) as server:`` gives ``.base_url`` and ``.pid``."""

    def __init__(self, warm_chunks: list[int]) -> None:
        self._warm_chunks = warm_chunks
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.pid = 0

    def __enter__(self) -> FakeServerProcess:
        warm_args = [arg for n in self._warm_chunks for arg in ("--warm", str(n))]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_server", "--port", "0", *warm_args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.startswith("listening "):
            self._stop()
            raise RuntimeError(f"fake server did not start (said {line!r})")
        self.base_url = line.removeprefix("listening ")
        self.pid = self._process.pid
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def raw_drain_seconds(base_url: str, n_chunks: int) -> float:
    """Wall time to request an ``n_chunks`` stream and read every byte with a raw socket, parsing nothing.

    This is the server's (plus the kernel's) cost per chunk; if it is far below a bare httpx client's,
    the clients' figures are theirs and not the server's.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    body = json.dumps({"model": payloads.chat_model(n_chunks), "messages": []}).encode()
    request = (
        f"POST /api/chat HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, port)) as sock:
        started = time.perf_counter()
        sock.sendall(request)
        tail = b""
        # The last frame is "0\r\n\r\n"; a data frame always ends "}\n\r\n", so this cannot misfire.
        while not tail.endswith(b"0\r\n\r\n"):
            data = sock.recv(1 << 20)
            if not data:
                break
            tail = (tail + data)[-8:]
        return time.perf_counter() - started

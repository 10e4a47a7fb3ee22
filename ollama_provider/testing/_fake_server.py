"""A fake Ollama server that answers any input: for tests, notebooks and benchmarks of several hosts.

Unlike :class:`~ollama_provider.testing.ReplayServer`, which can only give the answers a real server
gave to recorded requests, this one makes answers up, deterministically, for any prompt: a chat
answer names the server and repeats the last message (so a test can tell who answered what, and a
swapped answer shows), embeddings are unit vectors derived from each text's hash. It serves the
routes the core uses (``/api/chat``, ``/api/generate``, ``/api/embed``, ``/api/tags``, ``/api/ps``,
``/api/show``, ``/api/version``, ``/api/pull``, ``/api/create``, ``/api/copy``, ``/api/delete``,
``HEAD /api/blobs``) with Ollama's framing and error answers, on loopback only.

It queues like Ollama: ``parallel`` requests are served at once (``OLLAMA_NUM_PARALLEL``), each
taking ``service_time`` seconds, the others wait; with ``max_queue`` set, a request that would wait
behind more than that many gets a 503 ``server busy`` at once (``OLLAMA_MAX_QUEUE``). Faults are
switched on over HTTP (``POST /_fake/faults``), so they work when the server runs in another process:
the next N requests answer a status, or streams drop after K chunks, or stall. ``GET /_fake/stats``
counts what it was asked; ``POST /_fake/reset`` forgets it (and may install other models). A
:class:`FakeHost` process can also be frozen (SIGSTOP) and thawed, as a hung server or a paused VM.

>>> import httpx
>>> with FakeOllama(name="gpu-1", models=["llama3.2"]) as server:
...     answer = httpx.post(server.url + "/api/chat", json={
...         "model": "llama3.2", "stream": False, "messages": [{"role": "user", "content": "hi"}]}).json()
>>> answer["message"]["content"]
'gpu-1 says: hi'

Run one as a process: ``python -m ollama_provider.testing --port 0 --name gpu-1 --models
llama3.2,all-minilm`` prints ``listening on http://127.0.0.1:PORT`` once it is ready;
:func:`fake_hosts` starts several such processes and stops them on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .._names import canonical_name

VERSION = "0.33.0-fake"
_DONE_METRICS = {
    "total_duration": 1_000_000,
    "load_duration": 100_000,
    "prompt_eval_count": 3,
    "prompt_eval_duration": 200_000,
    "eval_duration": 700_000,
}


class FakeOllama:
    """A fake Ollama on ``127.0.0.1:port`` (0: any free port), in threads of this process."""

    def __init__(
        self,
        *,
        port: int = 0,
        name: str = "fake",
        models: Sequence[str] = ("llama3.2",),
        loaded: Sequence[str] | None = None,
        parallel: int = 4,
        service_time: float = 0.0,
        max_queue: int | None = None,
        chunks: int = 3,
        chunk_interval: float = 0.0,
        dimensions: int = 8,
    ) -> None:
        self.name = name
        self._initial = (list(models), list(models if loaded is None else loaded))
        self.models: dict[str, str] = {}
        self.loaded: set[str] = set()
        self.service_time = service_time
        self.max_queue = max_queue
        self.chunks = chunks
        self.chunk_interval = chunk_interval
        self.dimensions = dimensions
        self._slots = _FairSlots(parallel)
        self._waiting = 0
        self._active = 0
        self._lock = threading.Lock()
        self.reset()
        self._server = _CountingServer(("127.0.0.1", port), _handler(self), self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOllama:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, models: Sequence[str] | None = None, loaded: Sequence[str] | None = None) -> None:
        """Forget counters and faults; install ``models`` (default: those it started with)."""
        installed = self._initial[0] if models is None else models
        in_memory = (self._initial[1] if models is None else models) if loaded is None else loaded
        with self._lock:
            self.models = {canonical_name(m): m for m in installed}
            self.loaded = {canonical_name(m) for m in in_memory}
            self.requests: Counter[str] = Counter()
            self.model_headers: Counter[str] = Counter()
            self.faults: dict[str, Any] = {}
            self.blobs: set[str] = set()
            self.max_active = 0  # the most requests served at the same moment
            self.connections = 0  # TCP connections accepted

    def arm(self, **fault: Any) -> None:
        """The next ``count`` (default 1) requests for ``path`` (default: any) answer ``status``
        with ``error`` (and ``retry_after``), or drop a stream after ``drop_after`` chunks, or
        ``stall`` that many seconds first (chat, generate and embed: while holding a slot, as a
        stuck runner does; the server itself still answers other routes)."""
        with self._lock:
            self.faults[fault.get("path", "*")] = {**fault, "count": int(fault.get("count", 1))}

    # -- what it answers ------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "name": self.name,
                "pid": os.getpid(),
                "requests": dict(self.requests),
                "model_headers": dict(self.model_headers),
                "models": sorted(self.models.values()),
                "loaded": sorted(self.loaded),
                "max_active": self.max_active,
                "active": self._active,
                "connections": self.connections,
            }

    def take_fault(self, path: str) -> dict[str, Any] | None:
        """The fault for this request, if one is armed for its path (or for every path)."""
        with self._lock:
            fault = self.faults.get(path) or self.faults.get("*")
            if fault is None:
                return None
            fault["count"] -= 1
            if fault["count"] <= 0:
                self.faults = {k: v for k, v in self.faults.items() if v is not fault}
            return dict(fault)

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """A serving slot, waiting for one like Ollama's runner; ``False``: the queue is full (503)."""
        with self._lock:
            if self.max_queue is not None and self._waiting >= self.max_queue:
                yield False
                return
            self._waiting += 1
        self._slots.acquire()
        with self._lock:
            self._waiting -= 1
            self._active += 1
            self.max_active = max(self.max_active, self._active)
        try:
            yield True
        finally:
            with self._lock:
                self._active -= 1
            self._slots.release()

    def reply(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or []
        last = messages[-1].get("content", "") if messages else body.get("prompt", "")
        return f"{self.name} says: {last}"


class _FairSlots:
    """``parallel`` slots handed out first come, first served, like the runner's
    ``semaphore.Weighted`` in Ollama (a plain ``threading.Semaphore`` wakes an arbitrary waiter)."""

    def __init__(self, parallel: int) -> None:
        self._free = parallel
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    def acquire(self) -> None:
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            self._changed.wait_for(lambda: self._free > 0 and self._queue[0] is ticket)
            self._queue.popleft()
            self._free -= 1
            self._changed.notify_all()  # the next in line may have a slot too

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()


def vector_of(text: str, dimensions: int = 8) -> list[float]:
    """The unit vector every :class:`FakeOllama` returns for ``text`` (tests compare with it)."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [digest[i % len(digest)] - 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # like Go's listener: a burst of connections is not dropped (socketserver: 5)

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOllama
    ) -> None:
        super().__init__(address, handler)
        self.fake = fake

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.fake._lock:
            self.fake.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (a request it gave up on: timed out, cancelled, hedged) is not an
        # error of the server's: no traceback on stderr for it.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(_FakeHandler):
        server_state = fake

    return Handler


class _FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Ollama
    disable_nagle_algorithm = True  # as Go's net/http: headers and body are not held back by Nagle
    server_state: FakeOllama

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    # -- plumbing --------------------------------------------------------------------------------
    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _line(self, obj: Any) -> None:
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    def _count(self) -> None:
        fake = self.server_state
        with fake._lock:
            fake.requests[self.path] += 1
            header = self.headers.get("X-Ollama-Model")
            if header:
                fake.model_headers[header] += 1

    # -- routes ----------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._count()
        exists = self.path.removeprefix("/api/blobs/") in self.server_state.blobs
        self.send_response(200 if exists else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._count()
        fake = self.server_state
        if self.path == "/":
            self._text(200, "Ollama is running")
        elif self.path == "/api/version":
            self._json(200, {"version": VERSION})
        elif self.path == "/api/tags":
            self._json(200, {"models": [_model_entry(name) for name in fake.models.values()]})
        elif self.path == "/api/ps":
            entries = [_model_entry(fake.models[m]) for m in sorted(fake.loaded) if m in fake.models]
            self._json(200, {"models": entries})
        elif self.path == "/_fake/stats":
            self._json(200, fake.stats())
        else:
            self._text(404, "404 page not found")

    def do_DELETE(self) -> None:
        self._count()
        body = self._body()
        fake = self.server_state
        key = canonical_name(str(body.get("model", "")))
        with fake._lock:
            found = fake.models.pop(key, None)
            fake.loaded.discard(key)
        if found is None:
            self._json(404, {"error": f"model '{body.get('model')}' not found"})
        else:
            self._json(200, {})

    def do_POST(self) -> None:
        self._count()
        body = self._body()
        fake = self.server_state
        if self.path == "/_fake/faults":
            fake.arm(**body)
            self._json(200, {})
            return
        if self.path == "/_fake/reset":
            fake.reset(body.get("models"), body.get("loaded"))
            self._json(200, {})
            return
        fault = fake.take_fault(self.path)
        if fault and "status" in fault:
            headers_retry = fault.get("retry_after")
            self.send_response(int(fault["status"]))
            data = json.dumps({"error": fault.get("error", "server busy, please try again.")}).encode()
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if headers_retry is not None:
                self.send_header("Retry-After", str(headers_retry))
            self.end_headers()
            self.wfile.write(data)
            return
        route = {
            "/api/chat": self._generation,
            "/api/generate": self._generation,
            "/api/embed": self._embed,
            "/api/show": self._show,
            "/api/pull": self._progress,
            "/api/create": self._progress,
            "/api/copy": self._copy,
        }.get(self.path)
        if route is None:
            self._text(404, "404 page not found")
            return
        route(body, fault)

    def _installed(self, body: dict[str, Any]) -> str | None:
        """The canonical name of the requested model if installed; else answers 404 and returns None."""
        name = str(body.get("model", ""))
        key = canonical_name(name) if name else ""
        if key not in self.server_state.models:
            self._json(404, {"error": f"model '{name}' not found"})
            return None
        return key

    def _generation(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        fake = self.server_state
        key = self._installed(body)
        if key is None:
            return
        with fake.slot() as served:
            if not served:
                self._json(
                    503, {"error": "server busy, please try again.  maximum pending requests exceeded"}
                )
                return
            if fault and "stall" in fault:  # nothing at all for a while (a load, or a stuck server)
                time.sleep(float(fault["stall"]))
            time.sleep(fake.service_time)
            with fake._lock:
                fake.loaded.add(key)
            self._answer(body, fault)

    def _answer(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        fake = self.server_state
        chat = self.path == "/api/chat"
        text = fake.reply(body)
        model = str(body["model"])

        def chunk(piece: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"model": model, "created_at": "2026-12-01T00:00:00Z", "done": done}
            if chat:
                out["message"] = {"role": "assistant", "content": piece}
            else:
                out["response"] = piece
            if done:
                out.update(_DONE_METRICS, done_reason="stop", eval_count=fake.chunks)
            return out

        if body.get("stream") is False:
            self._json(200, chunk(text, True))
            return
        pieces = _split(text, fake.chunks)
        self._start_stream()
        for i, piece in enumerate(pieces):
            if fault and fault.get("drop_after") == i:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            self._line(chunk(piece, False))
            if fake.chunk_interval:
                time.sleep(fake.chunk_interval)
        self._line(chunk("", True))
        self._end_stream()

    def _embed(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        fake = self.server_state
        key = self._installed(body)
        if key is None:
            return
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        with fake.slot() as served:
            if not served:
                self._json(
                    503, {"error": "server busy, please try again.  maximum pending requests exceeded"}
                )
                return
            if fault and "stall" in fault:
                time.sleep(float(fault["stall"]))
            time.sleep(fake.service_time)
            with fake._lock:
                fake.loaded.add(key)
            vectors = [vector_of(str(text), fake.dimensions) for text in texts]
        self._json(200, {"model": body["model"], "embeddings": vectors, "prompt_eval_count": len(texts)})

    def _show(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        key = self._installed(body)
        if key is None:
            return
        entry = _model_entry(self.server_state.models[key])
        self._json(
            200,
            {
                "details": entry["details"],
                "model_info": {"general.architecture": "llama", "llama.context_length": 4096},
                "capabilities": ["completion", "tools"],
                "modified_at": entry["modified_at"],
            },
        )

    def _copy(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        fake = self.server_state
        source = canonical_name(str(body.get("source", "")))
        if source not in fake.models:
            self._json(404, {"error": f"model '{body.get('source')}' not found"})
            return
        with fake._lock:
            fake.models[canonical_name(str(body["destination"]))] = str(body["destination"])
        self._json(200, {})

    def _progress(self, body: dict[str, Any], fault: dict[str, Any] | None) -> None:
        fake = self.server_state
        name = str(body.get("model", ""))
        steps: list[dict[str, Any]] = [
            {"status": "pulling manifest" if self.path == "/api/pull" else "reading model"}
        ]
        steps += [
            {"status": "pulling 0123456789ab", "digest": "sha256:" + "0" * 64, "total": 100, "completed": c}
            for c in (50, 100)
        ]
        steps += [{"status": "writing manifest"}, {"status": "success"}]
        with fake._lock:
            fake.models[canonical_name(name)] = name
        if body.get("stream") is False:
            self._json(200, steps[-1])
            return
        self._start_stream()
        for i, step in enumerate(steps):
            if fault and fault.get("drop_after") == i:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._line(step)
        self._end_stream()


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-12-01T00:00:00Z",
        "size": 1000,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "format": "gguf",
            "family": "llama",
            "parameter_size": "1B",
            "quantization_level": "Q4_0",
        },
    }


# -- several servers, each its own process -----------------------------------------------------------
class FakeHost:
    """A :class:`FakeOllama` in a process of its own (``python -m ollama_provider.testing``)."""

    def __init__(self, process: subprocess.Popen[str], url: str, options: dict[str, Any]) -> None:
        self.process = process
        self.url = url
        self.options = options

    @classmethod
    def start(cls, **options: Any) -> FakeHost:
        process = subprocess.Popen(
            [sys.executable, "-m", "ollama_provider.testing", *_arguments(options)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            process.kill()
            raise RuntimeError(f"the fake Ollama did not start: {line!r}")
        return cls(process, line.split()[-1], options)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def freeze(self) -> None:
        """Stop the process (SIGSTOP), as a hung server or a paused VM: the kernel still accepts
        connections and requests, nothing answers them until :meth:`thaw`."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen process run again (SIGCONT): it answers what it was sent meanwhile."""
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.thaw()  # a stopped process would not act on the SIGTERM before it is continued
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def restart(self) -> None:
        """Start it again on the same port (an Ollama restart)."""
        self.stop()
        fresh = FakeHost.start(**{**self.options, "port": self.port})
        self.process = fresh.process

    @classmethod
    def start_many(cls, count: int, *, prefix: str = "host", **options: Any) -> list[FakeHost]:
        """``count`` of them, named ``{prefix}-1``...; none is left running if one fails to start."""
        hosts: list[FakeHost] = []
        try:
            for i in range(count):
                hosts.append(cls.start(name=f"{prefix}-{i + 1}", **options))
        except BaseException:
            for host in hosts:
                host.stop()
            raise
        return hosts

    # -- its control routes, for tests ------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """What it was asked since its last reset (``GET /_fake/stats``)."""
        return dict(_control("GET", self.url + "/_fake/stats"))

    def requests(self, path: str) -> int:
        """How many requests for ``path`` it served since its last reset."""
        return int(self.stats()["requests"].get(path, 0))

    def reset(self, *, models: Sequence[str] | None = None, loaded: Sequence[str] | None = None) -> None:
        """Forget counters and faults; install ``models`` (default: those it started with)."""
        body = {k: list(v) for k, v in (("models", models), ("loaded", loaded)) if v is not None}
        _control("POST", self.url + "/_fake/reset", body)

    def arm(self, **fault: Any) -> None:
        """See :meth:`FakeOllama.arm`."""
        _control("POST", self.url + "/_fake/faults", fault)

    def fresh(self) -> FakeHost:
        """Running (started again if a test stopped it) and reset: for per-test fixtures."""
        if self.process.poll() is not None:
            self.restart()
        self.reset()
        return self


def answered_by(text: str, question: str) -> str:
    """The name of the fake that answered ``text`` to ``question``; ``ValueError`` when the answer is
    not the one to that question (a swapped or garbled answer)."""
    name, _, said = text.partition(" says: ")
    if said != question:
        raise ValueError(f"{name!r} answered {said!r} to {question!r}")
    return name


def _control(method: str, url: str, body: Any = None) -> Any:
    import httpx  # a dependency of the core anyway; kept off the server process's start-up

    response = httpx.request(method, url, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _arguments(options: dict[str, Any]) -> list[str]:
    args = []
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(value)
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


class fake_hosts:  # a class used like a function: ``with fake_hosts(3) as urls:``
    """Start ``count`` fake Ollama processes (named ``host-1``...); the context gives their URLs."""

    def __init__(self, count: int, **options: Any) -> None:
        self.count = count
        self.options = options
        self.hosts: list[FakeHost] = []

    def __enter__(self) -> list[str]:
        self.hosts = FakeHost.start_many(self.count, **self.options)
        return [host.url for host in self.hosts]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for host in self.hosts:
            host.stop()


def _exit_with_parent(parent: int) -> None:
    """A test or benchmark killed before it could stop its servers leaves none behind."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Ollama on 127.0.0.1 that answers any input.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="fake")
    parser.add_argument("--models", default="llama3.2", help="comma-separated installed models")
    parser.add_argument("--loaded", default=None, help="comma-separated models in memory (default: all)")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--service-time", type=float, default=0.0)
    parser.add_argument("--max-queue", type=int, default=None)
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--chunk-interval", type=float, default=0.0)
    parser.add_argument("--dimensions", type=int, default=8)
    args = parser.parse_args(argv)
    server = FakeOllama(
        port=args.port,
        name=args.name,
        models=[m for m in args.models.split(",") if m],
        loaded=None if args.loaded is None else [m for m in args.loaded.split(",") if m],
        parallel=args.parallel,
        service_time=args.service_time,
        max_queue=args.max_queue,
        chunks=args.chunks,
        chunk_interval=args.chunk_interval,
        dimensions=args.dimensions,
    )
    print(f"listening on {server.url}", flush=True)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        server._server.serve_forever(poll_interval=0.05)


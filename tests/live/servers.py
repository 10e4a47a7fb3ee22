"""Real ``ollama serve`` processes owned by a test: started on free loopback ports, killed by their PID.

Each server runs in a process group of its own (its model runners included), so one signal to the group
kills, freezes or thaws the whole server, and writes a log of its own, whose ``[GIN]`` lines (one per
request, written when the request is over) say what it was asked. Servers of one set share one model
store unless a server is given its own (``OLLAMA_MODELS`` in its extra environment).

Kept free of pytest so that other test packages (and the next fault scenarios) can use it as a library::

    servers = OllamaServers.start(binary, 3, store=models)
    busy = servers.add(env={"OLLAMA_NUM_PARALLEL": "1", "OLLAMA_MAX_QUEUE": "1"})
    servers[0].freeze(); servers[0].thaw(); servers[1].kill(); servers[1].restart()
    servers[2].requests("POST", "/api/chat")
    servers.stop()
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

#: A real ``ollama`` binary to start; else ``ollama`` on PATH.
BINARY_ENV = "OLLAMA_PROVIDER_LIVE_BIN"
#: The model store the servers share (``OLLAMA_MODELS``); else the binary's own default (``~/.ollama/models``).
MODELS_ENV = "OLLAMA_PROVIDER_LIVE_MODELS"
#: ``LOW-HIGH``: the loopback ports servers may take (on a machine shared with other servers); else any
#: free port the system hands out.
PORTS_ENV = "OLLAMA_PROVIDER_LIVE_PORTS"

#: A first start on a cold disk maps the binary's libraries; later ones answer within a second.
START_TIMEOUT = 60.0
STOP_GRACE = 5.0

# `[GIN] 2026/12/03 - 08:48:19 | 200 |  931.581196ms |       127.0.0.1 | POST     "/api/create"`
_GIN_LINE = re.compile(r'^\[GIN\] [^|]+\| (\d{3}) \|[^|]+\|[^|]+\| ([A-Z]+)\s+"([^"]+)"', re.MULTILINE)


def find_binary() -> tuple[Path | None, str]:
    """The ``ollama`` binary to run, and where it was looked for (for a skip reason when there is none)."""
    named = os.environ.get(BINARY_ENV)
    if named:
        path = Path(named).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path, f"{BINARY_ENV}={named}"
        return None, f"{BINARY_ENV}={named} is not an executable file"
    found = shutil.which("ollama")
    if found:
        return Path(found), "`ollama` on PATH"
    return None, (
        f"no Ollama binary: set {BINARY_ENV} to a real `ollama` (e.g. one that ../shared/ollama/start-ollama "
        f"unpacked, with {MODELS_ENV} naming its model store) or put `ollama` on PATH"
    )


def model_store() -> Path | None:
    """The shared model store named by :data:`MODELS_ENV` (``None``: the binary's default)."""
    named = os.environ.get(MODELS_ENV)
    return Path(named).expanduser() if named else None


class _Ports:
    """Hands out loopback ports that nothing listens on, never the same one twice in a process."""

    def __init__(self) -> None:
        self.given: set[int] = set()

    def take(self) -> int:
        span = os.environ.get(PORTS_ENV)
        candidates: Iterable[int] = [0] * 10 if not span else self._span(span)  # 0: the system picks
        for candidate in candidates:
            port = self._bind(candidate)
            if port is not None and port not in self.given:
                self.given.add(port)
                return port
        raise RuntimeError(f"no free loopback port left in {PORTS_ENV}={span}")

    @staticmethod
    def _span(span: str) -> range:
        low, _, high = span.partition("-")
        return range(int(low), int(high or low) + 1)

    @staticmethod
    def _bind(port: int) -> int | None:
        with socket.socket() as probe:
            # As the server will (Go does): a port whose last connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return None
            return int(probe.getsockname()[1])


PORTS = _Ports()


class _Watchdog:
    """Kills every server still running once the test process is gone, however it went.

    A CI timeout's SIGTERM or SIGKILL gives no fixture the chance to stop anything, and each server leads
    a process group of its own (so that it survives nothing but its own signals). A small process of its
    own holds the list of those groups, read from a pipe; the pipe closes when the test process dies, and
    the watchdog then kills every group left, runners included (a server killed alone leaves its runner).
    """

    SCRIPT = (
        "import os, signal, sys\n"
        "groups = set()\n"
        "for line in sys.stdin:\n"
        "    sign, group = line.split()\n"
        "    (groups.add if sign == '+' else groups.discard)(int(group))\n"
        "for group in groups:\n"
        "    try:\n"
        "        os.killpg(group, signal.SIGCONT); os.killpg(group, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass\n"
    )

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._owner = 0

    def _pipe(self) -> IO[str]:
        if self._process is None or self._owner != os.getpid():  # a forked child has a watchdog of its own
            self._process = subprocess.Popen(
                [sys.executable, "-c", self.SCRIPT],
                stdin=subprocess.PIPE,
                text=True,
                start_new_session=True,  # not killed with the test run by a Ctrl-C: it is there to clean up
            )
            self._owner = os.getpid()
        assert self._process.stdin is not None
        return self._process.stdin

    def watch(self, group: int) -> None:
        pipe = self._pipe()
        pipe.write(f"+ {group}\n")
        pipe.flush()

    def forget(self, group: int) -> None:
        pipe = self._pipe()
        pipe.write(f"- {group}\n")
        pipe.flush()


WATCHDOG = _Watchdog()


class OllamaServer:
    """One ``ollama serve`` on ``127.0.0.1:port``; stays on that port across :meth:`restart`."""

    def __init__(self, binary: Path, port: int, log: Path, env: Mapping[str, str]) -> None:
        self.binary = binary
        self.port = port
        self.log = log
        #: What this server runs with beyond the clean environment (``OLLAMA_MODELS``, extras).
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        #: Set while the server is frozen (SIGSTOP), so that stopping it thaws it first.
        self.frozen = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"the server on port {self.port} is not running")
        return self.process.pid

    def __repr__(self) -> str:
        state = "stopped" if self.process is None else f"pid {self.process.pid}"
        return f"<OllamaServer {self.url} {state}>"

    # -- life -------------------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> OllamaServer:
        """Start it and return once ``GET /api/version`` answers (the log says why it did not)."""
        if self.process is not None:
            raise RuntimeError(f"{self!r} is already running")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
        environment.update(OLLAMA_HOST=f"127.0.0.1:{self.port}", OLLAMA_NO_CLOUD="1")
        environment.update(self.env)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "serve"],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one signal reaches its runners too
            )
        WATCHDOG.watch(self.process.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers():
                return self
            if self.process.poll() is not None:
                code = self.process.returncode
                self._signal(signal.SIGKILL)
                self._gone()
                raise RuntimeError(f"ollama serve on port {self.port} exited ({code}):\n{self.log_tail()}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"ollama serve did not answer on {self.url} within {timeout}s:\n{self.log_tail()}")

    def answers(self, timeout: float = 1.0) -> bool:
        try:
            return httpx.get(f"{self.url}/api/version", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole server (runners included), as a crash or an OOM kill would: no goodbye."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait()
        self._gone()

    def _gone(self) -> None:
        assert self.process is not None
        WATCHDOG.forget(self.process.pid)
        self.process, self.frozen = None, False

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets (connections are accepted by the kernel) and answers nothing."""
        self._signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        """SIGCONT after :meth:`freeze`."""
        self._signal(signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        """SIGTERM (after a SIGCONT, should it be frozen), SIGKILL if it is still there after a grace."""
        if self.process is None:
            return
        self._signal(signal.SIGCONT)
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait()
        # Runners left behind by a server that exited first are in its group: make sure none lingers.
        self._signal(signal.SIGKILL)
        self._gone()

    def restart(self, timeout: float = START_TIMEOUT) -> OllamaServer:
        """Stop it (if it runs) and start it again on the same port with the same store and settings."""
        self.stop()
        return self.start(timeout)

    # -- what it was asked --------------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def mark(self) -> int:
        """The log's size now: pass it as ``since=`` to count only what comes after."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def answered(self, since: int = 0) -> list[tuple[int, str, str]]:
        """``(status, method, path)`` of every request the server finished (since ``since``), in order."""
        with open(self.log, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return [(int(status), method, path) for status, method, path in _GIN_LINE.findall(text)]

    def requests(self, method: str, path: str, *, since: int = 0, status: int | None = None) -> int:
        """How many ``method path`` requests the server finished (with ``status``, if given)."""
        return sum(
            1
            for code, verb, where in self.answered(since)
            if verb == method and where == path and (status is None or code == status)
        )

    def connections(self) -> int:
        """TCP connections established to the server now (read from /proc: a frozen server has them too,
        and a request queued inside the server shows up here before its log line)."""
        listening = f":{self.port:04X}"
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(FileNotFoundError), open(table) as rows:
                next(rows)
                for row in rows:
                    local, state = row.split()[1], row.split()[3]
                    count += local.endswith(listening) and state == "01"  # 01: ESTABLISHED
        return count


class OllamaServers(Sequence[OllamaServer]):
    """Servers started together (sharing a model store, each in its own log); :meth:`stop` kills all."""

    def __init__(self, binary: Path, store: Path | None, workdir: Path) -> None:
        self.binary = binary
        self.store = store
        self.workdir = workdir
        self._servers: list[OllamaServer] = []

    @classmethod
    def start(
        cls,
        binary: Path,
        count: int,
        *,
        store: Path | None = None,
        env: Mapping[str, str] | None = None,
        envs: Sequence[Mapping[str, str]] | None = None,
        workdir: Path | None = None,
    ) -> OllamaServers:
        """``count`` servers, each with ``env`` and its own entry of ``envs`` (extra settings, e.g.
        ``OLLAMA_NUM_PARALLEL``; ``OLLAMA_MODELS`` gives one a model store of its own)."""
        servers = cls(binary, store, workdir or Path(tempfile.mkdtemp(prefix="ollama-live-")))
        try:
            for index in range(count):
                servers.add(env={**(env or {}), **(envs[index] if envs else {})})
        except BaseException:
            servers.stop()
            raise
        return servers

    def add(self, *, env: Mapping[str, str] | None = None, start: bool = True) -> OllamaServer:
        """One more server in the set (started, unless ``start=False``)."""
        settings = {} if self.store is None else {"OLLAMA_MODELS": str(self.store)}
        settings.update(env or {})
        for _ in range(5):  # a port handed out may be taken by someone else before the server binds it
            port = PORTS.take()
            server = OllamaServer(self.binary, port, self.workdir / f"serve-{port}.log", settings)
            self._servers.append(server)
            if not start:
                return server
            try:
                return server.start()
            except RuntimeError as error:
                self._servers.remove(server)
                if "address already in use" not in str(error):
                    raise
        raise RuntimeError("five free ports in a row were taken before a server could bind one")

    def stop(self) -> None:
        """Stop every server of the set (each by its PID), whatever state it is in."""
        for server in self._servers:
            server.stop()

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self._servers]

    def marks(self) -> list[int]:
        """Every server's :meth:`OllamaServer.mark`, to count what comes after."""
        return [server.mark() for server in self._servers]

    def requests(
        self,
        method: str,
        path: str,
        *,
        since: Sequence[int] | None = None,
        total: int | None = None,
        status: int | None = None,
        timeout: float = 10.0,
    ) -> list[int]:
        """How many ``method path`` requests each server finished since ``since`` (:meth:`marks`).

        A server writes a request's log line once its handler returns, a moment after the client read
        the last byte: with ``total``, wait (at most ``timeout``) until the servers' lines add up to it.
        """
        deadline = time.monotonic() + timeout
        while True:
            counts = [
                server.requests(method, path, since=since[i] if since else 0, status=status)
                for i, server in enumerate(self._servers)
            ]
            if total is None or sum(counts) >= total or time.monotonic() > deadline:
                return counts
            time.sleep(0.05)

    def __getitem__(self, index: int) -> OllamaServer:  # type: ignore[override]
        return self._servers[index]

    def __len__(self) -> int:
        return len(self._servers)

    def __iter__(self) -> Iterator[OllamaServer]:
        return iter(self._servers)


def private_store(workdir: Path) -> Path:
    """An empty model store for a server that must not touch the shared one (pulls, deletes)."""
    store = Path(tempfile.mkdtemp(prefix="models-", dir=workdir))
    return store

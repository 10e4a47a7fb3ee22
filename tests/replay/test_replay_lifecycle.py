"""Starting, stopping and pacing replay servers (small cassette dirs so each server starts fast)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from ollama_provider.testing._replay import ReplayServer, serve

from ..recorded.expected import utc
from ..recordings import cassette, recordings_dir

HAIKU = {
    "model": "smollm2:135m",
    "messages": [{"role": "user", "content": "Write a haiku about the sea."}],
}


def recorded_haiku() -> tuple[int, float]:
    """Lines of api/chat_stream.yaml's answer, and seconds from its first line's created_at to the last's."""
    lines = cassette("api/chat_stream.yaml").exchange("/api/chat").lines
    return len(lines), (utc(lines[-1]["created_at"]) - utc(lines[0]["created_at"])).total_seconds()


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cassettes")
    for name in ("chat_stream.yaml", "version.yaml"):
        shutil.copy(recordings_dir() / "api" / name, directory)
    return directory


def _replay_threads() -> set[threading.Thread]:
    return {
        t for t in threading.enumerate() if t is not threading.main_thread() and t.name != "pytest_timeout"
    }


def _port_is_free(port: int) -> bool:
    """True when a server can listen on *port* again (SO_REUSEADDR, like every server sets:
    the connections the server closed itself legitimately linger in TIME_WAIT)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stop_joins_threads_and_frees_the_port_even_with_idle_keep_alive_connections(small_dir: Path) -> None:
    before = _replay_threads()
    server = ReplayServer(small_dir).start()
    port = server.port
    idle = [httpx.Client(base_url=server.url) for _ in range(3)]
    for http in idle:  # leave each connection open and idle in the pool
        assert http.get("/api/version").status_code == 200
    assert server.running
    server.stop()
    assert not server.running
    # No thread of this server is left (threads of earlier tests may end meanwhile: not compared).
    assert _replay_threads() - before == set()
    assert _port_is_free(port)
    with ReplayServer(small_dir, port=port) as again:
        assert httpx.get(f"{again.url}/api/version").status_code == 200
    for http in idle:
        http.close()
    server.stop()  # idempotent


def test_context_manager_url_and_port(small_dir: Path) -> None:
    with ReplayServer(small_dir) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert "running" in repr(server)
    assert "stopped" in repr(server)


def test_a_server_cannot_be_started_twice(small_dir: Path) -> None:
    with ReplayServer(small_dir) as server, pytest.raises(RuntimeError):
        server.start()


def test_missing_directory_is_reported_before_binding(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ReplayServer(tmp_path / "absent").start()


def test_negative_pace_is_rejected(small_dir: Path) -> None:
    with pytest.raises(ValueError, match="pace"):
        ReplayServer(small_dir, pace=-1)


def _time_stream(url: str) -> tuple[float, float, int]:
    """Seconds to the first line, total seconds, number of lines."""
    with httpx.Client(base_url=url) as http:
        start = time.perf_counter()
        with http.stream("POST", "/api/chat", json=HAIKU) as response:
            lines = response.iter_lines()
            next(lines)
            first = time.perf_counter() - start
            count = 1 + sum(1 for line in lines if line)
        return first, time.perf_counter() - start, count


def test_streams_are_as_fast_as_possible_by_default(small_dir: Path) -> None:
    lines, seconds = recorded_haiku()
    with ReplayServer(small_dir) as server:
        _, total, count = _time_stream(server.url)
    assert count == lines
    # pace=2.0 would sleep at least this long; a generous bound because shared machines stall.
    assert total < seconds * 2


def test_paced_streams_keep_the_recorded_rhythm_scaled(small_dir: Path) -> None:
    lines, seconds = recorded_haiku()
    with ReplayServer(small_dir, pace=0.5) as server:
        first, total, count = _time_stream(server.url)
    assert count == lines
    assert first < 1.0  # the first line is not delayed
    assert seconds * 0.5 * 0.9 <= total < seconds * 0.5 + 2.0


def test_stop_interrupts_a_paced_stream_promptly(small_dir: Path) -> None:
    server = ReplayServer(small_dir, pace=100.0).start()  # ~36 s for the whole stream
    got_first_line = threading.Event()
    outcome: list[BaseException | None] = []

    def read_stream() -> None:
        try:
            with (
                httpx.Client(base_url=server.url) as http,
                http.stream("POST", "/api/chat", json=HAIKU) as response,
            ):
                for _ in response.iter_lines():
                    got_first_line.set()
            outcome.append(None)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_stream)
    reader.start()
    assert got_first_line.wait(5)
    started = time.perf_counter()
    server.stop()
    reader.join(5)
    assert time.perf_counter() - started < 2
    assert outcome and isinstance(outcome[0], httpx.RemoteProtocolError)  # cut before the end


def test_serve_blocks_until_interrupted(small_dir: Path) -> None:
    ready: list[ReplayServer] = []

    def on_ready(server: ReplayServer) -> None:
        ready.append(server)
        assert (
            httpx.get(f"{server.url}/api/version").json()
            == cassette("api/version.yaml").exchange("/api/version", "GET").json
        )
        raise KeyboardInterrupt  # what Ctrl-C does to the blocking loop

    serve(small_dir, port=0, on_ready=on_ready)
    assert ready and not ready[0].running

"""``ollama-provider replay`` as a user runs it: a real process, a real port, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ollama_provider.cli._output import ExitCode

from ..recordings import cassette

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0  # loading every cassette on a busy CI machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ollama_provider.cli._app import main; main()", *args]


@pytest.fixture(scope="module")
def replay_process() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``ollama-provider replay --port N`` running; yields (process, URL, its first stderr line)."""
    port = _free_port()
    process = subprocess.Popen(
        _command("replay", "--port", str(port)),
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    announced = process.stderr.readline()  # printed once the socket is bound
    try:
        yield process, f"http://127.0.0.1:{port}", announced
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=STARTUP_SECONDS)
        process.stderr.close()


def test_replay_serves_the_bundled_recordings_and_says_where(
    replay_process: tuple[subprocess.Popen[str], str, str],
) -> None:
    _, url, announced = replay_process
    assert f"as Ollama on {url}" in announced
    # The bundled recordings, or the run's overlay of them (OLLAMA_PROVIDER_CASSETTES, see conftest.py).
    assert (
        httpx.get(f"{url}/api/version", timeout=10).json()
        == cassette("api/version.yaml").exchange("/api/version", "GET").json
    )
    names = [m["name"] for m in httpx.get(f"{url}/api/tags", timeout=10).json()["models"]]
    assert "smollm2:135m" in names


def test_the_cli_talks_to_the_replay_command(replay_process: tuple[subprocess.Popen[str], str, str]) -> None:
    _, url, _ = replay_process
    shown = subprocess.run(
        _command("--host", url, "--json", "show", "smollm2:135m"),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    assert shown.returncode == ExitCode.OK, shown.stderr
    recorded = cassette("api/show.yaml").exchange("/api/show").json["model_info"]["llama.context_length"]
    assert f'"context_length": {recorded}' in shown.stdout


@pytest.mark.skipif(os.name == "nt", reason="SIGINT is POSIX; Windows delivers Ctrl-C differently")
def test_ctrl_c_stops_the_replay_server_cleanly(
    replay_process: tuple[subprocess.Popen[str], str, str],
) -> None:
    process, url, _ = replay_process
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STARTUP_SECONDS) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/version", timeout=2)


def test_replay_on_a_taken_port_says_so_and_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _command("replay", "--port", str(port)),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
            check=False,
        )
    assert result.returncode == ExitCode.ERROR
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


def test_replay_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        _command("replay", str(tmp_path / "nowhere")),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    assert result.returncode == ExitCode.USAGE
    assert "No cassette folder" in result.stderr

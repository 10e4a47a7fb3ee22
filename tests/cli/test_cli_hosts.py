"""The commands with several hosts (``--host a,b``): per-host health and where each model is.

Two fake Ollama processes on loopback, plus a port nobody listens on for a host that is down.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from ollama_provider.cli import app
from ollama_provider.cli._output import ExitCode
from ollama_provider.testing import FakeHost

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def fakes() -> Iterator[list[FakeHost]]:
    hosts = [
        FakeHost.start(name="cli-1", models=["llama3.2", "qwen2.5:7b"]),
        FakeHost.start(name="cli-2", models=["llama3.2"], loaded=[]),
    ]
    yield hosts
    for host in hosts:
        host.stop()


@pytest.fixture(scope="module")
def dead() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def hosts_option(*urls: str) -> str:
    return ",".join(url.removeprefix("http://") for url in urls)


def test_health_lists_every_host_and_exits_0_when_all_are_up(fakes: list[FakeHost]) -> None:
    result = RUNNER.invoke(app, ["--host", hosts_option(*(h.url for h in fakes)), "health"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "healthy" in result.stdout
    for host in fakes:
        assert host.url in result.stdout


def test_health_of_a_pool_with_a_host_down_is_degraded_and_names_it(fakes: list[FakeHost], dead: str) -> None:
    result = RUNNER.invoke(app, ["--host", hosts_option(fakes[0].url, dead), "--json", "health"])
    assert result.exit_code == ExitCode.ERROR
    report = json.loads(result.stdout)
    assert report["status"] == "degraded" and report["healthy"] is False
    assert [(h["host"], h["status"]) for h in report["per_host"]] == [
        (fakes[0].url, "healthy"),
        (f"http://{dead}", "unhealthy"),
    ]
    assert set(report["model_names"]) == {"llama3.2", "qwen2.5:7b"}


def test_health_with_every_host_down_exits_3(dead: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        other = f"127.0.0.1:{sock.getsockname()[1]}"
    result = RUNNER.invoke(app, ["--host", f"{dead},{other}", "health"])
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "ollama serve" in result.stderr


def test_models_say_which_host_has_each(fakes: list[FakeHost]) -> None:
    option = hosts_option(*(h.url for h in fakes))
    rows = json.loads(RUNNER.invoke(app, ["--host", option, "--json", "models"]).stdout)
    assert {row["name"]: row["hosts"] for row in rows} == {
        "llama3.2": [h.url for h in fakes],
        "qwen2.5:7b": [fakes[0].url],
    }
    wide = {"COLUMNS": "200"}  # room for every column
    table = RUNNER.invoke(app, ["--host", option, "models"], env=wide).stdout
    assert "HOSTS" in table and fakes[1].url.removeprefix("http://") in table
    running = RUNNER.invoke(app, ["--host", option, "models", "--running"], env=wide).stdout
    assert "HOSTS" in running and fakes[0].url.removeprefix("http://") in running


def test_a_chat_through_the_cli_is_routed_to_a_host_that_has_the_model(fakes: list[FakeHost]) -> None:
    for host in fakes:
        host.reset()
    result = RUNNER.invoke(
        app, ["--host", hosts_option(*(h.url for h in fakes)), "chat", "qwen2.5:7b", "hello"]
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert "cli-1 says: hello" in result.stdout

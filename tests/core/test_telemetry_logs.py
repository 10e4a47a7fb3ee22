"""The ``ollama_provider`` logger: one INFO or WARNING line per retry, failover, ejection, return and
reconnection, naming the host and the reason, and never a prompt or an answer.

Real loopback servers: the fault server for dropped connections, a fake Ollama in this process for
a busy server, fake Ollama processes for a pool whose host goes down and comes back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ollama_provider import OllamaProvider
from ollama_provider.testing import FakeHost, FakeOllama

from .fault_server import FaultServer
from .test_faults_restart import drop_reused_connections

FAST: dict[str, Any] = {"retries": 2, "backoff_base": 0.01, "backoff_max": 0.02, "connect_timeout": 1.0}
PROMPT = "the prompt that must not be logged"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="ollama_provider")
    return caplog


def ours(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ollama_provider" and r.levelno >= level]


def no_conversation(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert PROMPT not in record.getMessage()
        assert "says:" not in record.getMessage()  # the fake's answers


@pytest.fixture(scope="module")
def fakes() -> Iterator[list[FakeHost]]:
    hosts = FakeHost.start_many(2, models=["llama3.2"])
    yield hosts
    for host in hosts:
        host.stop()


def test_a_retry_is_a_warning_naming_the_host_the_attempt_and_the_reason(
    logs: pytest.LogCaptureFixture,
) -> None:
    with FakeOllama(models=["llama3.2"]) as fake, OllamaProvider(fake.url, **FAST) as provider:
        fake.arm(path="/api/chat", status=503, count=2)
        provider.chat(PROMPT, model="llama3.2")
    retries = ours(logs)
    assert [r.levelno for r in retries] == [logging.WARNING, logging.WARNING]
    first, second = (r.getMessage() for r in retries)
    assert first.startswith(f"retrying on {fake.url} in ") and "(attempt 1 of 3 failed)" in first
    assert "(attempt 2 of 3 failed)" in second  # the later attempts, run by tenacity, are reported too
    assert first.endswith("ServerBusyError: server busy, please try again.")
    no_conversation(logs)


def test_a_dropped_connection_is_logged_as_a_reconnection_then_retried(
    server: FaultServer, logs: pytest.LogCaptureFixture
) -> None:
    server.script = drop_reused_connections
    with OllamaProvider(server.url, **FAST) as provider:
        provider.version()
        provider.version()
    reconnect, retry = ours(logs)
    assert reconnect.levelno == logging.INFO
    assert reconnect.getMessage().startswith(f"connection to {server.url} failed, opening fresh connections")
    assert "OllamaConnectionError" in reconnect.getMessage()
    assert retry.levelno == logging.WARNING and "attempt 1 of 3 failed" in retry.getMessage()


def test_a_pool_logs_failovers_ejections_and_the_return_of_a_host(
    fakes: list[FakeHost], logs: pytest.LogCaptureFixture
) -> None:
    first, second = fakes
    first.arm(path="/api/chat", status=503, count=1)
    with OllamaProvider(hosts=[h.url for h in fakes], **FAST) as provider:
        provider.chat(PROMPT, model="llama3.2")  # host-1 is busy: to host-2
        (failover,) = ours(logs)
        assert failover.levelno == logging.WARNING
        assert failover.getMessage() == (
            f"failing over from {first.url} to {second.url}: ServerBusyError: server busy, please try again."
        )
        first.stop()
        logs.clear()
        deadline = time.monotonic() + 5
        while not any("is down" in r.getMessage() for r in ours(logs)):  # host-1 gets traffic again
            assert time.monotonic() < deadline  # (less for a second after its busy answer): refused
            provider.chat(PROMPT, model="llama3.2")
            time.sleep(0.05)
        down = [r for r in ours(logs) if "is down" in r.getMessage()]
        assert len(down) == 1 and down[0].levelno == logging.WARNING
        assert down[0].getMessage().startswith(f"host {first.url} is down, out of rotation for 1.0s")
        assert "cannot connect" in down[0].getMessage()
        first.restart()
        back = wait_for_return(provider, logs, first.url)
        assert back.levelno == logging.INFO
    no_conversation(logs)


def wait_for_return(provider: OllamaProvider, logs: pytest.LogCaptureFixture, url: str) -> logging.LogRecord:
    """Requests go on after the cooldown; the probe that brings the host back runs in the background."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        provider.chat("ping", model="llama3.2")
        for record in ours(logs):
            if record.getMessage() == f"host {url} answered again: back in rotation":
                return record
        time.sleep(0.2)
    raise AssertionError(f"no return of {url} logged: {[r.getMessage() for r in ours(logs)]}")

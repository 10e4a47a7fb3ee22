"""Fixtures for the core's fault tests: a shared loopback fault server, mock providers, fast retries.

* ``fault_server`` (module scope): one :class:`FaultServer` per test module, stopped (and its
  threads joined) at the end of the module.
* ``server``: that server, reset for one test (fresh counters, the default Ollama-like script);
  after the test every connection must be closed.
* ``mock``: builds sync / async providers on an ``httpx.MockTransport`` handler (FAST retries).
* ``fast``: FAST retry settings (real retries, backoff waits in the milliseconds).
* ``waits``: records every backoff wait the retry policy computes and skips the actual sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ollama_provider import AsyncOllamaProvider, OllamaConfig, OllamaProvider
from ollama_provider._retry import RetryPolicy

from .fault_server import FaultServer

#: Real retries, negligible waits: a test with three retries still takes milliseconds.
FAST: dict[str, Any] = {"retries": 2, "backoff_base": 0.001, "backoff_max": 0.002}

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()
    assert server.threads_alive() == 0, "the fault server left threads running"


@pytest.fixture
def server(fault_server: FaultServer) -> Iterator[FaultServer]:
    fault_server.reset()
    yield fault_server
    # The server notices closes asynchronously: wait for them, so the next test counts only its own,
    # and so a test that leaves a connection open (a leak) fails here.
    stats = fault_server.wait_for(lambda s: s.open == 0)
    assert stats.open == 0, f"{stats.open} connection(s) still open after the test"


class MockProviders:
    """Builds providers whose HTTP goes to a handler function (no socket at all), with FAST retries."""

    def __init__(self) -> None:
        self.made: list[OllamaProvider] = []

    def sync(self, handler: Handler, **settings: Any) -> OllamaProvider:
        provider = OllamaProvider(config=self._config(handler, settings))
        self.made.append(provider)
        return provider

    def async_(self, handler: Handler, **settings: Any) -> AsyncOllamaProvider:
        return AsyncOllamaProvider(config=self._config(handler, settings))

    @staticmethod
    def _config(handler: Handler, settings: dict[str, Any]) -> OllamaConfig:
        transport = httpx.MockTransport(handler)
        return OllamaConfig(
            host="127.0.0.1:9",
            model="llama3.2",
            client_kwargs={"transport": transport},
            **{**FAST, **settings},
        )


@pytest.fixture
def mock() -> Iterator[MockProviders]:
    providers = MockProviders()
    yield providers
    for provider in providers.made:
        provider.close()


@pytest.fixture
def fast() -> dict[str, Any]:
    """FAST, for tests that build their own provider (on the fault server)."""
    return dict(FAST)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the policy asked for, in order; the retries themselves do not sleep."""
    asked: list[float] = []
    compute = RetryPolicy.wait_seconds

    def record(self: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
        asked.append(compute(self, attempt, exc))
        return 0.0

    monkeypatch.setattr(RetryPolicy, "wait_seconds", record)
    return asked

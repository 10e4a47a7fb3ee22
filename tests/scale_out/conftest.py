"""The fake Ollama hosts the Ray and Dask tests embed on: three processes, started once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ollama_provider.testing import FakeHost

from .workload import HOSTS, MODEL


@pytest.fixture(scope="module")
def fakes() -> Iterator[list[FakeHost]]:
    hosts = FakeHost.start_many(HOSTS, models=[MODEL])
    yield hosts
    for host in hosts:
        host.stop()


@pytest.fixture
def urls(fakes: list[FakeHost]) -> list[str]:
    return [host.fresh().url for host in fakes]

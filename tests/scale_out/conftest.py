"""The fake Ollama hosts the Ray and Dask tests embed on: three processes, started once per module."""

from __future__ import annotations

import pytest

from ollama_provider.testing import FakeHost

from ..fakes import started_once
from .workload import HOSTS, MODEL

fakes = started_once(HOSTS, models=[MODEL])


@pytest.fixture
def urls(fakes: list[FakeHost]) -> list[str]:
    return [host.fresh().url for host in fakes]

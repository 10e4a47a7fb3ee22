"""Fake Ollama processes shared by the tests of a module (``ollama_provider.testing.FakeHost``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ollama_provider.testing import FakeHost


def started_once(count: int, **options: Any) -> Callable[..., Any]:
    """A module-scoped fixture: ``count`` fake hosts started once for the module, stopped after it
    (``options`` as for :meth:`FakeHost.start_many`). Assign it to the name the tests ask for:
    ``fakes = started_once(2, prefix="lc", models=MODELS)``."""

    @pytest.fixture(scope="module")
    def fixture() -> Iterator[list[FakeHost]]:
        hosts = FakeHost.start_many(count, **options)
        try:
            yield hosts
        finally:
            for host in hosts:
                host.stop()

    return fixture

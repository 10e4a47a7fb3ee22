"""Fixtures for the tests that replay the recorded ``api/`` scenarios through the public core API.

* ``provider``: an :class:`OllamaProvider` on ``ollama_host`` (so ``--record-mode=rewrite`` against a
  live server records through the project's own code), with millisecond retry backoff so the
  recorded "503 then 200" costs no real waiting.
* ``offline_provider``: a provider on a :class:`RefusingTransport`, which sends nothing and remembers
  what it was asked to send, to prove that a request was rejected (or rewritten) before any I/O.
* ``@pytest.mark.model_suggestions``: see :func:`pytest_collection_modifyitems`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ollama_provider import OllamaProvider

from ..recordings import is_recording
from .refusing_transport import RefusingTransport

#: The cassette that answers GET /api/tags when a recording lacks it (see model_suggestions).
TAGS_CASSETTE = "api/tags.yaml"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "model_suggestions: the test meets a 'model not found' 404, after which the provider lists the "
        "installed models (GET /api/tags) to suggest close names; replay borrows api/tags.yaml for it",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Borrow ``api/tags.yaml`` for the model-suggestion lookup, when replaying only.

    The ``api/`` sessions were recorded with a plain HTTP client, so after a 404 "model not found"
    they hold no GET /api/tags, which our provider sends to fill ``ModelNotFoundError.suggestions``.
    Replay takes it from the tags scenario. A re-record must not: the live server answers the lookup
    and it is recorded into the test's own cassette, which stays the default cassette here.
    """
    if is_recording(config):
        return
    for item in items:
        if item.get_closest_marker("model_suggestions"):
            item.add_marker(pytest.mark.vcr(TAGS_CASSETTE))  # read only: the first cassette stays the default


@pytest.fixture
def provider(ollama_host: str) -> Iterator[OllamaProvider]:
    """A provider on the recording (or live) host; retries wait milliseconds, not seconds."""
    with OllamaProvider(host=ollama_host, backoff_base=0.01, backoff_max=0.02) as client:
        yield client


@pytest.fixture
def refusing_transport() -> RefusingTransport:
    return RefusingTransport()


@pytest.fixture
def offline_provider(refusing_transport: RefusingTransport) -> Iterator[OllamaProvider]:
    """A provider whose every request stops at :class:`RefusingTransport` (inspect what it sent)."""
    with OllamaProvider(
        host="http://127.0.0.1:11434", retries=0, client_kwargs={"transport": refusing_transport}
    ) as client:
        yield client

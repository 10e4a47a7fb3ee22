"""Fixtures for the LlamaIndex adapter tests.

Replay is the suite-wide vcrpy setup (tests/conftest.py) with one difference: ``/api/embed`` bodies
whose ``input`` is one string match the same input as a one-element list. Ollama answers both alike,
the official LlamaIndex integration sent a bare string for queries (recorded in
``frameworks/li_rag.yaml``), and the core always sends a list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from llama_index.core import Settings

from ollama_provider.testing import semantic_body_matcher

EMBED_INPUT_MATCHER = "semantic_body_embed_input_as_list"


class _BodyView:
    """A vcrpy request seen with a one-string embed ``input`` turned into a list."""

    def __init__(self, request: Any) -> None:
        self.method = request.method
        self.path = request.path
        self.body = _listed_input(request)


def _raw_body(request: Any) -> bytes:
    body = getattr(request, "body_bytes", None) or request.body or b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _listed_input(request: Any) -> bytes:
    raw = _raw_body(request)
    if request.path != "/api/embed":
        return raw
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(decoded, dict) and isinstance(decoded.get("input"), str):
        decoded["input"] = [decoded["input"]]
        return json.dumps(decoded).encode("utf-8")
    return raw


def embed_input_as_list_matcher(r1: Any, r2: Any) -> None:
    semantic_body_matcher(_BodyView(r1), _BodyView(r2))


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher(EMBED_INPUT_MATCHER, embed_input_as_list_matcher)


@pytest.fixture(scope="session")
def vcr_config(vcr_config: dict[str, Any]) -> dict[str, Any]:
    return {**vcr_config, "match_on": ["method", "path", EMBED_INPUT_MATCHER]}


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    """Tests set ``Settings.llm`` / ``Settings.embed_model``: put the previous values back.

    A global callback manager left by an earlier test (any ``VectorStoreIndex`` creates one) would
    make every new ``CallbackManager([])`` share its handler list: each test starts without one.
    """
    llm, embed_model, callbacks = Settings._llm, Settings._embed_model, Settings._callback_manager
    Settings._callback_manager = None
    yield
    Settings._llm, Settings._embed_model, Settings._callback_manager = llm, embed_model, callbacks


# --------------------------------------------------------------------------- synthetic servers

Handler = Callable[[httpx.Request], httpx.Response]


class RecordingHandler:
    """An ``httpx.MockTransport`` handler (synthetic, no real server): answers with ``respond`` and
    keeps every request body, so tests can check what the adapter sent."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        return [
            json.loads(r.content) for r in self.requests if r.content and (path is None or r.url.path == path)
        ]

    def client_kwargs(self) -> dict[str, Any]:
        return {"transport": httpx.MockTransport(self)}


@pytest.fixture
def mock_ollama() -> Callable[[Handler], RecordingHandler]:
    """Build a :class:`RecordingHandler` from a response function."""
    return RecordingHandler

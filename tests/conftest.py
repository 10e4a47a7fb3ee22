"""Test-suite wide cassette setup (pytest-recording + vcrpy) and the replay server fixture.

How a test uses recordings:

* ``@pytest.mark.vcr("api/chat.yaml")`` replays ``cassettes/recorded/api/chat.yaml`` (paths are
  relative to ``cassettes/recorded``). Requests match on method, path and the semantic body
  (``ollama_provider.cassettes``), never on host, port or ``options``. Such a test is also marked
  ``recorded`` automatically, and ``--record-mode=rewrite`` re-records into that same file
  (a test that must never record pins ``@pytest.mark.vcr(..., record_mode="none")``: not marked).
* ``@pytest.mark.synthetic("synthetic_stream_drop.yaml")`` replays a hand-written fault cassette
  from ``cassettes/synthetic`` (never re-recorded).
* ``replay_server`` (module fixture): base URL of a :class:`ReplayServer` over ``cassettes/recorded``.
* ``@pytest.mark.live``: runs only when the Ollama at ``OLLAMA_HOST`` answers.
* ``ollama_host`` (session fixture): the base URL a recording test should talk to.

The record mode comes from the command line (``--record-mode``; pyproject's addopts says ``none``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ollama_provider import resolve_host
from ollama_provider.cassettes import semantic_body_matcher
from ollama_provider.replay import ReplayServer

REPO_ROOT = Path(__file__).resolve().parent.parent
RECORDED_DIR = REPO_ROOT / "cassettes" / "recorded"
SYNTHETIC_DIR = REPO_ROOT / "cassettes" / "synthetic"
LIVE_PROBE_TIMEOUT_SECONDS = 1.0

#: The request headers a recorded cassette keeps: none of them can carry a credential. Every other
#: one (Authorization, Cookie, a proxy's token, whatever a user put in ``headers=``) is dropped before
#: recording; matching never looks at headers.
_RECORDED_REQUEST_HEADERS = frozenset(
    {"accept", "accept-encoding", "connection", "content-length", "content-type", "host", "x-ollama-model"}
)
_RECORDING_MODES = {"rewrite", "all", "new_episodes", "once"}


# --------------------------------------------------------------------------- vcrpy configuration


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording hook: called for every VCR instance it builds."""
    vcr.register_matcher("semantic_body", semantic_body_matcher)


def _only_safe_request_headers(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() not in _RECORDED_REQUEST_HEADERS:
            del request.headers[name]
    return request


def _drop_response_cookies(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() == "set-cookie":
            del headers[name]
    return response


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """Shared ``VCR.use_cassette`` options. ``record_mode`` is deliberately absent: it comes
    from ``--record-mode`` (a value here would override the command line)."""
    return {
        "before_record_request": _only_safe_request_headers,
        "before_record_response": _drop_response_cookies,
        "match_on": ["method", "path", "semantic_body"],
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """Relative cassette names in ``@pytest.mark.vcr(...)`` resolve against cassettes/recorded."""
    return str(RECORDED_DIR)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """Record into the cassette a test replays, so ``--record-mode=rewrite`` refreshes it.

    With exactly one relative cassette in the test's ``vcr`` marks, that cassette is the default
    (the one vcrpy writes to). Otherwise pytest-recording's rule applies (named after the test).
    """
    paths = [arg for mark in request.node.iter_markers("vcr") for arg in mark.args]
    if len(paths) == 1 and not os.path.isabs(paths[0]):
        return str(paths[0]).removesuffix(".yaml")
    marker = request.node.get_closest_marker("default_cassette")
    if marker is not None:
        return str(marker.args[0])
    name = f"{request.cls.__name__}.{request.node.name}" if request.cls else request.node.name
    for forbidden in r"<>?%*:|\"'/\\":
        name = name.replace(forbidden, "-")
    return name


# --------------------------------------------------------------------------- markers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "synthetic(*names): replay hand-written fault cassettes from cassettes/synthetic (never recorded)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection, so `-m recorded` sees the added marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        _translate_cassette_marks(item)
    recording = (config.getoption("--record-mode") or "none") in _RECORDING_MODES
    needs_server = [
        item
        for item in items
        if item.get_closest_marker("live") or (recording and item.get_closest_marker("recorded"))
    ]
    if not needs_server:
        return
    reason = _live_server_problem()
    if reason is None:
        return
    for item in needs_server:
        if item.get_closest_marker("live"):
            item.add_marker(pytest.mark.skip(reason=f"live test: {reason}"))
        else:  # recording without a server would first delete the cassette, then fail
            item.add_marker(pytest.mark.skip(reason=f"cannot re-record: {reason}"))


def _translate_cassette_marks(item: pytest.Item) -> None:
    vcr_marks = list(item.iter_markers("vcr"))
    relative = any(not os.path.isabs(str(path)) for mark in vcr_marks for path in mark.args)
    replay_only = any(mark.kwargs.get("record_mode") == "none" for mark in vcr_marks)
    if relative and not replay_only and not item.get_closest_marker("recorded"):
        item.add_marker(pytest.mark.recorded)
    synthetic = [arg for mark in item.iter_markers("synthetic") for arg in mark.args]
    if synthetic:
        # Absolute paths are used as given by pytest-recording; record_mode "none" in the mark
        # wins over --record-mode, so a re-record run can never overwrite these fixtures.
        paths = [str(SYNTHETIC_DIR / name) for name in synthetic]
        item.add_marker(pytest.mark.vcr(*paths, record_mode="none"))


# --------------------------------------------------------------------------- live server


_probe_result: list[str | None] = []  # computed once per session


def _live_server_problem() -> str | None:
    """None when the Ollama at OLLAMA_HOST answers GET /api/version, else why not."""
    if _probe_result:
        return _probe_result[0]
    raw = os.environ.get("OLLAMA_HOST")
    if not raw:
        problem: str | None = "OLLAMA_HOST is not set (point it at a running Ollama to run these)"
    else:
        url = resolve_host(raw)
        try:
            response = httpx.get(f"{url}/api/version", timeout=LIVE_PROBE_TIMEOUT_SECONDS)
            response.raise_for_status()
            problem = None
        except httpx.HTTPError as exc:
            problem = f"no Ollama answers at {url} ({type(exc).__name__}: {exc})"
    _probe_result.append(problem)
    return problem


@pytest.fixture(scope="session")
def ollama_host() -> str:
    """Base URL for tests that record or run live (replayed requests ignore the host anyway)."""
    return resolve_host()  # OLLAMA_HOST by the Ollama CLI's rules, else the default local server


# --------------------------------------------------------------------------- replay server


@pytest.fixture(scope="module")
def replay_server() -> Iterator[str]:
    """Base URL of a replay server over cassettes/recorded, shared by the tests of a module."""
    with ReplayServer(RECORDED_DIR) as server:
        yield server.url

"""Test-suite wide cassette setup (pytest-recording + vcrpy) and the replay server fixture.

How a test uses recordings:

* ``@pytest.mark.vcr("api/chat.yaml")`` replays ``cassettes/recorded/api/chat.yaml`` (paths are
  relative to the run's recordings: ``cassettes/recorded``, or the overlay of ``--recordings DIR``).
  Requests match on method, path and the semantic body (``ollama_provider.testing._cassettes``), never on
  host, port or ``options``. Such a test is also marked ``recorded`` automatically, and a record run
  records into its first cassette (a test that must never record pins
  ``@pytest.mark.vcr(..., record_mode="none")``: not marked).
* ``recording`` (fixture): that cassette as plain data (tests/recordings.py), to read expected values.
* ``@pytest.mark.replay_only("why")``: the scenario needs server conditions a record run cannot set
  up (a busy queue, a registry that cannot be reached): replayed always, skipped with that reason
  when recording.
* ``@pytest.mark.capability_check``: the test sends images, so the provider asks the model's
  ``/api/show`` first; replay borrows ``api/show.yaml`` for recordings made before that check.
* ``@pytest.mark.registry``: recording it needs a registry at ``OLLAMA_PROVIDER_TEST_REGISTRY``
  (default ``127.0.0.1:5000``); a record run skips it, saying how to run one, when none answers.
* ``@pytest.mark.synthetic("synthetic_stream_drop.yaml")`` replays a hand-written fault cassette
  from ``cassettes/synthetic`` (never re-recorded).
* ``replay_server`` (module fixture): base URL of a :class:`ReplayServer` over the run's recordings.
* ``@pytest.mark.live``: runs only when the Ollama at ``OLLAMA_HOST`` answers.
* ``ollama_host`` (session fixture): the base URL a recording test should talk to.
* ``live_answers``: the answers a live test's code received, to read expected values from
  (tests/live_answers.py).

The record mode comes from the command line (``--record-mode``; pyproject's addopts says ``none``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ollama_provider import resolve_host
from ollama_provider.testing import ReplayServer, semantic_body_matcher

from .live_answers import LiveAnswers, keep_answers
from .live_server import registry, registry_problem, server_problem
from .recordings import REPO_ROOT, Cassette, is_recording, recordings_dir, vcr_cassette
from .releases import set_recording

SYNTHETIC_DIR = REPO_ROOT / "cassettes" / "synthetic"
#: The recorded /api/show of smollm2:135m, borrowed by ``capability_check`` tests when replaying.
SHOW_CASSETTE = "api/show.yaml"

#: The request headers a recorded cassette keeps: none of them can carry a credential. Every other
#: one (Authorization, Cookie, a proxy's token, whatever a user put in ``headers=``) is dropped before
#: recording; matching never looks at headers.
_RECORDED_REQUEST_HEADERS = frozenset(
    {"accept", "accept-encoding", "connection", "content-length", "content-type", "host", "x-ollama-model"}
)


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
    """Relative cassette names in ``@pytest.mark.vcr(...)`` resolve against the run's recordings."""
    return str(recordings_dir())


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    """Record into the cassette a test replays, so a record run refreshes it.

    The first relative cassette of the test's ``vcr`` marks is the default (the one vcrpy writes to;
    the others are only read). Without one, pytest-recording's rule applies (named after the test).
    """
    marker = request.node.get_closest_marker("default_cassette")
    if marker is not None:
        return str(marker.args[0])
    paths = [str(arg) for mark in request.node.iter_markers("vcr") for arg in mark.args]
    relative = [path for path in paths if not os.path.isabs(path)]
    if relative:
        return relative[0].removesuffix(".yaml")
    name = f"{request.cls.__name__}.{request.node.name}" if request.cls else request.node.name
    for forbidden in r"<>?%*:|\"'/\\":
        name = name.replace(forbidden, "-")
    return name


# --------------------------------------------------------------------------- markers


def pytest_configure(config: pytest.Config) -> None:
    set_recording(is_recording(config))  # tests/releases.py: a record run asks the live server its version
    config.addinivalue_line(
        "markers",
        "synthetic(*names): replay hand-written fault cassettes from cassettes/synthetic (never recorded)",
    )
    config.addinivalue_line(
        "markers",
        f"capability_check: the test sends images, so the provider first asks the model's /api/show; a "
        f"recording made before that check holds no show answer, and replay borrows {SHOW_CASSETTE} for it",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection, so `-m recorded` sees the added marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        _translate_cassette_marks(item)
    recording = is_recording(config)
    for item in items:
        if not recording and item.get_closest_marker("capability_check"):
            item.add_marker(pytest.mark.vcr(SHOW_CASSETTE))  # read only: the first cassette stays the default
        replay_only = item.get_closest_marker("replay_only")
        if item.get_closest_marker("live"):
            _skip_if(item, "live test", server_problem)
        elif recording and replay_only:
            item.add_marker(pytest.mark.skip(reason=f"replay only, kept as recorded: {replay_only.args[0]}"))
        elif recording and item.get_closest_marker("recorded"):
            # Recording without a server would first delete the cassette, then fail.
            _skip_if(item, "cannot record", server_problem)
            if item.get_closest_marker("registry"):
                _skip_if(item, "cannot record", lambda: registry_problem(registry()))


def _skip_if(item: pytest.Item, what: str, problem: Callable[[], str | None]) -> None:
    """Skip ``item`` with ``what: reason`` when ``problem()`` names one."""
    reason = problem()
    if reason is not None:
        item.add_marker(pytest.mark.skip(reason=f"{what}: {reason}"))


def _translate_cassette_marks(item: pytest.Item) -> None:
    vcr_marks = list(item.iter_markers("vcr"))
    if item.get_closest_marker("replay_only"):
        # The mark's record_mode wins over --record-mode: a record run cannot overwrite these.
        item.add_marker(pytest.mark.vcr(record_mode="none"))
    relative = any(not os.path.isabs(str(path)) for mark in vcr_marks for path in mark.args)
    replay_only = item.get_closest_marker("replay_only") or any(
        mark.kwargs.get("record_mode") == "none" for mark in vcr_marks
    )
    if relative and not replay_only and not item.get_closest_marker("recorded"):
        item.add_marker(pytest.mark.recorded)
    synthetic = [arg for mark in item.iter_markers("synthetic") for arg in mark.args]
    if synthetic:
        # Absolute paths are used as given by pytest-recording; record_mode "none" in the mark
        # wins over --record-mode, so a re-record run can never overwrite these fixtures.
        paths = [str(SYNTHETIC_DIR / name) for name in synthetic]
        item.add_marker(pytest.mark.vcr(*paths, record_mode="none"))


# --------------------------------------------------------------------------- servers and recordings


@pytest.fixture(scope="session")
def ollama_host() -> str:
    """Base URL for tests that record or run live (replayed requests ignore the host anyway)."""
    return resolve_host()  # OLLAMA_HOST by the Ollama CLI's rules, else the default local server


@pytest.fixture
def live_answers(monkeypatch: pytest.MonkeyPatch) -> LiveAnswers:
    """The answers to this test's ``/api/...`` requests, kept as its code read them (streams stream on)."""
    return keep_answers(monkeypatch)


@pytest.fixture
def recording(vcr: Any) -> Cassette:
    """The cassette of a ``@pytest.mark.vcr`` test as plain data: read expected values from it."""
    if vcr is None:
        raise RuntimeError("the recording fixture needs a @pytest.mark.vcr test")
    return vcr_cassette(vcr)


@pytest.fixture(scope="module")
def replay_server() -> Iterator[str]:
    """Base URL of a replay server over the run's recordings, shared by the tests of a module."""
    with ReplayServer(recordings_dir()) as server:
        yield server.url

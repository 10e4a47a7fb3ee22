"""Which Ollama release made the recordings a run replays, for expectations that differ by release.

The suite runs on a recording of every supported release (README, "Supported Ollama releases"):
``cassettes/recorded`` (0.33.0-rc2) and ``cassettes/releases/<version>/`` (0.12.11), each laid over with
``--recordings``. A test whose expectation differs between releases reads what it needs from the
recorded answer itself (a field present or not, the status of an error); where the recording shows
that the server lacks a behaviour, the test skips with :func:`skip_lacking`, whose reason names the
release: never a silent pass. A record run asks the live server it records from.

>>> release_of("0.12.11"), release_of("0.33.0-rc2"), release_of("0.0.0") < release_of("0.12.11")
((0, 12, 11), (0, 33, 0), True)
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from ollama_provider import OllamaResponseError, resolve_host

from .recordings import BUNDLED_DIR, REPO_ROOT, Cassette, Exchange, cassette

#: The recordings of each supported release other than the bundled one, by version.
RELEASES_DIR = REPO_ROOT / "cassettes" / "releases"

_recording: list[bool] = []  # set by tests/conftest.py: whether this run records


def set_recording(recording: bool) -> None:
    _recording[:] = [recording]


def release_of(version: str) -> tuple[int, int, int]:
    """``(major, minor, patch)`` of a version string (a pre-release counts as its release)."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("-")[0])[:3]]
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    return major, minor, patch


@functools.cache
def recorded_version() -> str:
    """The server version of the run's recordings (``api/version.yaml``), or of the live server a
    record run records from."""
    if _recording and _recording[0]:
        url = resolve_host(os.environ.get("OLLAMA_HOST"))
        return str(httpx.get(f"{url}/api/version", timeout=10).json()["version"])
    return str(cassette("api/version.yaml").exchange("/api/version", "GET").json["version"])


def skip_lacking(what: str) -> NoReturn:
    """Skip the test: the recorded server lacks ``what`` (the reason names its release)."""
    pytest.skip(f"Ollama {recorded_version()} {what}")


def release_recordings() -> dict[str, Path]:
    """Every committed recording set (the bundled one and ``cassettes/releases/*``), by the version of
    the server that recorded it (its ``api/version.yaml``)."""
    roots = [BUNDLED_DIR, *sorted(path for path in RELEASES_DIR.glob("*") if path.is_dir())]
    return {
        str(cassette("api/version.yaml", root).exchange("/api/version", "GET").json["version"]): root
        for root in roots
    }


def refusal(exchange: Exchange) -> str | None:
    """The server's error words in a recorded answer: an error status, or an error line in a 200 stream."""
    if exchange.status >= 400:
        return exchange.error
    try:
        last = exchange.lines[-1] if exchange.body.strip() else {}
    except ValueError:
        return None
    return str(last["error"]) if isinstance(last, dict) and last.get("error") else None


@contextmanager
def unless_refused(recording: Cassette, path: str, lacking: str, method: str = "POST") -> Iterator[None]:
    """Run a request whose behaviour an older release lacks. When the recorded server refused it, the
    client must have raised the typed error carrying the server's words; the test then skips, naming
    the release and what it lacks (``lacking``), instead of passing."""
    try:
        yield
    except OllamaResponseError as raised:
        answers = [words for exchange in recording.all(path, method) if (words := refusal(exchange))]
        if not answers or raised.message != answers[-1]:
            raise
        skip_lacking(f"{lacking}: it answered {answers[-1]!r} ({type(raised).__name__})")


#: What Ollama 0.12 lacks when it refuses ``think="high"`` for a thinking model (0.33 takes it).
THINK_LEVELS = "takes a think level only for gpt-oss models, not for this thinking model"

#: Why a recorded pull failed: Ollama (0.12 and 0.33 alike) downloads a blob only from a redirect
#: (ollama/ollama#7244), so a registry serving blobs itself works only for blobs already in the store:
#: fill it from the recording server itself (as .ci/live does), not from another release's.
PLAIN_REGISTRY_PULLS = (
    "could not download a blob from a registry that serves blobs itself (ollama/ollama#7244; fill the "
    "registry from the recording server)"
)

"""Where the recordings of a test run are, and a minimal reader of what they hold.

Recorded tests compare what our code made of an answer with the answer itself, read here straight
from the recorded JSON (``json`` and ``yaml`` only, no code of ``ollama_provider``): a wrong field
mapping in our parsers still fails, while a re-recording (other wording, ids, times) still passes.

* ``recording`` (fixture, tests/conftest.py): the cassette of a ``@pytest.mark.vcr`` test, read from
  vcrpy's own copy of it, so it also holds what a record run has just recorded.
* :func:`cassette`: a cassette file of the run's recordings, for tests that go through the replay
  server.

The run's recordings are ``cassettes/recorded``, or with ``pytest --recordings DIR`` that folder with
every file of DIR laid over it (``DIR/api/chat.yaml`` replaces ``api/chat.yaml``; see conftest.py).

>>> chat = cassette("api/chat.yaml").exchange("/api/chat")
>>> chat.status, chat.request["model"], chat.final["done"]
(200, 'smollm2:135m', True)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The recordings bundled with the repository.
BUNDLED_DIR = REPO_ROOT / "cassettes" / "recorded"

_active: list[Path] = []  # set once per session by the root conftest.py for --recordings

Where = Callable[[dict[str, Any]], bool]


def recordings_dir() -> Path:
    """The recordings this run replays: the bundled ones, or the overlay built for ``--recordings``."""
    return _active[0] if _active else BUNDLED_DIR


def use_recordings(directory: Path) -> None:
    """Make ``directory`` the recordings of this run."""
    _active[:] = [directory]


def is_recording(config: pytest.Config) -> bool:
    """Whether this run records (a ``--record-mode`` other than pyproject's ``none``)."""
    return (config.getoption("--record-mode", default=None) or "none") != "none"


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the server's answer, decoded with ``json`` only."""

    method: str
    path: str
    request: dict[str, Any]
    status: int
    body: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        """The answer's JSON objects: one per NDJSON line of a stream, or the one object of a plain answer."""
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]

    @property
    def json(self) -> Any:
        """The answer body as one JSON document."""
        return json.loads(self.body)

    @property
    def final(self) -> dict[str, Any]:
        """The last JSON object of the answer (the ``done`` chunk of a stream)."""
        return self.lines[-1]

    @property
    def error(self) -> str:
        """The ``error`` of a JSON error answer, else the plain-text body."""
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return self.body
        return str(decoded["error"]) if isinstance(decoded, dict) and "error" in decoded else self.body


class Cassette:
    """The exchanges of a vcrpy cassette, read anew on each look (a record run keeps appending)."""

    def __init__(self, name: str, read: Callable[[], list[Exchange]], *, replaying: bool = True) -> None:
        self.name = name
        self.replaying = replaying  # False while a record run records into it
        self._read = read

    @property
    def exchanges(self) -> list[Exchange]:
        return self._read()

    def all(self, path: str, method: str = "POST", where: Where | None = None) -> list[Exchange]:
        """Every exchange on ``method path`` whose request body satisfies ``where``, in recorded order."""
        return [
            exchange
            for exchange in self.exchanges
            if (exchange.method, exchange.path) == (method, path)
            and (where is None or where(exchange.request))
        ]

    def require(self, path: str, method: str = "POST", where: Where | None = None, nth: int = 0) -> None:
        """Before sending a request: skip the test, saying so, when the replayed recording lacks its answer.

        A re-recording may hold fewer exchanges than the bundled one (a record run stopped by a failed
        assertion, or tests sharing a cassette that overwrote each other): what is not recorded cannot
        be replayed. On the bundled recordings every test finds what it needs; a record run records it.
        """
        if self.replaying and len(self.all(path, method, where)) <= nth:
            what = f"{method} {path}" + (" for the request this test sends" if where else "")
            pytest.skip(
                f"{self.name} holds no recorded {what} (#{nth + 1}): this recording set cannot replay it"
            )

    def exchange(self, path: str, method: str = "POST", where: Where | None = None, nth: int = 0) -> Exchange:
        """The ``nth`` matching exchange (after the request: a record run has recorded it by then)."""
        self.require(path, method, where, nth)
        found = self.all(path, method, where)
        assert len(found) > nth, f"{self.name}: no {method} {path} (#{nth + 1}) was recorded"
        return found[nth]


def cassette(name: str, root: Path | None = None) -> Cassette:
    """The cassette file ``name`` of the run's recordings (e.g. ``"api/chat.yaml"``), or of ``root``."""
    path = (root or recordings_dir()) / name

    def read() -> list[Exchange]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError(f"{path} is not a vcrpy cassette (version: 1)")
        return [
            to_exchange(i["request"]["method"], i["request"]["uri"], i["request"].get("body"), i["response"])
            for i in data["interactions"]
        ]

    return Cassette(name, read)


def vcr_cassette(cassette: Any) -> Cassette:
    """The cassette of a vcrpy ``Cassette`` object: what it loaded, and what it recorded so far."""
    path = Path(cassette._path).resolve()
    root = recordings_dir().resolve()
    name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def read() -> list[Exchange]:
        return [
            to_exchange(request.method, request.uri, request.body, answer)
            for request, answer in cassette.data
        ]

    return Cassette(name, read, replaying=bool(cassette.write_protected))


def _text(raw: str | bytes | None) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw or ""


def to_exchange(method: str, uri: str, body: str | bytes | None, response: dict[str, Any]) -> Exchange:
    """One vcrpy-shaped exchange (a request's parts and a response dict) as plain data."""
    raw = _text(body)
    try:
        decoded = json.loads(raw) if raw else {}
    except ValueError:
        decoded = {}
    return Exchange(
        method=method,
        path=urlsplit(uri).path,
        request=decoded if isinstance(decoded, dict) else {},
        status=int(response["status"]["code"]),
        body=_text(response["body"]["string"]),
    )


def sent_options(scenario: str, nth: int = 0) -> dict[str, Any]:
    """The ``options`` of request ``nth`` of the ``api/`` scenario ``scenario``, as the bundled
    recording sent them (``api/scenarios.json``): ``temperature``, ``seed`` and ``num_predict``.

    Matching ignores options, so replay does not need them; a record or live run does: without
    ``num_predict`` the 135M model writes until its context is full (minutes per request on 2 cores).

    >>> sent_options("chat")
    {'temperature': 0, 'seed': 42, 'num_predict': 48}
    """
    scenarios = json.loads((BUNDLED_DIR / "api" / "scenarios.json").read_text(encoding="utf-8"))
    options: dict[str, Any] = scenarios[scenario]["requests"][nth]["body"].get("options") or {}
    return dict(options)


def last_user_text(text: str) -> Where:
    """A ``where`` for chat requests whose last message says ``text``."""
    return lambda body: bool(body.get("messages")) and body["messages"][-1].get("content") == text


def overlay(bundled: Path, on_top: Path, into: Path) -> Path:
    """Copy ``bundled`` into ``into``, then every file of ``on_top`` over it (same relative path)."""
    for source in (bundled, on_top):
        for path in sorted(source.rglob("*")):
            if path.is_file():
                target = into / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    return into

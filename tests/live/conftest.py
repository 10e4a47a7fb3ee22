"""Fixtures of the live tier's own servers: real ``ollama serve`` processes the tests start and kill.

* ``ollama_binary`` (session): the binary of ``OLLAMA_PROVIDER_LIVE_BIN``, else ``ollama`` on PATH; without
  one every test here is skipped, saying which variable to set.
* ``serve`` (module): ``serve(count, env=..., envs=..., store=...)`` starts servers on free loopback ports
  (one shared model store: ``OLLAMA_PROVIDER_LIVE_MODELS``, else the binary's default) and stops every one
  of them, by its PID, at the end of the module, whatever happened. ``envs`` gives each server settings of
  its own (``OLLAMA_NUM_PARALLEL``, ``OLLAMA_MAX_QUEUE``, a private ``OLLAMA_MODELS``).
* ``servers`` (session): three servers, both models loaded on each, shared by the modules whose tests
  neither kill nor freeze them; ``reference_vectors``: the corpus embedded by one of them alone.

Requests ask for few tokens, at temperature 0 with a seed (:data:`OPTIONS`): the machine has 2 cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from ollama_provider import OllamaProvider

from .servers import MODELS_ENV, OllamaServers, find_binary, model_store
from .work import CORPUS, EMBED_MODEL, EMBED_OPTIONS, embed

#: The models the tests use, as start-ollama creates them (../shared/ollama) or `ollama pull` gets them.
CHAT_MODEL = "smollm2:135m"
#: Few tokens, and the same ones every time; one thread per runner (see EMBED_OPTIONS).
OPTIONS = {"temperature": 0, "seed": 7, "num_predict": 8, "num_thread": 1}

Serve = Callable[..., OllamaServers]


@pytest.fixture(scope="session")
def ollama_binary() -> Path:
    binary, where = find_binary()
    if binary is None:
        pytest.skip(f"live servers: {where}")
    return binary


@pytest.fixture(scope="session")
def live_workdir() -> Iterator[Path]:
    """Logs and private model stores of the session's servers (kept when a test failed: read the logs)."""
    with tempfile.TemporaryDirectory(prefix="ollama-live-") as workdir:
        yield Path(workdir)


class _Starter:
    """Starts sets of servers and stops every one of them at the end of its fixture's scope."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary, self.workdir = binary, workdir
        self.started: list[OllamaServers] = []

    def __call__(
        self,
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        envs: Sequence[Mapping[str, str]] | None = None,
        store: Path | None = None,
    ) -> OllamaServers:
        servers = OllamaServers.start(
            self.binary, count, store=store or model_store(), env=env, envs=envs, workdir=self.workdir
        )
        self.started.append(servers)
        return servers

    def stop(self) -> None:
        for servers in self.started:
            servers.stop()


@pytest.fixture(scope="module")
def serve(ollama_binary: Path, live_workdir: Path) -> Iterator[Serve]:
    starter = _Starter(ollama_binary, live_workdir)
    try:
        yield starter
    finally:
        starter.stop()


@pytest.fixture(scope="session")
def servers(ollama_binary: Path, live_workdir: Path) -> Iterator[OllamaServers]:
    """Three servers on the shared model store, both models loaded on each, for every module whose tests
    leave them running (none kills or freezes them)."""
    starter = _Starter(ollama_binary, live_workdir)
    try:
        started = starter(3)
        require_models(started[0].url, CHAT_MODEL, EMBED_MODEL)
        warm_up(started.urls, chat=True, embed=True)
        yield started
    finally:
        starter.stop()


@pytest.fixture(scope="session")
def reference_vectors(servers: OllamaServers) -> dict[str, list[float]]:
    """Every text of the corpus embedded by one server alone: what the pools' vectors are checked against."""
    with OllamaProvider(servers[0].url) as alone:
        return dict(zip(CORPUS, embed(alone, CORPUS), strict=True))


def require_models(url: str, *names: str) -> None:
    """Skip (saying how to get them) unless the server at ``url`` has every model of ``names``."""
    installed = {m["name"] for m in httpx.get(f"{url}/api/tags", timeout=10).json()["models"]}
    missing = [name for name in names if name not in installed]
    if missing:
        store = model_store()
        where = (
            f"{MODELS_ENV}={store}" if store else f"the binary's default model store ({MODELS_ENV} is unset)"
        )
        pytest.skip(
            f"live servers: {where} lacks {', '.join(missing)}: create them with "
            f"../shared/ollama/start-ollama, or `ollama pull` them into that store"
        )


def warm_up(urls: Sequence[str], *, chat: bool = False, embed: bool = False) -> None:
    """Load the models on every server, one request each, so tests measure routing, not model loads."""
    for url in urls:
        if chat:
            body = {
                "model": CHAT_MODEL,
                "prompt": "hi",
                "stream": False,
                "options": {**OPTIONS, "num_predict": 1},
            }
            httpx.post(f"{url}/api/generate", json=body, timeout=120).raise_for_status()
        if embed:
            body = {"model": EMBED_MODEL, "input": "hi", "options": EMBED_OPTIONS}
            httpx.post(f"{url}/api/embed", json=body, timeout=120).raise_for_status()

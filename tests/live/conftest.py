"""Fixtures of the live tier's own servers: real ``ollama serve`` processes the tests start and kill.

* ``ollama_binary`` (session): the binary of ``OLLAMA_PROVIDER_LIVE_BIN``, else ``ollama`` on PATH; without
  one every test here is skipped, saying which variable to set.
* ``serve`` (module): ``serve(count, env=..., envs=..., store=...)`` starts servers on free loopback ports
  (one shared model store: ``OLLAMA_PROVIDER_LIVE_MODELS``, else the binary's default) and stops every one
  of them, by its PID, at the end of the module, whatever happened. ``envs`` gives each server settings of
  its own (``OLLAMA_NUM_PARALLEL``, ``OLLAMA_MAX_QUEUE``, a private ``OLLAMA_MODELS``).
* ``servers`` (module): three servers from ``serve``, for the tests of a module that neither kill nor
  freeze them.

Requests ask for few tokens, at temperature 0 with a seed (:data:`OPTIONS`): the machine has 2 cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from .servers import MODELS_ENV, OllamaServers, find_binary, model_store

#: The models the tests use, as start-ollama creates them (../shared/ollama) or `ollama pull` gets them.
CHAT_MODEL = "smollm2:135m"
EMBED_MODEL = "all-minilm:latest"
#: Few tokens, and the same ones every time.
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


@pytest.fixture(scope="module")
def serve(ollama_binary: Path, live_workdir: Path) -> Iterator[Serve]:
    started: list[OllamaServers] = []

    def start(
        count: int,
        *,
        env: Mapping[str, str] | None = None,
        envs: Sequence[Mapping[str, str]] | None = None,
        store: Path | None = None,
    ) -> OllamaServers:
        servers = OllamaServers.start(
            ollama_binary, count, store=store or model_store(), env=env, envs=envs, workdir=live_workdir
        )
        started.append(servers)
        return servers

    try:
        yield start
    finally:
        for servers in started:
            servers.stop()


@pytest.fixture(scope="module")
def servers(serve: Serve) -> OllamaServers:
    """Three servers on the shared model store, for a module whose tests leave them running."""
    started = serve(3)
    require_models(started[0].url, CHAT_MODEL, EMBED_MODEL)
    return started


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
            httpx.post(
                f"{url}/api/embed", json={"model": EMBED_MODEL, "input": "hi"}, timeout=120
            ).raise_for_status()

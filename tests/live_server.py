"""Is there a live Ollama (and a registry) to run or record against? Each answer is probed once.

Used by the suite's conftests (live tests, record runs) and by ``tests/tools/record.py``.
"""

from __future__ import annotations

import functools
import os

import httpx

from ollama_provider import resolve_host

PROBE_TIMEOUT_SECONDS = 1.0
REGISTRY_ENV = "OLLAMA_PROVIDER_TEST_REGISTRY"
#: Where the first recording session ran its registry (the names in api/pull_local.yaml say so).
DEFAULT_REGISTRY = "127.0.0.1:5000"
#: How to provide what the registry scenarios need, for a skip reason or the record command.
HOW_TO_RUN_A_REGISTRY = (
    "run one with `docker run -d -p 5000:5000 registry:2` or, without Docker, Debian's docker-registry: "
    "`.ci/registry start {registry} DIR` (or point {env} at another), then put the two models the "
    "scenarios pull there: `for m in all-minilm:latest smollm2:135m; do ollama cp $m "
    "{registry}/library/$m && ollama push --insecure {registry}/library/$m; done` (what `.ci/registry "
    "push {registry} $(command -v ollama) 127.0.0.1:11434 all-minilm:latest smollm2:135m` does)"
)


def registry() -> str:
    """``host:port`` of the registry the pull and push scenarios use."""
    return os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


@functools.cache
def ollama_problem(raw_host: str | None) -> str | None:
    """``None`` when an Ollama answers ``GET /api/version`` at ``raw_host``, else why not."""
    if not raw_host:
        return "OLLAMA_HOST is not set (point it at a running Ollama to run these)"
    url = resolve_host(raw_host)
    try:
        httpx.get(f"{url}/api/version", timeout=PROBE_TIMEOUT_SECONDS).raise_for_status()
    except httpx.HTTPError as exc:
        return f"no Ollama answers at {url} ({type(exc).__name__}: {exc})"
    return None


def server_problem() -> str | None:
    """:func:`ollama_problem` for ``OLLAMA_HOST``."""
    return ollama_problem(os.environ.get("OLLAMA_HOST"))


@functools.cache
def registry_problem(address: str) -> str | None:
    """``None`` when a registry answers ``GET /v2/`` at ``address`` (``host:port``), else why not and what to do."""
    try:
        answer = httpx.get(f"http://{address}/v2/", timeout=PROBE_TIMEOUT_SECONDS)
        ok = answer.status_code in (200, 401)  # 401: a registry that wants credentials is still there
        detail = f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    if ok:
        return None
    how = HOW_TO_RUN_A_REGISTRY.format(env=REGISTRY_ENV, registry=address)
    return f"no registry answers at {address} ({detail}): {how}"

"""Modules that moved when the package was cut into its parts: importing one by its old name raises an
``ImportError`` that says where its names live now, instead of a bare "No module named ...".

The finder sits last on ``sys.meta_path``: it is asked only about a module that no other finder found,
so it costs nothing on any import that works.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

_TESTING = "its public names are in `ollama_provider.testing` (e.g. `from ollama_provider.testing import {}`)"
_INTERNAL = "it is internal now (`{}`); the public API is `ollama_provider`"
_FOR_INTEGRATIONS = "what framework integrations use from it is in `ollama_provider.integrations`"
_CLI = "the command line is `ollama_provider.cli` (`from ollama_provider.cli import app, main`)"
_TELEMETRY = "it is internal to `ollama_provider.telemetry`: set an OpenTelemetry provider to get spans"
_POOL = "it is internal to `ollama_provider.pool`: use `OllamaProvider(hosts=[...])`"

#: old module name -> where to look now
MOVED: dict[str, str] = {
    "replay": _TESTING.format("ReplayServer"),
    "replay_catalog": _TESTING.format("ReplayCatalog"),
    "fake_server": _TESTING.format("FakeHost, fake_hosts, vector_of"),
    "cassettes": _TESTING.format("load_cassette, semantic_body_matcher"),
    "cli_chat": _CLI,
    "cli_demo": _CLI + "; `bundled_recordings` is in `ollama_provider.testing`",
    "cli_output": _CLI,
    "cli_pull": _CLI,
    "otel": _TELEMETRY,
    "genai_semconv": _TELEMETRY,
    "routing": _POOL,
    "pool_transport": _POOL,
    "forced_calls": _FOR_INTEGRATIONS,
    "secrets": _FOR_INTEGRATIONS,
    "forks": _FOR_INTEGRATIONS,
    **{
        name: _INTERNAL.format(f"ollama_provider._{name}")
        for name in (
            "calls", "protocol", "payloads", "parsing", "ndjson", "names", "tools", "steps",
            "retry", "health", "transport", "client_slot",
        )
    },
}


class MovedModuleFinder(MetaPathFinder):
    """Raises, for an old module name, an ``ImportError`` naming the new place."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package == "ollama_provider" and name in MOVED:
            raise ModuleNotFoundError(f"`{fullname}` moved: {MOVED[name]}", name=fullname)
        return None


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())

"""Offline tools that ship with the core: for tests, notebooks, demos and benchmarks.

Nothing in the client imports this package; it imports the client.

* :class:`ScriptedProvider` / :class:`AsyncScriptedProvider`: an in-memory test double that satisfies
  :class:`~ollama_provider.Provider` (scripted replies, deterministic embeddings, a record of requests).
* :class:`FakeHost` / :func:`fake_hosts`: fake Ollama servers in their own processes that answer any
  input (``"<host> says: <question>"``, :func:`vector_of` embeddings), for tests of several hosts.
* :class:`ReplayServer`: a local Ollama that replays recorded sessions (vcrpy cassettes) over real HTTP;
  :func:`bundled_recordings` finds the ones shipped with the repository.
* :func:`load_cassette` and :func:`semantic_body_matcher`: read cassettes, and match requests the way
  Ollama reads them (for vcrpy / pytest-recording).

>>> from ollama_provider.testing import ScriptedProvider
>>> ScriptedProvider(["Hi!"]).chat("Hello", model="any").message.content
'Hi!'
"""

from ._cassettes import (
    Interaction,
    RequestKey,
    bundled_recordings,
    load_cassette,
    load_cassette_dir,
    request_key,
    semantic_body_matcher,
)
from ._double import AsyncScriptedProvider, ScriptedProvider, tool_call
from ._fake_server import FakeHost, FakeOllama, answered_by, fake_hosts, vector_of
from ._replay import ReplayServer
from ._replay_catalog import ReplayAnswer, ReplayCatalog

__all__ = [
    "AsyncScriptedProvider",
    "FakeHost",
    "FakeOllama",
    "Interaction",
    "ReplayAnswer",
    "ReplayCatalog",
    "ReplayServer",
    "RequestKey",
    "ScriptedProvider",
    "answered_by",
    "bundled_recordings",
    "fake_hosts",
    "load_cassette",
    "load_cassette_dir",
    "request_key",
    "semantic_body_matcher",
    "tool_call",
    "vector_of",
]

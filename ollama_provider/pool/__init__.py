"""Several Ollama hosts behind one provider: built only when a provider is given two or more hosts.

* :mod:`._state`: the routing state of the hosts (up or ejected, models listed, in flight), sans I/O;
* :mod:`._routing`: how one request finds a host, written once as a plan of steps (like ``_steps``);
* :mod:`._shells`: the sync and async I/O shells that run those plans over the per-host transports.

Users reach it through ``OllamaProvider(hosts=[...])``; nothing here is public API.
"""

from ._shells import AsyncPoolTransport, SyncPoolTransport

__all__ = ["AsyncPoolTransport", "SyncPoolTransport"]

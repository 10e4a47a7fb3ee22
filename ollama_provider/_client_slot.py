"""Which HTTP client serves the next request, and when an old one may be closed.

After a connection-level failure (the server restarted, say) every idle keep-alive connection in
the pool is suspect, so the client is *retired*: new requests get a fresh client, while streams
still running on the old one finish undisturbed; the old client is closed when its last lease ends.

In a forked child the slot starts empty (:mod:`ollama_provider._forks`): the child builds its own
client on first use and never touches a connection its parent opened.

>>> made = []
>>> slot = ClientSlot(lambda: made.append(object()) or made[-1])
>>> first = slot.acquire()
>>> slot.retire(first)  # still leased: nothing to close yet
>>> slot.acquire() is first
False
>>> slot.release(first) is first  # the last lease on a retired client: close it now
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from ._forks import forget_in_child

C = TypeVar("C")


class ClientSlot(Generic[C]):
    """Lease counting around a lazily built client. Returns clients to close; never closes itself."""

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._current: C | None = None
        self._leases: dict[int, int] = {}
        self._retired: dict[int, C] = {}
        forget_in_child(self)

    def acquire(self) -> C:
        with self._lock:
            if self._current is None:
                self._current = self._factory()
            client = self._current
            self._leases[id(client)] = self._leases.get(id(client), 0) + 1
            return client

    def release(self, client: C) -> C | None:
        with self._lock:
            key = id(client)
            left = self._leases.get(key, 1) - 1
            if left > 0:
                self._leases[key] = left
                return None
            self._leases.pop(key, None)
            return self._retired.pop(key, None)

    def retire(self, client: C) -> C | None:
        """Stop handing out ``client``; returns it if nothing uses it (close it now)."""
        with self._lock:
            if self._current is not client:
                return None
            self._current = None
            if self._leases.get(id(client)):
                self._retired[id(client)] = client
                return None
            return client

    def drain(self) -> list[C]:
        """Everything to close when the provider closes."""
        with self._lock:
            return self._take_all()

    def _after_fork_in_child(self) -> list[C]:
        self._lock = threading.Lock()
        return self._take_all()

    def _take_all(self) -> list[C]:
        clients = list(self._retired.values())
        if self._current is not None:
            clients.append(self._current)
        self._current = None
        self._retired = {}
        self._leases = {}
        return clients

    @property
    def current(self) -> C | None:
        return self._current

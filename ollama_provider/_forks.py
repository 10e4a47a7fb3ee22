"""Fork safety: what holds connections or locks starts afresh in a forked child process.

A child made by ``os.fork`` (``multiprocessing`` on Linux before Python 3.14, gunicorn
``--preload``, Celery prefork workers) inherits its parent's open sockets. Two processes writing
requests on one keep-alive connection interleave them, and the server answers garbage to both.
So every object registered here is told, in the child, to forget the connections its parent
opened and to make new locks (a lock another thread held at the moment of the fork would never
be released in the child). The parent is untouched and keeps its own.

What a child forgets is kept referenced here, never closed: those sockets are the parent's, and
closing an inherited TLS connection could write on it.

>>> class Holder:
...     def __init__(self):
...         self.connection = "socket of the parent"
...         forget_in_child(self)
...     def _after_fork_in_child(self):
...         inherited, self.connection = self.connection, None
...         return [inherited]
>>> holder = Holder()
>>> child = os.fork()
>>> if child == 0:  # in the child: the connection was forgotten, and kept
...     os._exit(0 if holder.connection is None and "socket of the parent" in _inherited else 1)
>>> os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]), holder.connection  # the parent keeps its own
(0, 'socket of the parent')
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class _Forgets(Protocol):
    def _after_fork_in_child(self) -> list[Any]:
        """Drop inherited connections and locks; return what was dropped (it is kept, not closed)."""


_registered: weakref.WeakSet[Any] = weakref.WeakSet()
_inherited: list[Any] = []


def forget_in_child(owner: _Forgets) -> None:
    """Have ``owner._after_fork_in_child()`` called in every child forked from now on."""
    _registered.add(owner)


# One lock for every lazily built object: building one is quick and does no I/O, so they may queue.
_building = threading.Lock()


def built_once(cache: MutableMapping[str, Any], key: str, build: Callable[[], T]) -> T:
    """``cache[key]``, first set to ``build()`` if it is ``None``: built once even when threads race
    for it (two providers built at once would hold two connection pools, one of them unused).

    >>> cache = {"provider": None}
    >>> first = built_once(cache, "provider", object)
    >>> built_once(cache, "provider", object) is first
    True
    """
    value: T = cache[key]
    if value is None:
        with _building:
            value = cache[key]
            if value is None:
                value = cache[key] = build()
    return value


def _in_child() -> None:
    global _building
    _building = threading.Lock()  # another thread of the parent may have held it at the fork
    for owner in list(_registered):
        _inherited.extend(owner._after_fork_in_child())


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_in_child)

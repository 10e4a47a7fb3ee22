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
>>> _in_child()  # what os.fork runs in the child
>>> holder.connection is None, "socket of the parent" in _inherited
(True, True)
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Protocol


class _Forgets(Protocol):
    def _after_fork_in_child(self) -> list[Any]:
        """Drop inherited connections and locks; return what was dropped (it is kept, not closed)."""


_registered: weakref.WeakSet[Any] = weakref.WeakSet()
_inherited: list[Any] = []


def forget_in_child(owner: _Forgets) -> None:
    """Have ``owner._after_fork_in_child()`` called in every child forked from now on."""
    _registered.add(owner)


def _in_child() -> None:
    for owner in list(_registered):
        _inherited.extend(owner._after_fork_in_child())


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_in_child)

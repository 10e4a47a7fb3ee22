"""Routing state of several Ollama hosts: which is up, which has the model, which is busy.

Sans-I/O, shared by the sync and async pooled transports like :mod:`ollama_provider._steps`: the
transports ask the pool where a request should go and tell it what happened; the pool never does
I/O, never sleeps and never blocks (its lock guards a few fields at a time).

A host is *in rotation* until a connection to it fails (refused, unknown, connect timeout). It is
then *ejected* for a cooldown (1 s, doubling with each ejection in a row, at most 30 s), after which a
``GET /api/version`` probe must answer before it gets traffic again. What each host has installed
(``/api/tags``) and loaded (``/api/ps``) is asked when first needed, refreshed in the background
every :data:`REFRESH_INTERVAL` seconds, and at once after the host answers "model not found".
Ejections and returns are reported to the ``ollama_provider`` logger (:mod:`ollama_provider.telemetry`).

>>> now = [0.0]
>>> pool = HostPool(["http://a:11434", "http://b:11434"], clock=lambda: now[0])
>>> a, b = pool.hosts
>>> pool.learn(a, models=["llama3.2"], loaded=["llama3.2"]); pool.learn(b, models=["llama3.2"], loaded=[])
>>> pool.choose("llama3.2:latest", exclude=()).host.url  # loaded there: no model load needed
'http://a:11434'
>>> pool.eject(a, OSError("refused"))
>>> pool.choose("llama3.2:latest", exclude=()).host.url
'http://b:11434'
>>> now[0] = 1.5  # the cooldown is over: a probe is due before a gets traffic again
>>> [(check.host.url, check.kind) for check in pool.due_checks("llama3.2:latest", exclude=())]
[('http://a:11434', 'probe')]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

from .. import telemetry
from .._forks import forget_in_child
from .._names import canonical_name

#: Seconds after which a host's lists of installed and loaded models are asked again.
REFRESH_INTERVAL = 30.0
FIRST_COOLDOWN = 1.0
MAX_COOLDOWN = 30.0

Reason = Literal["chosen", "full", "missing", "exhausted"]


@dataclass(slots=True)
class HostState:
    """What the pool knows about one host (read and written under the pool's lock)."""

    url: str
    #: Canonical names installed (``/api/tags``); ``None`` until asked: it may have any model.
    models: frozenset[str] | None = None
    #: Canonical names in memory (``/api/ps``).
    loaded: set[str] = field(default_factory=set)
    #: When the lists were last asked for (or are being asked for); -inf: ask at once.
    listed_at: float = float("-inf")
    in_flight: int = 0
    #: Ejections in a row, without a request answered in between (the cooldown doubles with each).
    ejections: int = 0
    #: Out of rotation until this time (then probed); ``None``: in rotation.
    ejected_until: float | None = None
    #: When a probe was claimed (``None``: none running). A claim older than :data:`MAX_COOLDOWN`
    #: is taken for lost (its request was abandoned) and the probe is due again.
    probing_since: float | None = None
    last_error: str | None = None
    #: Order of the last pick: among equal hosts the least recently picked is next, so that
    #: sequential traffic spreads too.
    picked: int = 0

    @property
    def in_rotation(self) -> bool:
        return self.ejected_until is None

    def may_have(self, model: str | None) -> bool:
        return model is None or self.models is None or model in self.models


@dataclass(frozen=True, slots=True)
class Choice:
    """The answer of :meth:`HostPool.choose`: a host (its request counted in flight), or why none.

    ``full``: suitable hosts exist but each has ``max_in_flight`` requests (:meth:`HostPool.wait`);
    ``missing``: every host has said it lacks the model; ``exhausted``: nothing left to try now.
    """

    host: HostState | None
    reason: Reason
    #: :attr:`HostPool.releases` when ``full`` was decided (for :meth:`HostPool.wait`).
    releases: int = 0


@dataclass(eq=False, slots=True)
class Waiter:
    """A request queued for a free slot (compared by identity)."""

    model: str | None
    exclude: frozenset[str]
    wake: Callable[[], object]
    #: The host whose slot :meth:`HostPool.release` handed over.
    host: HostState | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """A request about a host that updates the pool: ``lists`` (tags and ps) or ``probe`` (version).
    ``urgent``: the request being routed must wait for it (nothing is known, or nothing else is up)."""

    host: HostState
    kind: Literal["lists", "probe"]
    urgent: bool


class HostPool:
    """The hosts of one provider and what is known about them (thread-safe, fork-safe)."""

    def __init__(
        self,
        urls: Iterable[str],
        *,
        max_in_flight: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_interval: float = REFRESH_INTERVAL,
    ) -> None:
        self.hosts = [HostState(url) for url in urls]
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.refresh_interval = refresh_interval
        #: Counts finished requests: a waiter that registers after one it did not see need not wait.
        self.releases = 0
        self._waiters: list[Waiter] = []
        self._lock = threading.Lock()
        self._picks = 0
        forget_in_child(self)

    def host(self, url: str) -> HostState:
        for state in self.hosts:
            if state.url == url:
                return state
        raise KeyError(url)

    # -- routing --------------------------------------------------------------------------------
    def choose(self, model: str | None, exclude: Collection[str], *, listed_only: bool = True) -> Choice:
        """The best host for ``model`` (canonical name) among those not in ``exclude`` (URLs).

        In rotation and possibly having the model (``listed_only=False``: whatever the lists say);
        then: the fewest requests in flight, a host without the model loaded counted as having one
        more (loading it costs about as much as waiting for one request); the model already loaded
        there; the least recently picked. The chosen host's in-flight count is raised at once, so
        concurrent requests spread; :meth:`release` lowers it.
        """
        with self._lock:
            suitable = [
                h
                for h in self.hosts
                if h.url not in exclude and h.in_rotation and (h.may_have(model) or not listed_only)
            ]
            free = [h for h in suitable if self.max_in_flight is None or h.in_flight < self.max_in_flight]
            if free:
                # A model load counts as one request ahead in the queue: a host where the model is
                # loaded wins while it is no busier, but concurrent requests do not all pile on it
                # while a host without the model loaded (restarted, just added) idles forever.
                def rank(h: HostState) -> tuple[int, bool, int]:
                    cold = model not in h.loaded
                    return (h.in_flight + cold, cold, h.picked)

                best = min(free, key=rank)
                self._picks += 1
                best.picked = self._picks
                best.in_flight += 1
                return Choice(best, "chosen")
            if suitable:
                return Choice(None, "full", self.releases)
            if model is not None and all(not h.may_have(model) for h in self.hosts):
                return Choice(None, "missing")
            return Choice(None, "exhausted")

    def release(self, host: HostState) -> None:
        """A request chosen on ``host`` is over (answered, failed, or its stream closed).

        If a queued request can use ``host``, the slot is handed straight to the one waiting
        longest (it stays counted in flight): a newcomer cannot take it first, so waiting is first
        come, first served, and one release wakes one waiter, not all of them.
        """
        with self._lock:
            self.releases += 1
            waiter = next((w for w in self._waiters if self._serves(host, w)), None)
            if waiter is None:
                host.in_flight = max(0, host.in_flight - 1)
            else:
                self._waiters.remove(waiter)
                waiter.host = host
                self._picks += 1
                host.picked = self._picks
        if waiter is not None:
            waiter.wake()

    @staticmethod
    def _serves(host: HostState, waiter: Waiter) -> bool:
        return host.url not in waiter.exclude and host.in_rotation and host.may_have(waiter.model)

    def wait(
        self, model: str | None, exclude: Collection[str], releases: int, wake: Callable[[], object]
    ) -> Waiter | None:
        """Queue for a slot on a host not in ``exclude`` that may have ``model``; ``wake`` is called
        (from any thread) once one is handed over. ``None`` when a release happened since
        ``releases`` was read: choose again at once instead."""
        with self._lock:
            if self.releases != releases:
                return None
            waiter = Waiter(model, frozenset(exclude), wake)
            self._waiters.append(waiter)
            return waiter

    def stop_waiting(self, waiter: Waiter) -> HostState | None:
        """Leave the queue (woken, timed out or cancelled): the host handed over, if one was. Its
        slot is the caller's: send the request there, or :meth:`release` it."""
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            return waiter.host

    def may_have_elsewhere(self, model: str | None, exclude: Collection[str]) -> bool:
        with self._lock:
            return any(h.url not in exclude and h.may_have(model) for h in self.hosts)

    def suitable(self, model: str | None) -> list[HostState]:
        """Hosts in rotation that may have ``model`` (for splitting a batch across them)."""
        with self._lock:
            return [h for h in self.hosts if h.in_rotation and h.may_have(model)]

    # -- what requests taught ---------------------------------------------------------------------
    def succeeded(self, host: HostState, model: str | None) -> None:
        """``host`` answered a request for ``model``: it has it, whatever its list said.

        The model is not marked loaded there from this alone (``/api/ps`` says, at the next
        refresh): it would make every later request prefer this host over its idle peers, and no
        traffic would ever spread.
        """
        with self._lock:
            host.ejections = 0
            host.last_error = None
            if model is not None and host.models is not None and model not in host.models:
                host.models = host.models | {model}

    def lacks(self, host: HostState, model: str) -> None:
        """``host`` answered "model not found": stop sending it ``model``, and ask its list again."""
        with self._lock:
            if host.models is None or model in host.models:  # its list was wrong or unknown: ask it
                host.listed_at = float("-inf")
            if host.models is not None:
                host.models = host.models - {model}
            host.loaded.discard(model)

    def forget_lists(self, host: HostState | None = None) -> None:
        """What ``host`` (default: every host) has installed changed: ask before routing to it."""
        with self._lock:
            for state in self.hosts if host is None else [host]:
                state.models = None
                state.listed_at = float("-inf")

    def eject(self, host: HostState, error: BaseException) -> None:
        """No connection could be made to ``host``: out of rotation for a cooldown."""
        with self._lock:
            host.ejections += 1
            cooldown = min(MAX_COOLDOWN, FIRST_COOLDOWN * 2.0 ** (host.ejections - 1))
            host.ejected_until = self.clock() + cooldown
            host.probing_since = None
            host.last_error = f"{type(error).__name__}: {error}"
            host.listed_at = float("-inf")  # it may come back with other models (a restart, a new box)
            host.loaded.clear()
        telemetry.ejected(host.url, error, cooldown)

    def restore(self, host: HostState) -> None:
        """A probe answered: ``host`` is back in rotation (its cooldown keeps doubling until a
        request succeeds there, so a host that answers probes but fails requests stays out longer)."""
        with self._lock:
            was_out = host.ejected_until is not None
            host.ejected_until = None
            host.probing_since = None
        if was_out:
            telemetry.restored(host.url)

    def learn(self, host: HostState, *, models: Iterable[str], loaded: Iterable[str]) -> None:
        """The answers of ``/api/tags`` and ``/api/ps`` on ``host``."""
        installed = frozenset(canonical_name(name) for name in models)
        in_memory = {canonical_name(name) for name in loaded}
        with self._lock:
            host.models = installed
            host.loaded = in_memory
            host.listed_at = self.clock()

    # -- checks -----------------------------------------------------------------------------------
    def due_checks(self, model: str | None, exclude: Collection[str]) -> list[Check]:
        """The checks due now, claimed (no other request will start the same one).

        A probe is urgent when no other host could take the request; lists are urgent when
        nothing is known of the host yet. The rest can run in the background.
        """
        now = self.clock()
        with self._lock:
            available = any(h.url not in exclude and h.in_rotation and h.may_have(model) for h in self.hosts)
            checks = []
            for host in self.hosts:
                if not host.in_rotation:
                    assert host.ejected_until is not None
                    claimed = host.probing_since is not None and now - host.probing_since < MAX_COOLDOWN
                    if host.ejected_until <= now and not claimed:
                        host.probing_since = now
                        checks.append(Check(host, "probe", urgent=not available))
                elif host.listed_at + self.refresh_interval <= now:
                    host.listed_at = now
                    checks.append(Check(host, "lists", urgent=host.models is None))
            return checks

    # -- reports ----------------------------------------------------------------------------------
    def describe(self) -> str:
        """Every host and its state, for error messages."""
        now = self.clock()
        with self._lock:
            parts = []
            for host in self.hosts:
                if host.in_rotation:
                    state = "up" if host.last_error is None else f"up, last error {host.last_error}"
                else:
                    assert host.ejected_until is not None
                    wait = max(0.0, host.ejected_until - now)
                    state = f"down ({host.last_error}; next probe in {wait:.1f}s)"
                parts.append(f"{host.url} {state}")
            return "; ".join(parts)

    def _after_fork_in_child(self) -> list[object]:
        # The parent's requests in flight and probes running are not the child's.
        self._lock = threading.Lock()
        inherited: list[object] = list(self._waiters)
        self._waiters = []
        for host in self.hosts:
            host.in_flight = 0
            host.probing_since = None
        return inherited

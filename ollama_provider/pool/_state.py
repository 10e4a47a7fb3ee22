"""Routing state of several Ollama hosts: which is up, which has the model, which is busy or unwell.

Sans-I/O, shared by the sync and async pooled transports like :mod:`ollama_provider._steps`: the
transports ask the pool where a request should go and tell it what happened; the pool never does
I/O, never sleeps and never blocks (its lock guards a few fields at a time).

A host is *in rotation* until it fails in a way that says it is down or unwell: a connection that
cannot be made (refused, unknown, connect timeout), or silence (no byte of an answer before the
deadline of a request, a probe or a model listing). It is then *ejected* for a cooldown (1 s,
doubling with each ejection in a row, at most 30 s), after which a ``GET /api/version`` probe must
answer before it gets traffic again; requests still waiting on it are told at once (:meth:`watch`).
Back in rotation, its share of the traffic starts at a tenth and grows to a full one over
``slow_start`` seconds, so a host that flaps does not take a full share each time it answers a
probe. A host answering 503 "server busy" gets half the share per busy answer (down to a
sixteenth), twice as much again per request it serves or second without a busy answer, and loses
the precedence of a host that has the model loaded meanwhile.

What each host has installed (``/api/tags``) and loaded (``/api/ps``) is asked when first needed,
refreshed in the background every :data:`REFRESH_INTERVAL` seconds, and at once after the host
answers "model not found". Every one of these housekeeping requests has ``probe_timeout`` seconds.
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
>>> pool.restore(a); round(pool.share(a), 2)  # it answered: back, with a tenth of a share at first
0.1
>>> now[0] = 6.5; round(pool.share(a), 2)  # half way through slow_start (10 s)
0.5
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

from .. import telemetry
from .._forks import forget_in_child
from .._names import canonical_name
from ..config import DEFAULT_PROBE_TIMEOUT, DEFAULT_SLOW_START

#: Seconds after which a host's lists of installed and loaded models are asked again.
REFRESH_INTERVAL = 30.0
FIRST_COOLDOWN = 1.0
MAX_COOLDOWN = 30.0
#: The share of a host just back in rotation (Envoy's slow start starts at 10 % too).
MIN_SHARE = 0.1
#: The least share a busy host keeps: it still gets a request now and then, to see it recover.
MIN_BUSY_SHARE = 1 / 16
#: Seconds without a busy answer after which a busy host's share doubles.
BUSY_RECOVERY = 1.0
#: Latencies kept per host and path (for a hedging delay at the observed 95th percentile), and how
#: many are needed before that percentile is trusted.
LATENCY_SAMPLES = 100
MIN_LATENCY_SAMPLES = 20

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
    #: Ejections in a row, without a request answered after a slow start in between (the cooldown
    #: doubles with each).
    ejections: int = 0
    #: Out of rotation until this time (then probed); ``None``: in rotation.
    ejected_until: float | None = None
    #: When a probe was claimed (``None``: none running). A claim older than :data:`MAX_COOLDOWN`
    #: is taken for lost (its request was abandoned) and the probe is due again.
    probing_since: float | None = None
    last_error: str | None = None
    #: When the host last answered anything (a request, an error status, a probe, its lists).
    heard_at: float = float("-inf")
    #: When it came back into rotation, while its slow start lasts (``None``: a full share).
    restored_at: float | None = None
    #: Its share as a busy host: halved by each 503 "server busy", doubled by each request served
    #: and each :data:`BUSY_RECOVERY` seconds since ``busy_at``, the last busy answer.
    busy_share: float = 1.0
    busy_at: float = float("-inf")
    #: Its place in the weighted turns: each pick moves it on by 1 / share, the lowest goes next
    #: among equal hosts, so sequential traffic spreads in proportion to the shares.
    turn: float = 0.0
    #: Recent latencies of answered requests, per path (for hedging at the observed p95).
    latencies: dict[str, deque[float]] = field(default_factory=dict)

    @property
    def in_rotation(self) -> bool:
        return self.ejected_until is None

    def may_have(self, model: str | None) -> bool:
        return model is None or self.models is None or model in self.models

    def lists(self, model: str) -> bool:
        """Its list of installed models is known and names ``model``."""
        return self.models is not None and model in self.models


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


@dataclass(eq=False, slots=True)
class Watch:
    """A request waiting for an answer from ``host``: ``wake`` is called if the host is ejected."""

    host: HostState
    wake: Callable[[], object]


@dataclass(frozen=True, slots=True)
class Check:
    """A request about a host that updates the pool: ``lists`` (tags and ps), ``probe`` (version,
    then the lists: an ejected host) or ``alive`` (version: a host in rotation that has been silent
    while requests wait on it). ``urgent``: the request being routed must wait for it (nothing is
    known, or nothing else is up)."""

    host: HostState
    kind: Literal["lists", "probe", "alive"]
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
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
        slow_start: float = DEFAULT_SLOW_START,
    ) -> None:
        self.hosts = [HostState(url) for url in urls]
        self.max_in_flight = max_in_flight
        self.clock = clock
        self.refresh_interval = refresh_interval
        self.probe_timeout = probe_timeout
        self.slow_start = slow_start
        #: Counts finished requests: a waiter that registers after one it did not see need not wait.
        self.releases = 0
        self._waiters: list[Waiter] = []
        self._watches: list[Watch] = []
        self._lock = threading.Lock()
        #: The turn of the last pick: a host that comes (back) into play starts there, not with a
        #: backlog of turns it missed.
        self._turn = 0.0
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
        then: the fewest requests in flight for its share (a host without the model loaded counted as
        having one more: loading it costs about as much as waiting for one request; a host back from
        an outage or answering "busy" lately has less than a full share), the model already loaded
        there, its turn (a host with half a share gets every second turn of its peers). The chosen
        host's in-flight count is raised at once, so concurrent requests spread; :meth:`release`
        lowers it.
        """
        now = self.clock()
        with self._lock:
            suitable = [
                h
                for h in self.hosts
                if h.url not in exclude and h.in_rotation and (h.may_have(model) or not listed_only)
            ]
            free = [h for h in suitable if self.max_in_flight is None or h.in_flight < self.max_in_flight]
            if free:
                ranks = {h.url: self._rank(h, model, now) for h in free}
                best = min(free, key=lambda h: ranks[h.url])
                self._take_turn(best, self._share(best, now))
                best.in_flight += 1
                return Choice(best, "chosen")
            if suitable:
                return Choice(None, "full", self.releases)
            if model is not None and all(not h.may_have(model) for h in self.hosts):
                return Choice(None, "missing")
            return Choice(None, "exhausted")

    def _rank(self, host: HostState, model: str | None, now: float) -> tuple[float, bool, float]:
        """Lowest first: its load for its share, not loaded (or busy lately), its turn."""
        busy = self._busy(host, now)
        # A model load counts as one request ahead in the queue: a host where the model is loaded
        # wins while it is no busier, but concurrent requests do not all pile on it while a host
        # without the model loaded (restarted, just added) idles forever.
        cold = model not in host.loaded
        # A busy host's requests bounce at once (503), so it has none in flight, yet it must not
        # look idle: with a sixteenth of a share it weighs as fifteen requests in flight.
        load = (host.in_flight + 1) / busy - 1
        if host.restored_at is not None:  # slow start: its requests in flight weigh more (when it
            load /= self._share(host, now) / busy  # has none, its turns come less often instead)
        return (load + cold, cold or busy < 1.0, max(host.turn, self._turn))

    def _take_turn(self, host: HostState, share: float) -> None:
        start = max(host.turn, self._turn)
        self._turn = start
        host.turn = start + 1.0 / share

    def share(self, host: HostState) -> float:
        """The part of a full share of the traffic ``host`` gets now (1.0: a full one)."""
        now = self.clock()
        with self._lock:
            return self._share(host, now)

    def _busy(self, host: HostState, now: float) -> float:
        if host.busy_share >= 1.0:
            return 1.0
        recovered = host.busy_share * 2.0 ** ((now - host.busy_at) / BUSY_RECOVERY)
        return 1.0 if recovered >= 1.0 else recovered

    def _share(self, host: HostState, now: float) -> float:
        share = self._busy(host, now)
        if host.restored_at is not None:
            ramp = (now - host.restored_at) / self.slow_start if self.slow_start > 0 else 1.0
            if ramp >= 1.0:
                host.restored_at = None  # slow start is over
            else:
                share *= max(MIN_SHARE, ramp)
        return share

    def release(self, host: HostState) -> None:
        """A request chosen on ``host`` is over (answered, failed, or its stream closed).

        If a queued request can use ``host``, the slot is handed straight to the one waiting
        longest (it stays counted in flight): a newcomer cannot take it first, so waiting is first
        come, first served, and one release wakes one waiter, not all of them.
        """
        now = self.clock()
        with self._lock:
            self.releases += 1
            waiter = next((w for w in self._waiters if self._serves(host, w)), None)
            if waiter is None:
                host.in_flight = max(0, host.in_flight - 1)
            else:
                self._waiters.remove(waiter)
                waiter.host = host
                self._take_turn(host, self._share(host, now))
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

    def listed_anywhere(self, model: str) -> bool:
        """Some host's known list names ``model`` (in rotation or not)."""
        with self._lock:
            return any(h.lists(model) for h in self.hosts)

    def suitable(self, model: str | None) -> list[HostState]:
        """Hosts in rotation that may have ``model`` (for splitting a batch across them)."""
        with self._lock:
            return [h for h in self.hosts if h.in_rotation and h.may_have(model)]

    # -- requests waiting on a host -----------------------------------------------------------------
    def watch(self, host: HostState, wake: Callable[[], object]) -> Watch:
        """Have ``wake`` called (from any thread) if ``host`` is ejected while a request waits on it:
        the request then leaves it for another host instead of waiting out its own deadline."""
        watch = Watch(host, wake)
        with self._lock:
            self._watches.append(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    # -- what requests taught ---------------------------------------------------------------------
    def heard(self, host: HostState) -> None:
        """``host`` answered something (an answer, an error status, a probe): it is alive."""
        now = self.clock()
        with self._lock:
            host.heard_at = now
            if host.in_rotation:
                host.probing_since = None  # a liveness probe, if one ran, is settled

    def succeeded(
        self, host: HostState, model: str | None, path: str | None = None, took: float | None = None
    ) -> None:
        """``host`` answered a request for ``model``: it has it, whatever its list said; it is less
        busy than it was. ``took``: seconds the answer of ``path`` took (for hedging at p95).

        The model is not marked loaded there from this alone (``/api/ps`` says, at the next
        refresh): it would make every later request prefer this host over its idle peers, and no
        traffic would ever spread.
        """
        now = self.clock()
        with self._lock:
            if host.restored_at is None or self._share(host, now) >= host.busy_share:
                # Back for good (its slow start over): the next ejection starts at the first cooldown.
                # A host that flaps, failing again within its slow start, is kept out longer each time.
                host.ejections = 0
            host.last_error = None
            host.heard_at = now
            if host.busy_share < 1.0:
                host.busy_share = min(1.0, self._busy(host, now) * 2.0)
                host.busy_at = now
            if model is not None and host.models is not None and model not in host.models:
                host.models = host.models | {model}
            if path is not None and took is not None:
                samples = host.latencies.get(path)
                if samples is None:
                    samples = host.latencies[path] = deque(maxlen=LATENCY_SAMPLES)
                samples.append(took)

    def busy(self, host: HostState) -> None:
        """``host`` answered 503 "server busy" (its queue is full): half the share it had."""
        now = self.clock()
        with self._lock:
            host.heard_at = now
            host.busy_share = max(MIN_BUSY_SHARE, self._busy(host, now) / 2.0)
            host.busy_at = now

    def lacks(self, host: HostState, model: str) -> None:
        """``host`` answered "model not found": stop sending it ``model``, and ask its list again."""
        now = self.clock()
        with self._lock:
            host.heard_at = now
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
        """``host`` is down or unwell (no connection could be made, or it stayed silent): out of
        rotation for a cooldown; requests waiting on it are woken (:meth:`watch`)."""
        with self._lock:
            host.ejections += 1
            cooldown = min(MAX_COOLDOWN, FIRST_COOLDOWN * 2.0 ** (host.ejections - 1))
            host.ejected_until = self.clock() + cooldown
            host.probing_since = None
            host.restored_at = None
            host.last_error = f"{type(error).__name__}: {error}"
            host.listed_at = float("-inf")  # it may come back with other models (a restart, a new box)
            host.loaded.clear()
            woken = [w for w in self._watches if w.host is host]
            self._watches = [w for w in self._watches if w.host is not host]
        telemetry.ejected(host.url, error, cooldown)
        for watch in woken:
            watch.wake()

    def restore(self, host: HostState) -> None:
        """A probe answered: ``host`` is back in rotation, with a reduced share that grows over
        ``slow_start`` seconds (its cooldown keeps doubling until a request succeeds there, so a host
        that answers probes but fails requests stays out longer)."""
        now = self.clock()
        with self._lock:
            was_out = host.ejected_until is not None
            host.ejected_until = None
            host.probing_since = None
            host.heard_at = now
            if was_out:
                host.restored_at = now if self.slow_start > 0 else None
                # Its next turn comes after its peers' (with a tenth of a share: ten turns of
                # theirs), not at once, and without a backlog of turns it missed while it was out.
                host.turn = max(host.turn, self._turn + 1.0 / self._share(host, now))
        if was_out:
            telemetry.restored(host.url)

    def unclaim(self, host: HostState) -> None:
        """A check of ``host`` ended without telling anything (our side failed): due again later."""
        with self._lock:
            host.probing_since = None

    def learn(self, host: HostState, *, models: Iterable[str], loaded: Iterable[str]) -> None:
        """The answers of ``/api/tags`` and ``/api/ps`` on ``host``."""
        installed = frozenset(canonical_name(name) for name in models)
        in_memory = {canonical_name(name) for name in loaded}
        now = self.clock()
        with self._lock:
            host.models = installed
            host.loaded = in_memory
            host.listed_at = now
            host.heard_at = now

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
                    if host.ejected_until <= now and not self._claimed(host, now):
                        host.probing_since = now
                        checks.append(Check(host, "probe", urgent=not available))
                elif host.listed_at + self.refresh_interval <= now:
                    host.listed_at = now
                    checks.append(Check(host, "lists", urgent=host.models is None))
            return checks

    def if_silent(self, host: HostState) -> Check | None:
        """A liveness probe of ``host``, claimed, if a request has waited on it while it said
        nothing for ``probe_timeout`` seconds: a busy server still answers ``/api/version`` at once,
        a frozen one (a paused VM, a stuck process) does not, and is then ejected."""
        now = self.clock()
        with self._lock:
            if not host.in_rotation or now - host.heard_at < self.probe_timeout or self._claimed(host, now):
                return None
            host.probing_since = now
            return Check(host, "alive", urgent=False)

    @staticmethod
    def _claimed(host: HostState, now: float) -> bool:
        return host.probing_since is not None and now - host.probing_since < MAX_COOLDOWN

    # -- hedging ------------------------------------------------------------------------------------
    def p95(self, host: HostState, path: str) -> float | None:
        """The 95th percentile of the latencies ``host`` answered ``path`` with lately; with too few
        of its own, of every host's; ``None`` while too few are known."""
        with self._lock:
            samples = list(host.latencies.get(path, ()))
            if len(samples) < MIN_LATENCY_SAMPLES:
                samples = [s for h in self.hosts for s in h.latencies.get(path, ())]
        if len(samples) < MIN_LATENCY_SAMPLES:
            return None
        samples.sort()
        return samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]

    # -- reports ----------------------------------------------------------------------------------
    def describe(self) -> str:
        """Every host and its state, for error messages."""
        now = self.clock()
        with self._lock:
            parts = []
            for host in self.hosts:
                if host.in_rotation:
                    state = "up" if host.last_error is None else f"up, last error {host.last_error}"
                    share = self._share(host, now)
                    if share < 1.0:
                        state += f", {share:.0%} of a share"
                else:
                    assert host.ejected_until is not None
                    wait = max(0.0, host.ejected_until - now)
                    state = f"down ({host.last_error}; next probe in {wait:.1f}s)"
                parts.append(f"{host.url} {state}")
            return "; ".join(parts)

    def _after_fork_in_child(self) -> list[object]:
        # The parent's requests in flight and probes running are not the child's.
        self._lock = threading.Lock()
        inherited: list[object] = [*self._waiters, *self._watches]
        self._waiters = []
        self._watches = []
        for host in self.hosts:
            host.in_flight = 0
            host.probing_since = None
        return inherited

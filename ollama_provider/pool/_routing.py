"""How one request finds a host of a :class:`~ollama_provider.pool._state.HostPool`: written once as a
plan that the sync and async pooled transports both run (like :mod:`ollama_provider._steps`).

A plan is a generator that yields *instructions* and receives their outcome:

* :class:`Send` — run a call on one host; the answer is sent back, or its error thrown in. While it
  waits, the shell probes a host that stays silent (:func:`if_silent`) and gives up on a host the
  pool ejects meanwhile (:func:`abandoned`);
* :class:`Race` — the same with a second copy on another host after a delay (hedging): the first
  answer wins, the other copy is cancelled;
* :class:`Run` — run other plans (checks of hosts), waiting for them (a while at most) or in the
  background;
* :class:`Sleep` — back off before the next round;
* :class:`WaitForSlot` — every suitable host is at ``max_in_flight_per_host``: wait for a release.

Failover happens before the first chunk only: a plan ends once a host has answered (for a
stream: once it has started), so a stream cut later is never sent anywhere else.

>>> from ollama_provider import _calls as calls
>>> pool = HostPool(["http://a:11434", "http://b:11434"])
>>> for host in pool.hosts:
...     pool.learn(host, models=["llama3.2"], loaded=[])
>>> plan = route(pool, calls.version(), RetryPolicy(retries=0))
>>> first = next(plan)
>>> first.host.url
'http://a:11434'
>>> from ollama_provider.errors import OllamaTimeoutError
>>> second = plan.throw(OllamaTimeoutError("no answer within 5s", silent=True))  # fails over at once
>>> second.host.url
'http://b:11434'
>>> try:
...     plan.send("0.33.0")
... except StopIteration as done:
...     host, answer = done.value
>>> host.url, answer, pool.hosts[0].in_rotation
('http://b:11434', '0.33.0', False)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from .. import _calls as calls
from .. import telemetry
from .._names import canonical_name
from .._protocol import Call
from .._retry import RetryPolicy
from ..config import HEDGE_AT_P95
from ..errors import (
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
    ServerBusyError,
)
from ._state import Check, HostPool, HostState

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``call`` on ``host``. ``deadline``: seconds for every phase instead of the configured
    timeouts (housekeeping). ``watch``: while no answer has come, every ``watch`` seconds the shell
    runs :func:`if_silent` for the host, and it stops waiting (throwing :func:`abandoned` into the
    plan) as soon as the pool ejects the host (:meth:`HostPool.watch`)."""

    host: HostState
    call: Call[Any]
    deadline: float | None = None
    watch: float | None = None


@dataclass(frozen=True, slots=True)
class Race:
    """Hedging: run ``first``; if it has not answered after ``after`` seconds, also run the send
    ``second()`` returns (``None``: no host to hedge on). The outcome is a :class:`RaceOutcome`:
    the first answer wins and the shell cancels the other copy. A copy that fails does not end the
    race while the other may still answer; if ``first`` fails before ``after``, the race ends there
    (the plan fails over as usual)."""

    first: Send
    after: float
    second: Callable[[], Send | None]


@dataclass(slots=True)
class RaceOutcome:
    """What became of each copy of a :class:`Race`."""

    winner: Send | None = None
    answer: Any = None
    failed: list[tuple[Send, OllamaError]] = field(default_factory=list)
    #: Copies given up on: still running when another answered (the shell cancels them).
    cancelled: list[Send] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Run:
    """Run ``plans``; ``wait``: until they end, at most ``limit`` seconds (``None``: no limit), the
    rest then running on in the background; else in the background at once."""

    plans: list[Plan[None]]
    wait: bool
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class WaitForSlot:
    """Queue on :meth:`HostPool.wait` for a slot that can serve ``model`` on a host not in
    ``exclude``; the outcome is the host handed over (``None``: choose again at once). Give up at
    ``deadline`` (``pool.clock()`` time, ``None``: never) with an :class:`OllamaTimeoutError`."""

    model: str | None
    exclude: frozenset[str]
    releases: int
    deadline: float | None


Instruction = Send | Race | Run | Sleep | WaitForSlot
Plan = Generator[Instruction, Any, T]


def route(
    pool: HostPool,
    call: Call[Any],
    policy: RetryPolicy,
    *,
    slot_wait: float | None = None,
    hedge_after: float | str | None = None,
    op: telemetry.Operation | None = None,
) -> Plan[tuple[HostState, Any]]:
    """Send ``call`` to the best host, failing over before its first chunk: ``(host, answer)``.

    The chosen host stays counted in flight: the caller releases it when it is done with the
    answer (at once, or when the stream it opened is closed). Within a round every suitable host is
    tried once, at once; between rounds the policy's backoff applies, ``retries`` times. A host
    that sends nothing before the deadline (``first_chunk_timeout`` for a request that runs the
    model, ``timeout`` for the others) is left like a host that refuses connections: ejected, and
    the request goes on to the next host. A call marked ``hedge`` goes to a second host too when
    ``hedge_after`` is set and the first has not answered by then. Each failover and each new round
    is reported (:mod:`ollama_provider.telemetry`; ``op``: the request's span and metrics, if
    someone listens).
    """
    model = canonical_name(call.model) if call.model else None
    rounds = policy.retries + 1 if call.retry else 1
    once = replace(call, retry=False)  # each host gets one attempt per round: the rounds are the retries
    # The longest wait for a slot, from the first wait of an attempt: a request that leaves a host
    # (it failed, or was given up on) starts its wait for a slot elsewhere afresh.
    slot_deadline: float | None = None
    last_error: OllamaError | None = None
    last_host: HostState | None = None
    relisted = searching = False
    for round_ in range(rounds):
        failed: HostState | None = None  # the host this request just left, within the round
        if round_:
            wait = policy.wait_seconds(round_, last_error)
            if last_host is not None and last_error is not None:
                telemetry.retrying(op, last_host.url, last_error, round_, wait, of=rounds)
            yield Sleep(wait)
        tried: set[str] = set()
        while True:
            yield from _due_checks(pool, model, tried)
            choice = pool.choose(model, exclude=tried, listed_only=not searching)
            if (
                choice.host is None
                and choice.reason in ("missing", "exhausted")
                and model is not None
                and not searching
                and not pool.listed_anywhere(model)
            ):
                if not relisted:
                    pool.forget_lists()  # pulled since we last asked? ask every host again
                    relisted = True
                    continue
                # No list names it, yet a server may still know it under another name (an alias,
                # a digest, a model being created): the hosts in rotation are asked one by one
                # until one answers; its 404 then speaks for all.
                searching = True
                continue
            host = choice.host
            if host is None and choice.reason == "full":
                if slot_deadline is None and slot_wait is not None:
                    slot_deadline = pool.clock() + slot_wait
                host = yield WaitForSlot(model, frozenset(tried), choice.releases, slot_deadline)
                if host is None:
                    continue
            if host is None:
                if choice.reason == "missing" and not searching:
                    raise _not_anywhere(pool, call)
                break
            tried.add(host.url)
            if failed is not None and last_error is not None:
                telemetry.failed_over(op, failed.url, last_error, host.url)
            delay = _hedge_delay(pool, host, call, hedge_after)
            started = pool.clock()
            if delay is None:
                try:
                    answer = yield Send(host, once, watch=pool.probe_timeout)
                except OllamaError as error:
                    pool.release(host)
                    if searching and isinstance(error, ModelNotFoundError) and model is not None:
                        pool.lacks(host, model)
                        raise _not_anywhere(pool, call) from None
                    if not _fail_over(pool, host, model, error):
                        raise
                    last_error, last_host, failed = error, host, host
                    slot_deadline = None
                    continue
                except BaseException:  # the plan was closed (the caller was cancelled or interrupted)
                    pool.release(host)
                    raise
                pool.succeeded(host, model, call.path, pool.clock() - started)
                return host, answer
            second = _Second(pool, model, once, tried, listed_only=not searching, first=host)
            try:
                outcome: RaceOutcome = yield Race(Send(host, once, watch=pool.probe_timeout), delay, second)
            except BaseException:
                pool.release(host)
                for extra in second.chosen:
                    pool.release(extra)
                raise
            for send in outcome.cancelled:
                pool.release(send.host)
            fatal: OllamaError | None = None
            for send, failure in outcome.failed:
                pool.release(send.host)
                if searching and isinstance(failure, ModelNotFoundError) and model is not None:
                    pool.lacks(send.host, model)
                    fatal = fatal or _not_anywhere(pool, call)
                elif not _fail_over(pool, send.host, model, failure):
                    fatal = fatal or failure
                last_error, last_host, failed = failure, send.host, send.host
                slot_deadline = None
            if outcome.winner is not None:
                winner = outcome.winner.host
                sent_at = started if winner is host else started + delay  # the second copy left later
                pool.succeeded(winner, model, call.path, pool.clock() - sent_at)
                return winner, outcome.answer
            if fatal is not None:
                raise fatal
    raise _gave_up(pool, last_error)


@dataclass(slots=True)
class _Second:
    """The second copy of a hedged request: a host chosen when the delay is over (not before, so
    the request holds no second slot it may not need)."""

    pool: HostPool
    model: str | None
    call: Call[Any]
    tried: set[str]
    listed_only: bool
    first: HostState
    chosen: list[HostState] = field(default_factory=list)

    def __call__(self) -> Send | None:
        choice = self.pool.choose(self.model, exclude=self.tried, listed_only=self.listed_only)
        if choice.host is None:
            return None
        self.tried.add(choice.host.url)
        self.chosen.append(choice.host)
        telemetry.hedged(self.first.url, choice.host.url)
        return Send(choice.host, self.call, watch=self.pool.probe_timeout)


def _hedge_delay(
    pool: HostPool, host: HostState, call: Call[Any], hedge_after: float | str | None
) -> float | None:
    """Seconds after which a second copy of ``call`` goes out, or ``None`` (no hedging)."""
    if hedge_after is None or not call.hedge or len(pool.hosts) < 2:
        return None
    if hedge_after == HEDGE_AT_P95:
        return pool.p95(host, call.path)
    assert not isinstance(hedge_after, str)
    return float(hedge_after)


def suitable_hosts(pool: HostPool, model: str | None) -> Plan[int]:
    """How many hosts could take a request for ``model`` now (asking the lists first if unknown)."""
    yield from _due_checks(pool, canonical_name(model) if model else None, ())
    return len(pool.suitable(canonical_name(model) if model else None))


def _due_checks(pool: HostPool, model: str | None, tried: Collection[str]) -> Plan[None]:
    checks = pool.due_checks(model, exclude=tried)
    later = [check_host(pool, c) for c in checks if not c.urgent]
    urgent = [check_host(pool, c) for c in checks if c.urgent]
    if later:
        yield Run(later, wait=False)
    if urgent:
        # Each of their requests has probe_timeout: a host that does not answer in time is ejected
        # by its own check. The request waits no longer than that (and a moment for the news).
        yield Run(urgent, wait=True, limit=pool.probe_timeout * 1.1 + 0.05)


def if_silent(pool: HostPool, host: HostState) -> Plan[None] | None:
    """A liveness probe of ``host`` (run in the background), if a request waits on it and it has
    said nothing for a while (:meth:`HostPool.if_silent`); ``None`` when none is due."""
    check = pool.if_silent(host)
    return None if check is None else check_host(pool, check)


def check_host(pool: HostPool, check: Check) -> Plan[None]:
    """Ask ``check.host`` for its lists (tags, ps) or probe it (version), and tell the pool.

    Each request has ``probe_timeout`` seconds: a host that does not answer in time, like one that
    cannot be reached, is ejected (or stays out, its cooldown doubled)."""
    host = check.host
    limit = pool.probe_timeout
    try:
        if check.kind == "alive":
            yield Send(host, _quick(calls.version()), deadline=limit)
            pool.heard(host)  # alive; if it was ejected meanwhile, its cooldown and probe still apply
            return
        if check.kind == "probe":
            yield Send(host, _quick(calls.version()), deadline=limit)
            pool.restore(host)
        installed = yield Send(host, _quick(calls.list_models()), deadline=limit)
    except OllamaError as error:
        if _unreachable(error) or _silent(error):
            pool.eject(host, error)
        elif _answered(error):
            if check.kind == "probe":
                pool.restore(host)  # it answered something: it is up
            else:
                pool.heard(host)
        else:  # our side (every connection of the client busy): nothing learnt, ask again later
            pool.unclaim(host)
        return
    try:
        running = yield Send(host, _quick(calls.list_running()), deadline=limit)
    except OllamaError:  # a proxy or an older server without /api/ps: nothing known to be loaded
        running = []
    pool.learn(host, models=[m.name for m in installed], loaded=[m.name for m in running])


class Abandoned(OllamaConnectionError):
    """What a shell throws into a plan whose :class:`Send` it stopped waiting for, because the pool
    ejected its host meanwhile (it is down or silent): the request goes on to another host."""


def abandoned(host: HostState) -> Abandoned:
    return Abandoned(
        f"gave up waiting for {host.url}: it was taken out of rotation meanwhile ({host.last_error})",
        host=host.url,
    )


def _quick(call: Call[T]) -> Call[T]:
    return replace(call, retry=False)


def _unreachable(error: OllamaError) -> bool:
    """No connection could be made: the host is down (not merely busy or answering errors)."""
    if isinstance(error, OllamaConnectionError):
        return error.unreachable
    return isinstance(error, OllamaTimeoutError) and error.retryable  # a connect timeout


def _silent(error: OllamaError) -> bool:
    """The host sent no byte of its answer before the deadline (hung, paused, or too slow)."""
    return isinstance(error, OllamaTimeoutError) and error.silent


def _answered(error: OllamaError) -> bool:
    """The host answered (an HTTP error status, or something that is not Ollama's protocol)."""
    return not isinstance(error, (OllamaConnectionError, OllamaTimeoutError))


def _fail_over(pool: HostPool, host: HostState, model: str | None, error: OllamaError) -> bool:
    """Record what ``error`` says about ``host``; whether the request may go to another host."""
    if _unreachable(error) or _silent(error):
        # Silent: nothing reached the caller, so the request may go elsewhere. The host may still
        # compute the abandoned request (a paused box that resumes does): that is the price of
        # not waiting on it.
        pool.eject(host, error)
        return True
    if isinstance(error, ModelNotFoundError) and model is not None:
        pool.lacks(host, model)
        return True
    if isinstance(error, ServerBusyError):  # 502/503/504, "server busy": in rotation, a smaller share
        if error.status_code == 503:
            pool.busy(host)
        else:
            pool.heard(host)
        return True
    if isinstance(error, OllamaResponseError):
        pool.heard(host)
    # A connection dropped before any answer (or given up on: abandoned): the next host.
    return isinstance(error, OllamaConnectionError) and error.retryable


def _not_anywhere(pool: HostPool, call: Call[Any]) -> ModelNotFoundError:
    asked = ", ".join(host.url for host in pool.hosts)
    down = [host.url for host in pool.hosts if not host.in_rotation]
    unreachable = f"; {', '.join(down)} could not be asked" if down else ""
    return ModelNotFoundError(
        f"model '{call.model}' not found on any host (asked: {asked}{unreachable})", model=call.model
    )


def _gave_up(pool: HostPool, last_error: OllamaError | None) -> OllamaError:
    """The error once every round is spent: the last host's own answer (busy, not found...), or,
    when the hosts that could answer are down or silent, one error naming every host and its state."""
    if last_error is not None and _silent(last_error):
        return OllamaTimeoutError(
            f"no Ollama host answered in time ({pool.describe()}); the last said: {last_error}", silent=True
        )
    if last_error is not None and not _unreachable(last_error) and not isinstance(last_error, Abandoned):
        return last_error
    hosts = ", ".join(host.url for host in pool.hosts)
    return OllamaConnectionError(
        f"none of the Ollama hosts could be reached ({pool.describe()}). Is Ollama running on "
        f"{hosts}? Start it with `ollama serve`, or fix the hosts list.",
        host=hosts,
        unreachable=True,
    )

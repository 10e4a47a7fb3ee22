"""How one request finds a host of a :class:`~ollama_provider.pool._state.HostPool`: written once as a
plan that the sync and async pooled transports both run (like :mod:`ollama_provider._steps`).

A plan is a generator that yields *instructions* and receives their outcome:

* :class:`Send` — run a call on one host; the answer is sent back, or its error thrown in;
* :class:`Run` — run other plans (checks of hosts), waiting for them or in the background;
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
>>> from ollama_provider.errors import OllamaConnectionError
>>> second = plan.throw(OllamaConnectionError("refused", unreachable=True))  # fails over at once
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

from collections.abc import Collection, Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .. import _calls as calls
from .. import telemetry
from .._names import canonical_name
from .._protocol import Call
from .._retry import RetryPolicy
from ..errors import (
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaTimeoutError,
    ServerBusyError,
)
from ._state import Check, HostPool, HostState

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Send:
    host: HostState
    call: Call[Any]


@dataclass(frozen=True, slots=True)
class Run:
    plans: list[Plan[None]]
    wait: bool


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


Instruction = Send | Run | Sleep | WaitForSlot
Plan = Generator[Instruction, Any, T]


def route(
    pool: HostPool,
    call: Call[Any],
    policy: RetryPolicy,
    *,
    slot_wait: float | None = None,
    op: telemetry.Operation | None = None,
) -> Plan[tuple[HostState, Any]]:
    """Send ``call`` to the best host, failing over before its first chunk: ``(host, answer)``.

    The chosen host stays counted in flight: the caller releases it when it is done with the
    answer (at once, or when the stream it opened is closed). Within a round every suitable host is
    tried once, at once; between rounds the policy's backoff applies, ``retries`` times. Each
    failover and each new round is reported (:mod:`ollama_provider.telemetry`; ``op``: the request's
    span and metrics, if someone listens).
    """
    model = canonical_name(call.model) if call.model else None
    rounds = policy.retries + 1 if call.retry else 1
    once = replace(call, retry=False)  # each host gets one attempt per round: the rounds are the retries
    deadline = None if slot_wait is None else pool.clock() + slot_wait
    last_error: OllamaError | None = None
    last_host: HostState | None = None
    relisted = unlisted = False
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
            choice = pool.choose(model, exclude=tried)
            if choice.reason == "missing" and not relisted:
                pool.forget_lists()  # pulled since we last asked? ask every host again
                relisted = True
                continue
            if choice.reason == "missing" and not unlisted:
                # No list names it, yet a server may still know it under another name (an alias,
                # a digest, a model being created): one host answers for all, a 404 ends it.
                choice = pool.choose(model, exclude=tried, listed_only=False)
                unlisted = True
            host = choice.host
            if host is None and choice.reason == "full":
                host = yield WaitForSlot(model, frozenset(tried), choice.releases, deadline)
                if host is None:
                    continue
            if host is None:
                if choice.reason == "missing":
                    raise _not_anywhere(pool, call)
                break
            tried.add(host.url)
            if failed is not None and last_error is not None:
                telemetry.failed_over(op, failed.url, last_error, host.url)
            try:
                answer = yield Send(host, once)
            except OllamaError as error:
                pool.release(host)
                if not _fail_over(pool, host, model, error):
                    raise
                last_error, last_host, failed = error, host, host
                continue
            except BaseException:  # the plan was closed (the caller was cancelled or interrupted)
                pool.release(host)
                raise
            pool.succeeded(host, model)
            return host, answer
    raise _gave_up(pool, last_error)


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
        yield Run(urgent, wait=True)


def check_host(pool: HostPool, check: Check) -> Plan[None]:
    """Ask ``check.host`` for its lists (tags, ps) or probe it (version), and tell the pool."""
    host = check.host
    try:
        if check.kind == "probe":
            yield Send(host, _quick(calls.version()))
            pool.restore(host)
        installed = yield Send(host, _quick(calls.list_models()))
    except OllamaError as error:
        if _unreachable(error):
            pool.eject(host, error)
        elif check.kind == "probe":
            pool.restore(host)  # it answered something: it is up
        return
    try:
        running = yield Send(host, _quick(calls.list_running()))
    except OllamaError:  # a proxy or an older server without /api/ps: nothing known to be loaded
        running = []
    pool.learn(host, models=[m.name for m in installed], loaded=[m.name for m in running])


def _quick(call: Call[T]) -> Call[T]:
    return replace(call, retry=False)


def _unreachable(error: OllamaError) -> bool:
    """No connection could be made: the host is down (not merely busy or answering errors)."""
    if isinstance(error, OllamaConnectionError):
        return error.unreachable
    return isinstance(error, OllamaTimeoutError) and error.retryable  # a connect timeout


def _fail_over(pool: HostPool, host: HostState, model: str | None, error: OllamaError) -> bool:
    """Record what ``error`` says about ``host``; whether the request may go to another host."""
    if _unreachable(error):
        pool.eject(host, error)
        return True
    if isinstance(error, ModelNotFoundError) and model is not None:
        pool.lacks(host, model)
        return True
    # A busy server (502/503/504, "server busy") or a connection dropped before any answer:
    # the host stays in rotation, the request tries the next one.
    return isinstance(error, (ServerBusyError, OllamaConnectionError)) and error.retryable


def _not_anywhere(pool: HostPool, call: Call[Any]) -> ModelNotFoundError:
    asked = ", ".join(host.url for host in pool.hosts)
    return ModelNotFoundError(
        f"model '{call.model}' not found on any host (asked: {asked})", model=call.model
    )


def _gave_up(pool: HostPool, last_error: OllamaError | None) -> OllamaError:
    """The error once every round is spent: the last host's own answer (busy, not found...), or,
    when the hosts that could answer are down, one error naming every host and its state."""
    if last_error is not None and not _unreachable(last_error):
        return last_error
    hosts = ", ".join(host.url for host in pool.hosts)
    return OllamaConnectionError(
        f"none of the Ollama hosts could be reached ({pool.describe()}). Is Ollama running on "
        f"{hosts}? Start it with `ollama serve`, or fix the hosts list.",
        host=hosts,
        unreachable=True,
    )

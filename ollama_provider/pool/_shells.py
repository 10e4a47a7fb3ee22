"""I/O shells for several hosts: run :mod:`ollama_provider.pool._routing` plans on per-host transports.

Each host keeps today's single-host transport (its own pooled clients, health and error
messages). A routed request gets one attempt per host and round: the plan decides what is
retried, where and when; model management on one host keeps that host's own retries. The sync
and async shells differ only in how they wait: threads and events, or tasks and futures.

A routed send runs where its caller can stop waiting for it: on a worker thread (sync) or in a
task (async). While it waits, the shell probes a host that has said nothing for a while, gives the
send up when the pool ejects its host (the request goes on to another host at once, instead of
waiting out its own deadline), and, for a hedged request, starts a second copy elsewhere. A copy
given up on is cancelled where that is possible (async: its connection is closed, and Ollama stops
work on a request whose client went away); a sync one cannot be interrupted in its thread, so it
runs on until it ends or times out, and what it brings is thrown away (a stream it opened is
closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from time import perf_counter
from typing import Any, TypeVar

from .. import telemetry
from .._forks import forget_in_child
from .._health import HealthTracker
from .._protocol import Call
from .._retry import RetryPolicy
from .._transport import AsyncTransport, Opened, SyncTransport
from ..config import OllamaConfig
from ..errors import OllamaError, OllamaTimeoutError
from ._routing import (
    Plan,
    Race,
    RaceOutcome,
    Run,
    Send,
    Sleep,
    WaitForSlot,
    abandoned,
    if_silent,
    route,
    suitable_hosts,
)
from ._state import HostPool, HostState, Waiter

T = TypeVar("T")
#: Seconds an idle worker thread waits for another send before it ends.
WORKER_IDLE = 30.0


class _PoolShell:
    """What both pooled shells share: the pool, the per-host health, the retry policy."""

    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        self.config = config
        self.health = health
        self.pool = HostPool(
            config.base_urls,
            max_in_flight=config.max_in_flight_per_host,
            probe_timeout=config.probe_timeout,
            slow_start=config.slow_start,
        )
        self._policy = RetryPolicy(config.retries, config.backoff_base, config.backoff_max)

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.config.base_urls

    def _route(self, call: Call[Any], op: telemetry.Operation | None) -> Plan[tuple[HostState, Any]]:
        return route(
            self.pool,
            call,
            self._policy,
            slot_wait=self.config.first_chunk_timeout,
            hedge_after=self.config.hedge_after,
            op=op,
        )

    def _no_slot(self) -> OllamaTimeoutError:
        return OllamaTimeoutError(
            f"no host had a free slot within {self.config.first_chunk_timeout}s "
            f"(max_in_flight_per_host={self.config.max_in_flight_per_host}): every suitable host stayed busy "
            f"({self.pool.describe()}). Raise first_chunk_timeout or max_in_flight_per_host, or add hosts."
        )

    def _handed(self, waiter: Waiter) -> HostState:
        """The host handed over to ``waiter``: none by now means the wait ran out."""
        handed = self.pool.stop_waiting(waiter)
        if handed is None:
            raise self._no_slot()
        return handed

    def _give_back(self, waiter: Waiter) -> None:
        """The wait was interrupted or cancelled: a slot handed over meanwhile goes to the next."""
        handed = self.pool.stop_waiting(waiter)
        if handed is not None:
            self.pool.release(handed)

    def _outcome(
        self, started: float, op: telemetry.Operation | None, error: BaseException | None = None
    ) -> None:
        if error is None:
            self.health.record_success(perf_counter() - started)
            return
        if isinstance(error, OllamaError):
            self.health.record_failure(error)
        if op is not None:
            op.failed(error)


def _answer_of(outcome: RaceOutcome) -> Any:
    """The answer of a plain (unhedged) send, or its error."""
    if outcome.winner is not None:
        return outcome.answer
    raise outcome.failed[0][1]


# -- sync ------------------------------------------------------------------------------------------------
class _Workers:
    """Daemon threads for sends a caller may stop waiting for: an idle thread takes the next send, a
    new one starts when none is idle (a send never queues behind one stuck on a frozen host), and an
    idle thread ends after :data:`WORKER_IDLE` seconds. Daemon: a send stuck on a frozen host does
    not hold the interpreter's exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue[Callable[[], None]]] = []
        forget_in_child(self)

    def run(self, job: Callable[[], None]) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            threading.Thread(target=self._serve, args=(queue.SimpleQueue(), job), daemon=True).start()
        else:
            inbox.put(job)

    def _serve(self, inbox: queue.SimpleQueue[Callable[[], None]], job: Callable[[], None] | None) -> None:
        while job is not None:
            job()
            job = None
            with self._lock:
                self._idle.append(inbox)
            try:
                job = inbox.get(timeout=WORKER_IDLE)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:
                        self._idle.remove(inbox)
                        return
                job = inbox.get()  # taken off the idle list just now: its send is on the way

    def _after_fork_in_child(self) -> list[object]:
        self._lock = threading.Lock()  # the parent's threads are not in the child
        inherited: list[object] = list(self._idle)
        self._idle = []
        return inherited


class _Flight:
    """One send on a worker thread: its outcome, unless the caller stopped waiting for it first (an
    answer that comes after that is discarded by ``discard``: an opened stream is closed)."""

    __slots__ = ("_abandoned", "_discard", "_job", "_lock", "_woken", "ejected", "outcome", "step")

    def __init__(
        self, step: Send, job: Callable[[], Any], discard: Callable[[Any], None], woken: threading.Event
    ) -> None:
        self.step = step
        self._job = job
        self._discard = discard
        self._woken = woken
        self._lock = threading.Lock()
        self._abandoned = False
        self.outcome: tuple[bool, Any] | None = None
        #: Set when the pool ejected the host while the send waited.
        self.ejected = False

    def __call__(self) -> None:
        try:
            outcome: tuple[bool, Any] = (True, self._job())
        except BaseException as error:
            outcome = (False, error)
        with self._lock:
            late = self._abandoned
            if not late:
                self.outcome = outcome
        if not late:
            self._woken.set()
        elif outcome[0]:
            self._discard(outcome[1])

    def on_ejected(self) -> None:
        self.ejected = True
        self._woken.set()

    def abandon(self) -> tuple[bool, Any] | None:
        """Stop waiting: ``None``, or the outcome if it came just before."""
        with self._lock:
            if self.outcome is None:
                self._abandoned = True
            return self.outcome


SyncSend = Callable[[HostState, Call[Any], "float | None"], Any]


class SyncPoolTransport(_PoolShell):
    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        super().__init__(config, health)
        self.transports = {url: SyncTransport(config.for_host(url), HealthTracker(url)) for url in self.hosts}
        self._workers = _Workers()

    def request(self, call: Call[T]) -> T:
        started = perf_counter()
        op = telemetry.start(call, None)
        try:
            host, answer = self._drive(self._route(call, op), self._send)
        except BaseException as error:
            self._outcome(started, op, error)
            raise
        self.pool.release(host)
        self._outcome(started, op)
        if op is not None:
            op.succeeded(host.url, answer)
        result: T = answer
        return result

    def stream(self, call: Call[Any]) -> Iterator[Any]:
        started = perf_counter()
        op = telemetry.start(call, None)
        opener = self._open if op is None else functools.partial(self._open, op=op)
        try:
            host, opened = self._drive(self._route(call, op), opener)
        except BaseException as error:
            self._outcome(started, op, error)
            raise
        self._outcome(started, op)  # opened: the pool answered (a cut later is the host's stream's)
        transport = self.transports[host.url]
        try:
            yield from transport.read(opened)
        finally:
            transport.release(opened)
            self.pool.release(host)

    def spread(self, model: str | None) -> int:
        return self._drive(suitable_hosts(self.pool, model), self._send)

    def _send(self, host: HostState, call: Call[Any], deadline: float | None = None) -> Any:
        return self.transports[host.url].send(call, deadline=deadline)

    def _open(
        self,
        host: HostState,
        call: Call[Any],
        deadline: float | None = None,
        op: telemetry.Operation | None = None,
    ) -> Any:
        return self.transports[host.url].open(call, op)

    def _discard(self, host: HostState, answer: Any) -> None:
        """An answer nobody waits for any more: a stream it opened is closed."""
        if isinstance(answer, Opened):
            self.transports[host.url].release(answer)

    def _drive(self, plan: Plan[T], send: SyncSend) -> T:
        try:
            step = next(plan)
            while True:
                try:
                    outcome = self._do(step, send)
                except OllamaError as error:
                    step = plan.throw(error)
                else:
                    step = plan.send(outcome)
        except StopIteration as done:
            result: T = done.value
            return result
        except BaseException:
            plan.close()  # interrupted: the plan releases what it holds
            raise

    def _do(self, step: Any, send: SyncSend) -> Any:
        if isinstance(step, Send):
            if step.watch is None:
                return send(step.host, step.call, step.deadline)
            return _answer_of(self._fly(step, None, None, send))
        if isinstance(step, Race):
            return self._fly(step.first, step.after, step.second, send)
        if isinstance(step, Run):
            self._run(step)
        elif isinstance(step, Sleep):
            time.sleep(step.seconds)
        elif isinstance(step, WaitForSlot):
            return self._wait_for_slot(step)
        return None

    def _run(self, step: Run) -> None:
        threads = [
            threading.Thread(target=self._drive, args=(plan, self._send), daemon=True) for plan in step.plans
        ]
        for thread in threads:
            thread.start()
        if step.wait:
            until = None if step.limit is None else time.monotonic() + step.limit
            for thread in threads:
                thread.join(None if until is None else max(0.0, until - time.monotonic()))

    def _fly(
        self, first: Send, after: float | None, second: Callable[[], Send | None] | None, send: SyncSend
    ) -> RaceOutcome:
        """Run ``first`` on a worker, watched (see the module's docstring); with ``after`` and
        ``second``, a second copy when ``first`` has not answered after ``after`` seconds."""
        woken = threading.Event()
        flights: list[_Flight] = []
        watches = []
        outcome = RaceOutcome()

        def launch(step: Send) -> None:
            # In the caller's context (its current span, for whoever instruments httpx), as in its thread.
            job = functools.partial(contextvars.copy_context().run, send, step.host, step.call, step.deadline)
            flight = _Flight(step, job, functools.partial(self._discard, step.host), woken)
            flights.append(flight)
            watches.append(self.pool.watch(step.host, flight.on_ejected))
            self._workers.run(flight)

        started = time.monotonic()
        look = first.watch
        next_look = None if look is None else started + look
        hedge_at = None if after is None or second is None else started + after
        launch(first)
        pending = list(flights)
        try:
            while pending:
                now = time.monotonic()
                moments = [t for t in (next_look, hedge_at) if t is not None]
                woken.wait(max(0.0, min(moments) - now) if moments else None)
                woken.clear()
                for flight in list(pending):
                    settled = flight.outcome if not flight.ejected else flight.abandon()
                    if settled is None and not flight.ejected:
                        continue
                    pending.remove(flight)
                    if settled is None:  # ejected while it waited: give it up
                        outcome.failed.append((flight.step, abandoned(flight.step.host)))
                        continue
                    ok, value = settled
                    if ok and outcome.winner is None:
                        outcome.winner, outcome.answer = flight.step, value
                    elif ok:  # a second answer in the same instant: not needed
                        self._discard(flight.step.host, value)
                        outcome.cancelled.append(flight.step)
                    elif isinstance(value, OllamaError):
                        outcome.failed.append((flight.step, value))
                    else:
                        raise value
                if outcome.winner is not None or not pending:
                    break
                now = time.monotonic()
                if hedge_at is not None and now >= hedge_at:
                    hedge_at = None
                    extra = second() if second is not None else None
                    if extra is not None:
                        launch(extra)
                        pending.append(flights[-1])
                if next_look is not None and look is not None and now >= next_look:
                    next_look = now + look
                    for flight in pending:
                        check = if_silent(self.pool, flight.step.host)
                        if check is not None:
                            self._run(Run([check], wait=False))
        except BaseException:
            if outcome.winner is not None:
                self._discard(outcome.winner.host, outcome.answer)
            raise
        finally:
            for flight in pending:  # the losers of a race, or everything when interrupted
                settled = flight.abandon()
                if settled is not None and settled[0]:
                    self._discard(flight.step.host, settled[1])
                outcome.cancelled.append(flight.step)
            for watch in watches:
                self.pool.unwatch(watch)
        return outcome

    def _wait_for_slot(self, step: WaitForSlot) -> HostState | None:
        woken = threading.Event()
        waiter = self.pool.wait(step.model, step.exclude, step.releases, woken.set)
        if waiter is None:
            return None
        try:
            woken.wait(None if step.deadline is None else max(0.0, step.deadline - self.pool.clock()))
        except BaseException:
            self._give_back(waiter)
            raise
        return self._handed(waiter)

    def close(self) -> None:
        for transport in self.transports.values():
            transport.close()


# -- async -----------------------------------------------------------------------------------------------
AsyncSend = Callable[[HostState, Call[Any], "float | None"], Awaitable[Any]]


class _Signal:
    """A future any thread can resolve, renewed after each wake-up (:meth:`AsyncPoolTransport._fly`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        _wake_on(self.loop, self.future)

    def renew(self) -> None:
        if self.future.done():
            self.future = self.loop.create_future()


class AsyncPoolTransport(_PoolShell):
    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        super().__init__(config, health)
        self.transports = {
            url: AsyncTransport(config.for_host(url), HealthTracker(url)) for url in self.hosts
        }
        self._background: set[asyncio.Task[Any]] = set()
        forget_in_child(self)

    async def request(self, call: Call[T]) -> T:
        started = perf_counter()
        op = telemetry.start(call, None)
        try:
            host, answer = await self._drive(self._route(call, op), self._send)
        except BaseException as error:
            self._outcome(started, op, error)
            raise
        self.pool.release(host)
        self._outcome(started, op)
        if op is not None:
            op.succeeded(host.url, answer)
        result: T = answer
        return result

    async def stream(self, call: Call[Any]) -> AsyncGenerator[Any, None]:
        started = perf_counter()
        op = telemetry.start(call, None)
        opener = self._open if op is None else functools.partial(self._open, op=op)
        try:
            host, opened = await self._drive(self._route(call, op), opener)
        except BaseException as error:
            self._outcome(started, op, error)
            raise
        self._outcome(started, op)  # opened: the pool answered (a cut later is the host's stream's)
        transport = self.transports[host.url]
        try:
            async for chunk in transport.read(opened):
                yield chunk
        finally:
            await asyncio.shield(transport.release(opened))
            self.pool.release(host)

    async def spread(self, model: str | None) -> int:
        return await self._drive(suitable_hosts(self.pool, model), self._send)

    async def _send(self, host: HostState, call: Call[Any], deadline: float | None = None) -> Any:
        return await self.transports[host.url].send(call, deadline=deadline)

    async def _open(
        self,
        host: HostState,
        call: Call[Any],
        deadline: float | None = None,
        op: telemetry.Operation | None = None,
    ) -> Any:
        return await self.transports[host.url].open(call, op)

    async def _drive(self, plan: Plan[T], send: AsyncSend) -> T:
        try:
            step = next(plan)
            while True:
                try:
                    outcome = await self._do(step, send)
                except OllamaError as error:
                    step = plan.throw(error)
                else:
                    step = plan.send(outcome)
        except StopIteration as done:
            result: T = done.value
            return result
        except BaseException:
            plan.close()  # cancelled: the plan releases what it holds
            raise

    async def _do(self, step: Any, send: AsyncSend) -> Any:
        if isinstance(step, Send):
            if step.watch is None:
                return await send(step.host, step.call, step.deadline)
            return _answer_of(await self._fly(step, None, None, send))
        if isinstance(step, Race):
            return await self._fly(step.first, step.after, step.second, send)
        if isinstance(step, Run):
            await self._run(step)
        elif isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, WaitForSlot):
            return await self._wait_for_slot(step)
        return None

    def _in_background(self, awaitable: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(awaitable)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _run(self, step: Run) -> None:
        tasks = [self._in_background(self._drive(plan, self._send)) for plan in step.plans]
        if step.wait and tasks:
            # Not cancelled with the request: a check runs to its end (its own deadline) either way.
            await asyncio.wait(tasks, timeout=step.limit)

    async def _fly(
        self, first: Send, after: float | None, second: Callable[[], Send | None] | None, send: AsyncSend
    ) -> RaceOutcome:
        """See :meth:`SyncPoolTransport._fly`: the sends run in tasks, a loser is cancelled."""
        loop = asyncio.get_running_loop()
        signal = _Signal(loop)
        steps: dict[asyncio.Task[Any], Send] = {}
        ejected: set[asyncio.Task[Any]] = set()
        watches = []
        outcome = RaceOutcome()

        def launch(step: Send) -> asyncio.Task[Any]:
            task: asyncio.Task[Any] = asyncio.ensure_future(send(step.host, step.call, step.deadline))
            steps[task] = step

            def on_ejected() -> None:
                ejected.add(task)  # a set.add is atomic: the pool may call this from another thread
                signal.set()

            watches.append(self.pool.watch(step.host, on_ejected))
            return task

        started = loop.time()
        look = first.watch
        next_look = None if look is None else started + look
        hedge_at = None if after is None or second is None else started + after
        pending = {launch(first)}
        try:
            while pending:
                moments = [t for t in (next_look, hedge_at) if t is not None]
                timeout = max(0.0, min(moments) - loop.time()) if moments else None
                await asyncio.wait(
                    {*pending, signal.future}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                signal.renew()
                for task in list(pending):
                    if not task.done() and task not in ejected:
                        continue
                    pending.discard(task)
                    step = steps[task]
                    if not task.done():  # ejected while it waited: give it up
                        self._cancel(task, step.host)
                        outcome.failed.append((step, abandoned(step.host)))
                        continue
                    error = task.exception()
                    if error is None and outcome.winner is None:
                        outcome.winner, outcome.answer = step, task.result()
                    elif error is None:
                        self._cancel(task, step.host)
                        outcome.cancelled.append(step)
                    elif isinstance(error, OllamaError):
                        outcome.failed.append((step, error))
                    else:
                        raise error
                if outcome.winner is not None or not pending:
                    break
                now = loop.time()
                if hedge_at is not None and now >= hedge_at:
                    hedge_at = None
                    extra = second() if second is not None else None
                    if extra is not None:
                        pending.add(launch(extra))
                if next_look is not None and look is not None and now >= next_look:
                    next_look = now + look
                    for task in pending:
                        check = if_silent(self.pool, steps[task].host)
                        if check is not None:
                            self._in_background(self._drive(check, self._send))
        finally:
            for task in pending:  # the losers of a race, or everything when cancelled
                self._cancel(task, steps[task].host)
                outcome.cancelled.append(steps[task])
            for watch in watches:
                self.pool.unwatch(watch)
        return outcome

    def _cancel(self, task: asyncio.Task[Any], host: HostState) -> None:
        """Cancel a send nobody waits for (its connection is closed); a stream it opened anyway is
        closed too."""
        transport = self.transports[host.url]

        def settle(done: asyncio.Task[Any]) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            answer = done.result()
            if isinstance(answer, Opened):
                self._in_background(transport.release(answer))

        task.cancel()
        task.add_done_callback(settle)

    async def _wait_for_slot(self, step: WaitForSlot) -> HostState | None:
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        waiter = self.pool.wait(step.model, step.exclude, step.releases, lambda: _wake_on(loop, woken))
        if waiter is None:
            return None
        remaining = None if step.deadline is None else max(0.0, step.deadline - self.pool.clock())
        try:
            await asyncio.wait_for(asyncio.shield(woken), remaining)
        except asyncio.TimeoutError:
            pass  # handed over just as the wait ran out? _handed says
        except BaseException:
            self._give_back(waiter)
            raise
        return self._handed(waiter)

    def _after_fork_in_child(self) -> list[object]:
        inherited: list[object] = list(self._background)
        self._background = set()
        return inherited

    async def aclose(self) -> None:
        for transport in self.transports.values():
            await transport.aclose()


def _wake_on(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    """Resolve ``future`` on its own loop (the release may happen in another thread)."""
    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits there any more
        loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

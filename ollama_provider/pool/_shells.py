"""I/O shells for several hosts: run :mod:`ollama_provider.pool._routing` plans on per-host transports.

Each host keeps today's single-host transport (its own pooled clients, health and error
messages). A routed request gets one attempt per host and round: the plan decides what is
retried, where and when; model management on one host keeps that host's own retries. The sync
and async shells differ only in how they wait: threads and events, or tasks and futures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from .._transport import AsyncTransport, SyncTransport
from ..config import OllamaConfig
from ..errors import OllamaError, OllamaTimeoutError
from ._routing import Plan, Run, Send, Sleep, WaitForSlot, route, suitable_hosts
from ._state import HostPool, HostState, Waiter

T = TypeVar("T")


class _PoolShell:
    """What both pooled shells share: the pool, the per-host health, the retry policy."""

    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        self.config = config
        self.health = health
        self.pool = HostPool(config.base_urls, max_in_flight=config.max_in_flight_per_host)
        self._policy = RetryPolicy(config.retries, config.backoff_base, config.backoff_max)

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.config.base_urls

    def _route(self, call: Call[Any], op: telemetry.Operation | None) -> Plan[tuple[HostState, Any]]:
        return route(self.pool, call, self._policy, slot_wait=self.config.first_chunk_timeout, op=op)

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


class SyncPoolTransport(_PoolShell):
    def __init__(self, config: OllamaConfig, health: HealthTracker) -> None:
        super().__init__(config, health)
        self.transports = {url: SyncTransport(config.for_host(url), HealthTracker(url)) for url in self.hosts}

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

    def _send(self, host: HostState, call: Call[Any]) -> Any:
        return self.transports[host.url].send(call)

    def _open(self, host: HostState, call: Call[Any], op: telemetry.Operation | None = None) -> Any:
        return self.transports[host.url].open(call, op)

    def _drive(self, plan: Plan[T], send: Callable[[HostState, Call[Any]], Any]) -> T:
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

    def _do(self, step: Any, send: Callable[[HostState, Call[Any]], Any]) -> Any:
        if isinstance(step, Send):
            return send(step.host, step.call)
        if isinstance(step, Run):
            threads = [
                threading.Thread(target=self._drive, args=(plan, self._send), daemon=True)
                for plan in step.plans
            ]
            for thread in threads:
                thread.start()
            if step.wait:
                for thread in threads:
                    thread.join()
        elif isinstance(step, Sleep):
            time.sleep(step.seconds)
        elif isinstance(step, WaitForSlot):
            return self._wait_for_slot(step)
        return None

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

    async def _send(self, host: HostState, call: Call[Any]) -> Any:
        return await self.transports[host.url].send(call)

    async def _open(self, host: HostState, call: Call[Any], op: telemetry.Operation | None = None) -> Any:
        return await self.transports[host.url].open(call, op)

    async def _drive(self, plan: Plan[T], send: Callable[[HostState, Call[Any]], Awaitable[Any]]) -> T:
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

    async def _do(self, step: Any, send: Callable[[HostState, Call[Any]], Awaitable[Any]]) -> Any:
        if isinstance(step, Send):
            return await send(step.host, step.call)
        if isinstance(step, Run):
            runs = [self._drive(plan, self._send) for plan in step.plans]
            if step.wait:
                await asyncio.gather(*runs)
            else:
                for run in runs:
                    task = asyncio.get_running_loop().create_task(run)
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)
        elif isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, WaitForSlot):
            return await self._wait_for_slot(step)
        return None

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

"""SIGKILL one of three real Ollama servers under load, then restart it on its port.

Three long streams flow, one on each server (the fewest in flight wins); six short requests are then queued
inside the servers (each serves one request at a time), two per server. Then one server is killed, as a
crash or an OOM kill would. Its flowing stream must end with ``IncompleteStreamError`` (or have completed)
and never be sent again; its queued requests, which received nothing yet, must fail over and complete
elsewhere; so must the requests sent while it is down. Every answer is compared with what one server alone
answers (temperature 0, a seed): a stream sent twice, or resumed elsewhere, would not match; and the
servers' logs must count exactly one answered chat per completed request. Restarted on the same port (with
nothing loaded, while its peers have the model loaded), the server must get traffic again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, ChatResponse, IncompleteStreamError, OllamaProvider

from .conftest import CHAT_MODEL, OPTIONS, Serve, require_models, warm_up
from .servers import OllamaServer, OllamaServers

pytestmark = pytest.mark.live_servers

#: Long enough to still be flowing when its server is killed (a count never stops early).
LONG = ("Count from 1 to 100, separated by commas.", {**OPTIONS, "num_predict": 40})
SHORT = ("Name a colour.", OPTIONS)
FLOWING, QUEUED, BURST = 3, 6, 6
#: Nothing may hang: every request ends well within this (a killed server answers nothing, ever).
BOUND = 90.0
SETTINGS: dict[str, Any] = {"timeout": 20.0, "first_chunk_timeout": 60.0, "connect_timeout": 2.0}


@pytest.fixture(scope="module")
def cluster(serve: Serve) -> OllamaServers:
    """Three servers of this module's own: its tests kill them (and start them again)."""
    servers = serve(3)
    require_models(servers[0].url, CHAT_MODEL)
    warm_up(servers.urls, chat=True)
    return servers


@pytest.fixture(scope="module")
def references(cluster: OllamaServers) -> dict[str, str]:
    """What one server alone answers to each question."""
    with OllamaProvider(cluster[-1].url) as alone:
        return {q: alone.chat(q, model=CHAT_MODEL, options=o).message.content for q, o in (LONG, SHORT)}


@dataclass
class Outcome:
    """What one request got: its chunks, and the error that ended it (``None``: it completed)."""

    question: str
    chunks: list[ChatResponse] = field(default_factory=list)
    error: BaseException | None = None
    started: threading.Event = field(default_factory=threading.Event)

    @property
    def text(self) -> str:
        return "".join(chunk.message.content for chunk in self.chunks)

    @property
    def complete(self) -> bool:
        return self.error is None and bool(self.chunks) and self.chunks[-1].done

    def got(self, chunk: ChatResponse) -> None:
        self.chunks.append(chunk)
        self.started.set()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened within {timeout}s: {what}"
        time.sleep(0.02)


def victim_reached(victim: OllamaServer, cluster: OllamaServers) -> Callable[[], bool]:
    """The victim holds its flowing stream's connection and one per request queued there."""
    return lambda: victim.connections() >= 1 + QUEUED // len(cluster)


def logged(records: list[logging.LogRecord], start: str) -> int:
    return sum(1 for r in records if r.getMessage().startswith(start))


def check_outcomes(outcomes: list[Outcome], references: dict[str, str]) -> list[Outcome]:
    """Each request either completed with the right answer, once, or (a stream that had started) was
    cut: a strict prefix of the right answer, ended by ``IncompleteStreamError``. Returns the cut ones."""
    unexpected = [
        repr(o.error) for o in outcomes if o.error and not isinstance(o.error, IncompleteStreamError)
    ]
    assert unexpected == [], "only a stream that had started may fail, and only as IncompleteStreamError"
    cut = [o for o in outcomes if o.error is not None]
    assert all(o.chunks for o in cut), "a request that had received nothing did not fail over"
    for outcome in outcomes:
        reference = references[outcome.question]
        if outcome.complete:
            assert [c.done for c in outcome.chunks].count(True) == 1
            assert outcome.text == reference  # not sent twice, not resumed elsewhere
        else:
            assert reference.startswith(outcome.text) and outcome.text != reference
    return cut


def check_kill(
    cluster: OllamaServers,
    victim: OllamaServer,
    marks: list[int],
    outcomes: list[Outcome],
    references: dict[str, str],
    records: list[logging.LogRecord],
) -> None:
    cut = check_outcomes(outcomes, references)
    assert len(cut) == 1 and cut[0] in outcomes[:FLOWING], (
        "the stream flowing on the killed server, alone, is cut"
    )
    assert all(o.complete for o in outcomes[FLOWING:])
    assert logged(records, f"failing over from {victim.url} ") >= QUEUED // len(cluster)
    # Every completed request was answered by exactly one server, once: the servers' logs add up.
    completed = sum(o.complete for o in outcomes)
    counts = cluster.requests("POST", "/api/chat", since=marks, total=completed, status=200)
    assert sum(counts) == completed and counts[cluster.index(victim)] == 0, counts


def check_down(
    victim: OllamaServer,
    outcomes: list[Outcome],
    references: dict[str, str],
    records: list[logging.LogRecord],
) -> None:
    """Requests sent while the victim is down all complete elsewhere; the victim leaves the rotation."""
    assert all(o.complete and o.text == references[o.question] for o in outcomes)
    assert logged(records, f"host {victim.url} is down") >= 1


def gets_traffic_again(victim: OllamaServer, send_burst: Callable[[], None]) -> None:
    """Bursts of concurrent requests, until one reaches the restarted server (it is probed first)."""
    since = victim.mark()
    deadline = time.monotonic() + 45
    while victim.requests("POST", "/api/chat", since=since) == 0:
        assert time.monotonic() < deadline, "the restarted server never got traffic again"
        send_burst()


# -- sync: threads -----------------------------------------------------------------------------------------
def start_stream(
    provider: OllamaProvider, question: str, options: dict[str, Any]
) -> tuple[Outcome, threading.Thread]:
    outcome = Outcome(question)

    def consume() -> None:
        try:
            for chunk in provider.chat(question, model=CHAT_MODEL, options=options, stream=True):
                outcome.got(chunk)
        except Exception as error:
            outcome.error = error

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return outcome, thread


def finish(running: list[tuple[Outcome, threading.Thread]]) -> list[Outcome]:
    for _, thread in running:
        thread.join(BOUND)
        assert not thread.is_alive(), "a request hung"
    return [outcome for outcome, _ in running]


def burst(provider: OllamaProvider) -> list[Outcome]:
    return finish([start_stream(provider, *SHORT) for _ in range(BURST)])


def test_sigkill_under_load_then_restart(
    cluster: OllamaServers, references: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    victim = cluster[0]
    caplog.set_level(logging.INFO, logger="ollama_provider")
    marks = cluster.marks()
    with OllamaProvider(hosts=cluster.urls, **SETTINGS) as provider:
        running = [start_stream(provider, *LONG) for _ in range(FLOWING)]
        for outcome, _ in running:
            assert outcome.started.wait(BOUND), "a stream never started"
        running += [start_stream(provider, *SHORT) for _ in range(QUEUED)]
        wait_for(victim_reached(victim, cluster), "the queued requests reach the victim")
        victim.kill()
        check_kill(cluster, victim, marks, finish(running), references, caplog.records)
        check_down(victim, burst(provider), references, caplog.records)

        victim.restart()
        gets_traffic_again(victim, lambda: check_outcomes(burst(provider), references) and None)


# -- async: tasks ------------------------------------------------------------------------------------------
def start_task(
    provider: AsyncOllamaProvider, question: str, options: dict[str, Any]
) -> tuple[Outcome, Awaitable[None]]:
    outcome = Outcome(question)

    async def consume() -> None:
        try:
            async for chunk in await provider.chat(question, model=CHAT_MODEL, options=options, stream=True):
                outcome.got(chunk)
        except Exception as error:
            outcome.error = error

    return outcome, asyncio.ensure_future(consume())


async def afinish(running: list[tuple[Outcome, Awaitable[None]]]) -> list[Outcome]:
    _, pending = await asyncio.wait([task for _, task in running], timeout=BOUND)  # type: ignore[misc]
    assert not pending, "a request hung"
    return [outcome for outcome, _ in running]


async def aburst(provider: AsyncOllamaProvider) -> list[Outcome]:
    return await afinish([start_task(provider, *SHORT) for _ in range(BURST)])


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened within {timeout}s: {what}"
        await asyncio.sleep(0.02)


async def test_sigkill_under_load_then_restart_async(
    cluster: OllamaServers, references: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    victim = cluster[1]
    caplog.set_level(logging.INFO, logger="ollama_provider")
    marks = cluster.marks()
    provider = AsyncOllamaProvider(hosts=cluster.urls, **SETTINGS)
    try:
        running = [start_task(provider, *LONG) for _ in range(FLOWING)]
        await until(lambda: all(o.started.is_set() for o, _ in running), "every stream started", BOUND)
        running += [start_task(provider, *SHORT) for _ in range(QUEUED)]
        await until(victim_reached(victim, cluster), "the queued requests reach the victim")
        victim.kill()
        check_kill(cluster, victim, marks, await afinish(running), references, caplog.records)
        check_down(victim, await aburst(provider), references, caplog.records)

        victim.restart()
        since = victim.mark()
        deadline = time.monotonic() + 45
        while victim.requests("POST", "/api/chat", since=since) == 0:
            assert time.monotonic() < deadline, "the restarted server never got traffic again"
            check_outcomes(await aburst(provider), references)
    finally:
        await provider.close()

"""Gray failures on fake Ollama processes: hosts that are up but not well, sync and async.

A frozen host is a fake server stopped with SIGSTOP: the kernel still accepts its connections and
requests, nothing answers until SIGCONT, and then it answers what it was sent meanwhile; so its
counters, read after it is thawed, say what it was asked while frozen. Every answer names the host
and repeats its question, so each is checked to be the answer to its own question. The timing rules
themselves (cooldowns, slow start, hedging delays) are checked step by step on a fake clock in
test_pool_routing.py; here they meet sockets, threads, event loops and stopped processes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider
from ollama_provider.pool._state import HostPool
from ollama_provider.testing import FakeHost, answered_by, vector_of

from ..fakes import started_once

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP is POSIX")


def pool_of(provider: OllamaProvider | AsyncOllamaProvider) -> HostPool:
    """The routing state of a provider of several hosts."""
    pool = getattr(provider._transport, "pool", None)
    assert isinstance(pool, HostPool)
    return pool


MODELS = ["llama3.2", "all-minilm"]
#: A frozen host is found by a liveness probe (probe_timeout) long before first_chunk_timeout.
GRAY: dict[str, Any] = {
    "retries": 1,
    "backoff_base": 0.01,
    "backoff_max": 0.02,
    "connect_timeout": 1.0,
    "probe_timeout": 0.5,
    "first_chunk_timeout": 10.0,
}


fakes = started_once(3, prefix="gray", models=MODELS)


@pytest.fixture
def hosts(fakes: list[FakeHost]) -> Iterator[list[FakeHost]]:
    for host in fakes:
        host.thaw()
    yield [host.fresh() for host in fakes]
    for host in fakes:
        host.thaw()


def who(answer: Any, question: str) -> str:
    return answered_by(answer.message.content, question)


def chats_seen_after_thaw(host: FakeHost) -> int:
    """The chats ``host`` was sent while frozen: it answers them once thawed (and counts them)."""
    host.thaw()
    deadline = time.monotonic() + 10
    count = host.requests("/api/chat")
    while time.monotonic() < deadline:  # a request sent just before the freeze may still be counted
        time.sleep(0.2)
        again = host.requests("/api/chat")
        if again == count:
            return count
        count = again
    return count


# -- a frozen host (SIGSTOP) --------------------------------------------------------------------------------
def test_a_frozen_host_costs_a_sequence_of_requests_at_most_one_slow_request(hosts: list[FakeHost]) -> None:
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        for i in range(3):
            who(provider.chat(f"warm {i}", model="llama3.2"), f"warm {i}")
        for host in hosts:
            host.reset()
        hosts[0].freeze()
        names = [who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(12)]
        assert set(names) == {"gray-2", "gray-3"}  # every answer once, to its own question
        state = pool_of(provider).hosts[0]
        assert not state.in_rotation and "no answer" in (state.last_error or "")
    assert chats_seen_after_thaw(hosts[0]) <= 1  # the one request that found it silent
    assert sum(h.requests("/api/chat") for h in hosts[1:]) == 12


async def test_async_a_frozen_host_costs_a_sequence_at_most_one_slow_request(hosts: list[FakeHost]) -> None:
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        for i in range(3):
            who(await provider.chat(f"warm {i}", model="llama3.2"), f"warm {i}")
        for host in hosts:
            host.reset()
        hosts[1].freeze()
        names = [who(await provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(12)]
        assert set(names) == {"gray-1", "gray-3"}
        assert not pool_of(provider).hosts[1].in_rotation
    assert chats_seen_after_thaw(hosts[1]) <= 1
    assert hosts[0].requests("/api/chat") + hosts[2].requests("/api/chat") == 12


def test_a_host_frozen_under_concurrent_load_costs_each_client_at_most_one_slow_request(
    hosts: list[FakeHost],
) -> None:
    clients, each = 6, 8
    frozen = threading.Event()
    start = threading.Barrier(clients)
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        provider.chat("warm up", model="llama3.2")

        def client(c: int) -> list[str]:
            start.wait()
            names = []
            for k in range(each):
                if c == 0 and k == 2:
                    hosts[2].freeze()  # mid-run, with requests of other clients in flight on it
                    frozen.set()
                names.append(who(provider.chat(f"c{c} q{k}", model="llama3.2"), f"c{c} q{k}"))
            return names

        with ThreadPoolExecutor(clients) as workers:
            answers = [name for names in workers.map(client, range(clients)) for name in names]
    assert frozen.is_set() and len(answers) == clients * each  # each answer once, to its own question
    # Before the freeze it answered some; after it, each client lost at most one request to it.
    answered_by_frozen = Counter(answers)["gray-3"]
    assert chats_seen_after_thaw(hosts[2]) - answered_by_frozen <= clients


async def test_async_a_host_frozen_under_concurrent_load_costs_each_task_at_most_one_slow_request(
    hosts: list[FakeHost],
) -> None:
    tasks, each = 6, 8
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        await provider.chat("warm up", model="llama3.2")

        async def client(c: int) -> list[str]:
            names = []
            for k in range(each):
                if c == 0 and k == 2:
                    hosts[0].freeze()
                names.append(who(await provider.chat(f"c{c} q{k}", model="llama3.2"), f"c{c} q{k}"))
            return names

        results = await asyncio.gather(*(client(c) for c in range(tasks)))
    answers = [name for names in results for name in names]
    assert len(answers) == tasks * each
    assert chats_seen_after_thaw(hosts[0]) - Counter(answers)["gray-1"] <= tasks


def test_a_host_frozen_before_the_first_request_gets_no_request_and_holds_none(hosts: list[FakeHost]) -> None:
    hosts[1].freeze()
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        names = [who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(6)]
        assert set(names) == {"gray-1", "gray-3"}
        # Its listing ran out after probe_timeout and counted against it: out of rotation.
        assert not pool_of(provider).hosts[1].in_rotation
    assert chats_seen_after_thaw(hosts[1]) == 0
    assert hosts[1].requests("/api/tags") == 1  # asked once (the probes after are version requests)


def test_a_thawed_host_is_probed_back_and_gets_a_reduced_share_at_first(hosts: list[FakeHost]) -> None:
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        pool = pool_of(provider)
        hosts[0].freeze()
        for i in range(3):
            provider.chat(f"q{i}", model="llama3.2")
        assert not pool.hosts[0].in_rotation
        hosts[0].thaw()
        deadline = time.monotonic() + 20
        while not pool.hosts[0].in_rotation:  # cooldowns of 1, 2, 4 s..., then a probe answers
            assert time.monotonic() < deadline, "the thawed host was never probed back"
            provider.chat("ping", model="llama3.2")
            time.sleep(0.1)
        burst = [who(provider.chat(f"b{i}", model="llama3.2"), f"b{i}") for i in range(20)]
    # Back with a tenth of a share (slow start, 10 s): a full share would be a third of the burst.
    assert burst.count("gray-1") <= 3


async def test_async_a_host_frozen_before_the_first_request_gets_none(hosts: list[FakeHost]) -> None:
    hosts[2].freeze()
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        answers = await asyncio.gather(*(provider.chat(f"q{i}", model="llama3.2") for i in range(6)))
        assert {who(answer, f"q{i}") for i, answer in enumerate(answers)} == {"gray-1", "gray-2"}
        assert not pool_of(provider).hosts[2].in_rotation  # its listing ran out after probe_timeout
    # The first request waits for the listings; the five sent with it do not (nothing is known of
    # any host yet), so one of them may find the frozen host: found silent, it goes elsewhere.
    assert chats_seen_after_thaw(hosts[2]) <= 1
    assert hosts[2].requests("/api/tags") == 1


async def test_async_a_thawed_host_is_probed_back_with_a_reduced_share(hosts: list[FakeHost]) -> None:
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        pool = pool_of(provider)
        hosts[2].freeze()
        for i in range(3):
            await provider.chat(f"q{i}", model="llama3.2")
        assert not pool.hosts[2].in_rotation
        hosts[2].thaw()
        deadline = time.monotonic() + 20
        while not pool.hosts[2].in_rotation:
            assert time.monotonic() < deadline, "the thawed host was never probed back"
            await provider.chat("ping", model="llama3.2")
            await asyncio.sleep(0.1)
        burst = [who(await provider.chat(f"b{i}", model="llama3.2"), f"b{i}") for i in range(20)]
    assert burst.count("gray-3") <= 3


# -- silent before the first chunk ----------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_no_first_chunk_before_the_deadline_fails_over_and_ejects_the_host(
    hosts: list[FakeHost], stream: bool
) -> None:
    # A stuck runner: the server answers /api/version (so no liveness probe ejects it), but the
    # chat holds its slot and says nothing.
    for host in hosts:
        host.reset(models=MODELS, loaded=["llama3.2"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/chat", stall=5.0, count=1)
    with OllamaProvider(hosts=[h.url for h in hosts], **{**GRAY, "first_chunk_timeout": 0.5}) as provider:
        if stream:
            text = "".join(
                chunk.message.content for chunk in provider.chat("stuck?", model="llama3.2", stream=True)
            )
            assert answered_by(text, "stuck?") in {"gray-2", "gray-3"}
        else:
            assert who(provider.chat("stuck?", model="llama3.2"), "stuck?") in {"gray-2", "gray-3"}
        assert not pool_of(provider).hosts[0].in_rotation  # until a probe answers
    assert hosts[0].requests("/api/chat") == 1


async def test_async_no_first_chunk_before_the_deadline_fails_over(hosts: list[FakeHost]) -> None:
    hosts[2].arm(path="/api/chat", stall=5.0, count=1)
    async with AsyncOllamaProvider(
        hosts=[h.url for h in hosts], **{**GRAY, "first_chunk_timeout": 0.5}
    ) as provider:
        answers = await asyncio.gather(*(provider.chat(f"a{i}", model="llama3.2") for i in range(3)))
        names = {who(answer, f"a{i}") for i, answer in enumerate(answers)}
        assert not pool_of(provider).hosts[2].in_rotation
    assert names <= {"gray-1", "gray-2"}
    assert hosts[2].requests("/api/chat") == 1


# -- busy ------------------------------------------------------------------------------------------------------
def test_a_host_answering_busy_to_every_request_gets_less_traffic(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["llama3.2"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/chat", status=503, error="server busy, please try again.", count=1000)
    with OllamaProvider(hosts=[h.url for h in hosts], **{**GRAY, "retries": 0}) as provider:
        began = time.monotonic()
        names = [who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(30)]
        took = time.monotonic() - began
    assert set(names) == {"gray-2", "gray-3"}
    # Loaded there, it used to be tried first by every request (30); now about once a second.
    assert hosts[0].requests("/api/chat") <= 2 + took


# -- hedging ----------------------------------------------------------------------------------------------------
def test_a_slow_embedding_is_hedged_to_another_host_and_the_first_answer_wins(hosts: list[FakeHost]) -> None:
    # (No other test here stalls gray-2: what it is serving now is this test's.)
    for host in hosts:
        host.reset(models=MODELS, loaded=["all-minilm"] if host is hosts[1] else [])
    hosts[1].arm(path="/api/embed", stall=5.0, count=1)  # loaded there, so it is asked first
    with OllamaProvider(hosts=[h.url for h in hosts], hedge_after=0.2, **GRAY) as provider:
        assert provider.embed("hedge me", model="all-minilm") == vector_of("hedge me")
    assert hosts[1].stats()["active"] == 1  # its copy still stalls: the answer did not wait for it
    assert hosts[1].requests("/api/embed") == 1
    assert hosts[0].requests("/api/embed") + hosts[2].requests("/api/embed") == 1


async def test_async_a_slow_embedding_is_hedged_and_the_slow_copy_cancelled(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["all-minilm"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/embed", stall=5.0, count=1)
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], hedge_after=0.2, **GRAY) as provider:
        assert await provider.embed("hedge me", model="all-minilm") == vector_of("hedge me")
        assert [h.in_flight for h in pool_of(provider).hosts] == [0, 0, 0]
    assert hosts[0].requests("/api/embed") == 1
    assert hosts[1].requests("/api/embed") + hosts[2].requests("/api/embed") == 1


def test_without_hedge_after_a_slow_embedding_is_waited_for(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["all-minilm"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/embed", stall=0.5, count=1)
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        assert provider.embed("patience", model="all-minilm") == vector_of("patience")
    assert [h.requests("/api/embed") for h in hosts] == [1, 0, 0]


def test_failovers_and_ejections_of_silent_hosts_are_logged(
    hosts: list[FakeHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ollama_provider")
    hosts[0].freeze()
    with OllamaProvider(hosts=[h.url for h in hosts], **GRAY) as provider:
        for i in range(3):
            provider.chat(f"q{i}", model="llama3.2")
    messages = [r.getMessage() for r in caplog.records if r.name == "ollama_provider"]
    assert any(
        m.startswith(f"host {hosts[0].url} is down, out of rotation") and "no answer" in m for m in messages
    )

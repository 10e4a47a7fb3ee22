"""Several Ollama hosts for real: three fake Ollama server processes on loopback, one provider.

Each fake answers "<host name> says: <last message>", so every test checks who answered and that
the answer is the one to its own question. Faults are armed on a host over HTTP. The routing rules
themselves are covered step by step, sans I/O, in test_pool_routing.py; here they meet sockets,
threads, event loops and processes that stop and start.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ollama_provider import (
    AsyncOllamaProvider,
    IncompleteStreamError,
    InvalidRequestError,
    ModelNotFoundError,
    OllamaConfig,
    OllamaConnectionError,
    OllamaProvider,
    OllamaTimeoutError,
)
from ollama_provider.testing import FakeHost, answered_by, vector_of

from ..fakes import started_once

MODELS = ["llama3.2", "all-minilm"]
FAST: dict[str, Any] = {"retries": 1, "backoff_base": 0.01, "backoff_max": 0.02, "connect_timeout": 1.0}


fakes = started_once(3, models=MODELS)


@pytest.fixture
def hosts(fakes: list[FakeHost]) -> list[FakeHost]:
    return [host.fresh() for host in fakes]


def who(answer: Any, question: str) -> str:
    return answered_by(answer.message.content, question)


def pool_of(hosts: list[FakeHost], **settings: Any) -> OllamaProvider:
    return OllamaProvider(hosts=[h.url for h in hosts], **{**FAST, **settings})


def dead_urls(count: int) -> list[str]:
    import socket

    urls = []
    for _ in range(count):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            urls.append(f"http://127.0.0.1:{probe.getsockname()[1]}")
    return urls


# -- one provider, several hosts ------------------------------------------------------------------------
def test_the_comma_form_and_the_list_form_build_the_same_pool(hosts: list[FakeHost]) -> None:
    joined = ",".join(h.url.removeprefix("http://") for h in hosts)
    with OllamaProvider(joined) as by_host, OllamaProvider(hosts=[h.url for h in hosts]) as by_list:
        assert by_host.hosts == by_list.hosts == tuple(h.url for h in hosts)
        assert by_host.config.base_urls == OllamaConfig(hosts=joined).base_urls
    with pytest.raises(InvalidRequestError, match="either host or hosts"):
        OllamaProvider(hosts[0].url, hosts=[hosts[1].url])


def test_sequential_requests_spread_over_every_host(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider:
        names = [who(provider.chat(f"question {i}", model="llama3.2"), f"question {i}") for i in range(6)]
    assert Counter(names) == {"host-1": 2, "host-2": 2, "host-3": 2}


def test_concurrent_requests_from_threads_spread_and_each_gets_its_own_answer(hosts: list[FakeHost]) -> None:
    start = threading.Barrier(12)

    def ask(i: int) -> str:
        start.wait()
        return who(provider.chat(f"thread {i}", model="llama3.2"), f"thread {i}")

    with pool_of(hosts) as provider, ThreadPoolExecutor(12) as workers:
        names = list(workers.map(ask, range(12)))
    assert set(names) == {"host-1", "host-2", "host-3"}


async def test_concurrent_async_requests_spread_and_streams_too(hosts: list[FakeHost]) -> None:
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **FAST) as provider:
        answers = await asyncio.gather(*(provider.chat(f"task {i}", model="llama3.2") for i in range(9)))
        names = {who(answer, f"task {i}") for i, answer in enumerate(answers)}
        stream = await provider.chat("streamed", model="llama3.2", stream=True)
        text = "".join([chunk.message.content async for chunk in stream])
    assert names == {"host-1", "host-2", "host-3"}
    assert text.endswith(" says: streamed")


def test_requests_go_only_to_hosts_that_have_the_model(hosts: list[FakeHost]) -> None:
    hosts[0].reset(models=["qwen2.5:7b"])
    with pool_of(hosts) as provider:
        names = {who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(6)}
        assert who(provider.chat("q", model="qwen2.5:7b"), "q") == "host-1"
    assert names == {"host-2", "host-3"}
    assert hosts[0].requests("/api/chat") == 1


def test_a_host_with_the_model_loaded_is_preferred(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["llama3.2"] if host is hosts[2] else [])
    with pool_of(hosts) as provider:
        names = {who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(4)}
    assert names == {"host-3"}


def test_every_request_names_its_model_for_load_balancers(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider, OllamaProvider(hosts[0].url) as single:
        provider.chat("hi", model="llama3.2")
        single.embed("hi", model="all-minilm")
    headers: Counter[str] = Counter()
    for host in hosts:
        headers.update(host.stats()["model_headers"])
    assert headers == {"llama3.2": 1, "all-minilm": 1}


# -- failover ------------------------------------------------------------------------------------------
def test_a_stopped_host_is_skipped_and_gets_traffic_again_once_it_is_back(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider:
        provider.chat("warm up", model="llama3.2")
        hosts[0].stop()
        names = [who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}") for i in range(6)]
        assert set(names) == {"host-2", "host-3"}  # no error reached the caller
        hosts[0].restart()
        time.sleep(1.1)  # the first cooldown, then a probe brings it back
        deadline = time.monotonic() + 5
        while "host-1" not in {who(provider.chat("again", model="llama3.2"), "again") for _ in range(3)}:
            assert time.monotonic() < deadline, "the host that came back never got traffic again"
        health = provider.check_health()
    assert health.status == "healthy" and all(h.healthy for h in health.hosts)


@pytest.mark.parametrize("status", [503, 502, 504])
def test_a_busy_host_sends_the_request_to_the_next_one(hosts: list[FakeHost], status: int) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["llama3.2"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/chat", status=status, count=1)
    with pool_of(hosts, retries=0) as provider:
        assert who(provider.chat("busy?", model="llama3.2"), "busy?") in {"host-2", "host-3"}
        assert provider._transport.pool.hosts[0].in_rotation  # busy is not down
        if status == 503:  # "server busy": its queue is full, it gets less traffic for a while
            time.sleep(1.0)  # (its share doubles back each second without another busy answer)
        assert who(provider.chat("again", model="llama3.2"), "again") == "host-1"  # loaded there
    assert hosts[0].requests("/api/chat") == 2


def test_model_not_found_on_a_host_that_listed_it_goes_to_another(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.reset(models=MODELS, loaded=["llama3.2"] if host is hosts[0] else [])
    hosts[0].arm(path="/api/chat", status=404, error="model 'llama3.2' not found", count=1)
    with pool_of(hosts, retries=0) as provider:
        assert who(provider.chat("where?", model="llama3.2"), "where?") in {"host-2", "host-3"}


def test_a_stream_cut_after_its_first_chunk_is_never_sent_elsewhere(hosts: list[FakeHost]) -> None:
    for host in hosts:
        host.arm(path="/api/chat", drop_after=1, count=1)
    with pool_of(hosts) as provider:
        stream = provider.chat("cut", model="llama3.2", stream=True)
        first = next(stream)
        with pytest.raises(IncompleteStreamError):
            list(stream)
    assert first.message.content
    assert sum(host.requests("/api/chat") for host in hosts) == 1


async def test_async_failover_past_a_stopped_host(hosts: list[FakeHost]) -> None:
    hosts[1].stop()
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **FAST) as provider:
        answers = await asyncio.gather(*(provider.chat(f"a{i}", model="llama3.2") for i in range(6)))
    assert {who(answer, f"a{i}") for i, answer in enumerate(answers)} == {"host-1", "host-3"}


def test_every_host_down_is_one_connection_error_naming_every_host() -> None:
    urls = dead_urls(3)
    with OllamaProvider(hosts=urls, **FAST) as provider, pytest.raises(OllamaConnectionError) as caught:
        provider.chat("anyone?", model="llama3.2")
    assert all(url in str(caught.value) for url in urls)


def test_a_model_no_host_has_is_model_not_found(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider, pytest.raises(ModelNotFoundError) as caught:
        provider.chat("hi", model="mistral")
    assert caught.value.model == "mistral"
    assert all(host.url in str(caught.value) for host in hosts)
    assert (
        sum(host.requests("/api/chat") for host in hosts) == 1
    )  # no list names it: one server says so for all


# -- per-host concurrency ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slow_fakes() -> Iterator[list[FakeHost]]:
    """Two hosts that serve one request at a time, each taking 0.2 s (OLLAMA_NUM_PARALLEL=1)."""
    hosts = [FakeHost.start(name=f"slow-{i}", models=MODELS, parallel=1, service_time=0.2) for i in (1, 2)]
    yield hosts
    for host in hosts:
        host.stop()


def test_max_in_flight_per_host_keeps_requests_waiting_client_side(slow_fakes: list[FakeHost]) -> None:
    for host in slow_fakes:
        host.fresh()
    start = threading.Barrier(6)
    with pool_of(slow_fakes, max_in_flight_per_host=1) as provider:

        def ask(i: int) -> str:
            start.wait()
            return who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}")

        with ThreadPoolExecutor(6) as workers:
            names = list(workers.map(ask, range(6)))
    assert Counter(names) == {"slow-1": 3, "slow-2": 3}
    assert [host.stats()["max_active"] for host in slow_fakes] == [1, 1]


def test_a_request_that_finds_no_free_slot_in_time_says_so(slow_fakes: list[FakeHost]) -> None:
    for host in slow_fakes:
        host.fresh()
    start = threading.Barrier(6)
    with pool_of(slow_fakes, max_in_flight_per_host=1, first_chunk_timeout=0.25) as provider:

        def ask(i: int) -> str | OllamaTimeoutError:
            start.wait()
            try:
                return who(provider.chat(f"q{i}", model="llama3.2"), f"q{i}")
            except OllamaTimeoutError as error:
                return error

        with ThreadPoolExecutor(6) as workers:
            outcomes = list(workers.map(ask, range(6)))
    timeouts = [o for o in outcomes if isinstance(o, OllamaTimeoutError)]
    assert (
        len(timeouts) >= 2
        and "free slot" in str(timeouts[0])
        and "max_in_flight_per_host=1" in str(timeouts[0])
    )
    assert sum(isinstance(o, str) for o in outcomes) >= 2


# -- batches, models, health -------------------------------------------------------------------------------
def test_a_batch_of_embeddings_is_split_across_the_hosts_in_order(hosts: list[FakeHost]) -> None:
    texts = [f"text {i}" for i in range(30)]
    with pool_of(hosts, embed_batch_size=256) as provider:
        vectors = provider.embed(texts, model="all-minilm")
    assert vectors == [vector_of(text) for text in texts]
    assert [host.requests("/api/embed") for host in hosts] == [1, 1, 1]


async def test_async_embeddings_use_every_host_at_once(hosts: list[FakeHost]) -> None:
    texts = [f"text {i}" for i in range(31)]
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], embed_batch_size=4, **FAST) as provider:
        vectors = await provider.embed(texts, model="all-minilm")
    assert vectors == [vector_of(text) for text in texts]
    assert all(host.requests("/api/embed") >= 2 for host in hosts)


def test_list_models_merges_the_hosts_and_says_which_has_what(hosts: list[FakeHost]) -> None:
    hosts[0].reset(models=["llama3.2", "qwen2.5:7b"], loaded=["qwen2.5:7b"])
    with pool_of(hosts) as provider:
        installed = {model.name: model.hosts for model in provider.list_models()}
        running = {model.name: model.hosts for model in provider.list_running()}
    urls = [h.url for h in hosts]
    assert installed == {"llama3.2": urls, "qwen2.5:7b": urls[:1], "all-minilm": urls[1:]}
    assert running["qwen2.5:7b"] == urls[:1] and running["llama3.2"] == urls[1:]


def test_pull_acts_on_every_host_unless_one_is_named(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider:
        updates = list(provider.pull_model("mistral", stream=True))
        assert [u.host for u in updates if u.status == "success"] == [h.url for h in hosts]
        assert who(provider.chat("new model", model="mistral"), "new model")  # routed at once
        final = provider.pull_model("phi3", host=hosts[1].url.removeprefix("http://"))
        assert final.status == "success" and final.host == hosts[1].url
        assert who(provider.chat("one host", model="phi3"), "one host") == "host-2"
        with pytest.raises(InvalidRequestError, match="not one of this provider's hosts"):
            provider.pull_model("phi3", host="elsewhere:11434")
    assert [h.requests("/api/pull") for h in hosts] == [1, 2, 1]


def test_copy_and_delete_act_on_every_host_that_has_the_model(hosts: list[FakeHost]) -> None:
    hosts[2].reset(models=["all-minilm"])
    with pool_of(hosts) as provider:
        provider.copy_model("llama3.2", "llama-copy")
        assert {m.name: m.hosts for m in provider.list_models()}["llama-copy"] == [h.url for h in hosts[:2]]
        provider.delete_model("llama-copy")
        assert "llama-copy" not in {m.name for m in provider.list_models()}
        with pytest.raises(ModelNotFoundError):
            provider.delete_model("llama-copy")
        provider.create_model("pirate", from_="llama3.2", system="Arr.", host=hosts[0].url)
        assert {m.name: m.hosts for m in provider.list_models()}["pirate"] == [hosts[0].url]


def test_health_sums_up_the_hosts_and_lists_each(hosts: list[FakeHost]) -> None:
    with pool_of(hosts) as provider:
        health = provider.check_health()
        assert health.status == "healthy" and health.healthy and health.models == 2
        assert [(h.host, h.healthy) for h in health.hosts] == [(host.url, True) for host in hosts]
        hosts[2].stop()
        health = provider.check_health()
        assert health.status == "degraded" and not health.healthy
        assert [h.healthy for h in health.hosts] == [True, True, False]
        assert hosts[2].url in (health.last_error or "")
    with OllamaProvider(hosts=dead_urls(2), **FAST) as nowhere:
        assert nowhere.check_health().status == "unhealthy"
    with OllamaProvider(hosts[0].url) as single:
        status = single.check_health()
        assert status.hosts == [status] and status.hosts[0].host == single.config.base_url


async def test_async_health_and_models_of_a_pool(hosts: list[FakeHost]) -> None:
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **FAST) as provider:
        health = await provider.check_health()
        models = await provider.list_models()
        await provider.pull_model("gemma3", host=hosts[0].url)
        await provider.delete_model("gemma3")
    assert health.status == "healthy" and len(health.hosts) == 3
    assert {m.name: len(m.hosts) for m in models} == {"llama3.2": 3, "all-minilm": 3}


async def test_async_requests_wait_client_side_for_a_slot_and_each_gets_its_answer(
    slow_fakes: list[FakeHost],
) -> None:
    for host in slow_fakes:
        host.fresh()
    async with AsyncOllamaProvider(
        hosts=[h.url for h in slow_fakes], max_in_flight_per_host=1, **FAST
    ) as provider:
        answers = await asyncio.gather(*(provider.chat(f"a{i}", model="llama3.2") for i in range(6)))
        assert [h.in_flight for h in provider._transport.pool.hosts] == [0, 0]
    assert Counter(who(answer, f"a{i}") for i, answer in enumerate(answers)) == {"slow-1": 3, "slow-2": 3}
    assert [host.stats()["max_active"] for host in slow_fakes] == [1, 1]


async def soon(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_an_async_wait_for_a_slot_runs_out_or_is_cancelled_without_losing_the_slot() -> None:
    # Two hosts serving one request at a time for 0.5 s: two in flight, two queued behind them get
    # their slots at 0.5 s; a fifth, waiting at most 0.8 s, would get one only at 1 s.
    hosts = FakeHost.start_many(2, prefix="slower", models=MODELS, parallel=1, service_time=0.5)
    try:
        async with AsyncOllamaProvider(
            hosts=[h.url for h in hosts], max_in_flight_per_host=1, first_chunk_timeout=0.8, **FAST
        ) as provider:
            pool = provider._transport.pool
            busy = [asyncio.ensure_future(provider.chat(f"busy {i}", model="llama3.2")) for i in range(4)]
            await soon(lambda: len(pool._waiters) == 2)
            with pytest.raises(OllamaTimeoutError, match="free slot"):
                await provider.chat("too late", model="llama3.2")
            waiting = asyncio.ensure_future(provider.chat("cancelled", model="llama3.2"))
            await soon(lambda: len(pool._waiters) == 1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            answers = await asyncio.gather(*busy)
            assert [h.in_flight for h in pool.hosts] == [0, 0]  # nothing kept by the cancelled request
            assert pool._waiters == []
            assert who(await provider.chat("after", model="llama3.2"), "after")
        assert [who(a, f"busy {i}") for i, a in enumerate(answers)]
    finally:
        for host in hosts:
            host.stop()


async def test_stale_model_lists_are_refreshed_in_the_background(hosts: list[FakeHost]) -> None:
    async with AsyncOllamaProvider(hosts=[h.url for h in hosts], **FAST) as provider:
        pool = provider._transport.pool
        await provider.chat("first", model="llama3.2")
        assert [h.requests("/api/tags") for h in hosts] == [1, 1, 1]
        hosts[0].reset(models=["llama3.2", "phi3"])
        pool.refresh_interval = 0.0  # every list is stale now
        await provider.chat("second", model="llama3.2")  # does not wait for the lists
        await soon(lambda: "phi3:latest" in (pool.hosts[0].models or ()))  # the background refresh
        assert who(await provider.chat("new", model="phi3"), "new") == "host-1"


def test_bad_embedding_input_to_a_pool_fails_before_any_request() -> None:
    with OllamaProvider(hosts=dead_urls(2), **FAST) as provider:
        with pytest.raises(InvalidRequestError, match="input 1 is a int"):
            provider.embed(["fine", 2], model="all-minilm")  # type: ignore[list-item]
        with pytest.raises(InvalidRequestError, match="invalid model name"):
            provider.embed(["a", "b"], model="bad name!")
        assert all(h.listed_at == float("-inf") for h in provider._transport.pool.hosts)  # nothing asked

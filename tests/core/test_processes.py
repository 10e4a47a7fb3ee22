"""Providers across processes: forked children, spawned children, process pools, pickles, copies.

Real processes against a fake Ollama in a process of its own, which counts the TCP connections it
accepts: a child that used its parent's pooled connection would not add one (and, writing on the
same socket as its siblings, would get garbage back: every answer is checked against its question).
"""

from __future__ import annotations

import asyncio
import copy
import multiprocessing
import pickle
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, OllamaProvider, errors
from ollama_provider._forks import built_once
from ollama_provider.testing import FakeHost, vector_of

CHILDREN = 4


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHost]:
    host = FakeHost.start(name="box", models=["llama3.2", "all-minilm"])
    yield host
    host.stop()


@pytest.fixture(scope="module")
def second() -> Iterator[FakeHost]:
    host = FakeHost.start(name="other-box", models=["llama3.2", "all-minilm"])
    yield host
    host.stop()


def connections(host: FakeHost) -> int:
    # The stats request opens a connection of its own: leave it out.
    return int(host.stats()["connections"]) - 1


def answer_of(provider: OllamaProvider, question: str) -> str:
    return provider.chat(question, model="llama3.2").message.content


# -- what children run (module level: spawned children import them) ---------------------------------------
def child_chats(provider: OllamaProvider, index: int, start: Any, results: Any) -> None:
    start.wait(10)
    results.put([(f"child {index} q{k}", answer_of(provider, f"child {index} q{k}")) for k in range(3)])


def child_chats_async(provider: AsyncOllamaProvider, index: int, start: Any, results: Any) -> None:
    async def ask() -> list[tuple[str, str]]:
        questions = [f"child {index} q{k}" for k in range(3)]
        answers = await asyncio.gather(*(provider.chat(q, model="llama3.2") for q in questions))
        return [(q, a.message.content) for q, a in zip(questions, answers, strict=True)]

    start.wait(10)
    results.put(asyncio.run(ask()))


def embed_in_worker(provider: OllamaProvider, texts: list[str]) -> list[list[float]]:
    return provider.embed(texts, model="all-minilm")


def run_children(method: str, target: Any, provider: Any) -> list[tuple[str, str]]:
    context = multiprocessing.get_context(method)
    start, results = context.Event(), context.Queue()
    children = [context.Process(target=target, args=(provider, i, start, results)) for i in range(CHILDREN)]
    for child in children:
        child.start()
    start.set()  # every child asks at the same moment
    answers = [pair for _ in children for pair in results.get(timeout=30)]
    for child in children:
        child.join(10)
        assert child.exitcode == 0
    return answers


def assert_each_got_its_own_answer(answers: list[tuple[str, str]], name: str = "box") -> None:
    assert len(answers) == CHILDREN * 3
    for question, answer in answers:
        assert answer == f"{name} says: {question}"


# -- fork ---------------------------------------------------------------------------------------------------
def test_forked_children_never_use_the_parents_connection(fake: FakeHost) -> None:
    fake.reset()
    with OllamaProvider(fake.url) as provider:
        assert answer_of(provider, "parent") == "box says: parent"  # a pooled keep-alive connection
        parent_client = provider._transport._slot.current
        answers = run_children("fork", child_chats, provider)
        assert answer_of(provider, "parent again") == "box says: parent again"
        assert provider._transport._slot.current is parent_client  # the parent kept its own
    assert_each_got_its_own_answer(answers)
    assert connections(fake) == 1 + CHILDREN


def test_forked_children_of_an_async_provider_open_their_own_connections(fake: FakeHost) -> None:
    fake.reset()
    provider = AsyncOllamaProvider(fake.url)
    loop = asyncio.new_event_loop()  # left open: its client keeps a pooled connection while children fork
    try:
        assert (
            loop.run_until_complete(provider.chat("parent", model="llama3.2")).message.content
            == "box says: parent"
        )
        answers = run_children("fork", child_chats_async, provider)
        again = loop.run_until_complete(provider.chat("parent again", model="llama3.2"))
        assert again.message.content == "box says: parent again"
        loop.run_until_complete(provider.close())
    finally:
        loop.close()
    assert_each_got_its_own_answer(answers)
    assert connections(fake) >= 1 + CHILDREN  # the children's own (gather may open more than one each)


def test_forked_children_of_a_pool_route_on_their_own(fake: FakeHost, second: FakeHost) -> None:
    with OllamaProvider(hosts=[fake.url, second.url]) as provider:
        answer_of(provider, "parent")
        answers = run_children("fork", child_chats, provider)
    assert len(answers) == CHILDREN * 3
    for question, answer in answers:
        assert answer in (f"box says: {question}", f"other-box says: {question}")


def child_builds(results: Any) -> None:
    results.put(built_once({"provider": None}, "provider", lambda: "the child's"))


def test_a_child_forked_during_a_lazy_build_builds_its_own() -> None:
    # A parent thread is inside built_once (holding its lock) at the moment of the fork: the child's
    # copy of that lock would never be released, and its first adapter call would hang.
    building, finish = threading.Event(), threading.Event()

    def slow_build() -> str:
        building.set()
        finish.wait(10)
        return "the parent's"

    builder = threading.Thread(target=built_once, args=({"provider": None}, "provider", slow_build))
    builder.start()
    assert building.wait(10)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=child_builds, args=(results,))
    try:
        child.start()
        child.join(10)
        alive = child.is_alive()
    finally:
        finish.set()
        builder.join(10)
        if child.is_alive():
            child.kill()
    assert not alive, "the forked child hung on the lock its parent's thread held"
    assert results.get(timeout=5) == "the child's"


# -- spawn, process pools --------------------------------------------------------------------------------------
def test_spawned_children_get_a_used_provider_by_pickle(fake: FakeHost) -> None:
    with OllamaProvider(fake.url) as provider:
        answer_of(provider, "parent")
        answers = run_children("spawn", child_chats, provider)
    assert_each_got_its_own_answer(answers)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_process_pool_embeds_with_a_used_provider(fake: FakeHost, second: FakeHost, method: str) -> None:
    texts = [[f"doc {part}-{i}" for i in range(5)] for part in range(4)]
    with OllamaProvider(hosts=[fake.url, second.url]) as provider:
        provider.embed("warm up", model="all-minilm")
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as workers:
            results = list(workers.map(embed_in_worker, [provider] * len(texts), texts))
    assert results == [[vector_of(text) for text in part] for part in texts]


# -- pickles and copies ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [OllamaProvider, AsyncOllamaProvider])
def test_a_used_provider_pickles_and_copies_as_its_configuration(fake: FakeHost, make: Any) -> None:
    provider = make(fake.url, model="llama3.2", timeout=12.0, headers={"X-Team": "search"})
    if make is OllamaProvider:
        answer_of(provider, "use it first")
    else:
        asyncio.run(provider.chat("use it first"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clones = [pickle.loads(pickle.dumps(provider)), copy.deepcopy(provider), copy.copy(provider)]
    for clone in clones:
        assert type(clone) is make and clone is not provider
        assert clone.config == provider.config
        assert clone._transport is not provider._transport
        if make is OllamaProvider:
            assert answer_of(clone, "the copy") == "box says: the copy"
            clone.close()
        else:
            assert asyncio.run(clone.chat("the copy")).message.content == "box says: the copy"
    assert len(pickle.dumps(provider)) < 2000  # configuration only: no clients, sockets or locks
    if make is OllamaProvider:
        provider.close()


def test_a_pool_pickles_with_its_hosts_and_settings(fake: FakeHost, second: FakeHost) -> None:
    with OllamaProvider(hosts=[fake.url, second.url], max_in_flight_per_host=2) as provider:
        answer_of(provider, "use it")
        clone = pickle.loads(pickle.dumps(provider))
    assert clone.hosts == (fake.url, second.url) and clone.config.max_in_flight_per_host == 2
    assert answer_of(clone, "clone").endswith("says: clone")
    clone.close()


# -- errors raised in a worker ----------------------------------------------------------------------------------
ERRORS = [
    errors.InvalidRequestError("bad model name"),
    errors.OllamaConnectionError("refused", host="http://a:11434", unreachable=True),
    errors.OllamaTimeoutError("connect timeout", retryable=True),
    errors.InvalidResponseError("not JSON"),
    errors.OllamaResponseError("runner crashed", status_code=500, body='{"error":"runner crashed"}'),
    errors.ModelNotFoundError("model 'x' not found", model="x", suggestions=["x2:latest"]),
    errors.UnsupportedCapabilityError("does not support tools", status_code=400),
    errors.ContextLengthError("input too long", index=3),
    errors.ServerBusyError("server busy", status_code=503, retry_after=2.0),
    errors.StreamError("pull failed"),
    errors.IncompleteStreamError("cut"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_pickles_with_its_message_and_attributes(error: errors.OllamaError) -> None:
    copy_ = pickle.loads(pickle.dumps(error))
    assert type(copy_) is type(error) and str(copy_) == str(error) and copy_.args == error.args
    assert vars(copy_) == vars(error)


def embed_a_missing_model(provider: OllamaProvider) -> list[float]:
    return provider.embed("x", model="not-installed")


def test_an_error_raised_in_a_worker_reaches_the_parent_typed(fake: FakeHost) -> None:
    with (
        OllamaProvider(fake.url, retries=0) as provider,
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as workers,
        pytest.raises(errors.ModelNotFoundError) as caught,
    ):
        workers.submit(embed_a_missing_model, provider).result(timeout=60)
    assert caught.value.model == "not-installed" and caught.value.status_code == 404

"""The LlamaIndex classes over several hosts and across processes (fake Ollama processes on loopback).

``base_url`` takes several servers, comma-separated or as a list; a used LLM or embedding model
pickles (LlamaIndex drops what does not pickle with a logged warning: nothing of ours does) and
works in forked and spawned children, every answer checked against its own question.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import pickle
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama

from ollama_provider.testing import FakeHost, answered_by, vector_of

from ..fakes import started_once

MODELS = ["llama3.2", "all-minilm"]


fakes = started_once(2, prefix="li", models=MODELS)


@pytest.fixture
def urls(fakes: list[FakeHost]) -> list[str]:
    return [host.fresh().url for host in fakes]


@pytest.mark.parametrize("form", ["comma", "list"])
def test_the_llm_spreads_over_the_hosts_of_base_url(urls: list[str], form: str) -> None:
    base_url: Any = ",".join(urls) if form == "comma" else urls
    llm = Ollama(model="llama3.2", base_url=base_url, context_window=4096)
    names = {answered_by(llm.complete(f"q{i}").text, f"q{i}") for i in range(4)}
    names |= {answered_by(str(llm.chat([ChatMessage(role="user", content="chat")]).message.content), "chat")}
    assert names == {"li-1", "li-2"}


async def test_async_streaming_over_several_hosts(urls: list[str]) -> None:
    llm = Ollama(model="llama3.2", base_url=urls, context_window=4096)
    chunks = await llm.astream_complete("streamed")
    text = "".join([chunk.delta or "" async for chunk in chunks])
    assert answered_by(text, "streamed") in {"li-1", "li-2"}


def test_embeddings_split_a_batch_across_the_hosts_in_order(urls: list[str], fakes: list[FakeHost]) -> None:
    texts = [f"node {i}" for i in range(40)]
    vectors = OllamaEmbedding(model_name="all-minilm", base_url=",".join(urls)).get_text_embedding_batch(
        texts
    )
    assert vectors == [vector_of(text) for text in texts]
    assert all(host.requests("/api/embed") >= 1 for host in fakes)


# -- threads -----------------------------------------------------------------------------------------
def test_threads_racing_for_the_first_call_share_one_provider(
    urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = Ollama(model="llama3.2", base_url=urls, context_window=4096)
    embedding = OllamaEmbedding(model_name="all-minilm", base_url=urls)
    builds: list[str] = []

    def slowed(cls: Any) -> None:
        real_settings = cls._settings

        def slow_settings(self: Any) -> dict[str, Any]:
            builds.append(cls.__name__)
            time.sleep(0.02)  # keeps the window open for every racing thread
            return dict(real_settings(self))

        monkeypatch.setattr(cls, "_settings", slow_settings)

    slowed(Ollama)
    slowed(OllamaEmbedding)
    start = threading.Barrier(6)

    def first_calls(index: int) -> tuple[str, list[float]]:
        start.wait(10)
        return llm.complete(f"thread {index}").text, embedding.get_text_embedding(f"thread {index}")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(first_calls, range(6)))
    for index, (text, vector) in enumerate(results):
        assert answered_by(text, f"thread {index}") in {"li-1", "li-2"}
        assert vector == vector_of(f"thread {index}")
    assert sorted(builds) == ["Ollama", "OllamaEmbedding"]  # one provider each


def complete_in_child(llm: Ollama, question: str) -> str:
    return llm.complete(question).text


def embed_in_child(embedding: OllamaEmbedding, texts: list[str]) -> list[list[float]]:
    return embedding.get_text_embedding_batch(texts)


def used_models(urls: list[str]) -> tuple[Ollama, OllamaEmbedding]:
    llm = Ollama(model="llama3.2", base_url=urls[0], context_window=4096)
    embedding = OllamaEmbedding(model_name="all-minilm", base_url=urls)
    llm.complete("first use")
    embedding.get_text_embedding("first use")
    return llm, embedding


async def test_used_models_pickle_and_copy_without_warnings(
    urls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    llm, embedding = used_models(urls)
    await llm.acomplete("async use too")
    await embedding.aget_text_embedding_batch(["async use too"])
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clones = [f(model) for model in (llm, embedding) for f in (_pickled, copy.deepcopy, copy.copy)]
    assert caplog.records == []  # LlamaIndex logs "Removing unpickleable ..." for what it drops
    for clone in clones:
        if isinstance(clone, Ollama):
            assert answered_by(clone.complete("copy").text, "copy") == "li-1"
            assert clone.base_url == urls[0]
        else:
            assert clone.get_text_embedding("copy") == vector_of("copy")
            assert await clone.aget_text_embedding("async copy") == vector_of("async copy")


def _pickled(model: Any) -> Any:
    return pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_process_pool_runs_a_used_llm_and_embedding(urls: list[str], method: str) -> None:
    llm, embedding = used_models(urls)
    questions = [f"worker question {i}" for i in range(6)]
    parts = [[f"text {p}-{i}" for i in range(3)] for p in range(4)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as workers:
        answers = list(workers.map(complete_in_child, [llm] * len(questions), questions))
        vectors = list(workers.map(embed_in_child, [embedding] * len(parts), parts))
    assert answers == [f"li-1 says: {question}" for question in questions]
    assert vectors == [[vector_of(text) for text in part] for part in parts]

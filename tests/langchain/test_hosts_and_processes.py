"""The LangChain classes over several hosts and across processes (fake Ollama processes on loopback).

``base_url`` takes several servers, comma-separated or as a list; a used model pickles, copies and
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
from langchain_core.load import dumpd
from langchain_ollama_provider import ChatOllama, OllamaEmbeddings, OllamaLLM

from ollama_provider import InvalidRequestError
from ollama_provider.testing import FakeHost, answered_by, vector_of

from ..fakes import started_once

MODELS = ["llama3.2", "all-minilm"]


fakes = started_once(2, prefix="lc", models=MODELS)


@pytest.fixture
def urls(fakes: list[FakeHost]) -> list[str]:
    return [host.fresh().url for host in fakes]


# -- several hosts -------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["comma", "list"])
def test_chat_model_spreads_over_the_hosts_of_base_url(urls: list[str], form: str) -> None:
    base_url: Any = ",".join(urls) if form == "comma" else urls
    llm = ChatOllama(model="llama3.2", base_url=base_url)
    names = {answered_by(str(llm.invoke(f"q{i}").content), f"q{i}") for i in range(4)}
    assert names == {"lc-1", "lc-2"}
    assert llm.host == ",".join(urls)


async def test_async_chat_and_streaming_over_several_hosts(urls: list[str]) -> None:
    llm = ChatOllama(model="llama3.2", base_url=",".join(urls))
    answer = await llm.ainvoke("async")
    text = "".join([str(chunk.content) async for chunk in llm.astream("streamed")])
    assert answered_by(str(answer.content), "async") in {"lc-1", "lc-2"}
    assert answered_by(text, "streamed") in {"lc-1", "lc-2"}


def test_embeddings_split_a_batch_across_the_hosts_in_order(urls: list[str], fakes: list[FakeHost]) -> None:
    texts = [f"document {i}" for i in range(40)]
    vectors = OllamaEmbeddings(model="all-minilm", base_url=urls).embed_documents(texts)
    assert vectors == [vector_of(text) for text in texts]
    assert all(host.requests("/api/embed") >= 1 for host in fakes)


def test_credentials_in_the_hosts_become_one_header_and_never_reach_serialisation(urls: list[str]) -> None:
    llm = ChatOllama(model="llama3.2", base_url=["http://me:secret@a:11434", "http://me:secret@b:11434"])
    config = llm.provider.config
    assert config.base_urls == ("http://a:11434", "http://b:11434")
    assert dict(config.request_headers)["Authorization"] == "Basic bWU6c2VjcmV0"  # me:secret
    assert "secret" not in str(dumpd(llm)) and "secret" not in llm.host
    with pytest.raises(InvalidRequestError, match="different user:password@ credentials"):
        _ = ChatOllama(model="llama3.2", base_url="http://me:one@a:11434,http://me:two@b:11434").provider


# -- processes -------------------------------------------------------------------------------------------
# -- threads -----------------------------------------------------------------------------------------
def test_threads_racing_for_the_first_call_share_one_provider(
    urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = ChatOllama(model="llama3.2", base_url=",".join(urls))
    builds: list[bool] = []
    real_config = ChatOllama._config

    def slow_config(self: ChatOllama, *, asynchronous: bool) -> Any:
        builds.append(asynchronous)
        time.sleep(0.02)  # keeps the window open for every racing thread
        return real_config(self, asynchronous=asynchronous)

    monkeypatch.setattr(ChatOllama, "_config", slow_config)
    start = threading.Barrier(6)

    def first_call(index: int) -> str:
        start.wait(10)
        return str(llm.invoke(f"thread {index}").content)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(first_call, range(6)))
    for index, answer in enumerate(answers):
        assert answered_by(answer, f"thread {index}") in {"lc-1", "lc-2"}
    assert builds == [False]  # one provider, one connection pool per host


def ask_in_child(llm: ChatOllama, question: str) -> str:
    return str(llm.invoke(question).content)


def embed_in_child(embeddings: OllamaEmbeddings, texts: list[str]) -> list[list[float]]:
    return embeddings.embed_documents(texts)


def used_models(urls: list[str]) -> list[Any]:
    chat = ChatOllama(model="llama3.2", base_url=urls[0], temperature=0.0)
    llm = OllamaLLM(model="llama3.2", base_url=",".join(urls))
    embeddings = OllamaEmbeddings(model="all-minilm", base_url=urls)
    chat.invoke("first use")
    llm.invoke("first use")
    embeddings.embed_query("first use")
    return [chat, llm, embeddings]


def test_used_models_pickle_and_copy_without_warnings(
    urls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for model in used_models(urls):
            for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), copy.copy(model)):
                assert type(clone) is type(model) and clone.host == model.host
                if isinstance(clone, OllamaEmbeddings):
                    assert clone.embed_query("copy") == vector_of("copy")
                else:
                    text = clone.invoke("copy")
                    answered_by(str(getattr(text, "content", text)), "copy")
    assert caplog.records == []


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_process_pool_runs_a_used_chat_model_and_embeddings(urls: list[str], method: str) -> None:
    chat, _, embeddings = used_models(urls)
    questions = [f"worker question {i}" for i in range(6)]
    parts = [[f"text {p}-{i}" for i in range(3)] for p in range(4)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as workers:
        answers = list(workers.map(ask_in_child, [chat] * len(questions), questions))
        vectors = list(workers.map(embed_in_child, [embeddings] * len(parts), parts))
    for answer, question in zip(answers, questions, strict=True):
        assert answer == f"lc-1 says: {question}"
    assert vectors == [[vector_of(text) for text in part] for part in parts]

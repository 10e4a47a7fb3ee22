"""``Ollama.metadata`` (real /api/show recordings) and what the adapter sends (synthetic MockTransport)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.prompts import PromptTemplate
from llama_index.embeddings.ollama_provider import OllamaEmbedding
from llama_index.llms.ollama_provider import Ollama, StructuredOutputError
from pydantic import BaseModel
from vcr.cassette import Cassette as VcrCassette

from ..recordings import Cassette

MockOllama = Callable[..., Any]  # the mock_ollama fixture: handler -> RecordingHandler
HI = [ChatMessage(role="user", content="Hi")]


# --------------------------------------------------------------------------- metadata, recorded


def context_length(recording: Cassette) -> int:
    info = recording.exchange("/api/show").json["model_info"]
    return int(info[f"{info['general.architecture']}.context_length"])


def answered_since(vcr: VcrCassette, recording: Cassette, known: int) -> int:
    """Requests the cassette answered: replayed ones, plus those a record run recorded since ``known``."""
    return vcr.play_count + len(recording.exchanges) - known


@pytest.mark.vcr("api/show.yaml")
def test_metadata_reads_show_once_and_caches_it(vcr: VcrCassette, recording: Cassette) -> None:
    llm = Ollama(model="smollm2:135m")
    known = len(recording.exchanges)

    first, second = llm.metadata, llm.metadata

    assert "tools" in recording.exchange("/api/show").json["capabilities"]
    assert (first.context_window, first.is_function_calling_model, first.model_name) == (
        context_length(recording),
        True,
        "smollm2:135m",
    )
    assert second == first
    assert answered_since(vcr, recording, known) == 1


@pytest.mark.vcr("api/show_embedding_model.yaml")
def test_a_model_without_the_tools_capability_is_not_function_calling() -> None:
    assert Ollama(model="all-minilm:latest").metadata.is_function_calling_model is False


@pytest.mark.vcr("api/show.yaml")
async def test_ametadata_fetches_asynchronously_then_metadata_does_no_io(
    vcr: VcrCassette, recording: Cassette
) -> None:
    llm = Ollama(model="smollm2:135m")
    known = len(recording.exchanges)

    fetched = await llm.ametadata()

    assert fetched.context_window == context_length(recording)
    assert llm.metadata == fetched
    assert answered_since(vcr, recording, known) == 1


@pytest.mark.vcr("api/show_missing.yaml", "api/tags.yaml")
def test_metadata_falls_back_with_a_warning_when_show_fails(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        metadata = Ollama(model="no-such-model:1b").metadata

    assert metadata.context_window == DEFAULT_CONTEXT_WINDOW
    assert "could not read the details of Ollama model 'no-such-model:1b'" in caplog.text


# --------------------------------------------------------------------------- requests, synthetic


def chat_answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "model": body["model"],
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "ok"},
            "done": True,
            "done_reason": "stop",
        },
    )


def test_nothing_is_sent_and_no_client_built_in_init(mock_ollama: MockOllama) -> None:
    server = mock_ollama(chat_answer)
    llm = Ollama(model="m", client_kwargs=server.client_kwargs())

    assert server.requests == []
    assert llm._provider is None and llm._async_provider is None
    assert llm.to_payload()["context_window"] is None  # callbacks never trigger /api/show


def test_num_ctx_is_sent_only_when_context_window_is_set(mock_ollama: MockOllama) -> None:
    server = mock_ollama(chat_answer)
    Ollama(model="m", client_kwargs=server.client_kwargs()).chat(HI)
    Ollama(model="m", context_window=2048, client_kwargs=server.client_kwargs()).chat(HI)

    options = [body.get("options", {}) for body in server.bodies("/api/chat")]
    assert ["num_ctx" in o for o in options] == [False, True]
    assert options[1]["num_ctx"] == 2048
    assert [r.url.path for r in server.requests] == ["/api/chat", "/api/chat"]  # no /api/show


def test_user_settings_make_metadata_free_of_io(mock_ollama: MockOllama) -> None:
    server = mock_ollama(chat_answer)
    llm = Ollama(
        model="m",
        context_window=4096,
        is_function_calling_model=False,
        additional_kwargs={"num_predict": 99},
        client_kwargs=server.client_kwargs(),
    )

    assert (llm.metadata.context_window, llm.metadata.is_function_calling_model, llm.metadata.num_output) == (
        4096,
        False,
        99,
    )
    assert server.requests == []


def test_settings_and_per_call_arguments_reach_the_request(mock_ollama: MockOllama) -> None:
    server = mock_ollama(chat_answer)
    llm = Ollama(
        model="m",
        temperature=0.2,
        json_mode=True,
        keep_alive="10m",
        thinking="low",
        additional_kwargs={"seed": 7},
        client_kwargs=server.client_kwargs(),
    )

    llm.chat(HI)
    llm.chat(HI, format={"type": "object"}, think=False, num_predict=5, top_logprobs=2, logprobs=True)

    default, per_call = server.bodies("/api/chat")
    assert (default["format"], default["think"], default["keep_alive"]) == ("json", "low", "10m")
    assert default["options"] == {"temperature": 0.2, "seed": 7}
    assert (per_call["format"], per_call["think"], per_call["top_logprobs"]) == ({"type": "object"}, False, 2)
    assert per_call["options"] == {"temperature": 0.2, "seed": 7, "num_predict": 5}


def test_ollama_host_and_client_settings_reach_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box")
    llm = Ollama(model="m", request_timeout=120.0, retries=1, headers={"X-Team": "a"})

    config = llm.provider.config
    assert (config.base_url, config.timeout, config.retries, dict(config.headers)) == (
        "http://gpu-box:11434",
        120.0,
        1,
        {"X-Team": "a"},
    )
    assert llm.async_provider.config.base_url == "http://gpu-box:11434"


def test_base_url_userinfo_becomes_basic_auth_and_never_a_serialised_secret() -> None:
    llm = Ollama(model="m", base_url="http://me:pw@box:1", headers={"X-Team": "a"})
    embedding = OllamaEmbedding(model_name="e", base_url="http://me:pw@box:1")
    for model in (llm, embedding):
        config = model.provider.config
        assert config.base_url == "http://box:1"
        assert dict(config.request_headers) == {"Authorization": "Basic bWU6cHc=", **dict(config.headers)}
        assert "pw@" not in model.to_json() and "bWU6cHc" not in model.to_json()


def test_a_stream_left_early_closes_its_response(mock_ollama: MockOllama) -> None:
    lines = [
        {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": w}, "done": False}
        for w in ["a", "b", "c"]
    ]
    closed: list[bool] = []

    class TrackedStream(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            for line in lines:
                yield (json.dumps(line) + "\n").encode()

        def close(self) -> None:
            closed.append(True)

    server = mock_ollama(lambda _: httpx.Response(200, stream=TrackedStream()))
    stream = Ollama(model="m", client_kwargs=server.client_kwargs()).stream_chat(HI)

    first = next(stream)
    stream.close()

    assert first.delta == "a"
    assert closed == [True]


def test_a_streamed_structured_answer_that_stops_early_raises_a_clear_error(mock_ollama: MockOllama) -> None:
    # Synthetic: a JSON answer cut by num_predict (what a tiny model does with a low limit).
    pieces = ['{"name": ', '"Ada"']
    lines = [
        {"model": "m", "created_at": "t", "message": {"role": "assistant", "content": p}, "done": False}
        for p in pieces
    ] + [{"model": "m", "created_at": "t", "message": {"role": "assistant", "content": ""}, "done": True}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    server = mock_ollama(lambda _: httpx.Response(200, content=body.encode()))
    llm = Ollama(model="m", client_kwargs=server.client_kwargs())

    class Person(BaseModel):
        name: str
        age: int

    objects = llm.stream_structured_predict(Person, PromptTemplate("{text}"), text="Ada Lovelace was 36.")
    with pytest.raises(StructuredOutputError, match=r"not a valid Person: \(root\): Invalid JSON") as caught:
        list(objects)

    assert caught.value.text == '{"name": "Ada"'
    assert server.bodies("/api/chat")[0]["format"]["required"] == ["name", "age"]

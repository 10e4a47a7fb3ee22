"""OllamaEmbedding: real recordings (api/embed*.yaml) and synthetic MockTransport servers (said so)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from llama_index.embeddings.ollama_provider import OllamaEmbedding

from ollama_provider import ContextLengthError, ModelNotFoundError

from ..recordings import Cassette

MODEL = "all-minilm:latest"
MockOllama = Callable[..., Any]  # the mock_ollama fixture: handler -> RecordingHandler
BATCH = ["The sky is blue.", "Grass is green.", "Ollama runs models locally."]


# --------------------------------------------------------------------------- real recordings


@pytest.mark.vcr("api/embed.yaml")
def test_query_embedding_is_the_recorded_vector(recording: Cassette) -> None:
    vector = OllamaEmbedding(model_name=MODEL).get_query_embedding("The sky is blue.")

    assert len(vector) == 384
    assert [vector] == recording.exchange("/api/embed").json["embeddings"]


@pytest.mark.vcr("api/embed.yaml")
async def test_async_query_embedding_is_the_same_vector(recording: Cassette) -> None:
    vector = await OllamaEmbedding(model_name=MODEL).aget_query_embedding("The sky is blue.")

    assert [vector] == recording.exchange("/api/embed").json["embeddings"]


@pytest.mark.vcr("api/embed_batch.yaml")
def test_text_batch_is_one_request_with_every_text(recording: Cassette) -> None:
    vectors = OllamaEmbedding(model_name=MODEL).get_text_embedding_batch(BATCH)

    (exchange,) = recording.all("/api/embed")
    assert exchange.request["input"] == BATCH
    assert vectors == exchange.json["embeddings"]
    assert [len(v) for v in vectors] == [384, 384, 384]


@pytest.mark.vcr("api/embed_batch.yaml")
async def test_async_text_batch(recording: Cassette) -> None:
    vectors = await OllamaEmbedding(model_name=MODEL).aget_text_embedding_batch(BATCH)

    assert vectors == recording.exchange("/api/embed").json["embeddings"]


@pytest.mark.vcr("api/embed_dimensions.yaml")
def test_dimensions_shortens_the_vectors(recording: Cassette) -> None:
    vector = OllamaEmbedding(model_name=MODEL, dimensions=64).get_text_embedding("The sky is blue.")

    assert len(vector) == 64
    assert [vector] == recording.exchange("/api/embed").json["embeddings"]


@pytest.mark.vcr("api/embed_missing_model.yaml", "api/tags.yaml")
def test_a_missing_embedding_model_raises_model_not_found() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        OllamaEmbedding(model_name="no-such-model:1b").get_query_embedding("x")

    assert caught.value.model == "no-such-model:1b"


# --------------------------------------------------------------------------- synthetic servers


def embed_answer(request: httpx.Request) -> httpx.Response:
    texts = json.loads(request.content)["input"]
    return httpx.Response(200, json={"model": MODEL, "embeddings": [[float(len(t)), 1.0] for t in texts]})


def test_instructions_prefix_queries_and_texts(mock_ollama: MockOllama) -> None:
    server = mock_ollama(embed_answer)
    embed = OllamaEmbedding(
        model_name=MODEL,
        query_instruction="search_query:",
        text_instruction="search_document: ",
        client_kwargs=server.client_kwargs(),
    )

    embed.get_query_embedding(" What is Ollama? ")
    embed.get_text_embedding_batch(["Ollama runs models."])

    assert [b["input"] for b in server.bodies("/api/embed")] == [
        ["search_query: What is Ollama?"],
        ["search_document: Ollama runs models."],
    ]


def test_options_truncate_keep_alive_and_dimensions_are_sent(mock_ollama: MockOllama) -> None:
    server = mock_ollama(embed_answer)
    embed = OllamaEmbedding(
        model_name=MODEL,
        truncate=False,
        dimensions=2,
        keep_alive="10m",
        ollama_additional_kwargs={"num_thread": 2},
        client_kwargs=server.client_kwargs(),
    )

    embed.get_text_embedding("hello")

    body = server.bodies("/api/embed")[0]
    assert {k: body[k] for k in ("truncate", "dimensions", "keep_alive", "options")} == {
        "truncate": False,
        "dimensions": 2,
        "keep_alive": "10m",
        "options": {"num_thread": 2},
    }


def test_an_overlong_input_with_truncate_false_raises_context_length_error(
    mock_ollama: MockOllama,
) -> None:
    # The server's real answer (api/embed_overflow.yaml), served by a synthetic handler: the recorded
    # input ends with a space, which LlamaIndex's text formatting strips, so it cannot be replayed.
    server = mock_ollama(
        lambda _: httpx.Response(400, json={"error": "the input length exceeds the context length"})
    )
    embed = OllamaEmbedding(model_name=MODEL, truncate=False, client_kwargs=server.client_kwargs())

    with pytest.raises(ContextLengthError, match="exceeds the context length"):
        embed.get_text_embedding("word " * 2000)


async def test_async_batches_run_concurrently_but_bounded() -> None:
    in_flight = 0
    peak = 0

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)  # let the other batches start (or wait at the bound)
        in_flight -= 1
        return embed_answer(request)

    embed = OllamaEmbedding(
        model_name=MODEL,
        embed_batch_size=1,
        embed_concurrency=2,
        client_kwargs={"transport": httpx.MockTransport(slow_answer)},
    )

    vectors = await embed.aget_text_embedding_batch([f"text {i}" for i in range(8)])

    assert [v[0] for v in vectors] == [6.0] * 8
    assert peak == 2


def test_without_a_batch_size_llama_index_hands_over_large_batches_and_the_core_splits_them(
    mock_ollama: MockOllama,
) -> None:
    server = mock_ollama(embed_answer)
    embed = OllamaEmbedding(model_name=MODEL, client_kwargs=server.client_kwargs())
    texts = [f"text {i}" for i in range(2600)]

    vectors = embed.get_text_embedding_batch(texts)

    assert embed.embed_batch_size == 2048  # LlamaIndex's default of 10 would make 260 requests
    assert len(vectors) == 2600
    assert [len(body["input"]) for body in server.bodies()] == [256] * 8 + [256, 256, 40]
    assert [t for body in server.bodies() for t in body["input"]] == texts


def test_an_explicit_batch_size_is_the_request_size(mock_ollama: MockOllama) -> None:
    server = mock_ollama(embed_answer)
    embed = OllamaEmbedding(model_name=MODEL, embed_batch_size=300, client_kwargs=server.client_kwargs())

    embed.get_text_embedding_batch([f"text {i}" for i in range(700)])

    assert [len(body["input"]) for body in server.bodies()] == [300, 300, 100]


async def test_async_large_default_batches_keep_embed_concurrency_the_bound() -> None:
    in_flight = 0
    peak = 0
    sizes: list[int] = []

    async def slow_answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        sizes.append(len(json.loads(request.content)["input"]))
        await asyncio.sleep(0.01)
        in_flight -= 1
        return embed_answer(request)

    embed = OllamaEmbedding(
        model_name=MODEL, embed_concurrency=3, client_kwargs={"transport": httpx.MockTransport(slow_answer)}
    )

    # Two LlamaIndex batches (2,048 + 952 texts) of 8 and 4 requests: never more than 3 at once.
    vectors = await embed.aget_text_embedding_batch([f"text {i}" for i in range(3000)])

    assert len(vectors) == 3000
    assert sorted(sizes) == sorted([256] * 11 + [184])
    assert peak == 3


def test_ollama_host_is_honoured_and_nothing_is_sent_before_the_first_call(
    monkeypatch: pytest.MonkeyPatch, mock_ollama: MockOllama
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:8080")
    server = mock_ollama(embed_answer)
    embed = OllamaEmbedding(model_name=MODEL, client_kwargs=server.client_kwargs())

    assert server.requests == []
    embed.get_text_embedding("hello")

    assert str(server.requests[0].url) == "http://gpu-box:8080/api/embed"


def test_base_url_wins_over_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:8080")

    assert (
        OllamaEmbedding(model_name=MODEL, base_url="http://other:1234").provider.host == "http://other:1234"
    )


def test_settings_passed_to_the_core(monkeypatch: pytest.MonkeyPatch) -> None:
    embed: Any = OllamaEmbedding(model_name=MODEL, request_timeout=5.0, headers={"Authorization": "Bearer t"})

    config = embed.async_provider.config
    assert (config.timeout, dict(config.headers), config.embed_concurrency) == (
        5.0,
        {"Authorization": "Bearer t"},
        4,
    )
    assert embed.num_workers == 4  # LlamaIndex's async batch workers bounded like the core

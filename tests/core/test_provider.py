"""Provider behaviour above the transport: embeddings batching, model management, the Protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ollama_provider import (
    AsyncOllamaProvider,
    AsyncProvider,
    ContextLengthError,
    InvalidRequestError,
    InvalidResponseError,
    ModelNotFoundError,
    OllamaProvider,
    Provider,
)
from ollama_provider.testing import ScriptedProvider, tool_call
from ollama_provider.types import Message

Handler = Callable[[httpx.Request], httpx.Response]
TAGS = {"models": [{"name": n, "model": n} for n in ("llama3.2:latest", "qwen2.5:7b", "all-minilm:latest")]}
MAX_TOKENS = 10  # the fake embedder's "context": longer inputs overflow unless truncated


def embedder(seen: list[list[str]]) -> Handler:
    """A fake /api/embed: the vector of a text is [len(text), position]."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tags":
            return httpx.Response(200, json=TAGS)
        body = json.loads(request.content)
        texts = body["input"]
        seen.append(texts)
        if body.get("truncate") is False and any(len(t) > MAX_TOKENS for t in texts):
            return httpx.Response(400, json={"error": "the input length exceeds the context length"})
        return httpx.Response(
            200, json={"model": body["model"], "embeddings": [[float(len(t)), 0.0] for t in texts]}
        )

    return handle


def provider(handler: Handler, **settings: Any) -> OllamaProvider:
    return OllamaProvider(client_kwargs={"transport": httpx.MockTransport(handler)}, retries=0, **settings)


def async_provider(handler: Handler, **settings: Any) -> AsyncOllamaProvider:
    return AsyncOllamaProvider(
        client_kwargs={"transport": httpx.MockTransport(handler)}, retries=0, **settings
    )


TEXTS = ["x" * n for n in range(1, 8)]


def test_embed_batches_in_order() -> None:
    seen: list[list[str]] = []
    with provider(embedder(seen), embed_batch_size=3) as p:
        vectors = p.embed(TEXTS, model="all-minilm")
        assert [v[0] for v in vectors] == [float(len(t)) for t in TEXTS]
        assert [len(batch) for batch in seen] == [3, 3, 1]
        assert p.embed("abc", model="all-minilm") == [3.0, 0.0]
        assert p.embed([], model="all-minilm") == []


async def test_async_embed_batches_concurrently_but_bounded_and_in_order() -> None:
    in_flight = peak = 0

    async def handle(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        texts = json.loads(request.content)["input"]
        return httpx.Response(200, json={"model": "m", "embeddings": [[float(len(t))] for t in texts]})

    texts = ["y" * n for n in range(1, 41)]
    p = AsyncOllamaProvider(
        client_kwargs={"transport": httpx.MockTransport(handle)}, embed_batch_size=2, embed_concurrency=3
    )
    vectors = await p.embed(texts, model="m")
    await p.close()
    assert [v[0] for v in vectors] == [float(len(t)) for t in texts]
    assert peak == 3


def test_overflowing_input_is_named_by_its_index() -> None:
    texts = ["short", "tiny", "far too long for the context", "ok"]
    seen: list[list[str]] = []
    with provider(embedder(seen), embed_batch_size=2) as p, pytest.raises(ContextLengthError) as caught:
        p.embed(texts, model="all-minilm", truncate=False)
    assert caught.value.index == 2
    assert "index 2" in str(caught.value)


async def test_async_overflow_index() -> None:
    p = async_provider(embedder([]), embed_batch_size=3)
    with pytest.raises(ContextLengthError) as caught:
        await p.embed(["a", "b", "c", "d", "this one is much too long"], model="m", truncate=False)
    await p.close()
    assert caught.value.index == 4


def test_embedding_count_mismatch_is_invalid_response() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"model": "m", "embeddings": [[1.0]]})

    with provider(handle) as p, pytest.raises(InvalidResponseError, match="2 embeddings"):
        p.embed(["a", "b"], model="m")


def model_server(pulled: list[str]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tags":
            return httpx.Response(200, json=TAGS)
        if request.url.path == "/api/pull":
            pulled.append(json.loads(request.content)["model"])
            lines = [
                {"status": "pulling manifest"},
                {"status": "pulling abc", "digest": "sha256:abc", "total": 10, "completed": 5},
                {"status": "success"},
            ]
            return httpx.Response(200, content=b"".join(json.dumps(x).encode() + b"\n" for x in lines))
        if request.url.path == "/api/chat":
            return httpx.Response(
                404, json={"error": f"model '{json.loads(request.content)['model']}' not found"}
            )
        return httpx.Response(404, text="404 page not found")

    return handle


def test_ensure_model_finds_suggests_and_pulls() -> None:
    pulled: list[str] = []
    progress: list[Any] = []
    with provider(model_server(pulled)) as p:
        assert p.ensure_model("LLAMA3.2") == "llama3.2:latest"
        with pytest.raises(ModelNotFoundError) as caught:
            p.ensure_model("qwen2.5:8b")
        assert caught.value.suggestions == ["qwen2.5:7b"] and "ollama pull qwen2.5:8b" in str(caught.value)
        assert pulled == []
        assert p.ensure_model("qwen2.5:8b", pull=True, progress=progress.append) == "qwen2.5:8b"
        assert pulled == ["qwen2.5:8b"] and progress[-1].status == "success" and progress[1].percent == 50.0
        with pytest.raises(InvalidRequestError):
            p.ensure_model("bad name!")


async def test_ensure_model_pulls_from_a_plain_http_registry_when_told() -> None:
    # A registry on the local network speaks plain HTTP: without `insecure` Ollama tries HTTPS and fails.
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/tags":
            return httpx.Response(200, json=TAGS)
        bodies.append(json.loads(request.content))
        return httpx.Response(200, content=b'{"status": "success"}\n')

    name = "127.0.0.1:5000/library/all-minilm:latest"
    with provider(handle) as p:
        assert p.ensure_model(name, pull=True, insecure=True) == name
    assert await async_provider(handle).ensure_model(name, pull=True, insecure=True) == name
    assert [(body["model"], body.get("insecure")) for body in bodies] == [(name, True)] * 2


def test_a_404_from_chat_lists_the_closest_installed_models() -> None:
    with provider(model_server([])) as p:
        with pytest.raises(ModelNotFoundError) as caught:
            p.chat("hi", model="llama3.3")
        assert caught.value.model == "llama3.3" and caught.value.suggestions[0] == "llama3.2:latest"
        with pytest.raises(ModelNotFoundError) as streamed:
            list(p.chat("hi", model="llama3.3", stream=True))
        assert streamed.value.suggestions[0] == "llama3.2:latest"


async def test_async_ensure_model_and_suggestions() -> None:
    pulled: list[str] = []
    p = async_provider(model_server(pulled))
    assert await p.ensure_model("all-minilm") == "all-minilm:latest"
    with pytest.raises(ModelNotFoundError) as caught:
        await p.chat("hi", model="qwen2.5:8b")
    assert caught.value.suggestions == ["qwen2.5:7b"]
    final = await p.pull_model("x:1")
    assert final.status == "success" and pulled == ["x:1"]
    statuses = [chunk.status async for chunk in await p.pull_model("x:2", stream=True)]
    assert statuses == ["pulling manifest", "pulling abc", "success"]
    await p.close()


def test_blob_exists_and_raw_requests() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/blobs/"):
            return httpx.Response(200 if request.url.path.endswith("aa") else 404)
        if request.url.path == "/":
            return httpx.Response(200, text="Ollama is running")
        return httpx.Response(200, json={"version": "0.33.0"})

    with provider(handle) as p:
        assert p.blob_exists("sha256:aa") is True
        assert p.blob_exists("sha256:bb") is False
        assert p.request("GET", "/") == "Ollama is running"
        assert p.request("GET", "/api/version") == {"version": "0.33.0"}
        assert p.version() == "0.33.0"


def test_providers_and_the_double_satisfy_the_protocols() -> None:
    assert isinstance(OllamaProvider(), Provider)
    assert isinstance(ScriptedProvider(), Provider)
    assert isinstance(AsyncOllamaProvider(), AsyncProvider)


def answer_with(p: Provider) -> str:
    """Code written against the Protocol runs on the real provider and on the double alike."""
    return str(p.chat([{"role": "user", "content": "hi"}], model="scripted:latest").message.content)


def test_scripted_provider_behaves_like_the_real_one() -> None:
    fake = ScriptedProvider(["first", Message("assistant", "", tool_calls=[tool_call("f", {"a": 1})])])
    assert answer_with(fake) == "first"
    chunks = list(fake.chat("go", model="m", stream=True, tools=[{"name": "f", "parameters": {}}]))
    assert chunks[0].message.tool_calls and chunks[-1].finish_reason == "tool_calls"
    assert fake.requests[1]["tools"][0]["function"]["name"] == "f"
    with pytest.raises(InvalidRequestError):
        fake.chat([{"content": "no role"}], model="m")  # the same validation as the real provider
    assert fake.embed("same", model="e") == fake.embed("same", model="e") != fake.embed("other", model="e")
    with pytest.raises(ModelNotFoundError):
        fake.show_model("missing")
    assert fake.show_model("scripted:latest").context_length == 4096
    assert [c.response for c in fake.generate("p", model="m", stream=True)][-1] == ""
    assert fake.check_health().healthy

"""Spans and metrics with the OpenTelemetry SDK listening (in-memory exporter and metric reader).

Against real loopback servers: a fake Ollama in this process for one host, fake Ollama processes
for a pool. Expected values come from what the provider returned to the caller (the final chunk's
usage, the answering host), so the tests check that the telemetry tells the caller's truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from ollama_provider import AsyncOllamaProvider, ModelNotFoundError, OllamaProvider
from ollama_provider.telemetry._genai import CAPTURE_CONTENT_ENV
from ollama_provider.testing import FakeHost, FakeOllama

from ..fakes import started_once
from .otel_sdk import Telemetry, installed

FAST: dict[str, Any] = {"retries": 2, "backoff_base": 0.01, "backoff_max": 0.02, "connect_timeout": 1.0}


@pytest.fixture
def otel(caplog: pytest.LogCaptureFixture) -> Iterator[Telemetry]:
    yield from installed()
    # OpenTelemetry logs what it refuses (a context detached out of order, a bad attribute value).
    complaints = [
        r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING
    ]
    assert not complaints, [r.getMessage() for r in complaints]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(name="solo", models=["llama3.2", "all-minilm"], chunks=5) as server:
        yield server


fakes = started_once(2, models=["llama3.2", "all-minilm"])


@pytest.fixture
def pool_hosts(fakes: list[FakeHost]) -> list[FakeHost]:
    return [host.fresh() for host in fakes]


def only(spans: list[ReadableSpan]) -> ReadableSpan:
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def point(otel: Telemetry, metric: str, **match: Any) -> Any:
    """The one data point of ``metric`` whose attributes include ``match``."""
    found = [p for p in otel.points(metric) if all(p.attributes.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (metric, match, [dict(p.attributes) for p in otel.points(metric)])
    return found[0]


def test_a_streamed_chat_is_one_client_span_with_usage_and_time_to_first_chunk(
    otel: Telemetry, fake: FakeOllama
) -> None:
    with OllamaProvider(fake.url) as provider:
        chunks = list(provider.chat("Hello there", model="llama3.2", stream=True, temperature=0.3, seed=7))
    final = chunks[-1]
    span = only(otel.spans())
    assert span.name == "chat llama3.2"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attrs = attributes(span)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "ollama"
    assert attrs["gen_ai.request.model"] == "llama3.2"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.request.temperature"] == 0.3
    assert attrs["gen_ai.request.seed"] == 7
    assert attrs["gen_ai.response.model"] == final.model
    assert attrs["gen_ai.response.finish_reasons"] == (final.finish_reason,)
    assert attrs["gen_ai.usage.input_tokens"] == final.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.completion_tokens
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == fake.port
    assert span.start_time is not None and span.end_time is not None
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] <= (span.end_time - span.start_time) / 1e9
    # Nothing of the conversation without the opt-in.
    assert not [key for key in attrs if key.startswith(("gen_ai.input", "gen_ai.output.messages"))]

    common = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "ollama", "server.port": fake.port}
    assert point(otel, "gen_ai.client.operation.duration", **common).count == 1
    first = point(otel, "gen_ai.client.operation.time_to_first_chunk", **common)
    assert first.count == 1 and first.sum == pytest.approx(attrs["gen_ai.response.time_to_first_chunk"])
    tokens_in = point(otel, "gen_ai.client.token.usage", **common, **{"gen_ai.token.type": "input"})
    tokens_out = point(otel, "gen_ai.client.token.usage", **common, **{"gen_ai.token.type": "output"})
    assert (tokens_in.sum, tokens_out.sum) == (final.usage.prompt_tokens, final.usage.completion_tokens)


def test_an_async_stream_and_a_plain_answer_report_the_same_way(otel: Telemetry, fake: FakeOllama) -> None:
    async def chat() -> list[Any]:
        async with AsyncOllamaProvider(fake.url) as provider:
            stream = await provider.chat("Hi", model="llama3.2", stream=True)
            return [chunk async for chunk in stream]

    final = asyncio.run(chat())[-1]
    with OllamaProvider(fake.url) as provider:
        answer = provider.generate("Why?", model="llama3.2")
    streamed, plain = only(otel.spans("chat llama3.2")), only(otel.spans("text_completion llama3.2"))
    assert attributes(streamed)["gen_ai.usage.output_tokens"] == final.usage.completion_tokens
    assert attributes(streamed)["gen_ai.response.time_to_first_chunk"] > 0
    assert attributes(plain)["gen_ai.request.stream"] is False
    assert attributes(plain)["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert "gen_ai.response.time_to_first_chunk" not in attributes(plain)
    assert otel.points("gen_ai.client.operation.time_to_first_chunk")[0].count == 1  # the stream only


def test_prompts_and_completions_are_recorded_only_when_the_user_opts_in(
    otel: Telemetry, fake: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "secret plan"}]
    with OllamaProvider(fake.url) as provider:
        text = "".join(c.message.content for c in provider.chat(messages, model="llama3.2", stream=True))
        provider.generate("a prompt", model="llama3.2", system="You are terse.")
    chat = attributes(only(otel.spans("chat llama3.2")))
    assert json.loads(chat["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "secret plan"}]},
    ]
    output = json.loads(chat["gen_ai.output.messages"])
    assert output == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
    ]
    generate = attributes(only(otel.spans("text_completion llama3.2")))
    assert json.loads(generate["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "You are terse."}
    ]
    assert json.loads(generate["gen_ai.input.messages"])[0]["parts"][0]["content"] == "a prompt"


def test_a_retried_request_has_one_span_with_a_retry_event(otel: Telemetry, fake: FakeOllama) -> None:
    fake.arm(path="/api/chat", status=503, count=1)
    with OllamaProvider(fake.url, **FAST) as provider:
        provider.chat("again", model="llama3.2")
    span = only(otel.spans("chat llama3.2"))
    assert span.status.status_code is StatusCode.UNSET  # it ended well
    (event,) = span.events
    assert event.name == "ollama_provider.retry"
    assert dict(event.attributes or {}) | {"ollama_provider.retry.wait": 0} == {
        "server.address": "127.0.0.1",
        "server.port": fake.port,
        "error.type": "ServerBusyError",
        "ollama_provider.attempt": 1,
        "ollama_provider.retry.wait": 0,
        "ollama_provider.reason": "ServerBusyError: server busy, please try again.",
    }
    retries = point(otel, "ollama_provider.client.retries", **{"server.port": fake.port})
    assert retries.value == 1 and retries.attributes["error.type"] == "ServerBusyError"


def test_a_failed_request_ends_its_span_in_error_with_the_error_type(
    otel: Telemetry, fake: FakeOllama
) -> None:
    with OllamaProvider(fake.url, **FAST) as provider, pytest.raises(ModelNotFoundError):
        list(provider.chat("hi", model="no-such-model", stream=True))
    span = only(otel.spans("chat no-such-model"))
    assert span.status.status_code is StatusCode.ERROR
    assert "not found" in (span.status.description or "")
    assert attributes(span)["error.type"] == "ModelNotFoundError"
    failed = point(otel, "gen_ai.client.operation.duration", **{"error.type": "ModelNotFoundError"})
    assert failed.count == 1
    assert otel.points("gen_ai.client.token.usage") == []


def test_model_management_calls_have_spans_named_after_the_method(otel: Telemetry, fake: FakeOllama) -> None:
    with OllamaProvider(fake.url) as provider:
        provider.version()
        provider.show_model("llama3.2")
        provider.list_models()
    assert [s.name for s in otel.spans()] == ["version", "show_model llama3.2", "list_models"]
    assert {attributes(s)["gen_ai.provider.name"] for s in otel.spans()} == {"ollama"}


def test_a_stream_left_early_still_ends_its_span(otel: Telemetry, fake: FakeOllama) -> None:
    with OllamaProvider(fake.url) as provider, provider.chat("Hi", model="llama3.2", stream=True) as stream:
        next(stream)
    span = only(otel.spans())
    assert attributes(span)["ollama_provider.stream.closed_early"] is True
    assert "gen_ai.usage.output_tokens" not in attributes(span)


def test_a_failover_across_pooled_hosts_is_an_event_and_the_span_names_the_host_that_answered(
    otel: Telemetry, pool_hosts: list[FakeHost]
) -> None:
    first, second = pool_hosts
    first.arm(path="/api/chat", status=503, count=1)
    with OllamaProvider(hosts=[h.url for h in pool_hosts], **FAST) as provider:
        answer = provider.chat("who?", model="llama3.2", stream=True)
        said = "".join(chunk.message.content for chunk in answer)
    assert said == "host-2 says: who?"  # the fresh pool asked host-1 first; it was busy
    span = only(otel.spans("chat llama3.2"))
    assert attributes(span)["server.port"] == second.port
    (event,) = span.events
    assert event.name == "ollama_provider.failover"
    assert dict(event.attributes or {})["server.port"] == first.port
    assert dict(event.attributes or {})["ollama_provider.failover.to"] == second.url
    assert dict(event.attributes or {})["error.type"] == "ServerBusyError"
    failovers = point(otel, "ollama_provider.client.failovers", **{"server.port": first.port})
    assert failovers.value == 1
    # The routing's own checks (tags, ps) are internal: no span of their own.
    assert [s.name for s in otel.spans()] == ["chat llama3.2"]


def test_an_embed_batch_across_hosts_is_one_span_per_request_under_the_callers_span(
    otel: Telemetry, pool_hosts: list[FakeHost]
) -> None:
    texts = [f"text {i}" for i in range(10)]
    tracer = trace.get_tracer("tests")
    with (
        OllamaProvider(hosts=[h.url for h in pool_hosts], **FAST) as provider,
        tracer.start_as_current_span("ingest") as parent,
    ):
        vectors = provider.embed(texts, model="all-minilm", batch_size=4)
    assert len(vectors) == 10
    batches = otel.spans("embeddings all-minilm")
    assert sorted(attributes(s)["ollama_provider.embed.inputs"] for s in batches) == [2, 4, 4]
    assert {s.parent.span_id for s in batches if s.parent} == {parent.get_span_context().span_id}
    assert {attributes(s)["gen_ai.embeddings.dimension.count"] for s in batches} == {len(vectors[0])}
    assert sum(attributes(s)["gen_ai.usage.input_tokens"] for s in batches) == 10  # the fake counts texts
    assert {attributes(s)["server.port"] for s in batches} == {h.port for h in pool_hosts}  # both worked
    tokens = [
        p for p in otel.points("gen_ai.client.token.usage") if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert sum(p.sum for p in tokens) == 10


def test_an_async_pool_reports_its_failover_too(otel: Telemetry, pool_hosts: list[FakeHost]) -> None:
    first, second = pool_hosts
    first.arm(path="/api/chat", status=503, count=1)

    async def chat() -> str:
        async with AsyncOllamaProvider(hosts=[h.url for h in pool_hosts], **FAST) as provider:
            stream = await provider.chat("and you?", model="llama3.2", stream=True)
            return "".join([chunk.message.content async for chunk in stream])

    assert asyncio.run(chat()) == "host-2 says: and you?"
    span = only(otel.spans("chat llama3.2"))
    assert attributes(span)["server.port"] == second.port
    assert attributes(span)["gen_ai.response.time_to_first_chunk"] > 0
    assert [e.name for e in span.events] == ["ollama_provider.failover"]

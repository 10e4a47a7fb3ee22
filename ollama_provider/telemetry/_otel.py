"""OpenTelemetry spans and metrics of the core's requests, per the GenAI semantic conventions.

Imported by :func:`ollama_provider.telemetry.start` only once the application has imported
OpenTelemetry and set a tracer or meter provider; the names and values come from
:mod:`ollama_provider.telemetry._genai`. One span per request to Ollama (``chat llama3.2``,
``embeddings all-minilm``, ``pull_model llama3.2`` ...), kind CLIENT, current while the request is
sent (so an HTTP instrumentation's spans nest under it), covering its retries and failovers, which
are *events* on it: they are moments in one logical operation, with no duration of their own worth a
span, and an HTTP instrumentation (``opentelemetry-instrumentation-httpx``) already gives one span per
attempt to whoever wants that level.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .. import __version__
from ._genai import (
    GENERATION,
    SCHEMA_URL,
    OutputCollector,
    capture_content,
    common_attributes,
    error_type,
    input_content,
    operation_name,
    output_content,
    reason,
    request_attributes,
    response_attributes,
    server_attributes,
    span_name,
    token_counts,
)

if TYPE_CHECKING:
    from .._protocol import Call, StreamReader

T = TypeVar("T")

SCOPE = "ollama_provider"
#: Bucket boundaries the conventions recommend (seconds; tokens).
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = tuple(4.0**power for power in range(14))  # 1, 4, 16 ... 67108864


def start(
    call: Call[Any], host: str | None, trace_api: ModuleType | None, metrics_api: ModuleType | None
) -> Operation | None:
    """An operation for ``call`` when a provider is set; ``None`` when only the API is imported."""
    tracer = _tracer(trace_api) if trace_api is not None else None
    instruments = _instruments(metrics_api) if metrics_api is not None else None
    if tracer is None and instruments is None:
        return None
    return Operation(call, host, tracer, instruments, trace_api)


class _Cache:
    """The tracer or instruments of the provider last seen: a provider is set once per process,
    so this is looked up at every request and rebuilt only if the provider changed."""

    provider: Any = None
    value: Any = None


_tracer_cache = _Cache()
_meter_cache = _Cache()


#: Whether the environment names a provider for the API to load on first use (read once: set by a
#: launcher such as ``opentelemetry-instrument``, never changed while the process runs).
_PROVIDERS_FROM_ENV = {
    kind: f"OTEL_PYTHON_{kind.upper()}_PROVIDER" in os.environ for kind in ("tracer", "meter")
}
_MISSING = object()


def _set_provider(api: ModuleType | None, name: str, kind: str, get: str) -> Any:
    """The provider set through ``api``, or ``None``. Reads the API's global directly when it has
    the attribute: ``get_*_provider()`` also looks the environment up, a microsecond per request."""
    provider = _MISSING if api is None else getattr(api, name, _MISSING)
    if provider is None and not _PROVIDERS_FROM_ENV[kind]:
        return None  # the common case when nobody listens: one attribute read
    module = sys.modules[f"opentelemetry.{'trace' if kind == 'tracer' else 'metrics'}"]
    provider = getattr(module, get)()
    return None if type(provider).__name__ in _PLACEHOLDERS else provider


#: The API's stand-ins while no provider is set.
_PLACEHOLDERS = frozenset({"ProxyTracerProvider", "_ProxyMeterProvider"})


def _tracer(trace_api: ModuleType) -> Any:
    provider = _set_provider(trace_api, "_TRACER_PROVIDER", "tracer", "get_tracer_provider")
    if provider is None:
        return None  # none set: nobody listens
    if provider is not _tracer_cache.provider:
        _tracer_cache.value = provider.get_tracer(SCOPE, __version__, schema_url=SCHEMA_URL)
        _tracer_cache.provider = provider
    return _tracer_cache.value


class Instruments:
    """The metrics of the conventions, plus our retry and failover counters (per host)."""

    def __init__(self, meter: Any) -> None:
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed generation.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            "ollama_provider.client.retries", unit="{retry}", description="Requests sent again to a host."
        )
        self.failovers = meter.create_counter(
            "ollama_provider.client.failovers",
            unit="{failover}",
            description="Requests that left a host for another one after it failed.",
        )


def _instruments(metrics_api: ModuleType) -> Instruments | None:
    internal = sys.modules.get("opentelemetry.metrics._internal")  # where the API keeps its global
    provider = _set_provider(internal, "_METER_PROVIDER", "meter", "get_meter_provider")
    if provider is None:
        return None
    if provider is not _meter_cache.provider:
        _meter_cache.value = Instruments(provider.get_meter(SCOPE, __version__, schema_url=SCHEMA_URL))
        _meter_cache.provider = provider
    instruments: Instruments = _meter_cache.value
    return instruments


class Operation:
    """The span and metrics of one request (see :class:`ollama_provider.telemetry.Operation`)."""

    __slots__ = (
        "_collector",
        "_common",
        "_context_token",
        "_ended",
        "_instruments",
        "_name",
        "_server",
        "_span",
        "_started",
        "_trace_api",
    )

    def __init__(
        self,
        call: Call[Any],
        host: str | None,
        tracer: Any,
        instruments: Instruments | None,
        trace_api: ModuleType | None,
    ) -> None:
        self._name = operation_name(call)
        self._common = common_attributes(call, self._name)
        self._server = server_attributes(host) if host else {}
        self._instruments = instruments
        self._trace_api = trace_api
        self._ended = False
        self._span: Any = None
        self._context_token: object | None = None
        self._collector: OutputCollector | None = None
        if tracer is not None and trace_api is not None:
            self._start_span(call, tracer, trace_api)
        self._started = perf_counter()  # the operation's clock starts once our own set-up is done

    def _start_span(self, call: Call[Any], tracer: Any, trace_api: ModuleType) -> None:
        from opentelemetry import context  # imported with opentelemetry.trace already

        attributes = {**request_attributes(call, self._name), **self._server}
        self._span = tracer.start_span(
            span_name(self._name, call.model), kind=trace_api.SpanKind.CLIENT, attributes=attributes
        )
        self._context_token = context.attach(trace_api.set_span_in_context(self._span))
        if capture_content():
            self._span.set_attributes(input_content(call, self._name))
            if call.stream is not None and self._name in GENERATION:
                self._collector = OutputCollector()

    # -- during the request ---------------------------------------------------------------------
    def retrying(self, host: str, error: BaseException, attempt: int, wait: float) -> None:
        attributes = {**server_attributes(host), "error.type": error_type(error)}
        if self._span is not None:
            self._span.add_event(
                "ollama_provider.retry",
                {
                    **attributes,
                    "ollama_provider.attempt": attempt,
                    "ollama_provider.retry.wait": wait,
                    "ollama_provider.reason": reason(error),
                },
            )
        if self._instruments is not None:
            self._instruments.retries.add(1, {**self._common, **attributes})

    def failed_over(self, host: str, error: BaseException, to: str) -> None:
        attributes = {**server_attributes(host), "error.type": error_type(error)}
        if self._span is not None:
            self._span.add_event(
                "ollama_provider.failover",
                {**attributes, "ollama_provider.failover.to": to, "ollama_provider.reason": reason(error)},
            )
        if self._instruments is not None:
            self._instruments.failovers.add(1, {**self._common, **attributes})

    def opened(self) -> None:
        self._detach()

    def observe(self, chunks: Iterator[T], reader: StreamReader[Any], host: str) -> Iterator[T]:
        collector = self._collector
        for chunk in chunks:  # the first one only: then the plain loop below
            self._first_chunk(host, chunk)
            if collector is not None:
                collector.add(chunk)
            yield chunk
            break
        if collector is None:
            yield from chunks
        else:
            for chunk in chunks:
                collector.add(chunk)
                yield chunk
        self.succeeded(host, reader.final)

    async def aobserve(
        self, chunks: AsyncIterator[T], reader: StreamReader[Any], host: str
    ) -> AsyncIterator[T]:
        collector = self._collector
        first = True
        async for chunk in chunks:
            if first:
                self._first_chunk(host, chunk)
                first = False
            if collector is not None:
                collector.add(chunk)
            yield chunk
        self.succeeded(host, reader.final)

    def _first_chunk(self, host: str, chunk: Any) -> None:
        if self._name not in GENERATION:
            return  # progress of a pull, a create...: not a model's answer
        elapsed = perf_counter() - self._started
        if self._span is not None:
            self._span.set_attribute("gen_ai.response.time_to_first_chunk", elapsed)
        if self._instruments is not None:
            attributes = {**self._common, **server_attributes(host)}
            model = getattr(chunk, "model", None)
            if model:
                attributes["gen_ai.response.model"] = model
            self._instruments.first_chunk.record(elapsed, attributes)

    # -- the end ----------------------------------------------------------------------------------
    def succeeded(self, host: str, answer: Any) -> None:
        if self._ended:
            return
        server = server_attributes(host)
        response = response_attributes(answer)
        if self._span is not None:
            self._span.set_attributes({**server, **response})
            if capture_content() and self._name in GENERATION:
                self._span.set_attributes(output_content(answer, self._collector))
        if self._instruments is not None:
            attributes = {**self._common, **server}
            if "gen_ai.response.model" in response:
                attributes["gen_ai.response.model"] = response["gen_ai.response.model"]
            for kind, count in token_counts(answer):
                self._instruments.tokens.record(count, {**attributes, "gen_ai.token.type": kind})
            self._instruments.duration.record(perf_counter() - self._started, attributes)
        self._finish()

    def failed(self, error: BaseException, host: str | None = None) -> None:
        if self._ended:
            return
        attributes = {**(server_attributes(host) if host else self._server), "error.type": error_type(error)}
        if self._span is not None and self._trace_api is not None:
            self._span.set_attributes(attributes)
            self._span.set_status(self._trace_api.Status(self._trace_api.StatusCode.ERROR, reason(error)))
        if self._instruments is not None:
            self._instruments.duration.record(perf_counter() - self._started, {**self._common, **attributes})
        self._finish()

    def end(self) -> None:
        if not self._ended:
            if self._span is not None:
                self._span.set_attribute("ollama_provider.stream.closed_early", True)
            self._finish()

    def _finish(self) -> None:
        self._ended = True
        self._detach()
        if self._span is not None:
            self._span.end()

    def _detach(self) -> None:
        token, self._context_token = self._context_token, None
        if token is not None:
            from opentelemetry import context

            context.detach(token)  # type: ignore[arg-type]

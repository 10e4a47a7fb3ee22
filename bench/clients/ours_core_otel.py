"""Our core with OpenTelemetry around it: the API imported but no provider set, or the SDK listening.

Both are :class:`~bench.clients.ours_core.OursCore` driven exactly the same way; only the process's
OpenTelemetry state differs (see ``bench/telemetry.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.clients.ours_core import OursCore


class OursCoreOtelIdle(OursCore):
    """The API imported (by the application, or a library), no provider set: nobody listens."""

    def __init__(self, base_url: str) -> None:
        import opentelemetry.metrics
        import opentelemetry.trace

        assert isinstance(opentelemetry.trace.get_tracer_provider(), opentelemetry.trace.ProxyTracerProvider)
        assert opentelemetry.metrics  # imported: the core now checks for a provider at each request
        super().__init__(base_url)


class _Discard:
    """A span exporter that drops what it gets: the cost measured is ours and the SDK's, not a network's."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def listen() -> None:
    """Set the SDK up as in production: a batch span processor (its exporter discards) and a meter
    provider whose reader is never collected (the histograms still aggregate every point)."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(_Discard()))  # type: ignore[arg-type]
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


class OursCoreOtelSdk(OursCore):
    """The SDK listening (see :func:`listen`): every request makes a span and records its metrics."""

    def __init__(self, base_url: str) -> None:
        listen()
        super().__init__(base_url)

"""The OpenTelemetry SDK with in-memory exporters, installed as the global providers for a test module.

OpenTelemetry lets a process set its providers once; each test sets fresh ones (so it sees only its
own spans and points), then puts the API's globals back to "none set" (as OpenTelemetry's own test
utilities do), so the rest of the suite runs with nobody listening, as most users do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        finished = list(self.spans_exporter.get_finished_spans())
        return [s for s in finished if name is None or s.name == name]

    def points(self, metric: str) -> list[Any]:
        """Every data point of ``metric`` collected so far (cumulative since the module started)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for item in scope.metrics:
                    if item.name == metric:
                        found.extend(item.data.data_points)
        return found


def install() -> Telemetry:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Telemetry(tracer_provider, exporter, reader)


def uninstall(telemetry: Telemetry) -> None:
    telemetry.tracer_provider.shutdown()
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None


def installed() -> Iterator[Telemetry]:
    """Body of a fixture: the SDK listening, with nothing recorded yet, until the fixture ends."""
    telemetry = install()
    try:
        yield telemetry
    finally:
        uninstall(telemetry)

"""Shared fixtures: real OTel SDK providers with in-memory exporters, and the fake provider server."""

from __future__ import annotations

import os

os.environ.setdefault("LLMTRACE_RAISE_INTERNAL_ERRORS", "1")  # our own bugs must fail tests, not hide
# litellm fetches its model cost map from the internet at import unless told not to; tests stay on loopback.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# huggingface_hub fetches its user-agent harness list on the first call unless told not to (and counts as a send).
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace


@dataclass
class Telemetry:
    """What the instrumented code exported, read back through the real OTel SDK."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, value) of every data point of metric ``name``; histogram points give the point."""
        data = self.reader.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        for p in metric.data.data_points:
                            found.append((dict(p.attributes), getattr(p, "value", p)))
        return found

    def total(self, name: str, **labels: Any) -> float:
        return sum(v for a, v in self.points(name) if all(a.get(k) == x for k, x in labels.items()))


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Telemetry(tracer_provider, meter_provider, exporter, reader)
    meter_provider.shutdown()
    tracer_provider.shutdown()


@pytest.fixture
def global_tracer_provider(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    """``telemetry``'s tracer provider as OpenTelemetry's global one, as in an app, for SDKs that trace themselves
    through the global provider (anthropic 2.14+; mistralai with ``MISTRAL_SDK_TELEMETRY=global``)."""
    from opentelemetry import trace

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", telemetry.tracer_provider)
    monkeypatch.setenv("MISTRAL_SDK_TELEMETRY", "global")
    yield telemetry


@pytest.fixture
def instrumented(telemetry: Telemetry) -> Iterator[Telemetry]:
    """All installed providers instrumented into ``telemetry``; uninstrumented afterwards."""
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    yield telemetry
    llmtrace.uninstrument()


@pytest.fixture(scope="session")
def fake_server() -> Iterator[Any]:
    from llmtrace.demo.fake_server import FakeProviderServer

    with FakeProviderServer(seed=7) as server:
        yield server


@pytest.fixture
def server(fake_server: Any) -> Any:
    fake_server.reset()
    return fake_server

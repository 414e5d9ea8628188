"""The demo's telemetry: in-process metrics for its summary, plus OTLP/HTTP export that is checked, not hoped for.

Each exporter is wrapped in a counter of what it sent and what failed, and the OTel exporters' own error logs
(pages of ``Failed to export`` and retry notices when the endpoint is wrong) are kept instead of printed: the demo
turns them into one line and a non-zero exit, or says where the data went.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ..backends import OTLPTarget

__all__ = ["DemoTelemetry"]

# Loggers the SDK and the OTLP exporters report export failures on (each failed batch, each retry).
_EXPORT_LOGGERS = ("opentelemetry.exporter", "opentelemetry.sdk")


@dataclass
class _Tally:
    """What one signal's exporter sent and failed to send."""

    sent: int = 0
    failed: int = 0
    exports: int = 0


class _CountingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self.inner, self.tally = inner, _Tally()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.tally.exports += 1
        if result is SpanExportResult.SUCCESS:
            self.tally.sent += len(spans)
        else:
            self.tally.failed += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class _CountingMetricExporter(MetricExporter):
    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality, preferred_aggregation=inner._preferred_aggregation
        )
        self.inner, self.tally = inner, _Tally()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        points = sum(
            len(m.data.data_points)
            for rm in metrics_data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
        self.tally.exports += 1
        if result is MetricExportResult.SUCCESS:
            self.tally.sent += points
        else:
            self.tally.failed += points
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


class _KeptLogs(logging.Handler):
    """Holds the exporters' log records while the demo runs; the first error explains a failed export."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first_message(self) -> str | None:
        for record in self.records:
            text = record.getMessage().strip().splitlines()
            if text:
                return text[0][:300]
        return None


@dataclass
class DemoTelemetry:
    """Tracer and meter providers for the demo; OTLP/HTTP export to ``target`` when one is configured."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    reader: InMemoryMetricReader
    target: OTLPTarget | None = None
    spans: _CountingSpanExporter | None = None
    metrics: _CountingMetricExporter | None = None
    _logs: _KeptLogs = field(default_factory=_KeptLogs)
    _saved: list[tuple[logging.Logger, bool]] = field(default_factory=list)

    @classmethod
    def start(cls, service_name: str, target: OTLPTarget | None) -> DemoTelemetry:
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
        reader = InMemoryMetricReader()
        readers: list[Any] = [reader]
        tracer_provider = TracerProvider(resource=resource)
        spans = metrics = None
        if target is not None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            spans = _CountingSpanExporter(OTLPSpanExporter(endpoint=target.traces_url))
            metrics = _CountingMetricExporter(OTLPMetricExporter(endpoint=target.metrics_url))
            tracer_provider.add_span_processor(BatchSpanProcessor(spans))
            readers.append(PeriodicExportingMetricReader(metrics, export_interval_millis=5000))
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        telemetry = cls(tracer_provider, meter_provider, reader, target, spans, metrics)
        if target is not None:
            telemetry._keep_export_logs()
        return telemetry

    def _keep_export_logs(self) -> None:
        for name in _EXPORT_LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.propagate))
            logger.addHandler(self._logs)
            logger.propagate = False

    def shutdown(self) -> str | None:
        """Flush and stop both providers; with OTLP export, None if everything was accepted, else why not."""
        flushed = self.tracer_provider.force_flush()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()  # the periodic reader exports its last collection here
        for logger, propagate in self._saved:
            logger.removeHandler(self._logs)
            logger.propagate = propagate
        if self.target is None or self.spans is None or self.metrics is None:
            return None
        spans, metrics = self.spans.tally, self.metrics.tally
        if spans.failed or metrics.failed or not flushed or not spans.exports or not metrics.exports:
            reason = self._logs.first_message() or ("timed out flushing spans" if not flushed else "nothing exported")
            return (
                f"OTLP export to {self.target.endpoint} failed: {spans.failed} of {spans.sent + spans.failed} spans "
                f"and {metrics.failed} of {metrics.sent + metrics.failed} metric points not accepted ({reason})"
            )
        return None

    def where(self) -> str:
        """Where the data went, for the closing line of a demo that exported."""
        assert self.target is not None and self.spans is not None and self.metrics is not None
        return (
            f"Exported {self.spans.tally.sent:,} spans to {self.target.traces_url} and "
            f"{self.metrics.tally.sent:,} metric points to {self.target.metrics_url} (OTLP/HTTP)."
        )

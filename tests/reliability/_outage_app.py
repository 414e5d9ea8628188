"""Subprocess body for the outage test: 1,000 instrumented OpenAI calls while the OTLP endpoint is healthy,
refusing, or a blackhole; prints, as JSON, when each export ran and on which thread against when each call ran,
how many exports shutdown made, and (for the record) latency percentiles and how long shutdown took."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import openai
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import llmtrace
from llmtrace.demo.fake_server import FakeProviderServer

EXPORTS: list[tuple[str, int, int, bool]] = []  # (signal, start ns, end ns, on the calling thread)
CALLER = threading.get_ident()


def _timed(signal: str, export: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return export(*args, **kwargs)
        finally:
            EXPORTS.append((signal, start, time.perf_counter_ns(), threading.get_ident() == CALLER))

    return wrapper


def main(endpoint: str, calls: int) -> None:
    tracer_provider = TracerProvider()
    # One batch holds the whole queue: the final flush at shutdown is one export (one 2 s timeout when the
    # endpoint is a blackhole), not one per 512 spans.
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=2)
    exporter.export = _timed("spans", exporter.export)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(exporter, schedule_delay_millis=200, max_export_batch_size=2048)
    )
    metric_exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=2)
    metric_exporter.export = _timed("metrics", metric_exporter.export)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=500)
    meter_provider = MeterProvider(metric_readers=[reader])
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    spans: list[tuple[int, int]] = []
    with FakeProviderServer() as server:
        client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
        for i in range(calls + 100):
            start = time.perf_counter_ns()
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}])
            if i >= 100:  # warm-up excluded
                spans.append((start, time.perf_counter_ns()))
    exports_before_shutdown = len(EXPORTS)
    shutdown_start = {"spans": time.perf_counter_ns()}
    tracer_provider.shutdown()
    shutdown_start["metrics"] = time.perf_counter_ns()
    meter_provider.shutdown()
    shutdown_s = (time.perf_counter_ns() - shutdown_start["spans"]) / 1e9
    samples = sorted(end - start for start, end in spans)
    during = [(s, e) for signal, s, e, _ in EXPORTS[:exports_before_shutdown]]
    print(
        json.dumps(
            {
                "exports": exports_before_shutdown,
                "exports_on_calling_thread": sum(on_caller for *_, on_caller in EXPORTS[:exports_before_shutdown]),
                # calls that started and finished while an export was in flight: the call path did not wait for it
                "calls_inside_an_export": sum(any(s <= cs and ce <= e for s, e in during) for cs, ce in spans),
                "longest_export_s": max((e - s for s, e in during), default=0) / 1e9,
                # exports begun by shutdown (one still in flight when it began is not counted: it was bounded already)
                "shutdown_exports": sorted(signal for signal, start, *_ in EXPORTS if start >= shutdown_start[signal]),
                "p50_ms": samples[len(samples) // 2] / 1e6,
                "p99_ms": samples[int(len(samples) * 0.99)] / 1e6,
                "shutdown_s": shutdown_s,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

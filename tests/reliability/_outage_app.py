"""Subprocess body for the outage test: 1,000 instrumented OpenAI calls while the OTLP endpoint is healthy,
refusing, or a blackhole; prints per-call latency percentiles and how long shutdown took, as JSON."""

from __future__ import annotations

import json
import sys
import time

import openai
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import llmtrace
from llmtrace.demo.fake_server import FakeProviderServer


def main(endpoint: str, calls: int) -> None:
    tracer_provider = TracerProvider()
    # One batch holds the whole queue: the final flush at shutdown is one export (one 2 s timeout when the
    # endpoint is a blackhole), not one per 512 spans, so shutdown stays under the test's bound with margin.
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=2)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(exporter, schedule_delay_millis=200, max_export_batch_size=2048)
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=2), export_interval_millis=500
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    samples = []
    with FakeProviderServer() as server:
        client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
        for i in range(calls + 100):
            start = time.perf_counter_ns()
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}])
            if i >= 100:  # warm-up excluded
                samples.append(time.perf_counter_ns() - start)
    samples.sort()
    shutdown_start = time.monotonic()
    tracer_provider.shutdown()
    meter_provider.shutdown()
    print(
        json.dumps(
            {
                "p50_ms": samples[len(samples) // 2] / 1e6,
                "p99_ms": samples[int(len(samples) * 0.99)] / 1e6,
                "shutdown_s": time.monotonic() - shutdown_start,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

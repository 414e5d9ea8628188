"""A burst of 50,000 llmtrace spans into the real collector (repo config) and Jaeger: nothing is dropped below the
memory limit, and the collector's peak memory is measured for docs/security.md ("Collector sizing").

Spans are recorded first (log_call, 50 traces of 1,000 calls), then sent as fast as 4 exporter threads can push
them, so the collector sees a burst rather than a trickle. Delivery is checked twice: the collector's own
counters (accepted = sent to Jaeger, none refused or failed) and Jaeger itself (every trace holds every span).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import http_get, start_native_stack, wait_until

TRACES, SPANS_PER_TRACE = 50, 1000
TOTAL = TRACES * (SPANS_PER_TRACE + 1)  # + one parent span per trace
BATCH, SENDERS = 2048, 4
SERVICE = "llmtrace-burst-test"


@dataclass
class Pipeline:
    otlp_http: str
    jaeger: str
    collector_metrics: str
    collector_pid: int


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, stack_binaries: dict[str, str]) -> Iterator[Pipeline]:
    """Collector and Jaeger of a native stack of this test's own (no Prometheus: its metrics export just fails)."""
    native = start_native_stack(tmp_path_factory.mktemp("burst"), stack_binaries, ("jaeger", "otelcol"))
    try:
        urls = native.urls
        yield Pipeline(urls["otlp_http"], urls["jaeger"], urls["collector_metrics"], native.procs["otelcol"].pid)
    finally:
        native.stop()


def _record_spans() -> tuple[list[object], list[str]]:
    """50 traces x (1 parent + 1,000 llmtrace call spans), recorded in memory; returns spans and trace ids."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import llmtrace

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("burst")
    llmtrace.instrument(providers=[], tracer_provider=provider)
    trace_ids = []
    try:
        for t in range(TRACES):
            with tracer.start_as_current_span(f"agent-run-{t}") as parent, llmtrace.attributes(agent="burst"):
                trace_ids.append(format(parent.get_span_context().trace_id, "032x"))
                for i in range(SPANS_PER_TRACE):
                    llmtrace.log_call(
                        provider="openai",
                        model="gpt-4o-mini",
                        input_tokens=100 + i,
                        output_tokens=20,
                        latency_s=0.2,
                        finish_reason="stop",
                        messages=[{"role": "user", "content": f"q{t}-{i}"}],
                    )
    finally:
        llmtrace.uninstrument()
    return list(memory.get_finished_spans()), trace_ids


def _collector_counters(url: str) -> dict[str, float]:
    text = http_get(url)
    wanted = {
        "accepted": r"^otelcol_receiver_accepted_spans(?:_total)?\{[^}]*\} (\S+)",
        "refused": r"^otelcol_receiver_refused_spans(?:_total)?\{[^}]*\} (\S+)",
        "sent": r'^otelcol_exporter_sent_spans(?:_total)?\{[^}]*exporter="otlp_grpc/jaeger"[^}]*\} (\S+)',
        "send_failed": r'^otelcol_exporter_send_failed_spans(?:_total)?\{[^}]*exporter="otlp_grpc/jaeger"[^}]*\} (\S+)',
    }
    return {k: sum(float(v) for v in re.findall(rx, text, re.M)) for k, rx in wanted.items()}


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


@pytest.mark.timeout(600)
def test_burst_of_50k_spans_is_delivered_without_drops(pipeline: Pipeline):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    spans, trace_ids = _record_spans()
    assert len(spans) == TOTAL
    rss_before = _peak_rss_mb(pipeline.collector_pid)
    exporter = OTLPSpanExporter(endpoint=f"{pipeline.otlp_http}/v1/traces", timeout=30)
    batches = [spans[i : i + BATCH] for i in range(0, len(spans), BATCH)]
    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        results = list(pool.map(exporter.export, batches))
    send_s = time.monotonic() - started
    assert all(r is SpanExportResult.SUCCESS for r in results)
    wait_until(lambda: _collector_counters(pipeline.collector_metrics)["sent"] >= TOTAL, 60, "spans sent to jaeger")
    delivered_s = time.monotonic() - started
    counters = _collector_counters(pipeline.collector_metrics)
    assert counters == {"accepted": TOTAL, "refused": 0, "sent": TOTAL, "send_failed": 0}, counters
    in_jaeger = sum(len(http_get(f"{pipeline.jaeger}/api/traces/{tid}")["data"][0]["spans"]) for tid in trace_ids)
    assert in_jaeger == TOTAL
    figures = {
        "spans": TOTAL,
        "send_s": round(send_s, 1),
        "delivered_to_jaeger_s": round(delivered_s, 1),
        "spans_per_s": round(TOTAL / send_s),
        "collector_peak_rss_mb_before": round(rss_before, 1),
        "collector_peak_rss_mb_after": round(_peak_rss_mb(pipeline.collector_pid), 1),
        "in_jaeger": in_jaeger,
    }
    print(json.dumps(figures))

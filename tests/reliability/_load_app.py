"""Subprocess body for the load test: N ``log_call``s into a real OTel SDK pipeline; prints RSS checkpoints as JSON.

Spans go through a ``BatchSpanProcessor`` (bounded queue, as in production) to an exporter that drops them;
metrics accumulate in a cumulative in-memory reader (memory bounded by label cardinality, not by call count).
Attribution varies like a real multi-agent app: 8 agents x 4 tenants x 12 models, a new session every 1,000 calls.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import llmtrace

MODELS = [f"model-{i}" for i in range(10)] + ["gpt-4o-mini", "claude-sonnet-4-6"]
BLOCK = 1000


class _Drop(SpanExporter):
    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 1e6


def main(total: int, checkpoints: list[int]) -> None:
    exporter = _Drop()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    llmtrace.instrument(providers=[], tracer_provider=tracer_provider, meter_provider=MeterProvider([reader]))
    out: dict[str, Any] = {"rss_mb": {}, "calls": 0}
    started = time.perf_counter()
    done = 0
    while done < total:
        block = done // BLOCK
        with llmtrace.attributes(agent=f"agent-{block % 8}", tenant=f"tenant-{block % 4}", session=f"s-{block}"):
            for i in range(BLOCK):
                llmtrace.log_call(
                    provider="openai",
                    model=MODELS[(done + i) % len(MODELS)],
                    input_tokens=100 + i % 50,
                    output_tokens=20 + i % 7,
                    latency_s=0.25,
                    finish_reason="stop",
                    error_type="rate_limit" if i % 97 == 0 else None,
                )
        done += BLOCK
        if done in checkpoints:
            gc.collect()
            out["rss_mb"][str(done)] = round(_rss_mb(), 1)
    out["calls"] = done
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["us_per_call"] = round(out["seconds"] / done * 1e6, 1)
    reader.get_metrics_data()  # metrics still collect after a million calls
    tracer_provider.shutdown()
    out["spans_exported"] = exporter.exported
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(x) for x in sys.argv[2].split(",")])

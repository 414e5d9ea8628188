"""The first instrumented call of a process has a span as long as the call, not longer.

``llm.latency_ms`` is stamped when the SDK returns; the span ends after llmtrace has recorded the call. The
difference is our own work per call, about 0.5 ms on a 2-core machine. One-time setup done lazily inside the first
call (genai-prices' price tables: ~50-80 ms; its model-matching regexes: a few ms per provider) used to make the first
span 30-90 ms longer than the call. Now ``instrument()`` does it, and each provider's first span is within 5 ms of
its latency: the bound is about the work we do between the two stamps, not about how fast the machine is, since the
SDK call itself sits inside both.

A process can be preempted between the two stamps on a loaded machine, so a gap over the bound is measured again in
a fresh process (up to three in all) before it counts: a lazy setup shows in every fresh process, preemption does not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOUND_MS = 5.0
PROVIDERS = ("openai", "anthropic")

_SCRIPT = """
import json, sys
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace.demo.fake_server import FakeProviderServer
from tests.reliability._providers import PROVIDERS, Prompt

names = sys.argv[1].split(",")
cases = [case for case in PROVIDERS if case.name in names]
exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
with FakeProviderServer() as server:
    clients = [(case, case.make_client(server, {})) for case in cases]  # SDK clients built before instrumenting
    llmtrace.instrument(providers=names, tracer_provider=tracer_provider, meter_provider=meter_provider)
    for case, client in clients:
        case.chat(client, Prompt(system="Be brief.", user="hello"), False)
gaps = {}
for span in exporter.get_finished_spans():
    if "llm.provider" in span.attributes:
        duration_ms = (span.end_time - span.start_time) / 1e6
        gaps[span.name] = duration_ms - span.attributes["llm.latency_ms"]
print(json.dumps(gaps))
"""


def _first_call_gaps() -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ",".join(PROVIDERS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_first_call_span_is_as_long_as_the_call():
    for case in PROVIDERS:
        pytest.importorskip({"google": "google.genai"}.get(case, case))
    best: dict[str, float] = {}
    for _ in range(3):
        for name, gap in _first_call_gaps().items():
            best[name] = min(gap, best.get(name, gap))
        if len(best) == len(PROVIDERS) and max(best.values()) < BOUND_MS:
            break
    assert len(best) == len(PROVIDERS), best
    assert all(gap < BOUND_MS for gap in best.values()), best

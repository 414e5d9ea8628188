"""Trace sampling: a dropped span costs no hashing or attribute building, and the metrics still count every call."""

from __future__ import annotations

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

import llmtrace
from llmtrace.demo.workload import reference_cost
from llmtrace.hashing import Hasher
from tests.conftest import Telemetry

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three rivers."}]


def _calls(server, sampler, monkeypatch, n=3):
    hashed: list[str] = []
    for name in ("hash_text", "hash_str", "hash_tools"):
        original = getattr(Hasher, name)
        monkeypatch.setattr(Hasher, name, lambda self, v, _o=original, _n=name: hashed.append(_n) or _o(self, v))
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(sampler=sampler)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]), exporter, reader)
    llmtrace.instrument(providers=["openai"], tracer_provider=tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        client = openai.OpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=0)
        for _ in range(n):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        llmtrace.uninstrument()
    return telemetry, hashed


def test_sampled_out_calls_skip_span_work_but_count_exactly(server, monkeypatch):
    telemetry, hashed = _calls(server, ALWAYS_OFF, monkeypatch)
    assert telemetry.spans() == [] and hashed == []  # nothing recorded on spans, nothing hashed
    usage = [exchange.usage for exchange in server.log]
    assert telemetry.total("llm.calls") == 3
    assert telemetry.total("llm.tokens", type="input") == sum(u["input"] for u in usage)
    assert telemetry.total("llm.tokens", type="output") == sum(u["output"] for u in usage)
    expected = sum(reference_cost("openai", "gpt-4o-mini", e.usage) for e in server.log)
    assert abs(telemetry.total("llm.cost.usd") - expected) < 1e-12


def test_sampled_calls_hash_prompt_system_and_completion(server, monkeypatch):
    telemetry, hashed = _calls(server, ALWAYS_ON, monkeypatch, n=1)
    (span,) = telemetry.spans()
    assert {"llm.prompt.hash", "llm.prompt.system_hash", "llm.response.hash"} <= set(span.attributes)
    assert hashed.count("hash_text") >= 2 and "hash_str" in hashed

"""A seeded workload of LLM traces for the scale profile's tests, with its ground truth.

Every call goes through ``llmtrace.log_call`` (the real llm_tracer: span attributes, pricing, metrics), inside agent
runs (a root span, a tool span, 2-5 calls) or alone. Spans are captured in memory, never exported here, so a test can
replay them into tier 1 as fast as it can send (the throughput figure) and still know every trace it sent. Metrics
go live to whatever meter providers the caller gives: one per simulated app instance.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace.semconv import Attr

__all__ = ["SampleThresholds", "Workload", "generate"]

AGENTS = ("planner", "researcher", "writer")
TENANTS = ("acme", "globex", "initech")
ERROR_TYPES = ("rate_limit", "timeout", "server_error")
RUN_COST = Attr.RUN_COST_USD  # collector/scale/gateway.yaml's expensive_run policy reads it


@dataclass(frozen=True)
class SampleThresholds:
    """The gateway policy settings a test runs with (env LLMTRACE_SAMPLE_*)."""

    slow_s: float = 20.0
    call_usd: float = 0.10
    run_usd: float = 0.30
    baseline_percent: float = 10.0

    def env(self) -> dict[str, str]:
        return {
            "LLMTRACE_SAMPLE_SLOW_MS": str(int(self.slow_s * 1000)),
            "LLMTRACE_SAMPLE_CALL_USD": repr(self.call_usd),
            "LLMTRACE_SAMPLE_RUN_USD": repr(self.run_usd),
            "LLMTRACE_SAMPLE_BASELINE_PERCENT": repr(self.baseline_percent),
        }


class _Capture(SpanProcessor):
    """Keeps every ended span, grouped by trace ID (hex)."""

    def __init__(self) -> None:
        self.by_trace: dict[str, list[ReadableSpan]] = defaultdict(list)

    def on_end(self, span: ReadableSpan) -> None:
        self.by_trace[f"{span.context.trace_id:032x}"].append(span)


@dataclass
class Workload:
    """What was sent: the spans by trace ID, and the metric ground truth."""

    traces: dict[str, list[ReadableSpan]]
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, status) -> calls
    tokens: Counter[str] = field(default_factory=Counter)  # type -> tokens
    retries: int = 0

    @property
    def spans(self) -> list[ReadableSpan]:
        return [span for spans in self.traces.values() for span in spans]

    @property
    def cost_usd(self) -> float:
        return sum(s.attributes.get("llm.cost_usd", 0.0) for s in self.spans if s.kind is SpanKind.CLIENT)

    def must_keep(self, limits: SampleThresholds) -> dict[str, set[str]]:
        """Policy name -> trace IDs that policy must keep, decided from the spans sent."""
        keep: dict[str, set[str]] = defaultdict(set)
        for trace_id, spans in self.traces.items():
            for reason in _reasons(spans, limits):
                keep[reason].add(trace_id)
        return dict(keep)


def _reasons(spans: list[ReadableSpan], limits: SampleThresholds) -> set[str]:
    reasons = set()
    duration_s = (max(s.end_time for s in spans) - min(s.start_time for s in spans)) / 1e9
    if duration_s >= limits.slow_s:
        reasons.add("slow")
    for s in spans:
        if s.status.status_code is StatusCode.ERROR:
            reasons.add("errors")
        if s.attributes.get("llm.retry_count", 0) >= 1:
            reasons.add("retried")
        if s.attributes.get("llm.cost_usd", 0.0) >= limits.call_usd:
            reasons.add("expensive_call")
        if s.attributes.get(RUN_COST, 0.0) >= limits.run_usd:
            reasons.add("expensive_run")
    return reasons


def generate(traces: int, meter_providers: list[Any], resource: Any, seed: int = 21) -> Workload:
    """``traces`` traces (60% single calls, 40% agent runs), split evenly over ``meter_providers`` (app instances)."""
    rng = random.Random(seed)
    capture = _Capture()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(capture)
    tracer = tracer_provider.get_tracer("llmtrace.scale_workload")
    workload = Workload(capture.by_trace)
    share = -(-traces // len(meter_providers))
    for index, meter_provider in enumerate(meter_providers):
        llmtrace.instrument(providers=["openai"], tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            for _ in range(min(share, traces - index * share)):
                _one_trace(rng, tracer, workload, capture)
        finally:
            llmtrace.uninstrument()
            meter_provider.force_flush()
    tracer_provider.shutdown()
    return workload


def _one_trace(rng: random.Random, tracer: Any, workload: Workload, capture: _Capture) -> None:
    agent, tenant = rng.choice(AGENTS), rng.choice(TENANTS)
    with llmtrace.attributes(agent=agent, tenant=tenant):
        if rng.random() < 0.6:
            _call(rng, workload, expensive=rng.random() < 0.01)
            return
        expensive_run = rng.random() < 0.03
        with tracer.start_as_current_span(f"invoke_agent {agent}", kind=SpanKind.INTERNAL) as run:
            run.set_attribute("llm.agent", agent)
            trace_id = f"{run.get_span_context().trace_id:032x}"
            for step in range(5 if expensive_run else rng.randint(2, 5)):
                _call(rng, workload, expensive=False, run_expensive=expensive_run)
                if step == 0:
                    with tracer.start_as_current_span("execute_tool search", kind=SpanKind.INTERNAL):
                        pass
            run_cost = sum(s.attributes.get("llm.cost_usd", 0.0) for s in capture.by_trace[trace_id])
            run.set_attribute(RUN_COST, run_cost)


def _call(rng: random.Random, workload: Workload, *, expensive: bool, run_expensive: bool = False) -> None:
    """One call: 3% fail, 4% retried, 1% slow (25 s), ``expensive`` ~$0.105, ``run_expensive`` ~$0.07 (gpt-4o)."""
    model = "gpt-4o" if expensive or run_expensive else rng.choice(("gpt-4o-mini", "gpt-4.1-mini"))
    if expensive:
        input_tokens, output_tokens = 30_000, 3_000
    elif run_expensive:
        input_tokens, output_tokens = 20_000, 2_000
    else:
        input_tokens, output_tokens = rng.randint(200, 4_000), rng.randint(20, 800)
    retries = 1 if rng.random() < 0.04 else 0
    latency_s = 25.0 if rng.random() < 0.01 else rng.uniform(0.2, 3.0)
    error_type = rng.choice(ERROR_TYPES) if rng.random() < 0.03 else None
    workload.retries += retries
    workload.calls[(model, "error" if error_type else "ok")] += 1
    if error_type:
        llmtrace.log_call(provider="openai", model=model, latency_s=latency_s, retries=retries, error_type=error_type)
        return
    workload.tokens["input"] += input_tokens
    workload.tokens["output"] += output_tokens
    llmtrace.log_call(
        provider="openai",
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_s=latency_s,
        retries=retries,
        finish_reason="stop",
    )

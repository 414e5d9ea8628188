"""Summary table rows from in-process metrics (an InMemoryMetricReader): what the demo prints at the end, per model
(the call metrics) and per agent (the run and tool metrics)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..semconv import Metric

__all__ = ["AgentSummary", "ModelSummary", "histogram_quantile", "summarize", "summarize_agents"]


@dataclass
class ModelSummary:
    provider: str
    model: str
    calls: int = 0
    errors: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0  # calls of a model no price table knows: no cost, never a guess
    latency_p50_s: float | None = None
    latency_p99_s: float | None = None
    ttft_p50_s: float | None = None
    ttft_p99_s: float | None = None


@dataclass
class AgentSummary:
    """One agent's (or workflow's) runs: counts and sums exact, quantiles interpolated in their bucket."""

    agent: str
    runs: int = 0
    run_errors: int = 0
    cost_usd: float = 0.0  # the runs' costs added up (a nested run's cost is in its parent's too)
    calls: int = 0  # LLM calls made in the runs
    tool_calls: int = 0
    tool_errors: int = 0
    cost_p50_usd: float | None = None
    cost_p99_usd: float | None = None
    duration_p50_s: float | None = None
    duration_p99_s: float | None = None


def histogram_quantile(q: float, bounds: list[float], counts: list[int]) -> float | None:
    """Prometheus-style quantile from bucket counts (linear interpolation inside the bucket)."""
    total = sum(counts)
    if not total:
        return None
    rank, seen = q * total, 0
    for i, count in enumerate(counts):
        if seen + count >= rank and count:
            lower = bounds[i - 1] if i > 0 else 0.0
            upper = bounds[i] if i < len(bounds) else bounds[-1]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return bounds[-1]


def _merge(points: list[Any]) -> tuple[list[float], list[int]]:
    bounds = list(points[0].explicit_bounds)
    counts = [0] * (len(bounds) + 1)
    for p in points:
        counts = [a + b for a, b in zip(counts, p.bucket_counts, strict=True)]
    return bounds, counts


def summarize(metrics_data: Any) -> list[ModelSummary]:
    """One row per (provider, model), from the llmtrace metrics in ``metrics_data``."""
    rows: dict[tuple[str, str], ModelSummary] = {}
    hist: dict[tuple[str, str, str], list[Any]] = defaultdict(list)

    def row(attrs: Any) -> ModelSummary:
        key = (str(attrs.get(Metric.L_PROVIDER)), str(attrs.get(Metric.L_MODEL)))
        return rows.setdefault(key, ModelSummary(*key))

    for name, p in _points(metrics_data):
        if Metric.L_PROVIDER in p.attributes:  # call metrics; runs and tools are summarize_agents'
            _absorb(name, p, row(p.attributes), hist)
    for (provider, model, name), points in hist.items():
        bounds, counts = _merge(points)
        summary = rows[(provider, model)]
        p50, p99 = histogram_quantile(0.5, bounds, counts), histogram_quantile(0.99, bounds, counts)
        if name == Metric.LATENCY:
            summary.latency_p50_s, summary.latency_p99_s = p50, p99
        else:
            summary.ttft_p50_s, summary.ttft_p99_s = p50, p99
    return sorted(rows.values(), key=lambda r: (r.provider, r.model))


def _points(metrics_data: Any) -> list[tuple[str, Any]]:
    """(metric name, data point) of every point in ``metrics_data``."""
    return [
        (metric.name, p)
        for rm in (metrics_data.resource_metrics if metrics_data else ())
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for p in metric.data.data_points
    ]


def summarize_agents(metrics_data: Any) -> list[AgentSummary]:
    """One row per agent (the ``agent`` label of the run metrics; workflows by their name), sorted by name."""
    rows: dict[str, AgentSummary] = {}
    hist: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for name, p in _points(metrics_data):
        agent = p.attributes.get(Metric.L_AGENT)
        if agent is None or name not in _AGENT_METRICS:
            continue
        summary = rows.setdefault(str(agent), AgentSummary(str(agent)))
        error = p.attributes.get(Metric.L_STATUS) == Metric.STATUS_ERROR
        if name == Metric.RUNS:
            summary.runs += int(p.value)
            summary.run_errors += int(p.value) if error else 0
        elif name == Metric.TOOL_CALLS:
            summary.tool_calls += int(p.value)
            summary.tool_errors += int(p.value) if error else 0
        elif name == Metric.RUN_CALLS:
            summary.calls += int(p.sum)
        else:  # the cost and duration histograms: their quantiles below
            summary.cost_usd += float(p.sum) if name == Metric.RUN_COST else 0.0
            hist[(summary.agent, name)].append(p)
    for (agent, name), points in hist.items():
        bounds, counts = _merge(points)
        p50, p99 = histogram_quantile(0.5, bounds, counts), histogram_quantile(0.99, bounds, counts)
        if name == Metric.RUN_COST:
            rows[agent].cost_p50_usd, rows[agent].cost_p99_usd = p50, p99
        elif name == Metric.RUN_DURATION:
            rows[agent].duration_p50_s, rows[agent].duration_p99_s = p50, p99
    return sorted(rows.values(), key=lambda r: r.agent)


_AGENT_METRICS = (Metric.RUNS, Metric.TOOL_CALLS, Metric.RUN_COST, Metric.RUN_CALLS, Metric.RUN_DURATION)


def _absorb(name: str, point: Any, summary: ModelSummary, hist: dict[tuple[str, str, str], list[Any]]) -> None:
    attrs = point.attributes
    if name == Metric.CALLS:
        summary.calls += int(point.value)
        if attrs.get(Metric.L_STATUS) == Metric.STATUS_ERROR:
            summary.errors += int(point.value)
    elif name == Metric.TOKENS and attrs.get(Metric.L_TYPE) in ("input", "output"):
        if attrs[Metric.L_TYPE] == "input":
            summary.input_tokens += int(point.value)
        else:
            summary.output_tokens += int(point.value)
    elif name == Metric.COST:
        summary.cost_usd += float(point.value)
    elif name == Metric.RETRIES:
        summary.retries += int(point.value)
    elif name == Metric.UNPRICED_CALLS:
        summary.unpriced_calls += int(point.value)
    elif name in (Metric.LATENCY, Metric.TTFT):
        hist[(summary.provider, summary.model, name)].append(point)

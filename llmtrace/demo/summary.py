"""Summary table rows from in-process metrics (an InMemoryMetricReader): what the demo prints at the end."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..semconv import Metric

__all__ = ["ModelSummary", "histogram_quantile", "summarize"]


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

    for rm in metrics_data.resource_metrics if metrics_data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    _absorb(metric.name, p, row(p.attributes), hist)
    for (provider, model, name), points in hist.items():
        bounds, counts = _merge(points)
        summary = rows[(provider, model)]
        p50, p99 = histogram_quantile(0.5, bounds, counts), histogram_quantile(0.99, bounds, counts)
        if name == Metric.LATENCY:
            summary.latency_p50_s, summary.latency_p99_s = p50, p99
        else:
            summary.ttft_p50_s, summary.ttft_p99_s = p50, p99
    return sorted(rows.values(), key=lambda r: (r.provider, r.model))


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

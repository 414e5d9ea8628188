"""Ground truth vs recorded metrics, keyed alike: the demo workload's rows and the in-memory metric points."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["assert_metrics_equal_truth", "metric_points", "truth_rows"]


def truth_rows(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[Any, ...], float]:
    """Ground-truth rows (``GroundTruth.to_json()``) summed by ``keys``."""
    out: dict[tuple[Any, ...], float] = defaultdict(float)
    for row in rows:
        out[tuple(row[k] for k in keys)] += row["value"]
    return dict(out)


def metric_points(telemetry: Any, name: str, keys: tuple[str, ...]) -> dict[tuple[Any, ...], float]:
    """Points of metric ``name`` summed by ``keys``, labels as strings the way the truth spells them."""
    out: dict[tuple[Any, ...], float] = defaultdict(float)
    for attrs, value in telemetry.points(name):
        labels = {**attrs, "streaming": str(attrs.get("streaming")).lower()}
        out[tuple(str(labels.get(k, "")) for k in keys)] += value
    return dict(out)


_CALL_KEYS = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
_TOKEN_KEYS = ("provider", "model", "type", "agent", "tenant")
_COST_KEYS = ("provider", "model", "agent", "tenant")


def assert_metrics_equal_truth(telemetry: Any, truth: dict[str, Any]) -> None:
    """The calls, tokens, cost and retries llmtrace's metrics counted equal the workload's ground truth: counts
    exactly, cost to 1e-9 relative (float sums in another order)."""
    import pytest

    assert metric_points(telemetry, "llm.calls", _CALL_KEYS) == truth_rows(truth["calls"], _CALL_KEYS)
    assert metric_points(telemetry, "llm.tokens", _TOKEN_KEYS) == truth_rows(truth["tokens"], _TOKEN_KEYS)
    got, expected = metric_points(telemetry, "llm.cost.usd", _COST_KEYS), truth_rows(truth["cost_usd"], _COST_KEYS)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key
    keys = ("provider", "model")
    assert metric_points(telemetry, "llm.retries", keys) == truth_rows(truth["retries"], keys)

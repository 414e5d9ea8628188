"""Ground truth vs recorded metrics, keyed alike: the demo workload's rows and the in-memory metric points."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["metric_points", "truth_rows"]


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

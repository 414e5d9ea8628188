"""How the commands print numbers and times, so every table and JSON payload spells them the same way."""

from __future__ import annotations

import math
from datetime import datetime, timezone

__all__ = ["fmt_int", "fmt_ms", "fmt_pct", "fmt_usd", "iso", "number"]


def fmt_usd(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "$0.00"
    digits = 2 if abs(value) >= 1 else 4 if abs(value) >= 0.01 else 6
    return f"${value:,.{digits}f}"


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


def fmt_int(value: float | None) -> str:
    return "-" if value is None else f"{round(value):,}"


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def number(value: float | None) -> float | None:
    """A Prometheus value for JSON: NaN (a quantile or ratio of nothing) becomes None."""
    return None if value is None or math.isnan(value) else value


def iso(ts: float) -> str:
    """Unix seconds as an ISO 8601 UTC time, to the second."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")

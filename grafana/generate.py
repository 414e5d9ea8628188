"""Generate the provisioned Grafana dashboards (JSON) from code: ``python grafana/generate.py``.

Plain dictionaries in Grafana's dashboard schema (v39+); a test checks the committed JSON equals a fresh
generation and runs every query against the real Prometheus and Jaeger. Metric names are the ones that
actually arrive through collector -> Prometheus (docs/stack.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROM = {"type": "prometheus", "uid": "prometheus"}
JAEGER = {"type": "jaeger", "uid": "jaeger"}
# Series filters: calls/tokens/cost carry agent and tenant; latency/ttft/retries carry provider and model only.
F = 'provider=~"$provider", model=~"$model", agent=~"$agent", tenant=~"$tenant"'
FM = 'provider=~"$provider", model=~"$model"'


def _target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": PROM, "expr": expr, "legendFormat": legend, "refId": ref, "range": True, **extra}


def _panel(
    pid: int, title: str, kind: str, grid: tuple[int, int, int, int], targets: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    x, y, w, h = grid
    return {
        "id": pid,
        "title": title,
        "type": kind,
        "datasource": targets[0]["datasource"],
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        **extra,
    }


def _stat(pid: int, title: str, x: int, expr: str, unit: str, decimals: int | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if decimals is not None:
        defaults["decimals"] = decimals
    target = _target(expr, ref="A", instant=True, range=False)
    return _panel(
        pid,
        title,
        "stat",
        (x, 0, 4, 4),
        [target],
        fieldConfig={"defaults": defaults, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value", "graphMode": "none"},
    )


def _timeseries(
    pid: int,
    title: str,
    grid: tuple[int, int, int, int],
    targets: list[dict[str, Any]],
    unit: str,
    stacked: bool = False,
) -> dict[str, Any]:
    custom: dict[str, Any] = {"drawStyle": "line", "fillOpacity": 30 if stacked else 0}
    if stacked:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return _panel(
        pid,
        title,
        "timeseries",
        grid,
        targets,
        fieldConfig={"defaults": {"unit": unit, "custom": custom}, "overrides": []},
        options={"legend": {"displayMode": "table", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
    )


def _quantiles(metric: str, flt: str) -> list[dict[str, Any]]:
    return [
        _target(
            f"histogram_quantile({q}, sum by (model, le) (rate({metric}_bucket{{{flt}}}[$__rate_interval])))",
            f"p{int(q * 100)} {{{{model}}}}",
            ref,
            exemplar=True,
        )
        for q, ref in ((0.5, "A"), (0.9, "B"), (0.99, "C"))
    ]


def _variable(name: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROM,
        "query": {"query": f"label_values(llm_calls_total, {name})", "refId": f"{name}-values"},
        "definition": f"label_values(llm_calls_total, {name})",
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def overview() -> dict[str, Any]:
    """LLM overview: volume, cost, tokens, latency, TTFT, errors, retries, model comparison."""
    calls = f"sum(increase(llm_calls_total{{{F}}}[$__range]))"
    panels = [
        _stat(1, "Calls", 0, calls, "short", 0),
        _stat(2, "Cost", 4, f"sum(increase(llm_cost_usd_total{{{F}}}[$__range]))", "currencyUSD", 4),
        _stat(
            3,
            "Tokens (in + out)",
            8,
            f'sum(increase(llm_tokens_total{{{F}, type=~"input|output"}}[$__range]))',
            "short",
            0,
        ),
        _stat(
            4,
            "Avg latency",
            12,
            f"sum(increase(llm_latency_seconds_sum{{{FM}}}[$__range])) / "
            f"sum(increase(llm_latency_seconds_count{{{FM}}}[$__range]))",
            "s",
            2,
        ),
        _stat(
            5,
            "p99 latency",
            16,
            f"histogram_quantile(0.99, sum by (le) (increase(llm_latency_seconds_bucket{{{FM}}}[$__range])))",
            "s",
            2,
        ),
        _stat(
            6,
            "Error %",
            20,
            f'100 * (sum(increase(llm_calls_total{{{F}, status="error"}}[$__range])) or vector(0)) / {calls}',
            "percent",
            1,
        ),
        _timeseries(
            7,
            "Cost by model",
            (0, 4, 12, 8),
            [_target(f"sum by (model) (increase(llm_cost_usd_total{{{F}}}[$__rate_interval]))", "{{model}}")],
            "currencyUSD",
            stacked=True,
        ),
        _timeseries(
            8,
            "Tokens by type",
            (12, 4, 12, 8),
            [_target(f"sum by (type) (rate(llm_tokens_total{{{F}}}[$__rate_interval]))", "{{type}}")],
            "short",
            stacked=True,
        ),
        _timeseries(9, "Latency p50 / p90 / p99", (0, 12, 12, 8), _quantiles("llm_latency_seconds", FM), "s"),
        _timeseries(
            10, "Time to first token p50 / p90 / p99", (12, 12, 12, 8), _quantiles("llm_ttft_seconds", FM), "s"
        ),
        _timeseries(
            11,
            "Errors by type",
            (0, 20, 12, 8),
            [
                _target(
                    f'sum by (error_type) (increase(llm_calls_total{{{F}, status="error"}}[$__rate_interval]))',
                    "{{error_type}}",
                )
            ],
            "short",
            stacked=True,
        ),
        _timeseries(
            12,
            "SDK retries",
            (12, 20, 12, 8),
            [
                _target(
                    f"sum by (provider, model) (increase(llm_retries_total{{{FM}}}[$__rate_interval]))",
                    "{{provider}}/{{model}}",
                )
            ],
            "short",
        ),
        _model_table(13, (0, 28, 24, 9)),
    ]
    return _dashboard(
        "llm-overview",
        "LLM overview",
        panels,
        [
            _variable("provider", "Provider"),
            _variable("model", "Model"),
            _variable("agent", "Agent"),
            _variable("tenant", "Tenant"),
        ],
    )


def _model_table(pid: int, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    by = "sum by (provider, model)"
    by_le = "sum by (provider, model, le)"
    queries = [
        ("A", f"{by} (increase(llm_calls_total{{{F}}}[$__range]))"),
        ("B", f"{by} (increase(llm_cost_usd_total{{{F}}}[$__range]))"),
        ("C", f'{by} (increase(llm_tokens_total{{{F}, type=~"input|output"}}[$__range]))'),
        (
            "D",
            f"histogram_quantile(0.99, {by_le} (increase(llm_latency_seconds_bucket{{{FM}}}[$__range])))",
        ),
        (
            "E",
            f"histogram_quantile(0.99, {by_le} (increase(llm_ttft_seconds_bucket{{{FM}}}[$__range])))",
        ),
        (
            "F",
            f'100 * ({by} (increase(llm_calls_total{{{F}, status="error"}}[$__range])) or {by} '
            f"(increase(llm_calls_total{{{F}}}[$__range])) * 0) / {by} (increase(llm_calls_total{{{F}}}[$__range]))",
        ),
    ]
    targets = [_target(q, ref=ref, instant=True, range=False, format="table") for ref, q in queries]
    names = {
        "Value #A": "Calls",
        "Value #B": "Cost (USD)",
        "Value #C": "Tokens",
        "Value #D": "p99 latency (s)",
        "Value #E": "p99 TTFT (s)",
        "Value #F": "Error %",
    }
    return _panel(
        pid,
        "Model comparison",
        "table",
        grid,
        targets,
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": names}},
        ],
        fieldConfig={"defaults": {}, "overrides": []},
        options={"showHeader": True},
    )


def _jaeger_panel(
    pid: int, title: str, grid: tuple[int, int, int, int], tags: str = "", min_duration: str = "", limit: int = 50
) -> dict[str, Any]:
    target: dict[str, Any] = {
        "datasource": JAEGER,
        "refId": "A",
        "queryType": "search",
        "service": "$service",
        "limit": limit,
    }
    if tags:
        target["tags"] = tags
    if min_duration:
        target["minDuration"] = min_duration
    return _panel(
        pid, title, "table", grid, [target], fieldConfig={"defaults": {}, "overrides": []}, options={"showHeader": True}
    )


def traces() -> dict[str, Any]:
    """LLM traces: Jaeger searches for recent calls, errors, the slowest, and by model/agent."""
    service = {
        "name": "service",
        "label": "Service",
        "type": "custom",
        "query": "llmtrace-demo",
        "current": {"text": "llmtrace-demo", "value": "llmtrace-demo"},
        "options": [{"text": "llmtrace-demo", "value": "llmtrace-demo", "selected": True}],
    }
    text = {"type": "textbox", "query": ""}
    panels = [
        _jaeger_panel(1, "Recent LLM calls", (0, 0, 24, 9), tags="llm.success=true"),
        _jaeger_panel(2, "Failed calls", (0, 9, 12, 9), tags="llm.success=false"),
        _jaeger_panel(3, "Slowest calls (> 1 s)", (12, 9, 12, 9), min_duration="1s"),
        _jaeger_panel(4, "Calls of model $trace_model", (0, 18, 12, 9), tags="llm.model=$trace_model"),
        _jaeger_panel(5, "Calls of agent $trace_agent", (12, 18, 12, 9), tags="llm.agent=$trace_agent"),
    ]
    variables = [
        service,
        {
            **text,
            "name": "trace_model",
            "label": "Model",
            "query": "gpt-4o-mini",
            "current": {"text": "gpt-4o-mini", "value": "gpt-4o-mini"},
        },
        {
            **text,
            "name": "trace_agent",
            "label": "Agent",
            "query": "planner",
            "current": {"text": "planner", "value": "planner"},
        },
    ]
    return _dashboard("llm-traces", "LLM traces", panels, variables)


def _dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["llm", "llmtrace"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": panels,
    }


def write() -> None:
    for name, board in (("llm-overview.json", overview()), ("llm-traces.json", traces())):
        (HERE / "dashboards" / name).write_text(json.dumps(board, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()

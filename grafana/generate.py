"""Generate the provisioned Grafana dashboards (JSON) from code: ``python grafana/generate.py``.

Plain dictionaries in Grafana's dashboard schema (v39+); a test checks the committed JSON equals a fresh
generation and runs every query against the real Prometheus and Jaeger. Metric names are the ones that
actually arrive through collector -> Prometheus (docs/stack.md).

Every amount (calls, cost, tokens, errors, retries, histogram bucket counts) is ``window_total`` from
``llmtrace.queries``, the same exact definition the CLI and the recording rules use: stats and tables over the
dashboard's range (``$__range``), time series per interval (``$__interval``, so the bars of a range add up to its
total). Only quantiles are estimates (interpolated inside a bucket). Tokens llmtrace estimated for calls whose
provider reported no usage, and their cost, are never in those totals: the Cost and Tokens stats show them as a
second, "estimated" value, only when it is non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmtrace.queries import window_total

HERE = Path(__file__).resolve().parent
PROM = {"type": "prometheus", "uid": "prometheus"}
JAEGER = {"type": "jaeger", "uid": "jaeger"}
# Series filters: calls/tokens/cost carry agent and tenant; latency/ttft/retries carry provider and model only.
F = 'provider=~"$provider", model=~"$model", agent=~"$agent", tenant=~"$tenant"'
FM = 'provider=~"$provider", model=~"$model"'
# Agent runs carry agent and tenant; tool executions carry the agent they ran in (no tenant); tool durations neither.
RF = 'agent=~"$agent", tenant=~"$tenant"'
TF = 'agent=~"$agent"'
RANGE, STEP, SLIDING = "$__range", "$__interval", "$__rate_interval"
SERVICES = "label_values(llm_calls_total, service_name)"


def _total(metric: str, flt: str, window: str = RANGE, by: str = "") -> str:
    return window_total(f"{metric}{{{flt}}}", window, by)


def _p99(histogram: str, by: str = "") -> str:
    """p99 over the dashboard's range from exact bucket counts (the quantile itself is interpolated)."""
    return f"histogram_quantile(0.99, {_total(f'{histogram}_bucket', FM, by=f'{by}, le' if by else 'le')})"


def _pct(errors: str, calls: str, fallback: str) -> str:
    """Error share in percent; ``fallback`` stands in for "no error series" (0, same labels); no calls, no share."""
    return f"100 * ({errors} or {fallback}) / ({calls} > 0)"


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


def _stat(
    pid: int, title: str, x: int, expr: str, unit: str, decimals: int | None = None, estimated: str | None = None
) -> dict[str, Any]:
    """One number over the dashboard's range. ``estimated``: the same amount for calls whose provider reported no
    usage, a second value labelled "estimated" that appears only when it is non-zero (the series exists only once
    llmtrace has estimated something, and ``> 0`` drops a range with none)."""
    defaults: dict[str, Any] = {"unit": unit}
    if decimals is not None:
        defaults["decimals"] = decimals
    targets = [_target(expr, "reported" if estimated else "", "A", instant=True, range=False)]
    if estimated:
        targets.append(_target(f"{estimated} > 0", "estimated", "B", instant=True, range=False))
    return _panel(
        pid,
        title,
        "stat",
        (x, 0, 4, 4),
        targets,
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
    bars: bool = False,
) -> dict[str, Any]:
    custom: dict[str, Any] = {"drawStyle": "bars" if bars else "line", "fillOpacity": 30 if stacked or bars else 0}
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


def _quantiles(
    metric: str, flt: str, by: str = "model", qs: tuple[float, ...] = (0.5, 0.9, 0.99)
) -> list[dict[str, Any]]:
    """Quantiles over a sliding window: bucket counts exact, the quantile itself an estimate inside its bucket."""
    buckets = _total(f"{metric}_bucket", flt, SLIDING, f"{by}, le")
    return [
        _target(
            f"histogram_quantile({q}, {buckets})",
            f"p{int(q * 100)} {{{{{by}}}}}",
            chr(ord("A") + i),
            exemplar=True,
        )
        for i, q in enumerate(qs)
    ]


def _variable(name: str, label: str, metric: str = "llm_calls_total") -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": PROM,
        "query": {"query": f"label_values({metric}, {name})", "refId": f"{name}-values"},
        "definition": f"label_values({metric}, {name})",
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def overview() -> dict[str, Any]:
    """LLM overview: volume, cost, tokens, latency, TTFT, errors, retries, model and agent comparison."""
    calls = _total("llm_calls_total", F)
    errors = _total("llm_calls_total", f'{F}, status="error"')
    panels = [
        _stat(1, "Calls", 0, calls, "short", 0),
        _stat(
            2,
            "Cost",
            4,
            _total("llm_cost_usd_total", F),
            "currencyUSD",
            4,
            estimated=_total("llm_cost_estimated_usd_total", F),
        ),
        _stat(
            3,
            "Tokens (in + out)",
            8,
            _total("llm_tokens_total", f'{F}, type=~"input|output"'),
            "short",
            0,
            estimated=_total("llm_tokens_estimated_total", f'{F}, type=~"input|output"'),
        ),
        _stat(
            4,
            "Avg latency",
            12,
            f"{_total('llm_latency_seconds_sum', FM)} / ({_total('llm_latency_seconds_count', FM)} > 0)",
            "s",
            2,
        ),
        _stat(5, "p99 latency", 16, _p99("llm_latency_seconds"), "s", 2),
        _stat(6, "Error %", 20, _pct(errors, calls, "vector(0)"), "percent", 1),
        _timeseries(
            7,
            "Cost by model (per interval)",
            (0, 4, 12, 8),
            [_target(_total("llm_cost_usd_total", F, STEP, "model"), "{{model}}")],
            "currencyUSD",
            stacked=True,
            bars=True,
        ),
        _timeseries(
            8,
            "Tokens by type (per interval)",
            (12, 4, 12, 8),
            [_target(_total("llm_tokens_total", F, STEP, "type"), "{{type}}")],
            "short",
            stacked=True,
            bars=True,
        ),
        _timeseries(9, "Latency p50 / p90 / p99", (0, 12, 12, 8), _quantiles("llm_latency_seconds", FM), "s"),
        _timeseries(
            10, "Time to first token p50 / p90 / p99", (12, 12, 12, 8), _quantiles("llm_ttft_seconds", FM), "s"
        ),
        _timeseries(
            11,
            "Errors by type (per interval)",
            (0, 20, 12, 8),
            [_target(_total("llm_calls_total", f'{F}, status="error"', STEP, "error_type"), "{{error_type}}")],
            "short",
            stacked=True,
            bars=True,
        ),
        _timeseries(
            12,
            "SDK retries (per interval)",
            (12, 20, 12, 8),
            [_target(_total("llm_retries_total", FM, STEP, "provider, model"), "{{provider}}/{{model}}")],
            "short",
            bars=True,
        ),
        _model_table(13, (0, 28, 24, 9)),
        _agent_table(14, (0, 37, 24, 8)),
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


def _table(pid: int, title: str, grid: tuple[int, int, int, int], columns: list[tuple[str, str]]) -> dict[str, Any]:
    """Instant queries over the dashboard's range, one column each, merged on their labels."""
    refs = [chr(ord("A") + i) for i in range(len(columns))]
    targets = [
        _target(expr, ref=ref, instant=True, range=False, format="table")
        for ref, (_, expr) in zip(refs, columns, strict=True)
    ]
    names = {f"Value #{ref}": name for ref, (name, _) in zip(refs, columns, strict=True)}
    return _panel(
        pid,
        title,
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


def _model_table(pid: int, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    by = "provider, model"
    calls = _total("llm_calls_total", F, by=by)
    errors = _total("llm_calls_total", f'{F}, status="error"', by=by)
    return _table(
        pid,
        "Model comparison",
        grid,
        [
            ("Calls", calls),
            ("Cost (USD)", _total("llm_cost_usd_total", F, by=by)),
            ("Tokens", _total("llm_tokens_total", f'{F}, type=~"input|output"', by=by)),
            ("p99 latency (s)", _p99("llm_latency_seconds", by)),
            ("p99 TTFT (s)", _p99("llm_ttft_seconds", by)),
            ("Error %", _pct(errors, calls, f"{calls} * 0")),
        ],
    )


def _agent_table(pid: int, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    """Per agent: what latency cannot say (latency series carry no agent label)."""
    by = "agent"
    calls = _total("llm_calls_total", F, by=by)
    errors = _total("llm_calls_total", f'{F}, status="error"', by=by)
    return _table(
        pid,
        "Agent comparison",
        grid,
        [
            ("Calls", calls),
            ("Cost (USD)", _total("llm_cost_usd_total", F, by=by)),
            ("Tokens", _total("llm_tokens_total", f'{F}, type=~"input|output"', by=by)),
            ("Error %", _pct(errors, calls, f"{calls} * 0")),
        ],
    )


def _quantile(q: float, histogram: str, flt: str, by: str = "") -> str:
    """Quantile ``q`` over the dashboard's range from exact bucket counts (interpolated inside its bucket)."""
    return f"histogram_quantile({q}, {_total(f'{histogram}_bucket', flt, by=f'{by}, le' if by else 'le')})"


def _mean(histogram: str, flt: str, by: str = "") -> str:
    """Mean observation over the dashboard's range: exact sum over exact count."""
    return f"{_total(f'{histogram}_sum', flt, by=by)} / ({_total(f'{histogram}_count', flt, by=by)} > 0)"


def agents() -> dict[str, Any]:
    """Agents: runs per agent and outcome, cost, duration and calls per run (p50/p99), tool calls and tool errors."""
    runs, failed = _total("llm_runs_total", RF), _total("llm_runs_total", f'{RF}, status="error"')
    tools, tool_errors = _total("llm_tool_calls_total", TF), _total("llm_tool_calls_total", f'{TF}, status="error"')
    p50_p99 = (0.5, 0.99)
    panels = [
        _stat(1, "Runs", 0, runs, "short", 0),
        _stat(2, "Failed runs %", 4, _pct(failed, runs, "vector(0)"), "percent", 1),
        _stat(3, "Cost per run p50", 8, _quantile(0.5, "llm_run_cost_usd", RF), "currencyUSD", 6),
        _stat(4, "Cost per run p99", 12, _quantile(0.99, "llm_run_cost_usd", RF), "currencyUSD", 6),
        _stat(5, "Tool calls", 16, tools, "short", 0),
        _stat(6, "Tool error %", 20, _pct(tool_errors, tools, "vector(0)"), "percent", 1),
        _agents_table(7, (0, 4, 24, 9)),
        _timeseries(
            8,
            "Runs by agent and outcome (per interval)",
            (0, 13, 12, 8),
            [_target(_total("llm_runs_total", RF, STEP, "agent, status"), "{{agent}} {{status}}")],
            "short",
            stacked=True,
            bars=True,
        ),
        _timeseries(
            9,
            "Cost per run p50 / p99",
            (12, 13, 12, 8),
            _quantiles("llm_run_cost_usd", RF, "agent", p50_p99),
            "currencyUSD",
        ),
        _timeseries(
            10,
            "Run duration p50 / p99",
            (0, 21, 12, 8),
            _quantiles("llm_run_duration_seconds", RF, "agent", p50_p99),
            "s",
        ),
        _timeseries(
            11, "Calls per run p50 / p99", (12, 21, 12, 8), _quantiles("llm_run_calls", RF, "agent", p50_p99), "short"
        ),
        _tools_table(12, (0, 29, 12, 8)),
        _timeseries(
            13,
            "Tool calls by tool and outcome (per interval)",
            (12, 29, 12, 8),
            [_target(_total("llm_tool_calls_total", TF, STEP, "tool, status"), "{{tool}} {{status}}")],
            "short",
            stacked=True,
            bars=True,
        ),
        _timeseries(
            14,
            "Tool duration p50 / p99 (every agent)",
            (0, 37, 24, 8),
            _quantiles("llm_tool_duration_seconds", "", "tool", p50_p99),
            "s",
        ),
    ]
    variables = [_variable("agent", "Agent", "llm_runs_total"), _variable("tenant", "Tenant", "llm_runs_total")]
    return _dashboard("llm-agents", "LLM agents", panels, variables)


def _agents_table(pid: int, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    """Per agent (a workflow by its name): exact counts and means, and p50/p99 per run."""
    by = "agent"
    runs = _total("llm_runs_total", RF, by=by)
    failed = _total("llm_runs_total", f'{RF}, status="error"', by=by)
    tools = _total("llm_tool_calls_total", TF, by=by)
    tool_errors = _total("llm_tool_calls_total", f'{TF}, status="error"', by=by)
    return _table(
        pid,
        "Agents",
        grid,
        [
            ("Runs", runs),
            ("Failed runs", f"{failed} or {runs} * 0"),
            ("Cost (USD)", _total("llm_run_cost_usd_sum", RF, by=by)),
            ("Cost per run (USD)", _mean("llm_run_cost_usd", RF, by)),
            ("Cost per run p50 (USD)", _quantile(0.5, "llm_run_cost_usd", RF, by)),
            ("Cost per run p99 (USD)", _quantile(0.99, "llm_run_cost_usd", RF, by)),
            ("Duration p50 (s)", _quantile(0.5, "llm_run_duration_seconds", RF, by)),
            ("Duration p99 (s)", _quantile(0.99, "llm_run_duration_seconds", RF, by)),
            ("Calls per run", _mean("llm_run_calls", RF, by)),
            ("Tool calls", tools),
            ("Tool error %", _pct(tool_errors, tools, f"{tools} * 0")),
        ],
    )


def _tools_table(pid: int, grid: tuple[int, int, int, int]) -> dict[str, Any]:
    """Per tool: executions, failed ones, and the share that failed."""
    by = "tool"
    calls = _total("llm_tool_calls_total", TF, by=by)
    errors = _total("llm_tool_calls_total", f'{TF}, status="error"', by=by)
    return _table(
        pid,
        "Tools",
        grid,
        [
            ("Tool calls", calls),
            ("Failed", f"{errors} or {calls} * 0"),
            ("Tool error %", _pct(errors, calls, f"{calls} * 0")),
        ],
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
    # The services that sent llmtrace metrics (Prometheus' OTLP receiver promotes service.name to service_name, see
    # collector/prometheus.yml): a real app shows up without editing the dashboard. Jaeger searches one service.
    service = {
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": PROM,
        "query": {"query": SERVICES, "refId": "service-values"},
        "definition": SERVICES,
        "refresh": 2,
        "multi": False,
        "includeAll": False,
        "sort": 1,
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
    for name, board in (
        ("llm-overview.json", overview()),
        ("llm-traces.json", traces()),
        ("llm-agents.json", agents()),
    ):
        (HERE / "dashboards" / name).write_text(json.dumps(board, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()

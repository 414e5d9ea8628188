"""``agents``: per agent (and workflow), its runs over a window, from Prometheus: how many and how many failed, cost
and duration per run (p50/p99), calls per run, and its tool error rate.

Counts and sums are exact (``window_total``); quantiles are interpolated inside their histogram bucket. A nested
run's cost and calls are also in its parent's runs (the rollup rule), so do not add up rows of nested agents.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..backends import PrometheusClient
from ..queries import Filters, QueryBuilder
from ..semconv import Metric, PromName
from ._format import fmt_int, fmt_ms, fmt_pct, fmt_usd, iso, number
from ._shared import PROM_DEFAULT, AsJSON, From, Opt, PromURL, To, backend_errors, console, emit, window

__all__ = ["agents"]

_RUN_KEYS = (Metric.L_OPERATION, Metric.L_AGENT)
_INVOKE_AGENT = "invoke_agent"


def _run_columns(prom: PrometheusClient, q: QueryBuilder, end: float) -> dict[str, dict[tuple[str, ...], float]]:
    """Every per-run figure besides the run counts, keyed by (operation, agent)."""
    by = ", ".join(_RUN_KEYS)

    def at(expr: str) -> dict[tuple[str, ...], float]:
        return prom.by(expr, _RUN_KEYS, end)

    return {
        "cost_usd": at(q.run_sum(PromName.RUN_COST, by)),
        "cost_per_run_avg_usd": at(q.run_average(PromName.RUN_COST, by)),
        "cost_per_run_p50_usd": at(q.quantile(PromName.RUN_COST, 0.5, by, attribution=True)),
        "cost_per_run_p99_usd": at(q.quantile(PromName.RUN_COST, 0.99, by, attribution=True)),
        "duration_p50_s": at(q.quantile(PromName.RUN_DURATION, 0.5, by, attribution=True)),
        "duration_p99_s": at(q.quantile(PromName.RUN_DURATION, 0.99, by, attribution=True)),
        "calls": at(q.run_sum(PromName.RUN_CALLS, by)),
        "calls_per_run_avg": at(q.run_average(PromName.RUN_CALLS, by)),
        "calls_per_run_p99": at(q.quantile(PromName.RUN_CALLS, 0.99, by, attribution=True)),
    }


def _tools(prom: PrometheusClient, q: QueryBuilder, end: float) -> tuple[dict[str, float], dict[str, float]]:
    """Tool executions and failed ones by agent (a tool's agent is the agent run it ran in)."""
    keys = (Metric.L_AGENT,)
    calls = prom.by(q.tool_calls(Metric.L_AGENT), keys, end)
    errors = prom.by(q.tool_errors(Metric.L_AGENT), keys, end)
    return {k[0]: v for k, v in calls.items()}, {k[0]: v for k, v in errors.items()}


def _agent_rows(prom: PrometheusClient, q: QueryBuilder, end: float) -> list[dict[str, Any]]:
    by = ", ".join(_RUN_KEYS)
    runs, errors = prom.by(q.runs(by), _RUN_KEYS, end), prom.by(q.run_errors(by), _RUN_KEYS, end)
    columns = _run_columns(prom, q, end)
    tool_calls, tool_errors = _tools(prom, q, end)
    rows = []
    for key, count in runs.items():
        operation, agent = key
        row: dict[str, Any] = {"agent": agent, "operation": operation, "runs": round(count)}
        row["run_errors"] = round(errors.get(key, 0.0))
        row["run_error_pct"] = 100 * row["run_errors"] / count if count else None
        row.update({name: number(values.get(key)) for name, values in columns.items()})
        row["cost_usd"] = row["cost_usd"] or 0.0
        row["calls"] = round(row["calls"] or 0)
        tools = tool_calls.get(agent, 0.0) if operation == _INVOKE_AGENT else 0.0  # tools run in agents only
        failed = tool_errors.get(agent, 0.0) if operation == _INVOKE_AGENT else 0.0
        row["tool_calls"], row["tool_errors"] = round(tools), round(failed)
        row["tool_error_pct"] = 100 * failed / tools if tools else None
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["runs"], r["agent"], r["operation"]))


def _agents_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Agent runs")
    for name in (
        "agent",
        "runs",
        "failed",
        "cost",
        "p50 cost/run",
        "p99 cost/run",
        "p50 duration",
        "p99 duration",
        "calls/run",
        "tool calls",
        "tool errors",
    ):
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)
    for r in rows:
        workflow = " (workflow)" if r["operation"] != _INVOKE_AGENT else ""
        calls_per_run = r["calls_per_run_avg"]
        table.add_row(
            r["agent"] + workflow,
            fmt_int(r["runs"]),
            f"{fmt_int(r['run_errors'])} ({fmt_pct(r['run_error_pct'])})",
            fmt_usd(r["cost_usd"]),
            fmt_usd(r["cost_per_run_p50_usd"]),
            fmt_usd(r["cost_per_run_p99_usd"]),
            fmt_ms(r["duration_p50_s"]),
            fmt_ms(r["duration_p99_s"]),
            "-" if calls_per_run is None else f"{calls_per_run:,.1f}",
            fmt_int(r["tool_calls"]),
            f"{fmt_int(r['tool_errors'])} ({fmt_pct(r['tool_error_pct'])})",
        )
    return table


@backend_errors
def agents(
    from_: From = "24h",
    to: To = "now",
    agent: Opt = None,
    tenant: Opt = None,
    prometheus_url: PromURL = PROM_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Per agent: runs, failed runs, p50/p99 cost and duration per run, calls per run, tool error rate."""
    start, end, seconds = window(from_, to)
    filters = Filters(agent=agent, tenant=tenant)
    rows = _agent_rows(PrometheusClient(prometheus_url), QueryBuilder(filters, seconds), end)

    def render() -> None:
        console.print(f"Agent runs from {iso(start)} to {iso(end)}")
        console.print(_agents_table(rows))
        if tenant is not None:
            console.print("tool calls carry no tenant label: --tenant filters runs, not tool calls")

    emit(as_json, rows, render)

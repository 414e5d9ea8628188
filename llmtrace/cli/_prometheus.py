"""``stats`` and ``models``: the commands answered from Prometheus alone (exact counter totals over a window)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ..backends import PrometheusClient
from ..queries import Filters, QueryBuilder
from ..semconv import Metric, PromName, TokenType
from ._format import fmt_int, fmt_ms, fmt_pct, fmt_usd, iso, number
from ._shared import PROM_DEFAULT, AsJSON, From, Opt, PromURL, To, backend_errors, console, emit, window

__all__ = ["models", "stats"]

_INPUT, _OUTPUT = TokenType.INPUT.value, TokenType.OUTPUT.value


def _stats(prom: PrometheusClient, q: QueryBuilder, end: float) -> dict[str, Any]:
    calls = prom.scalar(q.calls(), end) or 0.0
    errors = prom.scalar(q.errors(), end) or 0.0
    cost = prom.scalar(q.cost(), end) or 0.0
    return {
        "calls": round(calls),
        "errors": round(errors),
        "error_pct": 100 * errors / calls if calls else None,
        "cost_usd": cost,
        "cost_per_call_usd": cost / calls if calls else None,
        "tokens": {
            "input": round(prom.scalar(q.tokens(_INPUT), end) or 0),
            "output": round(prom.scalar(q.tokens(_OUTPUT), end) or 0),
        },
        "latency_avg_s": number(prom.scalar(q.latency_avg(), end)),
        "latency_p99_s": number(prom.scalar(q.quantile(PromName.LATENCY, 0.99), end)),
        **_estimated(prom, q, end),
    }


def _estimated(prom: PrometheusClient, q: QueryBuilder, end: float) -> dict[str, Any]:
    """Locally estimated tokens and their cost (calls whose provider sent no usage), only when there are any: the
    reported figures above never include them."""
    estimated = {
        "input": round(prom.scalar(q.tokens_estimated(_INPUT), end) or 0),
        "output": round(prom.scalar(q.tokens_estimated(_OUTPUT), end) or 0),
        "cost_usd": prom.scalar(q.cost_estimated(), end) or 0.0,
    }
    return {"estimated": estimated} if any(estimated.values()) else {}


@backend_errors
def stats(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    prometheus_url: PromURL = PROM_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Calls, cost, tokens, latency and error rate over a window."""
    start, end, seconds = window(from_, to)
    filters = Filters(provider, model, agent, tenant)
    result = _stats(PrometheusClient(prometheus_url), QueryBuilder(filters, seconds), end)
    result["window"] = {"from": iso(start), "to": iso(end)}
    result["filters"] = {k: v for k, v in vars(filters).items() if v is not None}

    def render() -> None:
        console.print(f"LLM calls from {iso(start)} to {iso(end)}")
        table = Table(show_header=False)
        for label, value in (
            ("calls", fmt_int(result["calls"])),
            ("errors", f"{fmt_int(result['errors'])} ({fmt_pct(result['error_pct'])})"),
            ("cost", fmt_usd(result["cost_usd"])),
            ("cost per call", fmt_usd(result["cost_per_call_usd"])),
            ("tokens in", fmt_int(result["tokens"]["input"])),
            ("tokens out", fmt_int(result["tokens"]["output"])),
            ("avg latency", fmt_ms(result["latency_avg_s"])),
            ("p99 latency", fmt_ms(result["latency_p99_s"])),
        ):
            table.add_row(label, value)
        if "estimated" in result:  # kept apart: the rows above are what providers reported
            est = result["estimated"]
            table.add_row("estimated tokens in/out", f"{fmt_int(est['input'])} / {fmt_int(est['output'])}")
            table.add_row("estimated cost", fmt_usd(est["cost_usd"]))
        console.print(table)
        if filters.by_attribution:
            console.print("latency is per provider/model: --agent/--tenant filter calls, tokens and cost only")

    emit(as_json, result, render)


_SORT_KEYS = ("calls", "cost", "tokens", "latency", "ttft", "errors", "model")
_SORT_FIELDS = {
    "cost": "cost_usd",
    "tokens": "tokens_out",
    "latency": "latency_p99_s",
    "ttft": "ttft_p99_s",
    "errors": "error_pct",
}
_MODEL_KEYS = (Metric.L_PROVIDER, Metric.L_MODEL)


def _model_columns(prom: PrometheusClient, q: QueryBuilder, end: float) -> dict[str, dict[tuple[str, ...], float]]:
    """Every per provider/model figure besides calls and errors, keyed by (provider, model)."""
    by, keys = ", ".join(_MODEL_KEYS), _MODEL_KEYS
    return {
        "tokens_in": prom.by(q.tokens(_INPUT, by), keys, end),
        "tokens_out": prom.by(q.tokens(_OUTPUT, by), keys, end),
        "cost_usd": prom.by(q.cost(by), keys, end),
        "unpriced_calls": prom.by(q.unpriced(by), keys, end),
        "estimated_tokens_in": prom.by(q.tokens_estimated(_INPUT, by), keys, end),
        "estimated_tokens_out": prom.by(q.tokens_estimated(_OUTPUT, by), keys, end),
        "estimated_cost_usd": prom.by(q.cost_estimated(by), keys, end),
        "latency_avg_s": prom.by(q.latency_avg(by), keys, end),
        "latency_p99_s": prom.by(q.quantile(PromName.LATENCY, 0.99, by), keys, end),
        "ttft_p99_s": prom.by(q.quantile(PromName.TTFT, 0.99, by), keys, end),
    }


def _model_rows(prom: PrometheusClient, q: QueryBuilder, end: float) -> list[dict[str, Any]]:
    by, keys = ", ".join(_MODEL_KEYS), _MODEL_KEYS
    calls, errors = prom.by(q.calls(by), keys, end), prom.by(q.errors(by), keys, end)
    columns = _model_columns(prom, q, end)
    rows = []
    for key, count in calls.items():
        row: dict[str, Any] = {
            "provider": key[0],
            "model": key[1],
            "calls": round(count),
            "errors": round(errors.get(key, 0.0)),
        }
        row["error_pct"] = 100 * row["errors"] / count if count else None
        row.update({name: number(values.get(key)) for name, values in columns.items()})
        for name in ("tokens_in", "tokens_out", "unpriced_calls", "estimated_tokens_in", "estimated_tokens_out"):
            row[name] = round(row[name] or 0)
        row["cost_usd"] = row["cost_usd"] or 0.0
        row["estimated_cost_usd"] = row["estimated_cost_usd"] or 0.0
        rows.append(row)
    return rows


def _models_table(rows: list[dict[str, Any]]) -> Table:
    any_estimated = any(r["estimated_tokens_in"] or r["estimated_tokens_out"] for r in rows)
    table = Table(title="LLM models")
    for name in (
        "provider",
        "model",
        "calls",
        "tokens in",
        "tokens out",
        "cost",
        "avg latency",
        "p99 latency",
        "p99 TTFT",
        "errors",
        *(("estimated tokens in/out", "estimated cost") if any_estimated else ()),
    ):
        table.add_column(name, justify="left" if name in ("provider", "model") else "right")
    for r in rows:
        tokens = f"{fmt_int(r['estimated_tokens_in'])} / {fmt_int(r['estimated_tokens_out'])}"
        estimated = (tokens, fmt_usd(r["estimated_cost_usd"])) if any_estimated else ()
        table.add_row(
            r["provider"],
            r["model"],
            fmt_int(r["calls"]),
            fmt_int(r["tokens_in"]),
            fmt_int(r["tokens_out"]),
            "unpriced" if r["unpriced_calls"] and not r["cost_usd"] else fmt_usd(r["cost_usd"]),
            fmt_ms(r["latency_avg_s"]),
            fmt_ms(r["latency_p99_s"]),
            fmt_ms(r["ttft_p99_s"]),
            fmt_pct(r["error_pct"]),
            *estimated,
        )
    return table


@backend_errors
def models(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    sort: Annotated[str, typer.Option(help=f"One of {', '.join(_SORT_KEYS)}")] = "cost",
    prometheus_url: PromURL = PROM_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Per provider/model: calls, tokens, cost, latency, TTFT, error rate."""
    if sort not in _SORT_KEYS:
        raise typer.BadParameter(f"--sort must be one of {', '.join(_SORT_KEYS)}")
    _, end, seconds = window(from_, to)
    query = QueryBuilder(Filters(provider, model, agent, tenant), seconds)
    rows = _model_rows(PrometheusClient(prometheus_url), query, end)
    field = _SORT_FIELDS.get(sort, sort)
    rows.sort(key=lambda r: (r[field] is None, r[field]), reverse=sort != "model")
    emit(as_json, rows, lambda: console.print(_models_table(rows)))

"""``recent``, ``errors`` and ``trace``: the commands that show individual calls, read from Jaeger's query API
(``errors`` counts from Prometheus, then names recent traces of each kind from Jaeger; ``trace`` shows one trace as
a tree of agent runs, LLM calls and tools, ``_tree``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from ..backends import BackendError, JaegerClient, LLMSpan, PrometheusClient
from ..queries import Filters, QueryBuilder
from ..semconv import Attr, Metric
from ._format import fmt_int, fmt_usd, iso
from ._shared import (
    JAEGER_DEFAULT,
    PROM_DEFAULT,
    AsJSON,
    From,
    JaegerURL,
    Opt,
    PromURL,
    To,
    backend_errors,
    console,
    emit,
    window,
)
from ._tree import render_tree, span_tree

__all__ = ["errors", "recent", "trace"]


def _row(span: LLMSpan) -> dict[str, Any]:
    t = span.tags
    return {
        "time": iso(span.start_us / 1e6),
        "trace_id": span.trace_id,
        "service": span.service,
        "provider": t.get(Attr.PROVIDER),
        "model": t.get(Attr.MODEL),
        "tokens_in": t.get(Attr.TOKENS_INPUT),
        "tokens_out": t.get(Attr.TOKENS_OUTPUT),
        "cost_usd": t.get(Attr.COST_USD),
        "latency_ms": t.get(Attr.LATENCY_MS, span.duration_us / 1000),
        "finish_reason": t.get(Attr.STOP_REASON),
        "error_type": t.get(Attr.ERROR_TYPE),
    }


def _search(
    jaeger: JaegerClient,
    service: str | None,
    start: float,
    end: float,
    limit: int,
    tags: dict[str, str] | None = None,
    min_duration_ms: int | None = None,
) -> list[LLMSpan]:
    """LLM spans of one service, or of every service Jaeger knows, newest first, that match ``tags`` themselves.

    Jaeger finds traces with a matching span; a trace also holds other calls (an agent run's, or calls under a
    failed run or tool), so the spans are matched again here."""
    services = [service] if service else jaeger.services()
    min_duration = f"{min_duration_ms}ms" if min_duration_ms else None
    # Jaeger's limit counts traces, and the newest traces may hold no LLM span (a tool-only or non-LLM trace of the
    # same service): ask for more traces than spans wanted, then keep the newest ``limit`` spans.
    window = {"start_us": int(start * 1e6), "end_us": int(end * 1e6), "limit": max(limit * 4, 100)}
    spans = [
        s
        for svc in services
        for s in jaeger.search(svc, **window, tags=tags, min_duration=min_duration)
        if _matches(s, tags or {}) and s.duration_us >= (min_duration_ms or 0) * 1000
    ]
    return sorted(spans, key=lambda s: s.start_us, reverse=True)


def _matches(span: LLMSpan, tags: dict[str, str]) -> bool:
    """The span's own tags equal ``tags`` as Jaeger compares them (as text; booleans as true/false)."""
    return all(_tag_text(span.tags.get(key)) == value for key, value in tags.items())


def _tag_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _recent_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Recent LLM calls")
    for name in ("time", "model", "tokens in/out", "cost", "latency", "finish", "error", "trace id"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            r["time"],
            r["model"] or "-",
            f"{fmt_int(r['tokens_in'])}/{fmt_int(r['tokens_out'])}",
            fmt_usd(r["cost_usd"]),
            f"{r['latency_ms']:,.0f} ms",
            r["finish_reason"] or "-",
            r["error_type"] or "-",
            r["trace_id"],
        )
    return table


@backend_errors
def recent(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    errors_only: Annotated[bool, typer.Option()] = False,
    slow_ms: Annotated[int | None, typer.Option(help="Only calls slower than this")] = None,
    service: Annotated[str | None, typer.Option(help="Service name (default: every service)")] = None,
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    jaeger_url: JaegerURL = JAEGER_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """The latest LLM calls from Jaeger."""
    start, end, _ = window(from_, to)
    tags = Filters(provider, model, agent, tenant).span_tags()
    if errors_only:
        tags[Attr.SUCCESS] = "false"
    spans = _search(JaegerClient(jaeger_url), service, start, end, limit, tags=tags, min_duration_ms=slow_ms)
    rows = [_row(s) for s in spans[:limit]]
    emit(as_json, rows, lambda: console.print(_recent_table(rows)))


def _recent_trace_ids(spans: list[LLMSpan], error_type: str, provider: str, model: str) -> list[str]:
    """The three newest failed calls of one kind."""
    wanted = {Attr.ERROR_TYPE: error_type, Attr.MODEL: model, Attr.PROVIDER: provider}
    return [s.trace_id for s in spans if all(s.tags.get(k) == v for k, v in wanted.items())][:3]


def _errors_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="LLM errors")
    for name in ("error type", "provider", "model", "count", "recent traces"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for r in rows:
        table.add_row(
            r["error_type"], r["provider"], r["model"], fmt_int(r["count"]), " ".join(r["recent_trace_ids"]) or "-"
        )
    return table


@backend_errors
def errors(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    service: Annotated[str | None, typer.Option()] = None,
    prometheus_url: PromURL = PROM_DEFAULT,
    jaeger_url: JaegerURL = JAEGER_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Errors by type and model, with the most recent trace ids of each."""
    start, end, seconds = window(from_, to)
    q = QueryBuilder(Filters(provider, model, agent, tenant), seconds)
    keys = (Metric.L_ERROR_TYPE, Metric.L_PROVIDER, Metric.L_MODEL)
    counts = PrometheusClient(prometheus_url).by(q.errors(", ".join(keys)), keys, end)
    spans = _search(JaegerClient(jaeger_url), service, start, end, 500, tags={Attr.SUCCESS: "false"})
    rows = [
        {
            "error_type": error_type,
            "provider": prov,
            "model": mod,
            "count": round(count),
            "recent_trace_ids": _recent_trace_ids(spans, error_type, prov, mod),
        }
        for (error_type, prov, mod), count in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    emit(as_json, rows, lambda: console.print(_errors_table(rows)))


_TRACE_ID = re.compile(r"[0-9a-f]{1,32}")


def _trace_tables(payload: dict[str, Any]) -> None:
    console.print(render_tree(payload["trace_id"], payload["tree"]))
    for span in payload["spans"]:
        table = Table(title=f"{span['name']}  ({span['service']}, {span['duration_ms']:,.1f} ms)", show_header=False)
        for key, value in span["attributes"].items():
            table.add_row(key, str(value))
        console.print(table)


def _llm_calls_first(span: LLMSpan) -> tuple[bool, int]:
    """The flat list's order: the LLM calls, then the runs and tools around them (the tree shows how they nest),
    each in start order."""
    return Attr.PROVIDER not in span.tags, span.start_us


@backend_errors
def trace(trace_id: str, jaeger_url: JaegerURL = JAEGER_DEFAULT, as_json: AsJSON = False) -> None:
    """One trace as a tree (agent runs, LLM calls, tools) with cost per node, then each span's attributes (content
    only if the span carries it)."""
    trace_id = trace_id.strip().lower()
    if not _TRACE_ID.fullmatch(trace_id):
        raise BackendError(f"{trace_id!r} is not a trace id (1 to 32 hex digits, as `llmtrace recent` shows them)")
    spans = JaegerClient(jaeger_url).trace(trace_id)
    if not spans:
        raise BackendError(f"no trace with id {trace_id} in Jaeger at {jaeger_url}")
    payload = {
        "trace_id": trace_id,
        "spans": [
            {
                "name": s.name,
                "span_id": s.span_id,
                "service": s.service,
                "start": iso(s.start_us / 1e6),
                "duration_ms": s.duration_us / 1000,
                "parent_span_id": s.parent_id,
                "attributes": dict(sorted(s.tags.items())),
            }
            for s in sorted(spans, key=_llm_calls_first)
        ],
        "tree": span_tree(spans),
    }
    emit(as_json, payload, lambda: _trace_tables(payload))

"""The ``llmtrace`` command: quick answers from Prometheus and Jaeger, plus ``demo`` and ``doctor``.

Every query command takes ``--prometheus-url`` / ``--jaeger-url`` (defaults: ``LLMTRACE_PROMETHEUS_URL`` /
``LLMTRACE_JAEGER_URL``, then the compose stack's localhost ports) and ``--json`` (stable machine-readable
output). An unreachable or failing backend is one line on stderr and exit code 2.

The secure profile's credentials are options before the command (``llmtrace --ca-file ca.crt stats``) or, better
(not visible in the process list), the ``LLMTRACE_PROMETHEUS_USER`` / ``_PASSWORD``, ``LLMTRACE_JAEGER_USER`` /
``_PASSWORD`` (or ``LLMTRACE_JAEGER_TOKEN`` behind a token proxy) and ``LLMTRACE_CA_FILE`` variables.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .backends import (
    BackendError,
    Credentials,
    JaegerClient,
    LLMSpan,
    OTLPTarget,
    PrometheusClient,
    default_urls,
    probe_http,
    use_credentials,
)
from .queries import Filters, QueryBuilder
from .semconv import Attr

app = typer.Typer(add_completion=False, no_args_is_help=True, help="OpenTelemetry-native tracing for LLM calls.")
console = Console(width=None if Console().is_terminal else 160)
_PROM_DEFAULT, _JAEGER_DEFAULT = default_urls()

PromURL = Annotated[str, typer.Option("--prometheus-url", help="Prometheus base URL")]
JaegerURL = Annotated[str, typer.Option("--jaeger-url", help="Jaeger query base URL")]
AsJSON = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
From = Annotated[str, typer.Option("--from", help="Window start: 24h / 7d / 30m ago, ISO time or unix seconds")]
To = Annotated[str, typer.Option("--to", help="Window end: now, a duration ago, ISO time or unix seconds")]
Opt = Annotated[str | None, typer.Option()]


def _secret(help_: str) -> Any:
    return typer.Option(help=help_, show_default=False)


@app.callback()
def _credentials(
    prometheus_user: Annotated[str | None, _secret("Prometheus basic-auth user [env LLMTRACE_PROMETHEUS_USER]")] = None,
    prometheus_password: Annotated[str | None, _secret("[env LLMTRACE_PROMETHEUS_PASSWORD]")] = None,
    jaeger_user: Annotated[str | None, _secret("Jaeger basic-auth user [env LLMTRACE_JAEGER_USER]")] = None,
    jaeger_password: Annotated[str | None, _secret("[env LLMTRACE_JAEGER_PASSWORD]")] = None,
    jaeger_token: Annotated[str | None, _secret("Bearer token for Jaeger [env LLMTRACE_JAEGER_TOKEN]")] = None,
    ca_file: Annotated[str | None, _secret("CA certificate of the backends [env LLMTRACE_CA_FILE]")] = None,
) -> None:
    """OpenTelemetry-native tracing for LLM calls."""
    given = {"ca_file": ca_file}
    prometheus = {"user": prometheus_user, "password": prometheus_password, **given}
    jaeger = {"user": jaeger_user, "password": jaeger_password, "token": jaeger_token, **given}
    use_credentials(
        prometheus=replace(
            Credentials.from_env("PROMETHEUS"), **{k: v for k, v in prometheus.items() if v is not None}
        ),
        jaeger=replace(Credentials.from_env("JAEGER"), **{k: v for k, v in jaeger.items() if v is not None}),
    )


# -- formatting ---------------------------------------------------------------------------------------------------


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


def _num(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def parse_time(text: str, now: float) -> float:
    """``now``, a duration ago (``30m``, ``24h``, ``7d``, ``90s``), an ISO timestamp, or unix seconds."""
    text = text.strip()
    if text == "now":
        return now
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now - float(text[:-1]) * units[text[-1]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time (use 24h, 7d, now, ISO 8601 or unix seconds)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def _emit(as_json: bool, payload: Any, render: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        render()


def _backend_errors(fn: Callable[..., None]) -> Callable[..., None]:
    """Backend failures become one line on stderr and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except BackendError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _window(from_: str, to: str) -> tuple[float, float, int]:
    now = time.time()
    start, end = parse_time(from_, now), parse_time(to, now)
    if end <= start:
        raise typer.BadParameter("--from must be before --to")
    return start, end, max(1, round(end - start))


# -- stats / models / errors (Prometheus) ---------------------------------------------------------------------------


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
            "input": round(prom.scalar(q.tokens("input"), end) or 0),
            "output": round(prom.scalar(q.tokens("output"), end) or 0),
        },
        "latency_avg_s": _num(prom.scalar(q.latency_avg(), end)),
        "latency_p99_s": _num(prom.scalar(q.quantile("llm_latency_seconds", 0.99), end)),
        **_estimated(prom, q, end),
    }


def _estimated(prom: PrometheusClient, q: QueryBuilder, end: float) -> dict[str, Any]:
    """Locally estimated tokens and their cost (calls whose provider sent no usage), only when there are any: the
    reported figures above never include them."""
    estimated = {
        "input": round(prom.scalar(q.tokens_estimated("input"), end) or 0),
        "output": round(prom.scalar(q.tokens_estimated("output"), end) or 0),
        "cost_usd": prom.scalar(q.cost_estimated(), end) or 0.0,
    }
    return {"estimated": estimated} if any(estimated.values()) else {}


@app.command()
@_backend_errors
def stats(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    prometheus_url: PromURL = _PROM_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Calls, cost, tokens, latency and error rate over a window."""
    start, end, seconds = _window(from_, to)
    filters = Filters(provider, model, agent, tenant)
    result = _stats(PrometheusClient(prometheus_url), QueryBuilder(filters, seconds), end)
    result["window"] = {"from": _iso(start), "to": _iso(end)}
    result["filters"] = {k: v for k, v in vars(filters).items() if v is not None}

    def render() -> None:
        console.print(f"LLM calls from {_iso(start)} to {_iso(end)}")
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

    _emit(as_json, result, render)


_SORT_KEYS = ("calls", "cost", "tokens", "latency", "ttft", "errors", "model")


@app.command()
@_backend_errors
def models(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    sort: Annotated[str, typer.Option(help=f"One of {', '.join(_SORT_KEYS)}")] = "cost",
    prometheus_url: PromURL = _PROM_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Per provider/model: calls, tokens, cost, latency, TTFT, error rate."""
    if sort not in _SORT_KEYS:
        raise typer.BadParameter(f"--sort must be one of {', '.join(_SORT_KEYS)}")
    _, end, seconds = _window(from_, to)
    prom, q, by = (
        PrometheusClient(prometheus_url),
        QueryBuilder(Filters(provider, model, agent, tenant), seconds),
        "provider, model",
    )
    keys = ("provider", "model")
    calls, errors = prom.by(q.calls(by), keys, end), prom.by(q.errors(by), keys, end)
    columns = {
        "tokens_in": prom.by(q.tokens("input", by), keys, end),
        "tokens_out": prom.by(q.tokens("output", by), keys, end),
        "cost_usd": prom.by(q.cost(by), keys, end),
        "unpriced_calls": prom.by(q.unpriced(by), keys, end),
        "estimated_tokens_in": prom.by(q.tokens_estimated("input", by), keys, end),
        "estimated_tokens_out": prom.by(q.tokens_estimated("output", by), keys, end),
        "estimated_cost_usd": prom.by(q.cost_estimated(by), keys, end),
        "latency_avg_s": prom.by(q.latency_avg(by), keys, end),
        "latency_p99_s": prom.by(q.quantile("llm_latency_seconds", 0.99, by), keys, end),
        "ttft_p99_s": prom.by(q.quantile("llm_ttft_seconds", 0.99, by), keys, end),
    }
    rows = []
    for key, count in calls.items():
        row: dict[str, Any] = {
            "provider": key[0],
            "model": key[1],
            "calls": round(count),
            "errors": round(errors.get(key, 0.0)),
        }
        row["error_pct"] = 100 * row["errors"] / count if count else None
        row.update({name: _num(values.get(key)) for name, values in columns.items()})
        for name in ("tokens_in", "tokens_out", "unpriced_calls", "estimated_tokens_in", "estimated_tokens_out"):
            row[name] = round(row[name] or 0)
        row["cost_usd"] = row["cost_usd"] or 0.0
        row["estimated_cost_usd"] = row["estimated_cost_usd"] or 0.0
        rows.append(row)
    any_estimated = any(r["estimated_tokens_in"] or r["estimated_tokens_out"] for r in rows)
    sort_field = {
        "cost": "cost_usd",
        "tokens": "tokens_out",
        "latency": "latency_p99_s",
        "ttft": "ttft_p99_s",
        "errors": "error_pct",
    }.get(sort, sort)
    rows.sort(key=lambda r: (r[sort_field] is None, r[sort_field]), reverse=sort != "model")

    def render() -> None:
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
        console.print(table)

    _emit(as_json, rows, render)


# -- recent / errors / trace (Jaeger) -------------------------------------------------------------------------------


def _row(span: LLMSpan) -> dict[str, Any]:
    t = span.tags
    return {
        "time": _iso(span.start_us / 1e6),
        "trace_id": span.trace_id,
        "service": span.service,
        "provider": t.get("llm.provider"),
        "model": t.get("llm.model"),
        "tokens_in": t.get("llm.tokens.input"),
        "tokens_out": t.get("llm.tokens.output"),
        "cost_usd": t.get("llm.cost_usd"),
        "latency_ms": t.get("llm.latency_ms", span.duration_us / 1000),
        "finish_reason": t.get("llm.stop_reason"),
        "error_type": t.get("llm.error.type"),
    }


def _search(
    jaeger: JaegerClient, service: str | None, start: float, end: float, limit: int, **kw: Any
) -> list[LLMSpan]:
    services = [service] if service else jaeger.services()
    spans = [
        s
        for svc in services
        for s in jaeger.search(svc, start_us=int(start * 1e6), end_us=int(end * 1e6), limit=limit, **kw)
    ]
    return sorted(spans, key=lambda s: s.start_us, reverse=True)


@app.command()
@_backend_errors
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
    jaeger_url: JaegerURL = _JAEGER_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """The latest LLM calls from Jaeger."""
    start, end, _ = _window(from_, to)
    tags = Filters(provider, model, agent, tenant).span_tags()
    if errors_only:
        tags[Attr.SUCCESS] = "false"
    spans = _search(
        JaegerClient(jaeger_url),
        service,
        start,
        end,
        limit,
        tags=tags,
        min_duration=f"{slow_ms}ms" if slow_ms else None,
    )
    rows = [_row(s) for s in spans[:limit]]

    def render() -> None:
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
        console.print(table)

    _emit(as_json, rows, render)


@app.command()
@_backend_errors
def errors(
    from_: From = "24h",
    to: To = "now",
    provider: Opt = None,
    model: Opt = None,
    agent: Opt = None,
    tenant: Opt = None,
    service: Annotated[str | None, typer.Option()] = None,
    prometheus_url: PromURL = _PROM_DEFAULT,
    jaeger_url: JaegerURL = _JAEGER_DEFAULT,
    as_json: AsJSON = False,
) -> None:
    """Errors by type and model, with the most recent trace ids of each."""
    start, end, seconds = _window(from_, to)
    q = QueryBuilder(Filters(provider, model, agent, tenant), seconds)
    keys = ("error_type", "provider", "model")
    counts = PrometheusClient(prometheus_url).by(q.errors(", ".join(keys)), keys, end)
    spans = _search(JaegerClient(jaeger_url), service, start, end, 500, tags={Attr.SUCCESS: "false"})
    rows = []
    for (error_type, prov, mod), count in sorted(counts.items(), key=lambda kv: -kv[1]):
        ids = [
            s.trace_id
            for s in spans
            if s.tags.get("llm.error.type") == error_type
            and s.tags.get("llm.model") == mod
            and s.tags.get("llm.provider") == prov
        ][:3]
        rows.append(
            {"error_type": error_type, "provider": prov, "model": mod, "count": round(count), "recent_trace_ids": ids}
        )

    def render() -> None:
        table = Table(title="LLM errors")
        for name in ("error type", "provider", "model", "count", "recent traces"):
            table.add_column(name, justify="right" if name == "count" else "left")
        for r in rows:
            table.add_row(
                r["error_type"], r["provider"], r["model"], fmt_int(r["count"]), " ".join(r["recent_trace_ids"]) or "-"
            )
        console.print(table)

    _emit(as_json, rows, render)


_TRACE_ID = re.compile(r"[0-9a-f]{1,32}")


@app.command()
@_backend_errors
def trace(trace_id: str, jaeger_url: JaegerURL = _JAEGER_DEFAULT, as_json: AsJSON = False) -> None:
    """One trace's LLM span attributes (content only if the span carries it)."""
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
                "start": _iso(s.start_us / 1e6),
                "duration_ms": s.duration_us / 1000,
                "attributes": dict(sorted(s.tags.items())),
            }
            for s in spans
        ],
    }

    def render() -> None:
        for span in payload["spans"]:
            table = Table(
                title=f"{span['name']}  ({span['service']}, {span['duration_ms']:,.1f} ms)", show_header=False
            )
            for key, value in span["attributes"].items():
                table.add_row(key, str(value))
            console.print(table)

    _emit(as_json, payload, render)


# -- doctor ----------------------------------------------------------------------------------------------------------


def _sdk_checks() -> list[dict[str, Any]]:
    """Each provider SDK's installed version against what its instrumentor declares it supports."""
    import importlib
    import importlib.metadata

    from packaging.requirements import Requirement

    from .providers import PROVIDER_MODULES

    checks = []
    for module_name, class_name, _ in PROVIDER_MODULES.values():
        for dependency in getattr(importlib.import_module(module_name), class_name).dependencies:
            requirement = Requirement(dependency)
            try:
                version = importlib.metadata.version(requirement.name)
            except importlib.metadata.PackageNotFoundError:
                checks.append(
                    {"check": f"{requirement.name} SDK", "ok": True, "detail": "not installed (not instrumented)"}
                )
                continue
            ok = requirement.specifier.contains(version, prereleases=True)
            verdict = "supported" if ok else "unsupported"
            checks.append(
                {
                    "check": f"{requirement.name} SDK",
                    "ok": ok,
                    "detail": f"{version} ({verdict}: needs {requirement.specifier})",
                }
            )
            checks.extend(_self_tracing_checks(importlib.import_module(module_name)))
    return checks


def _self_tracing_checks(provider_module: Any) -> list[dict[str, Any]]:
    """Whether an installed SDK makes spans of its own calls, and what llmtrace does about it (LLMTRACE_SDK_SPANS)."""
    from .sdk_spans import describe

    mode = os.environ.get("LLMTRACE_SDK_SPANS", "suppress").strip().lower()
    checks = []
    for target in provider_module.PROVIDER.self_tracing:
        traced, detail = describe(target, mode)
        checks.append({"check": f"{target.sdk} own spans", "ok": True, "traces_itself": traced, "detail": detail})
    return checks


def _otlp_check() -> dict[str, Any]:
    """An empty OTLP export to where the exporter is configured to send (a gRPC handshake for grpc)."""
    target = OTLPTarget.from_env()
    if target is None:
        return {
            "check": "OTLP exporter",
            "ok": False,
            "detail": "OTEL_EXPORTER_OTLP_ENDPOINT is not set: nothing is exported",
        }
    problem = target.probe()
    where = target.endpoint if target.protocol == "grpc" else target.traces_url
    return {
        "check": "OTLP exporter",
        "ok": problem is None,
        "detail": problem or f"{target.protocol} to {where}: accepted",
    }


def _doctor_checks(prometheus_url: str, jaeger_url: str) -> list[dict[str, Any]]:
    import httpx

    checks = [*_sdk_checks(), _otlp_check()]
    health = os.environ.get("LLMTRACE_COLLECTOR_HEALTH_URL", "http://localhost:13133/")
    try:
        ok = httpx.get(health, timeout=3.0).status_code == 200
        checks.append({"check": "collector health", "ok": ok, "detail": health})
    except httpx.HTTPError as exc:
        checks.append({"check": "collector health", "ok": False, "detail": f"{health}: {exc.__class__.__name__}"})
    for name, client in (("Prometheus", PrometheusClient(prometheus_url)), ("Jaeger", JaegerClient(jaeger_url))):
        problem = client.problem()
        detail = problem or (f"{client.url} (as {client.creds.user})" if client.creds.user else client.url)
        checks.append({"check": f"{name} ready", "ok": problem is None, "detail": detail})
    return checks


@app.command()
def doctor(
    prometheus_url: PromURL = _PROM_DEFAULT, jaeger_url: JaegerURL = _JAEGER_DEFAULT, as_json: AsJSON = False
) -> None:
    """Check SDK versions, exporter endpoint, collector health, Prometheus and Jaeger; one line each."""
    checks = _doctor_checks(prometheus_url, jaeger_url)

    def render() -> None:
        for c in checks:
            console.print(
                f"[{'green' if c['ok'] else 'red'}]{'ok  ' if c['ok'] else 'FAIL'}[/] {c['check']}: {c['detail']}"
            )

    _emit(as_json, checks, render)
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)


# -- demo ------------------------------------------------------------------------------------------------------------


def _summary_table(rows: list[Any]) -> Table:
    table = Table(title="llmtrace demo: what was recorded (in-process metrics)")
    for name in (
        "provider",
        "model",
        "calls",
        "errors",
        "retries",
        "tokens in",
        "tokens out",
        "cost",
        "p50 latency",
        "p99 latency",
        "p50 TTFT",
        "p99 TTFT",
    ):
        table.add_column(name, justify="left" if name in ("provider", "model") else "right")
    for r in rows:
        table.add_row(
            r.provider,
            r.model,
            fmt_int(r.calls),
            fmt_int(r.errors),
            fmt_int(r.retries),
            fmt_int(r.input_tokens),
            fmt_int(r.output_tokens),
            "unpriced" if r.unpriced_calls and not r.cost_usd else fmt_usd(r.cost_usd),
            fmt_ms(r.latency_p50_s),
            fmt_ms(r.latency_p99_s),
            fmt_ms(r.ttft_p50_s),
            fmt_ms(r.ttft_p99_s),
        )
    return table


def _csv(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


@app.command()
def demo(
    calls: Annotated[int, typer.Option(min=1, help="Number of LLM calls")] = 60,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    rate: Annotated[float | None, typer.Option(help="Calls per second (default: as fast as possible)")] = None,
    providers: Annotated[
        str, typer.Option(help="Comma-separated providers, or 'all' (every provider whose SDK is installed)")
    ] = "all",
    agents: Annotated[str, typer.Option(help="Comma-separated agent names")] = "planner,researcher,writer",
    tenants: Annotated[str, typer.Option(help="Comma-separated tenant names")] = "acme,globex",
    fault_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of calls given a scripted fault")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed for every random choice")] = 0,
    truth: Annotated[Path | None, typer.Option(help="Write the workload's ground truth JSON here")] = None,
) -> None:
    """Run a multi-agent workload through the real SDKs against the built-in fake provider (no key, no money)."""
    from rich.progress import Progress

    # Offline by design: litellm would otherwise download its model cost map when instrument() imports it.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    import llmtrace

    from .demo.fake_server import FakeProviderServer
    from .demo.summary import summarize
    from .demo.telemetry import DemoTelemetry
    from .demo.workload import WorkloadConfig, available_models, installed_providers, run_workload, truth_json

    names = installed_providers() if providers == "all" else _csv(providers)
    models = available_models()
    unknown = [p for p in names if p not in models]
    if unknown:
        raise typer.BadParameter(f"--providers: unknown {', '.join(unknown)}; available: {', '.join(models)}")
    target = _demo_export_target()
    telemetry = DemoTelemetry.start("llmtrace-demo", target)
    tracer_provider, meter_provider, reader = telemetry.tracer_provider, telemetry.meter_provider, telemetry.reader
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    config = WorkloadConfig(
        calls=calls,
        seed=seed,
        providers=names,
        agents=_csv(agents),
        tenants=_csv(tenants),
        fault_rate=fault_rate,
        rate=rate,
        duration_s=duration,
    )
    try:
        with FakeProviderServer(seed=seed) as server, Progress(console=console, transient=True) as progress:
            task = progress.add_task("LLM calls", total=calls)
            result = run_workload(server, config, on_call=lambda _: progress.advance(task))
    finally:
        llmtrace.uninstrument()
    rows = summarize(reader.get_metrics_data())
    export_problem = telemetry.shutdown()
    console.print(_summary_table(rows))
    totals = result.to_json()["totals"]
    console.print(
        f"{totals['calls']:,} calls, {totals['errors']:,} failed, {totals['retries']:,} SDK retries; recorded cost "
        f"{fmt_usd(sum(r.cost_usd for r in rows))}, ground truth {fmt_usd(totals['cost_usd'])}."
    )
    if truth is not None:
        truth.write_text(truth_json(result))
    if export_problem:
        _fail(export_problem)
    if target is not None:
        console.print(telemetry.where())


def _fail(message: str) -> None:
    """One line on stderr and exit code 2, like the backend errors of the query commands."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _demo_export_target() -> OTLPTarget | None:
    """Check the settings and the OTLP endpoint before any call: a bad one is one line and exit 2, not pages."""
    from .config import load_settings
    from .exceptions import ConfigError

    try:
        load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    target = OTLPTarget.from_env()
    problem = target and probe_http(target.traces_url, target.headers)
    if target is not None and problem:
        grpc = " (the demo exports OTLP/HTTP; OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not used)" * (
            target.protocol == "grpc"
        )
        _fail(f"cannot export over OTLP: {problem}{grpc}; nothing was run or sent")
    return target


@app.command()
def version() -> None:
    """Print the llmtrace version."""
    from ._version import __version__

    console.print(__version__)


def main() -> None:
    """Console-script entry point."""
    app()

"""``demo``: wiring the command's options to the demo package (fake provider server, workload, telemetry) and
printing what was recorded next to the workload's ground truth. The demo itself lives in ``llmtrace.demo``."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..backends import OTLPTarget, probe_http
from ._format import fmt_int, fmt_ms, fmt_usd
from ._shared import console, fail

__all__ = ["demo"]


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


def _recorded_and_truth(truth: dict[str, Any], got: Any, key: str, fmt: Any = fmt_int) -> str:
    return f"{fmt(got)} / {fmt(truth[key]) if key in truth else '-'}"


def _agents_table(rows: list[Any], truth: dict[str, dict[str, Any]]) -> Table:
    """Per agent, what llmtrace recorded beside the workload's ground truth ("recorded / truth")."""
    table = Table(title="llmtrace demo: agent runs, recorded (in-process metrics) / ground truth")
    for name in ("agent", "runs", "failed runs", "cost", "LLM calls", "tool calls", "tool errors"):
        table.add_column(name, justify="left" if name == "agent" else "right", no_wrap=True)
    for name in ("p50 cost/run", "p99 cost/run", "p50 duration", "p99 duration"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        t = truth.get(r.agent, {})
        pair = functools.partial(_recorded_and_truth, t)
        table.add_row(
            r.agent,
            pair(r.runs, "runs"),
            pair(r.run_errors, "run_errors"),
            pair(r.cost_usd, "cost_usd", fmt_usd),
            pair(r.calls, "calls"),
            pair(r.tool_calls, "tool_calls"),
            pair(r.tool_errors, "tool_errors"),
            fmt_usd(r.cost_p50_usd),
            fmt_usd(r.cost_p99_usd),
            fmt_ms(r.duration_p50_s),
            fmt_ms(r.duration_p99_s),
        )
    return table


def _drivers_line(drivers: dict[str, int]) -> str:
    """What ran the agent runs: llmtrace.agent around plain SDK calls, or an agent framework (openai's researcher)."""
    parts = [f"{runs:,} {_DRIVERS.get(name, 'through ' + name)}" for name, runs in drivers.items()]
    return f"Agent runs: {', '.join(parts)}."


_DRIVERS = {"llmtrace.agent": "with llmtrace.agent (plain API)", "openai-agents": "through the OpenAI Agents SDK"}


def _csv(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _providers(text: str) -> tuple[str, ...]:
    """``--providers`` checked against the demo's models: an unknown name is a usage error."""
    from ..demo.workload import available_models, installed_providers

    names = installed_providers() if text == "all" else _csv(text)
    models = available_models()
    unknown = [p for p in names if p not in models]
    if unknown:
        raise typer.BadParameter(f"--providers: unknown {', '.join(unknown)}; available: {', '.join(models)}")
    return names


def _export_target() -> OTLPTarget | None:
    """Check the settings and the OTLP endpoint before any call: a bad one is one line and exit 2, not pages."""
    from ..config import load_settings
    from ..exceptions import ConfigError

    try:
        load_settings()
    except ConfigError as exc:
        fail(str(exc))
    target = OTLPTarget.from_env()
    problem = target and probe_http(target.traces_url, target.headers)
    if target is not None and problem:
        grpc = " (the demo exports OTLP/HTTP; OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not used)" * (
            target.protocol == "grpc"
        )
        fail(f"cannot export over OTLP: {problem}{grpc}; nothing was run or sent")
    return target


def demo(
    calls: Annotated[
        int, typer.Option(min=1, help="Number of agent runs, one planned LLM call each (an Agents SDK run makes more)")
    ] = 60,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    rate: Annotated[float | None, typer.Option(help="Agent runs per second (default: as fast as possible)")] = None,
    providers: Annotated[
        str, typer.Option(help="Comma-separated providers, or 'all' (every provider whose SDK is installed)")
    ] = "all",
    agents: Annotated[str, typer.Option(help="Comma-separated agent names")] = "planner,researcher,writer",
    tenants: Annotated[str, typer.Option(help="Comma-separated tenant names")] = "acme,globex",
    fault_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of calls given a scripted fault")] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed for every random choice")] = 0,
    workflow: Annotated[
        str | None,
        typer.Option(help="Run each task (a turn of every agent) inside a workflow run of this name: a trace per task"),
    ] = None,
    truth: Annotated[Path | None, typer.Option(help="Write the workload's ground truth JSON here")] = None,
) -> None:
    """Run a multi-agent workload through the real SDKs against the built-in fake provider (no key, no money)."""
    from rich.progress import Progress

    # Offline by design: litellm would otherwise download its model cost map when instrument() imports it.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

    from .._instrument import instrument, uninstrument
    from ..demo.fake_server import FakeProviderServer
    from ..demo.summary import summarize, summarize_agents
    from ..demo.telemetry import DemoTelemetry
    from ..demo.workload import WorkloadConfig, run_workload, truth_json

    names = _providers(providers)
    target = _export_target()
    telemetry = DemoTelemetry.start("llmtrace-demo", target)
    instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    config = WorkloadConfig(
        calls=calls,
        seed=seed,
        providers=names,
        agents=_csv(agents),
        tenants=_csv(tenants),
        fault_rate=fault_rate,
        rate=rate,
        duration_s=duration,
        workflow=workflow,
    )
    try:
        with FakeProviderServer(seed=seed) as server, Progress(console=console, transient=True) as progress:
            task = progress.add_task("agent runs", total=calls)
            result = run_workload(server, config, on_call=lambda _: progress.advance(task))
    finally:
        uninstrument()
    recorded = telemetry.reader.get_metrics_data()
    rows = summarize(recorded)
    export_problem = telemetry.shutdown()
    console.print(_summary_table(rows))
    console.print(_agents_table(summarize_agents(recorded), result.agents()))
    totals = result.to_json()["totals"]
    console.print(_drivers_line(result.drivers))
    for framework, runs in result.fallbacks.items():
        console.print(f"{framework} is not installed: its {runs:,} runs used llmtrace.agent on the plain API instead.")
    console.print(
        f"{totals['calls']:,} calls, {totals['errors']:,} failed, {totals['retries']:,} SDK retries; recorded cost "
        f"{fmt_usd(sum(r.cost_usd for r in rows))}, ground truth {fmt_usd(totals['cost_usd'])}."
    )
    if truth is not None:
        truth.write_text(truth_json(result))
    if export_problem:
        fail(export_problem)
    if target is not None:
        console.print(telemetry.where())

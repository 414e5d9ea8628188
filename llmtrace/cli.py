"""The ``llmtrace`` command. ``llmtrace demo`` runs a multi-agent workload through the real SDKs against the
built-in fake provider (no API key, no money) and prints what llmtrace recorded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .demo.summary import ModelSummary, summarize

app = typer.Typer(add_completion=False, no_args_is_help=True, help="OpenTelemetry-native tracing for LLM calls.")
console = Console(width=None if Console().is_terminal else 160)


def _telemetry(service_name: str) -> tuple[Any, Any, Any]:
    """Tracer and meter providers: in-memory reader for the summary, plus OTLP export when an endpoint is set."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    reader = InMemoryMetricReader()
    readers: list[Any] = [reader]
    tracer_provider = TracerProvider(resource=resource)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=5000))
    return tracer_provider, MeterProvider(resource=resource, metric_readers=readers), reader


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def _summary_table(rows: list[ModelSummary]) -> Table:
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
            f"{r.calls:,}",
            f"{r.errors:,}",
            f"{r.retries:,}",
            f"{r.input_tokens:,}",
            f"{r.output_tokens:,}",
            f"${r.cost_usd:,.4f}",
            _fmt_s(r.latency_p50_s),
            _fmt_s(r.latency_p99_s),
            _fmt_s(r.ttft_p50_s),
            _fmt_s(r.ttft_p99_s),
        )
    return table


@app.command()
def demo(
    calls: Annotated[int, typer.Option(min=1, help="Number of LLM calls")] = 60,
    seed: Annotated[int, typer.Option(help="Seed for every random choice")] = 0,
    providers: Annotated[str, typer.Option(help="Comma-separated providers")] = "openai,anthropic",
    fault_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of calls given a scripted fault")] = 0.15,
    rate: Annotated[float | None, typer.Option(help="Calls per second (default: as fast as possible)")] = None,
    truth: Annotated[Path | None, typer.Option(help="Write the workload's ground truth JSON here")] = None,
) -> None:
    """Run a multi-agent workload through the real SDKs against the built-in fake provider."""
    import llmtrace

    from .demo.fake_server import FakeProviderServer
    from .demo.workload import WorkloadConfig, run_workload, truth_json

    names = tuple(p.strip() for p in providers.split(",") if p.strip())
    tracer_provider, meter_provider, reader = _telemetry("llmtrace-demo")
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    config = WorkloadConfig(calls=calls, seed=seed, providers=names, fault_rate=fault_rate, rate=rate)
    with FakeProviderServer(seed=seed) as server:
        result = run_workload(server, config)
    llmtrace.uninstrument()
    rows = summarize(reader.get_metrics_data())
    tracer_provider.shutdown()
    meter_provider.shutdown()
    console.print(_summary_table(rows))
    totals = result.to_json()["totals"]
    recorded = sum(r.cost_usd for r in rows)
    console.print(
        f"{totals['calls']:,} calls, {totals['errors']:,} failed, {totals['retries']:,} SDK retries; "
        f"recorded cost ${recorded:,.6f}, ground truth ${totals['cost_usd']:,.6f}."
        + (" Exported over OTLP." if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "")
    )
    if truth is not None:
        truth.write_text(truth_json(result))


@app.command()
def version() -> None:
    """Print the llmtrace version."""
    from . import __version__

    console.print(__version__)


def main() -> None:
    """Console-script entry point."""
    app()

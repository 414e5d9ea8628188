"""The real stack as native processes: otelcol (ocb build), Jaeger v2 and Prometheus 3, started on free loopback
ports from the repository's own config files (the ones docker-compose mounts), then a seeded demo workload
through the real SDKs with its ground truth."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "llmtrace-stack-test"
STACK_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first stack test may build the binaries (~15 min cold): lift the per-test timeout for this folder."""
    for item in items:
        if STACK_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.timeout(3600))


def binaries() -> dict[str, str]:
    """Paths of the stack binaries, building whatever is missing (cached under ~/.cache/llmtrace)."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "stack-binaries.sh"), "--print-env"],
        check=True,
        capture_output=True,
        text=True,
        timeout=3600,
    ).stdout
    return dict(line.split("=", 1) for line in out.strip().splitlines() if "=" in line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the service is still starting
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last})")


@dataclass
class Stack:
    bins: dict[str, str]
    otlp_http: str
    prometheus: str
    jaeger: str
    logs: dict[str, Path]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def promql(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr, **({"time": str(at)} if at else {})}
        data = http_get(f"{self.prometheus}/api/v1/query?{urllib.parse.urlencode(params)}")
        assert data["status"] == "success", data
        return data["data"]["result"]

    def promql_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step)}
        data = http_get(f"{self.prometheus}/api/v1/query_range?{urllib.parse.urlencode(params)}")
        assert data["status"] == "success", data
        return data["data"]["result"]

    def scalar(self, expr: str) -> float:
        result = self.promql(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def jaeger_traces(self, **params: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"service": SERVICE, "limit": "2000", "lookback": "1h", **params})
        return http_get(f"{self.jaeger}/api/traces?{query}")["data"]


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


# The Prometheus flags docker-compose.yml runs with too (a test compares them), apart from paths and retention.
PROMETHEUS_FLAGS = ("--web.enable-otlp-receiver", "--enable-feature=exemplar-storage")


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    """Jaeger, Prometheus and otelcol on free loopback ports from the repository's config files; stopped after."""
    bins = binaries()
    p = {
        name: free_port()
        for name in (
            "j_grpc",
            "j_http",
            "j_query",
            "j_qgrpc",
            "j_health",
            "prom",
            "c_grpc",
            "c_http",
            "c_health",
            "c_metrics",
        )
    }
    logs = {name: tmp / f"{name}.log" for name in ("jaeger", "prometheus", "otelcol")}
    stack = Stack(
        bins,
        f"http://127.0.0.1:{p['c_http']}",
        f"http://127.0.0.1:{p['prom']}",
        f"http://127.0.0.1:{p['j_query']}",
        logs,
    )
    try:
        stack.procs.append(
            _start(
                [bins["JAEGER_BIN"], f"--config={ROOT / 'collector' / 'jaeger.yaml'}"],
                {
                    "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['j_grpc']}",
                    "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['j_http']}",
                    "JAEGER_QUERY_HTTP_ENDPOINT": f"127.0.0.1:{p['j_query']}",
                    "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{p['j_qgrpc']}",
                    "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{p['j_health']}",
                    # Jaeger opens every configured backend (memstore is used, badger is still opened): its own
                    # badger dir here, or it fights another Jaeger (compose, the burst test) for /badger's lock.
                    "JAEGER_BADGER_DIR": str(tmp / "badger"),
                },
                logs["jaeger"],
            )
        )
        stack.procs.append(
            _start(
                [
                    bins["PROMETHEUS_BIN"],
                    f"--config.file={ROOT / 'collector' / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{p['prom']}",
                    "--storage.tsdb.retention.time=1d",
                    *PROMETHEUS_FLAGS,
                ],
                {},
                logs["prometheus"],
            )
        )
        stack.procs.append(
            _start(
                [bins["OTELCOL_BIN"], f"--config={ROOT / 'collector' / 'otelcol.yaml'}"],
                {
                    "LLMTRACE_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['c_grpc']}",
                    "LLMTRACE_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['c_http']}",
                    "LLMTRACE_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{p['c_health']}",
                    "LLMTRACE_COLLECTOR_METRICS_HOST": "127.0.0.1",
                    "LLMTRACE_COLLECTOR_METRICS_PORT": str(p["c_metrics"]),
                    "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{p['j_grpc']}",
                    "PROMETHEUS_OTLP_ENDPOINT": f"{stack.prometheus}/api/v1/otlp/v1/metrics",
                },
                logs["otelcol"],
            )
        )
        wait_until(lambda: http_get(f"{stack.jaeger}/api/services") is not None, 60, "jaeger")
        wait_until(lambda: "Ready" in http_get(f"{stack.prometheus}/-/ready"), 60, "prometheus")
        wait_until(lambda: http_get(f"http://127.0.0.1:{p['c_health']}/") is not None, 60, "otelcol")
        yield stack
    finally:
        for proc in stack.procs:
            proc.terminate()
        for proc in stack.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@dataclass
class WorkloadResult:
    truth: dict[str, Any]
    started: float
    finished: float


@pytest.fixture(scope="session")
def workload(stack: Stack) -> WorkloadResult:
    """The seeded demo workload through the real SDKs, exported over OTLP/HTTP to the collector."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import llmtrace
    from llmtrace.demo.fake_server import FakeProviderServer
    from llmtrace.demo.workload import WorkloadConfig, run_workload

    resource = Resource.create({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces")))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{stack.otlp_http}/v1/metrics"), export_interval_millis=2000
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    started = time.time()
    try:
        with FakeProviderServer(seed=11) as server:
            truth = run_workload(
                server, WorkloadConfig(calls=150, seed=11, fault_rate=0.3, providers=("openai", "anthropic", "ollama"))
            ).to_json()
    finally:
        llmtrace.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    total = truth["totals"]["calls"]
    # Wait until everything arrived (>=: an excess is then reported by the tests with the exact difference).
    wait_until(lambda: stack.scalar("sum(llm_calls_total)") >= total, 60, "metrics in prometheus")
    wait_until(lambda: len(stack.jaeger_traces()) >= total, 60, "traces in jaeger")
    return WorkloadResult(truth, started, time.time())

"""The secure profile with the real binaries: TLS and credentials on every write and read, the tenant from the token.

otelcol-llmtrace-secure (collector/otelcol.yaml + collector/secure/otelcol.yaml), Jaeger (collector/jaeger.yaml +
collector/secure/jaeger.yaml) and Prometheus (--web.config.file) on free loopback ports, with the secrets that
scripts/secure_setup.py makes. Refused writes are checked against a barrier: a legitimate write sent after them
must arrive, and then nothing of the refused ones may be in Prometheus or Jaeger.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from llmtrace.cli import app

from .conftest import ROOT, listening, wait_until

SECURE = ROOT / "collector" / "secure"
TENANTS = ("team-a", "team-b")
MAX_SERIES = 300  # LLMTRACE_MAX_SERIES_PER_TENANT for this stack (the default is 10,000)


def _secure_setup() -> Any:
    spec = importlib.util.spec_from_file_location("secure_setup", ROOT / "scripts" / "secure_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SecureStack:
    dir: Path
    env: dict[str, str]
    prometheus: str
    jaeger: str
    jaeger_otlp: str
    otlp_http: dict[str, str]  # tenant -> https base URL of its receiver
    tokens: dict[str, str]  # tenant -> a token in its file
    otlp_grpc_port: dict[str, int]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ca(self) -> str:
        return str(self.dir / "tls" / "ca.crt")

    @property
    def reader(self) -> tuple[str, str]:
        return (self.env["LLMTRACE_PROMETHEUS_USER"], self.env["LLMTRACE_PROMETHEUS_PASSWORD"])

    def get(self, url: str, auth: tuple[str, str] | None = None, **params: str) -> httpx.Response:
        return httpx.get(url, params=params, auth=auth, verify=ssl.create_default_context(cafile=self.ca), timeout=10)

    def promql(self, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
        response = self.get(f"{self.prometheus}/api/v1/query", self.reader, query=expr)
        response.raise_for_status()
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in response.json()["data"]["result"]}

    def services(self) -> list[str]:
        response = self.get(f"{self.jaeger}/api/services", self.reader)
        response.raise_for_status()
        return response.json()["data"] or []

    def spans(self, service: str) -> list[dict[str, Any]]:
        response = self.get(f"{self.jaeger}/api/traces", self.reader, service=service, limit="2000", lookback="1h")
        response.raise_for_status()
        return [span for trace in response.json()["data"] or [] for span in trace["spans"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory: pytest.TempPathFactory, stack_binaries: dict[str, str]) -> Iterator[SecureStack]:
    bins = stack_binaries  # built (secure collector included) by the session hook, outside any test's timeout
    tmp = tmp_path_factory.mktemp("secure")
    secrets = tmp / "secrets"
    env = _secure_setup().setup(secrets)
    p = {name: free_port() for name in ("j_grpc", "j_http", "j_query", "j_qgrpc", "j_health", "prom", "c_health")}
    p |= {f"{t}_{proto}": free_port() for t in TENANTS for proto in ("grpc", "http")}
    stack = SecureStack(
        secrets,
        env,
        f"https://127.0.0.1:{p['prom']}",
        f"https://127.0.0.1:{p['j_query']}",
        f"https://127.0.0.1:{p['j_http']}",
        {t: f"https://127.0.0.1:{p[f'{t}_http']}" for t in TENANTS},
        {t: env["LLMTRACE_TOKEN_" + t.upper().replace("-", "_")] for t in TENANTS},
        {t: p[f"{t}_grpc"] for t in TENANTS},
    )
    common = {"LLMTRACE_SECURE_DIR": str(secrets)}
    try:
        stack.procs.append(
            _start(
                [
                    bins["JAEGER_BIN"],
                    f"--config={ROOT / 'collector' / 'jaeger.yaml'}",
                    f"--config={SECURE / 'jaeger.yaml'}",
                ],
                common
                | {
                    "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{p['j_grpc']}",
                    "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{p['j_http']}",
                    "JAEGER_QUERY_HTTP_ENDPOINT": f"127.0.0.1:{p['j_query']}",
                    "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{p['j_qgrpc']}",
                    "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{p['j_health']}",
                    "JAEGER_BADGER_DIR": str(tmp / "badger"),
                },
                tmp / "jaeger.log",
            )
        )
        stack.procs.append(
            _start(
                [
                    bins["PROMETHEUS_BIN"],
                    f"--config.file={ROOT / 'collector' / 'prometheus.yml'}",
                    f"--web.config.file={secrets / 'prometheus-web.yml'}",
                    f"--storage.tsdb.path={tmp / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{p['prom']}",
                    "--web.enable-otlp-receiver",
                    "--enable-feature=exemplar-storage",
                ],
                {},
                tmp / "prometheus.log",
            )
        )
        stack.procs.append(
            _start(
                [
                    bins["OTELCOL_BIN"],
                    f"--config={ROOT / 'collector' / 'otelcol.yaml'}",
                    f"--config={SECURE / 'otelcol.yaml'}",
                ],
                common
                | {
                    f"LLMTRACE_{t.upper().replace('-', '_')}_{proto.upper()}_ENDPOINT": f"127.0.0.1:{p[f'{t}_{proto}']}"
                    for t in TENANTS
                    for proto in ("grpc", "http")
                }
                | {
                    "LLMTRACE_COLLECTOR_BASIC_AUTH": env["LLMTRACE_COLLECTOR_BASIC_AUTH"],
                    "LLMTRACE_MAX_SERIES_PER_TENANT": str(MAX_SERIES),
                    "LLMTRACE_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{p['c_health']}",
                    "LLMTRACE_COLLECTOR_METRICS_HOST": "127.0.0.1",
                    "LLMTRACE_COLLECTOR_METRICS_PORT": str(free_port()),
                    "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{p['j_grpc']}",
                    "PROMETHEUS_OTLP_ENDPOINT": f"{stack.prometheus}/api/v1/otlp/v1/metrics",
                },
                tmp / "otelcol.log",
            )
        )
        checks = {
            "prometheus": lambda: stack.get(f"{stack.prometheus}/-/ready", stack.reader).status_code == 200,
            "jaeger": lambda: stack.services() is not None,
            "otelcol": lambda: httpx.get(f"http://127.0.0.1:{p['c_health']}/").status_code == 200,
        }
        procs = dict(zip(("jaeger", "prometheus", "otelcol"), stack.procs, strict=True))
        for name, ready in checks.items():
            proc, log = procs[name], tmp / f"{name}.log"
            wait_until(lambda proc=proc, log=log, ready=ready: _alive(proc, log) and ready(), 60, name)
        yield stack
    finally:
        for proc in stack.procs:
            proc.terminate()
        for proc in stack.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _alive(proc: subprocess.Popen[bytes], log: Path) -> bool:
    """True while the process runs; a process that exited (a config error) fails the fixture with its log's end."""
    if proc.poll() is not None:
        pytest.fail(f"{log.stem} exited with {proc.returncode}: {log.read_text()[-2000:]}")
    return True


# -- raw OTLP requests: what a client on the network can send ---------------------------------------------------------


def otlp_payloads(service: str, tenant: str, calls: int = 1) -> dict[str, bytes]:
    """Encoded OTLP traces and metrics: ``calls`` spans and an llm.calls counter of ``calls``, claiming ``tenant``."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    resource = Resource.create({"service.name": service})
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter = MeterProvider(resource=resource, metric_readers=[reader]).get_meter("test")
    for _ in range(calls):
        with tracer_provider.get_tracer("test").start_as_current_span("chat m") as span:
            span.set_attributes({"llm.provider": "openai", "llm.model": "m", "llm.tenant": tenant})
    meter.create_counter("llm.calls", unit="{call}").add(calls, {"provider": "openai", "model": "m", "tenant": tenant})
    return {
        "traces": encode_spans(spans.get_finished_spans()).SerializeToString(),
        "metrics": encode_metrics(reader.get_metrics_data()).SerializeToString(),
    }


def post(stack: SecureStack, url: str, payload: bytes, token: str | None, verify: Any = None) -> int | str:
    """The HTTP status, or "reset" when the server closed the connection before answering."""
    headers = {"Content-Type": "application/x-protobuf"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = httpx.post(url, content=payload, headers=headers, verify=verify or _ca(stack), timeout=10)
    except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
        return "reset"
    return response.status_code


def _ca(stack: SecureStack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=stack.ca)


def send(
    stack: SecureStack, tenant: str, service: str, token: str | None, calls: int = 1, base: str | None = None
) -> dict[str, int]:
    """POST traces and metrics to a tenant's receiver; the HTTP status of each."""
    base = base or stack.otlp_http[tenant]
    payloads = otlp_payloads(service, tenant, calls)
    return {kind: post(stack, f"{base}/v1/{kind}", body, token) for kind, body in payloads.items()}


def grpc_export(
    stack: SecureStack, tenant: str, token: str | None, message: bytes = b"", length: int | None = None
) -> str | None:
    """An OTLP/gRPC trace export of ``message`` (an encoded ExportTraceServiceRequest; empty by default) over HTTP/2;
    the grpc-status the server answered at once, if any. ``length`` replaces the message's length in the gRPC frame
    header: the server refuses an oversized message from that header, before its body (which it does not read).

    A refusal is a trailers-only response, so its grpc-status is in the headers; an accepted export puts it in the
    trailers (None here)."""
    headers = {"content-type": "application/grpc", "te": "trailers"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    url = f"https://127.0.0.1:{stack.otlp_grpc_port[tenant]}"
    with httpx.Client(http2=True, http1=False, verify=_ca(stack), timeout=10) as client:
        response = client.post(
            f"{url}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            content=b"\0" + (len(message) if length is None else length).to_bytes(4, "big") + message,
            headers=headers,
        )
    assert response.status_code == 200 and response.http_version == "HTTP/2"
    return response.headers.get("grpc-status")


def arrived(stack: SecureStack, service: str) -> tuple[float, int]:
    """(llm_calls_total of ``service`` in Prometheus, spans of ``service`` in Jaeger)."""
    series = stack.promql(f'sum(llm_calls_total{{job="{service}"}})')
    calls = next(iter(series.values()), 0.0)
    spans = len(stack.spans(service)) if service in stack.services() else 0
    return calls, spans


def barrier(stack: SecureStack, tenant: str, service: str) -> None:
    """A legitimate write after the refused ones; once it is stored, anything sent before it had its chance."""
    assert send(stack, tenant, service, stack.tokens[tenant]) == {"traces": 200, "metrics": 200}
    wait_until(lambda: arrived(stack, service) == (1.0, 1), 60, f"{service} in Prometheus and Jaeger")


# -- writes ------------------------------------------------------------------------------------------------------------


def test_writes_without_a_valid_token_are_refused_and_nothing_arrives(secure_stack: SecureStack):
    stack = secure_stack
    base = stack.otlp_http["team-a"]
    attempts = {
        "intruder-no-token": send(stack, "team-a", "intruder-no-token", None),
        "intruder-wrong-token": send(stack, "team-a", "intruder-wrong-token", "not-a-token"),
        # team-b's valid token on team-a's receiver: each receiver takes its own tenant's tokens only
        "intruder-other-tenant": send(stack, "team-a", "intruder-other-tenant", stack.tokens["team-b"]),
    }
    assert attempts == {name: {"traces": 401, "metrics": 401} for name in attempts}
    # gRPC: 16 = UNAUTHENTICATED for the same three; the tenant's own token is accepted
    grpc = [grpc_export(stack, "team-a", token) for token in (None, "not-a-token", stack.tokens["team-b"])]
    assert grpc == ["16", "16", "16"]
    assert grpc_export(stack, "team-a", stack.tokens["team-a"]) is None
    # Plain HTTP to the TLS port, even with the right token: Go's TLS server answers 400 to the request line and
    # closes, so a client still sending its body may see the reset before the 400
    plain = send(stack, "team-a", "intruder-plain-http", stack.tokens["team-a"], base=base.replace("https:", "http:"))
    assert set(plain.values()) <= {400, "reset"}, plain
    # A client that does not trust our CA never sends: the handshake fails on the server's certificate
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        post(stack, f"{base}/v1/traces", b"", stack.tokens["team-a"], verify=True)

    barrier(stack, "team-a", "barrier-writes")
    for service in [*attempts, "intruder-plain-http"]:
        assert arrived(stack, service) == (0.0, 0), service


def test_backends_refuse_writes_that_bypass_the_collector(secure_stack: SecureStack):
    stack = secure_stack
    payloads = otlp_payloads("intruder-direct", "team-b")
    # Jaeger's OTLP receiver: only the collector's user; a reader's password is refused too
    for auth in (None, stack.reader):
        response = httpx.post(
            f"{stack.jaeger_otlp}/v1/traces",
            content=payloads["traces"],
            headers={"Content-Type": "application/x-protobuf"},
            auth=auth,
            verify=_ca(stack),
        )
        assert response.status_code == 401
    # Prometheus's OTLP endpoint without credentials
    response = httpx.post(
        f"{stack.prometheus}/api/v1/otlp/v1/metrics",
        content=payloads["metrics"],
        headers={"Content-Type": "application/x-protobuf"},
        verify=_ca(stack),
    )
    assert response.status_code == 401
    barrier(stack, "team-a", "barrier-direct")  # team-b holds only the workload (CLI test)
    assert arrived(stack, "intruder-direct") == (0.0, 0)


def big_traces(service: str, size: int) -> bytes:
    """An encoded OTLP trace request of one span whose attribute makes it ``size`` bytes or a little more."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with provider.get_tracer("test").start_as_current_span("chat m") as span:
        span.set_attribute("filler", "x" * size)
    body = encode_spans(spans.get_finished_spans()).SerializeToString()
    assert size <= len(body) < size + 1024
    return body


def test_requests_over_the_limit_are_refused_and_under_it_nothing_is_lost(secure_stack: SecureStack):
    stack = secure_stack
    token, limit = stack.tokens["team-a"], 2 * 1024 * 1024  # collector/secure/otelcol.yaml
    over = big_traces("intruder-oversized", limit + 1)
    response = httpx.post(
        f"{stack.otlp_http['team-a']}/v1/traces",
        content=over,
        headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"},
        verify=_ca(stack),
        timeout=30,
    )
    # the OTLP/HTTP receiver answers 400 (not 413) with Go's MaxBytesReader error as the status message
    assert (response.status_code, b"request body too large" in response.content) == (400, True)
    assert grpc_export(stack, "team-a", token, length=limit + 1) == "8"  # RESOURCE_EXHAUSTED
    # Just under the limit is accepted on both protocols, and stored: the exporter to Jaeger (requests of at most
    # 3 MiB) never meets a span it cannot cut, which would drop the spans batched with it, the barrier's included.
    under = [big_traces("under-the-limit", limit - 64 * 1024) for _ in range(2)]  # two spans (own ids)
    assert post(stack, f"{stack.otlp_http['team-a']}/v1/traces", under[0], token) == 200
    assert grpc_export(stack, "team-a", token, under[1]) is None
    barrier(stack, "team-a", "barrier-size")
    assert arrived(stack, "intruder-oversized") == (0.0, 0)
    wait_until(lambda: arrived(stack, "under-the-limit") == (0.0, 2), 30, "both spans under the limit")


@pytest.fixture(scope="module")
def team_b_workload(secure_stack: SecureStack, monkeypatch_module: pytest.MonkeyPatch) -> dict[str, Any]:
    """The seeded demo workload through the real SDKs as an app of team-b, configured as the README says: the
    standard OTEL_EXPORTER_OTLP_* variables (endpoint, bearer-token header, CA certificate). Its ground truth."""
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

    stack = secure_stack
    monkeypatch_module.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", stack.otlp_http["team-b"])
    monkeypatch_module.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=Bearer {stack.tokens['team-b']}")
    monkeypatch_module.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", stack.ca)
    # requests (under the SDK's HTTP exporter) lets these replace the exporter's CA: README says so too
    monkeypatch_module.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch_module.delenv("CURL_CA_BUNDLE", raising=False)
    resource = Resource.create({"service.name": "app-b"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=1000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        with FakeProviderServer(seed=5) as server:
            config = WorkloadConfig(
                calls=40, seed=5, fault_rate=0.2, providers=("openai", "anthropic"), tenants=("team-b",)
            )
            truth = run_workload(server, config).to_json()
    finally:
        llmtrace.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    total = truth["totals"]["calls"]
    wait_until(lambda: stack.promql('sum(llm_calls_total{job="app-b"})') == {(): float(total)}, 60, "app-b metrics")
    traces = truth["totals"]["traces"]  # one per agent run; the Agents SDK's runs make several calls
    wait_until(lambda: len({s["traceID"] for s in stack.spans("app-b")}) >= traces, 60, "app-b traces")
    return truth


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_tenant_is_who_authenticated(secure_stack: SecureStack, team_b_workload: dict[str, Any]):
    stack = secure_stack
    before = stack.promql('sum by (tenant, model) (llm_calls_total{job="app-b"})')
    assert set(before) and {dict(k)["tenant"] for k in before} == {"team-b"}
    # team-a's token sends spans and metrics that claim to be team-b's
    payloads = otlp_payloads("app-a", "team-b", calls=5)
    for kind, body in payloads.items():
        assert post(stack, f"{stack.otlp_http['team-a']}/v1/{kind}", body, stack.tokens["team-a"]) == 200
    wait_until(lambda: arrived(stack, "app-a") == (5.0, 5), 60, "app-a's data")

    assert stack.promql('sum by (tenant) (llm_calls_total{job="app-a"})') == {(("tenant", "team-a"),): 5.0}
    assert stack.promql('sum by (tenant, model) (llm_calls_total{job="app-b"})') == before  # B's series unchanged
    assert stack.promql('sum by (tenant) (llm_calls_total{job=~"app-.*"})') == {
        (("tenant", "team-a"),): 5.0,
        (("tenant", "team-b"),): float(team_b_workload["totals"]["calls"]),
    }
    for service, tenant in (("app-a", "team-a"), ("app-b", "team-b")):
        tags = {
            span["tags"][i]["value"]
            for span in stack.spans(service)
            for i, t in enumerate(span["tags"])
            if t["key"] == "llm.tenant"
        }
        assert tags == {tenant}, service


# -- reads -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["prometheus", "jaeger"])
def test_reads_need_credentials(secure_stack: SecureStack, backend: str):
    stack = secure_stack
    url = {"prometheus": f"{stack.prometheus}/api/v1/query", "jaeger": f"{stack.jaeger}/api/services"}[backend]
    params = {"query": "up"} if backend == "prometheus" else {}
    assert stack.get(url, None, **params).status_code == 401
    assert stack.get(url, ("reader", "wrong"), **params).status_code == 401
    assert stack.get(url, ("collector", "wrong"), **params).status_code == 401
    assert stack.get(url, stack.reader, **params).status_code == 200
    plain = httpx.get(url.replace("https:", "http:"), params=params, auth=stack.reader, timeout=10)
    assert plain.status_code == 400  # the TLS port does not answer plain HTTP


def test_jaeger_refuses_the_collectors_user_for_reads(secure_stack: SecureStack):
    user, password = base64.b64decode(secure_stack.env["LLMTRACE_COLLECTOR_BASIC_AUTH"]).decode().split(":", 1)
    assert secure_stack.get(f"{secure_stack.jaeger}/api/services", (user, password)).status_code == 401


def test_the_native_secure_stack_listens_on_loopback_only(secure_stack: SecureStack):
    for proc in secure_stack.procs:
        sockets = listening(proc.pid)
        assert sockets and {address for address, _ in sockets} == {"127.0.0.1"}, (proc.args[0], sockets)


# -- rotation (last: it changes team-a's token) --------------------------------------------------------------------


def test_rotated_out_token_is_refused_without_restart(secure_stack: SecureStack):
    stack = secure_stack
    setup = _secure_setup()
    old = stack.tokens["team-a"]
    new = setup.new_token(stack.dir, "team-a")  # appended: both work during the roll-out
    wait_until(lambda: send(stack, "team-a", "rotation-probe", new, calls=0)["traces"] == 200, 30, "new token")
    assert send(stack, "team-a", "rotation-probe", old, calls=0)["traces"] == 200
    path = stack.dir / "tokens" / "team-a.tokens"
    assert setup.main([str(stack.dir), "--retire", "team-a", old]) == 0  # an atomic rename, as docs/security.md says
    assert (path.stat().st_mode & 0o777, old in path.read_text(), new in path.read_text()) == (0o640, False, True)
    wait_until(lambda: send(stack, "team-a", "rotation-probe", old, calls=0)["traces"] == 401, 30, "old token refused")
    stack.tokens["team-a"] = new
    assert send(stack, "team-a", "intruder-rotated", old) == {"traces": 401, "metrics": 401}
    barrier(stack, "team-a", "barrier-rotation")
    assert arrived(stack, "intruder-rotated") == (0.0, 0)


# -- the CLI ---------------------------------------------------------------------------------------------------------


def _cli(stack: SecureStack, env: dict[str, str], *argv: str) -> Any:
    urls = ["--prometheus-url", stack.prometheus] + (["--jaeger-url", stack.jaeger] if argv[0] == "doctor" else [])
    return CliRunner().invoke(app, [*argv, *urls], env=env)


def _reader_env(stack: SecureStack) -> dict[str, str]:
    keys = (
        "LLMTRACE_PROMETHEUS_USER",
        "LLMTRACE_PROMETHEUS_PASSWORD",
        "LLMTRACE_JAEGER_USER",
        "LLMTRACE_JAEGER_PASSWORD",
    )
    return {k: stack.env[k] for k in keys} | {"LLMTRACE_CA_FILE": stack.ca}


def test_cli_with_credentials_reads_the_exact_ground_truth(secure_stack: SecureStack, team_b_workload: dict[str, Any]):
    result = _cli(secure_stack, _reader_env(secure_stack), "stats", "--tenant", "team-b", "--json")
    assert result.exit_code == 0, result.stderr + result.stdout
    got, totals = json.loads(result.stdout), team_b_workload["totals"]
    assert (got["calls"], got["errors"]) == (totals["calls"], totals["errors"])
    assert got["tokens"] == {"input": totals["tokens"]["input"], "output": totals["tokens"]["output"]}
    assert abs(got["cost_usd"] - totals["cost_usd"]) < 1e-9
    # the same credentials as flags instead of env
    user, password = secure_stack.reader
    flags = ["--prometheus-user", user, "--prometheus-password", password, "--ca-file", secure_stack.ca]
    result = CliRunner().invoke(
        app,
        [*flags, "stats", "--tenant", "team-b", "--json", "--prometheus-url", secure_stack.prometheus],
        env={k: "" for k in _reader_env(secure_stack)},
    )
    assert result.exit_code == 0, result.stderr + result.stdout
    assert json.loads(result.stdout)["calls"] == totals["calls"]


def test_cli_reads_jaeger_with_credentials_and_sees_tenants_as_authenticated(
    secure_stack: SecureStack, team_b_workload: dict[str, Any]
):
    env = _reader_env(secure_stack)
    jaeger = ["--jaeger-url", secure_stack.jaeger, "--json", "--limit", "1000"]
    result = CliRunner().invoke(app, ["recent", "--tenant", "team-b", *jaeger], env=env)
    assert result.exit_code == 0, result.stderr + result.stdout
    rows = json.loads(result.stdout)
    # every call of team-b's app, and none of app-a's spans that claimed team-b (they were stored as team-a)
    assert len(rows) == team_b_workload["totals"]["calls"]
    assert {r["trace_id"] for r in rows} <= {s["traceID"] for s in secure_stack.spans("app-b")}
    failed = CliRunner().invoke(app, ["recent", "--tenant", "team-b", "--errors-only", *jaeger], env=env)
    assert len(json.loads(failed.stdout)) == team_b_workload["totals"]["errors"]


def test_cli_without_credentials_says_so_in_one_line(secure_stack: SecureStack):
    env = _reader_env(secure_stack) | {"LLMTRACE_PROMETHEUS_PASSWORD": "", "LLMTRACE_PROMETHEUS_USER": ""}
    result = _cli(secure_stack, env, "stats")
    assert result.exit_code == 2
    assert "HTTP 401" in result.stderr and "LLMTRACE_PROMETHEUS_USER" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_doctor_checks_the_credentials(secure_stack: SecureStack, team_b_workload: dict[str, Any]):
    def checks(env: dict[str, str]) -> dict[str, dict[str, Any]]:
        result = _cli(secure_stack, env, "doctor", "--json")
        return {c["check"]: c for c in json.loads(result.stdout)}

    good = checks(_reader_env(secure_stack))  # OTEL_EXPORTER_OTLP_* are team-b's app settings (module fixture)
    assert good["Prometheus ready"]["ok"] and good["Jaeger ready"]["ok"] and good["OTLP exporter"]["ok"], good
    bad = checks(_reader_env(secure_stack) | {"LLMTRACE_JAEGER_PASSWORD": "wrong", "OTEL_EXPORTER_OTLP_HEADERS": ""})
    assert not bad["Jaeger ready"]["ok"] and "HTTP 401" in bad["Jaeger ready"]["detail"]
    assert not bad["OTLP exporter"]["ok"] and "HTTP 401" in bad["OTLP exporter"]["detail"]
    assert bad["Prometheus ready"]["ok"]


# -- the series bound (last: it fills team-a's series budget) ------------------------------------------------------


def flood_payload(service: str, values: int) -> bytes:
    """One OTLP metrics request with an llm.calls point for each of ``values`` unique model names."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader])
    counter = provider.get_meter("flood").create_counter("llm.calls", unit="{call}")
    for i in range(values):
        counter.add(1, {"provider": "openai", "model": f"flood-{i:05d}", "tenant": "team-a"})
    return encode_metrics(reader.get_metrics_data()).SerializeToString()


def test_a_tenant_flooding_unique_label_values_hits_its_own_bound(
    secure_stack: SecureStack, team_b_workload: dict[str, Any]
):
    stack = secure_stack
    # series as ingested (recording rules, named with colons, also carry the tenant label and keep changing)
    team_a, team_b = '{tenant="team-a", __name__!~".*:.*"}', '{tenant="team-b", job!="after-flood", __name__!~".*:.*"}'
    before_b = stack.promql(team_b)
    tracked = stack.promql(f"count({team_a})").get((), 0.0)  # team-a's series so far: one stream each (counters)
    assert tracked < MAX_SERIES
    url = f"{stack.otlp_http['team-a']}/v1/metrics"
    assert post(stack, url, flood_payload("flood", 2 * MAX_SERIES), stack.tokens["team-a"]) == 200
    # team-b still writes a new series after the flood, and it arrives: the stack is up, the bound is per tenant
    assert send(stack, "team-b", "after-flood", stack.tokens["team-b"]) == {"traces": 200, "metrics": 200}
    wait_until(lambda: arrived(stack, "after-flood") == (1.0, 1), 60, "team-b's write after the flood")
    wait_until(lambda: stack.promql(f"count({team_a})")[()] == MAX_SERIES, 60, "team-a at its bound")
    assert stack.promql('count(llm_calls_total{job="flood"})') == {(): MAX_SERIES - tracked}
    assert stack.promql(team_b) == before_b  # every team-b series as it was
    assert stack.get(f"{stack.prometheus}/-/ready", stack.reader).status_code == 200

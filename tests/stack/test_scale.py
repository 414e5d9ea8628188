"""The scale profile with the real binaries (collector/scale/, docs/scale.md).

Tier 1 (otelcol: collector/otelcol.yaml + collector/scale/tier1.yaml) -> load_balancing by trace ID -> two gateways
(collector/scale/gateway.yaml: tail_sampling) -> Jaeger; metrics tier 1 -> Prometheus (OTLP) -> recording rules
that sum `instance` away -> remote_write -> VictoriaMetrics. Everything native on free loopback ports.

The workload (tests/stack/scale_workload.py) is replayed into tier 1 from memory, so the test knows every span it sent
and the throughput figure is the collectors', not the generator's. What is proved:
- no trace is split across gateways (each kept trace carries one gateway's stamp, with all its spans);
- every trace a policy must keep (errors, retried, slow, expensive call, expensive run) is in Jaeger, complete;
- the baseline keeps its configured share of the rest, within 4.5 binomial standard deviations;
- the long-term store's totals equal the workload's ground truth exactly, though most traces were dropped.

The fault tests (a gateway killed, tier 1 restarted, a gateway at its memory limit, Kafka stopped for 30 s) and the
throughput run are slower and marked ``scale_slow``, deselected by default:
``python -m pytest tests/stack/test_scale.py -m scale_slow`` (docs/scale.md). Tier 1 runs the static resolver here;
test_scale_dns.py runs this stack on the dns resolver and kills a gateway there.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmtrace.semconv import PromName

from .conftest import ROOT, http_get, wait_until
from .scale_workload import SampleThresholds, Workload, generate

SCALE = ROOT / "collector" / "scale"
SERVICE = "llmtrace-scale-test"
GATEWAYS = ("gateway-1", "gateway-2")
DECISION_WAIT_S = 5
LIMITS = SampleThresholds()
TRACES = 4000
# With a HostsFile (test_scale_dns.py): one name with an A record per live gateway, each gateway on its own loopback
# address (Linux answers all of 127/8) and the same port, as a headless service or a compose alias gives them.
DNS_NAME = "gateways.llmtrace.internal"
GATEWAY_ADDRESSES = {"gateway-1": "127.0.0.2", "gateway-2": "127.0.0.3"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HostsFile:
    """Tier 1's /etc/hosts, standing in for the orchestrator's DNS (a Kubernetes headless service, a compose alias):
    DNS_NAME with one A record per live gateway. Tier 1 runs in its own user and mount namespaces (``unshare``, no
    root needed) with this file bind-mounted over /etc/hosts. A record leaves or comes back by a '#' written over the
    first byte of its line, in place: the bind mount pins the file's inode, so a new file renamed over it would never
    be seen, and a truncate-then-write can be read empty. The collector is built CGO_ENABLED=0, so Go's own resolver
    reads the file: it re-reads it when its mtime or size changed, checking at most every 5 s (net/hosts.go), and the
    dns resolver looks the name up every ``interval``; a failed lookup keeps the ring it has."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("127.0.0.1 localhost\n" + "".join(f"{a} {DNS_NAME}\n" for a in GATEWAY_ADDRESSES.values()))

    @staticmethod
    def available() -> bool:
        """Unprivileged user namespaces work here (some kernels or AppArmor profiles forbid them)."""
        try:
            return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` with this file as its /etc/hosts (``exec``: the process keeps the pid ``unshare`` started with)."""
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(self.path), *cmd]

    def set(self, gateway: str, present: bool) -> None:
        """Add or drop ``gateway``'s A record: one byte, same size, new mtime."""
        line = f"{GATEWAY_ADDRESSES[gateway]} {DNS_NAME}\n".encode()
        dropped = b"#" + line[1:]
        data = self.path.read_bytes()
        where = data.index(dropped if present else line)
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, line[:1] if present else b"#", where)
        finally:
            os.close(fd)


@dataclass
class ScaleStack:
    """The processes of one scale stack, each restartable by name."""

    tmp: Path
    bins: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    hosts: HostsFile | None = None  # given: gateways on GATEWAY_ADDRESSES, tier 1 on the dns resolver (else static)
    dns_interval_s: float = 5.0  # the dns resolver's re-resolution interval (its default)

    def port(self, name: str) -> int:
        return self.ports.setdefault(name, free_port())

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port(name)}"

    def command(self, name: str) -> tuple[list[str], dict[str, str]]:
        if name == "jaeger":
            return [self.bins["JAEGER_BIN"], f"--config={ROOT / 'collector' / 'jaeger.yaml'}"], {
                "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.port('jaeger_otlp')}",
                "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.port('jaeger_otlp_http')}",
                "JAEGER_QUERY_HTTP_ENDPOINT": f"127.0.0.1:{self.port('jaeger')}",
                "JAEGER_QUERY_GRPC_ENDPOINT": f"127.0.0.1:{self.port('jaeger_query_grpc')}",
                "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{self.port('jaeger_health')}",
                "JAEGER_BADGER_DIR": str(self.tmp / "badger"),
                # Jaeger traces its own queries to localhost:4317, where nothing listens here: unsampled, its
                # shutdown does not wait 10 s on that export
                "OTEL_TRACES_SAMPLER": "always_off",
            }
        if name == "victoriametrics":
            return [
                self.bins["VICTORIA_METRICS_BIN"],
                f"-storageDataPath={self.tmp / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{self.port('victoriametrics')}",
                "-retentionPeriod=1d",
                "-search.latencyOffset=0s",  # the test reads what was just written (default: hide the last 30 s)
            ], {}
        if name == "prometheus":
            return [
                self.bins["PROMETHEUS_BIN"],
                f"--config.file={self._prometheus_config()}",
                f"--storage.tsdb.path={self.tmp / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{self.port('prometheus')}",
                "--web.enable-otlp-receiver",
                "--enable-feature=exemplar-storage",
            ], {}
        if name in GATEWAYS:
            return [self.bins["OTELCOL_BIN"], f"--config={SCALE / 'gateway.yaml'}"], {
                "LLMTRACE_OTLP_GRPC_ENDPOINT": self.gateway_endpoint(name),
                "LLMTRACE_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{self.port(name + '_health')}",
                "LLMTRACE_COLLECTOR_METRICS_HOST": "127.0.0.1",
                "LLMTRACE_COLLECTOR_METRICS_PORT": str(self.port(name + "_metrics")),
                "LLMTRACE_GATEWAY_NAME": name,
                "LLMTRACE_DECISION_WAIT": f"{DECISION_WAIT_S}s",
                "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{self.port('jaeger_otlp')}",
                **LIMITS.env(),
            }
        assert name == "tier1", name
        cmd = [
            self.bins["OTELCOL_BIN"],
            f"--config={ROOT / 'collector' / 'otelcol.yaml'}",
            f"--config={SCALE / 'tier1.yaml'}",
        ]
        if self.hosts:
            port = str(self.port("gateway_grpc"))  # a string: the dns resolver's `port` is one
            resolver: dict[str, Any] = {
                "dns": {"hostname": DNS_NAME, "port": port, "interval": f"{self.dns_interval_s:g}s"}
            }
            cmd = self.hosts.wrap(cmd)
        else:
            resolver = {"static": {"hostnames": [self.gateway_endpoint(g) for g in GATEWAYS]}}
        return cmd, {
            "LLMTRACE_GATEWAY_RESOLVER": json.dumps(resolver),  # JSON is YAML: the collector reads it as a map
            "LLMTRACE_QUEUE_DIR": str(self.tmp / "tier1-queue"),
            "LLMTRACE_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.port('tier1_grpc')}",
            "LLMTRACE_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.port('tier1')}",
            "LLMTRACE_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{self.port('tier1_health')}",
            "LLMTRACE_COLLECTOR_METRICS_HOST": "127.0.0.1",
            "LLMTRACE_COLLECTOR_METRICS_PORT": str(self.port("tier1_metrics")),
            "PROMETHEUS_OTLP_ENDPOINT": f"{self.url('prometheus')}/api/v1/otlp/v1/metrics",
        }

    def gateway_endpoint(self, name: str) -> str:
        if self.hosts:
            return f"{GATEWAY_ADDRESSES[name]}:{self.port('gateway_grpc')}"
        return f"127.0.0.1:{self.port(name)}"

    def _prometheus_config(self) -> Path:
        """collector/scale/prometheus.yml with absolute rule paths and loopback targets (compose names mapped)."""
        config = yaml.safe_load((SCALE / "prometheus.yml").read_text())
        config["rule_files"] = [str((SCALE / pattern).resolve()) for pattern in config["rule_files"]]
        config["remote_write"][0]["url"] = f"{self.url('victoriametrics')}/api/v1/write"
        config["remote_write"][0]["queue_config"]["batch_send_deadline"] = "1s"
        names = {"otelcol:8888": "tier1_metrics", **{f"{g}:8888": f"{g}_metrics" for g in GATEWAYS}}
        for group in config["scrape_configs"][0]["static_configs"]:
            group["targets"] = [f"127.0.0.1:{self.port(names[t])}" for t in group["targets"]]
        path = self.tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def health_url(self, name: str) -> str:
        return {
            "jaeger": f"{self.url('jaeger')}/api/services",
            "victoriametrics": f"{self.url('victoriametrics')}/health",
            "prometheus": f"{self.url('prometheus')}/-/ready",
        }.get(name) or f"{self.url(name + '_health')}/"

    def start(self, name: str, **extra_env: str) -> None:
        cmd, env = self.command(name)
        env |= extra_env
        with (self.tmp / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp
            )
        wait_until(lambda: self._alive(name) and http_get(self.health_url(name)) is not None, 60, name)

    def _alive(self, name: str) -> bool:
        if self.procs[name].poll() is not None:
            log = (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"{name} exited with {self.procs[name].returncode}:\n{log}")
        return True

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def collector_metric(self, name: str, metric: str, **labels: str) -> float:
        """Sum of one metric's samples on a collector's own /metrics (counters with or without ``_total``: the
        collector's Prometheus reader writes them without), filtered by exact label values."""
        text = http_get(f"{self.url(name + '_metrics')}/metrics")
        total = 0.0
        for line in text.splitlines():
            if not line.startswith((f"{metric}{{", f"{metric} ", f"{metric}_total{{", f"{metric}_total ")):
                continue
            series, value = line.rsplit(" ", 1)
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                total += float(value)
        return total

    def jaeger_traces(self) -> dict[str, dict[str, Any]]:
        query = urllib.parse.urlencode({"service": SERVICE, "limit": "100000", "lookback": "2h"})
        return {t["traceID"]: t for t in http_get(f"{self.url('jaeger')}/api/traces?{query}", timeout=60)["data"]}

    def vm_query(self, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
        query = urllib.parse.urlencode({"query": expr})
        data = http_get(f"{self.url('victoriametrics')}/api/v1/query?{query}")
        assert data["status"] == "success", data
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["data"]["result"]}

    def prom_query(self, expr: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"query": expr})
        return http_get(f"{self.url('prometheus')}/api/v1/query?{query}")["data"]["result"]

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


ORDER = ("jaeger", "victoriametrics", "prometheus", *GATEWAYS, "tier1")


@pytest.fixture(scope="module")
def scale_stack(tmp_path_factory: pytest.TempPathFactory, scale_binaries: dict[str, str]) -> Iterator[ScaleStack]:
    stack = ScaleStack(tmp_path_factory.mktemp("scale"), scale_binaries)
    try:
        for name in ORDER:
            stack.start(name)
        yield stack
    finally:
        stack.close()


@dataclass
class Run:
    workload: Workload
    jaeger: dict[str, dict[str, Any]]
    replay: Replay


def instances(stack: ScaleStack, count: int) -> list[Any]:
    """One meter provider per simulated app instance (its own service.instance.id), exporting to tier 1."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    providers = []
    for index in range(count):
        exporter = OTLPMetricExporter(endpoint=f"{stack.url('tier1')}/v1/metrics")
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=5000)
        resource = Resource.create({"service.name": SERVICE, "service.instance.id": f"app-{index + 1}"})
        providers.append(MeterProvider(resource=resource, metric_readers=[reader]))
    return providers


def encode(workload: Workload, trace_ids: list[str], batch: int = 512) -> list[bytes]:
    """OTLP/protobuf export requests for these traces' spans, ``batch`` spans (whole traces) per request."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    requests, spans = [], []
    for trace_id in trace_ids:
        spans.extend(workload.traces[trace_id])
        if len(spans) >= batch:
            requests.append(encode_spans(spans).SerializeToString())
            spans = []
    if spans:
        requests.append(encode_spans(spans).SerializeToString())
    return requests


def post(url: str, requests: list[bytes], threads: int = 4) -> None:
    """POST pre-encoded OTLP/HTTP requests from ``threads`` threads; any non-2xx answer fails the test."""
    import urllib.request

    def send(part: list[bytes]) -> None:
        for body in part:
            request = urllib.request.Request(url, body, {"Content-Type": "application/x-protobuf"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200

    workers = [threading.Thread(target=send, args=(requests[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


@dataclass
class Replay:
    spans: int
    bytes: int  # OTLP/protobuf request bytes
    seconds: float  # first request to the last span accepted by a gateway
    held_rss: float  # the gateways' peak RSS above idle, summed, while they held the spans


def replay(stack: ScaleStack, workload: Workload) -> Replay:
    """Send every span to tier 1 (requests encoded beforehand, so the figure is the collectors'), then wait until
    the gateways together accepted all of them, watching their RSS."""
    requests = encode(workload, list(workload.traces))
    idle = {g: stack.collector_metric(g, "otelcol_process_memory_rss") for g in GATEWAYS}
    peak = dict(idle)
    before = gateway_accepted(stack)
    started = time.monotonic()
    sender = threading.Thread(target=post, args=(f"{stack.url('tier1')}/v1/traces", requests))
    sender.start()
    deadline, count = started + 120, len(workload.spans)
    while gateway_accepted(stack) - before < count:
        assert time.monotonic() < deadline, "not every span reached a gateway within 120 s"
        peak = {g: max(peak[g], stack.collector_metric(g, "otelcol_process_memory_rss")) for g in GATEWAYS}
        time.sleep(0.1)
    seconds = time.monotonic() - started
    sender.join()
    held = sum(max(peak[g], stack.collector_metric(g, "otelcol_process_memory_rss")) - idle[g] for g in GATEWAYS)
    return Replay(count, sum(map(len, requests)), seconds, held)


def gateway_accepted(stack: ScaleStack) -> float:
    return sum(stack.collector_metric(g, "otelcol_receiver_accepted_spans") for g in GATEWAYS if g in stack.procs)


def decided(stack: ScaleStack) -> float:
    metric = "otelcol_processor_tail_sampling_global_count_traces_sampled"
    return sum(stack.collector_metric(g, metric) for g in GATEWAYS if g in stack.procs)


def settled_jaeger(stack: ScaleStack, workload: Workload) -> dict[str, dict[str, Any]]:
    """Jaeger's traces once the gateways decided every trace and hold none, every must-keep trace is in Jaeger
    complete, and Jaeger holds what the gateways exported (stored_jaeger). On a timeout, what Jaeger holds then: the
    tests' assertions say what is missing."""
    on_memory = "otelcol_processor_tail_sampling_sampling_traces_on_memory"

    def idle() -> bool:
        held = sum(stack.collector_metric(g, on_memory) for g in GATEWAYS)
        return decided(stack) >= len(workload.traces) and held == 0

    must = set().union(*workload.must_keep(LIMITS).values())

    def complete(found: dict[str, dict[str, Any]]) -> bool:
        return all(t in found and len(found[t]["spans"]) == len(workload.traces[t]) for t in must)

    try:
        wait_until(idle, 120, "a decision on every trace")
        return stored_jaeger(stack, complete, 120)
    except TimeoutError:
        return stack.jaeger_traces()


def stored_jaeger(stack: ScaleStack, ready: Any, timeout: float) -> dict[str, dict[str, Any]]:
    """Jaeger's traces once ``ready(traces)``, the gateways' export queues are empty, and Jaeger holds what they
    exported (or, since a retried request can deliver a span twice, Jaeger's query returns each span ID once, and a
    restarted gateway's counters start again, its count stood still over three reads)."""
    last: list[tuple[float, int]] = []

    def stored() -> dict[str, dict[str, Any]] | None:
        sent = sum(stack.collector_metric(g, "otelcol_exporter_sent_spans") for g in GATEWAYS)
        queued = sum(stack.collector_metric(g, "otelcol_exporter_queue_size") for g in GATEWAYS)
        found = stack.jaeger_traces()
        last.append((sent, sum(len(t["spans"]) for t in found.values())))
        still = len(last) >= 3 and len(set(last[-3:])) == 1
        time.sleep(1)
        return found if ready(found) and queued == 0 and (last[-1][1] == sent or still) else None

    return wait_until(stored, timeout, "the exported spans in jaeger")


@pytest.fixture(scope="module")
def run(scale_stack: ScaleStack) -> Run:
    from opentelemetry.sdk.resources import Resource

    providers = instances(scale_stack, 2)
    workload = generate(TRACES, providers, Resource.create({"service.name": SERVICE}))
    for provider in providers:
        provider.shutdown()  # the final export: every counter at its last value
    sent = replay(scale_stack, workload)
    return Run(workload, settled_jaeger(scale_stack, workload), sent)


def gateways_of(trace: dict[str, Any]) -> set[str]:
    return {
        tag["value"]
        for process in trace["processes"].values()
        for tag in process.get("tags", ())
        if tag["key"] == "llmtrace.gateway"
    }


def test_no_trace_split_and_every_kept_trace_complete(run: Run) -> None:
    sent = run.workload.traces
    assert set(run.jaeger) <= set(sent), "jaeger holds traces the workload never sent"
    incomplete = {
        t: (len(run.jaeger[t]["spans"]), len(sent[t]))
        for t in run.jaeger
        if len(run.jaeger[t]["spans"]) != len(sent[t])
    }
    split = {t: gateways_of(trace) for t, trace in run.jaeger.items() if len(gateways_of(trace)) != 1}
    assert not split, f"{len(split)} traces decided by other than exactly one gateway: {list(split.items())[:5]}"
    assert not incomplete, f"{len(incomplete)} kept traces incomplete (stored, sent): {list(incomplete.items())[:5]}"
    per_gateway = Counter(next(iter(gateways_of(trace))) for trace in run.jaeger.values())
    assert set(per_gateway) == set(GATEWAYS), per_gateway  # trace IDs hash to both
    r = run.replay
    print(
        f"\nkept {len(run.jaeger)} of {len(sent)} traces, by gateway {dict(per_gateway)}; {r.spans} spans "
        f"({r.bytes / r.spans:.0f} OTLP bytes each) through tier 1 to the gateways at {r.spans / r.seconds:,.0f} "
        f"spans/s; gateways' RSS while holding them +{r.held_rss / 2**20:.0f} MiB ({r.held_rss / r.spans:,.0f} B/span)"
    )


def test_every_must_keep_trace_kept(run: Run) -> None:
    must = run.workload.must_keep(LIMITS)
    assert set(must) == {"errors", "retried", "slow", "expensive_call", "expensive_run"}, must.keys()
    missing = {policy: ids - set(run.jaeger) for policy, ids in must.items() if ids - set(run.jaeger)}
    assert not missing, {policy: len(ids) for policy, ids in missing.items()}
    print("\nmust keep:", {policy: len(ids) for policy, ids in sorted(must.items())})


def test_baseline_within_tolerance(run: Run) -> None:
    """Of the traces no policy must keep, the probabilistic policy keeps its share: a binomial draw over trace-ID
    hashes, so the bound is 4.5 standard deviations (a correct sampler fails it with probability < 1e-5)."""
    must = set().union(*run.workload.must_keep(LIMITS).values())
    rest = [t for t in run.workload.traces if t not in must]
    kept = sum(t in run.jaeger for t in rest)
    p, n = LIMITS.baseline_percent / 100, len(rest)
    bound = 4.5 * math.sqrt(n * p * (1 - p))
    print(f"\nbaseline kept {kept} of {n} (expected {n * p:.0f} +- {bound:.0f})")
    assert abs(kept - n * p) <= bound


def test_long_term_store_equals_ground_truth(run: Run, scale_stack: ScaleStack) -> None:
    """VictoriaMetrics holds only the `cluster:*` series (instance summed away), and they equal the workload."""
    workload, stack = run.workload, scale_stack
    calls = {(m, s): float(n) for (m, s), n in workload.calls.items()}

    def vm_calls() -> dict[tuple[str, str], float]:
        rows = stack.vm_query("sum by (model, status) (cluster:llm_calls_total:sum)")
        return {(dict(k)["model"], dict(k)["status"]): v for k, v in rows.items()}

    try:
        wait_until(lambda: vm_calls() == calls, 120, "the workload's calls in victoriametrics")
    except TimeoutError:
        assert vm_calls() == calls  # shows the difference
    tokens = stack.vm_query("sum by (type) (cluster:llm_tokens_total:sum)")
    assert {dict(k)["type"]: v for k, v in tokens.items()} == {k: float(v) for k, v in workload.tokens.items()}
    assert stack.vm_query("sum(cluster:llm_retries_total:sum)") == {(): float(workload.retries)}
    (cost,) = stack.vm_query("sum(cluster:llm_cost_usd_total:sum)").values()
    assert cost == pytest.approx(workload.cost_usd, rel=1e-9)  # float sums in another order
    # Two app instances in Prometheus; none in the long-term store, and no raw series either.
    assert len(stack.prom_query("count by (instance) (llm_calls_total)")) == 2
    assert not any("instance" in dict(k) for k in stack.vm_query("cluster:llm_calls_total:sum"))
    assert stack.vm_query("count(llm_calls_total)") == {}


def test_compose_scale_profile_runs_the_tested_files() -> None:
    """docker-compose.yml's scale profile: the topology and files this module runs natively (no Docker here)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    scale = {name: svc for name, svc in services.items() if svc["profiles"] == ["scale"]}
    assert set(scale) == {
        "otelcol-tier1",
        *GATEWAYS,
        "jaeger-kafka-writer",
        "kafka",
        "jaeger-scale-data-init",
        "jaeger-scale",
        "prometheus-scale",
        "victoriametrics",
    }
    assert scale["otelcol-tier1"]["command"] == [
        "--config=/etc/otelcol/otelcol.yaml",
        "--config=/etc/otelcol/tier1.yaml",
    ]
    # the dns resolver (test_scale_dns.py) on the name every gateway answers to, at the port they listen on
    resolver = yaml.safe_load(scale["otelcol-tier1"]["environment"]["LLMTRACE_GATEWAY_RESOLVER"])
    assert resolver == {"dns": {"hostname": "gateways", "port": "4317", "interval": "5s"}}
    for gateway in GATEWAYS:
        assert scale[gateway]["networks"] == {"default": {"aliases": ["gateways"]}}
        assert scale[gateway]["environment"]["LLMTRACE_OTLP_GRPC_ENDPOINT"] == "0.0.0.0:4317"
        assert scale[gateway]["command"] == ["--config=/etc/otelcol/gateway.yaml"]
        assert scale[gateway]["environment"]["LLMTRACE_GATEWAY_NAME"] == gateway
        # through the Kafka buffer, as test_kafka_outage_loses_nothing runs it
        assert scale[gateway]["environment"]["JAEGER_OTLP_ENDPOINT"] == "jaeger-kafka-writer:4317"
        assert scale[gateway]["build"] == scale["otelcol-tier1"]["build"] == "./collector"  # one build
    flags = [f for f in scale["prometheus-scale"]["command"] if not f.startswith(("--config", "--storage"))]
    from .conftest import PROMETHEUS_FLAGS

    assert sorted(flags) == sorted(PROMETHEUS_FLAGS)
    script = (ROOT / "scripts" / "stack-binaries.sh").read_text()
    version = script.split("VICTORIA_METRICS_VERSION=")[1].split()[0]
    assert scale["victoriametrics"]["image"].split()[0] == f"victoriametrics/victoria-metrics:{version}"
    kafka_version = script.split("KAFKA_VERSION=")[1].split()[0]
    assert scale["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    assert scale["jaeger-kafka-writer"]["command"] == ["--config=/etc/jaeger/writer.yaml"]
    assert scale["jaeger-scale"]["command"] == [
        "--config=/etc/jaeger/jaeger.yaml",
        "--config=/etc/jaeger/ingester.yaml",
    ]
    init = scale["jaeger-scale"]["depends_on"]["jaeger-scale-data-init"]  # badger's volume handed to Jaeger's uid
    assert init == {"condition": "service_completed_successfully"}
    assert scale["jaeger-scale-data-init"]["volumes"] == ["jaeger-scale-data:/badger"]
    for svc in scale.values():
        assert all(port.startswith("127.0.0.1:") for port in svc.get("ports", ())), svc
    # Prometheus reads the rules from ../rules (the local profile's) and rules/ (long-term) beside its config
    mounts = dict(v.rsplit(":", 2)[:2] for v in scale["prometheus-scale"]["volumes"] if v.startswith("./"))
    assert mounts == {
        "./collector/scale/prometheus.yml": "/etc/prometheus/prometheus.yml",
        "./collector/scale/rules": "/etc/prometheus/rules",
        "./collector/rules": "/etc/rules",
    }


def test_trace_store_and_kafka_configs_validate(scale_binaries: dict[str, str]) -> None:
    """The Cassandra and OpenSearch stores and the Kafka writer/ingester configs pass Jaeger's own `validate` (no
    Cassandra, OpenSearch or Kafka needed: unknown keys, wrong types and missing components fail it)."""
    jaeger, base = scale_binaries["JAEGER_BIN"], ROOT / "collector" / "jaeger.yaml"
    for configs in (
        [base, SCALE / "jaeger-cassandra.yaml"],
        [base, SCALE / "jaeger-opensearch.yaml"],
        [SCALE / "jaeger-kafka-writer.yaml"],
        [base, SCALE / "jaeger-kafka-ingester.yaml"],
    ):
        result = subprocess.run(
            [jaeger, "validate", *(f"--config={c}" for c in configs)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "CASSANDRA_PASSWORD": "unused"},
        )
        assert result.returncode == 0, (configs, result.stderr[-2000:])


def test_longterm_rules_sum_every_llmtrace_series() -> None:
    """Every series llmtrace exports (calls, runs, tools: counters, and each histogram's buckets, count and sum) has
    its instance-free ``cluster:<series>:sum``, the only series remote-written to the long-term store."""
    rules = yaml.safe_load((SCALE / "rules" / "longterm.rules.yml").read_text())
    records = {rule["record"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    series = []
    for name in (value for key, value in vars(PromName).items() if key.isupper()):
        series += [name] if name.endswith("_total") else [f"{name}_{part}" for part in ("bucket", "count", "sum")]
    assert {f"cluster:{s}:sum": f"sum without (instance) ({s})" for s in series} == records


def test_promtool_unit_tests_longterm_rules(stack_binaries: dict[str, str]) -> None:
    test = SCALE / "rules" / "longterm_rules_test.yaml"
    result = subprocess.run(
        [stack_binaries["PROMTOOL_BIN"], "test", "rules", str(test)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


# -- slow: throughput and faults (pytest -m scale_slow; docs/scale.md) ------------------------------------------------


def _silent_meter_provider() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider

    return MeterProvider()  # no reader: the fault workloads leave the exact-metrics test's totals alone


@pytest.mark.scale_slow
@pytest.mark.timeout(900)
def test_throughput(scale_stack: ScaleStack) -> None:
    """30,000 traces (~84,000 spans) pre-encoded and sent by 4 threads: spans/s from the first request until both
    gateways accepted every span, then the same no-split and completeness checks as the CI run."""
    from opentelemetry.sdk.resources import Resource

    stack = scale_stack
    workload = generate(30000, [_silent_meter_provider()], Resource.create({"service.name": SERVICE}), seed=2105)
    before = decided(stack)
    sent = replay(stack, workload)
    wait_until(lambda: decided(stack) - before >= len(workload.traces), 180, "a decision on every trace")
    found = wait_must_keep_complete(stack, workload, 180)
    mine = {t: trace for t, trace in found.items() if t in workload.traces}
    assert not [t for t, trace in mine.items() if len(gateways_of(trace)) != 1]
    print(
        f"\n{sent.spans} spans in {sent.seconds:.1f} s: {sent.spans / sent.seconds:,.0f} spans/s through tier 1 to "
        f"the gateways ({sent.bytes / sent.spans:.0f} OTLP bytes/span); gateways' RSS +{sent.held_rss / 2**20:.0f} "
        f"MiB while holding them ({sent.held_rss / sent.spans:,.0f} B/span); kept {len(mine)} of {len(workload.traces)}"
    )


@pytest.mark.scale_slow
@pytest.mark.timeout(900)
def test_gateway_killed_mid_run(scale_stack: ScaleStack) -> None:
    """SIGKILL gateway-2 halfway through a steady replay, start it again 10 s later. The static resolver keeps it in
    the ring: what tier 1 routes to it while it is down waits in tier 1's sending queue and is delivered after the
    restart, so nothing sent after the kill is lost. What the dead gateway held in memory (traces awaiting their
    decision) is lost: that loss is measured and bounded by its traces-in-memory gauge read just before the kill."""
    from opentelemetry.sdk.resources import Resource

    stack = scale_stack
    workload = generate(3000, [_silent_meter_provider()], Resource.create({"service.name": SERVICE}), seed=2101)
    ids = list(workload.traces)
    before, after = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    held = _replay_steadily(stack, workload, before)
    stack.stop("gateway-2", signal.SIGKILL)
    _replay_steadily(stack, workload, after)
    time.sleep(10)
    stack.start("gateway-2")
    must = set().union(*workload.must_keep(LIMITS).values())

    def kept_after() -> dict[str, dict[str, Any]] | None:
        found = stack.jaeger_traces()
        return found if all(t in found for t in must & set(after)) else None

    try:
        found = wait_until(kept_after, 300, "every must-keep trace sent after the kill")
    finally:
        found = stack.jaeger_traces()
    lost_before = sorted(must & set(before) - set(found))
    lost_after = sorted(must & set(after) - set(found))
    mine = {t: found[t] for t in ids if t in found}
    incomplete = [t for t, trace in mine.items() if len(trace["spans"]) != len(workload.traces[t])]
    split = [t for t, trace in mine.items() if len(gateways_of(trace)) != 1]
    print(
        f"\ngateway-2 killed holding {held:.0f} traces; must-keep lost: {len(lost_before)} of "
        f"{len(must & set(before))} sent before the kill, {len(lost_after)} of {len(must & set(after))} after; "
        f"incomplete kept traces {len(incomplete)}, split {len(split)}"
    )
    assert not lost_after
    assert not split
    assert len(lost_before) <= held
    assert set(incomplete) <= set(before)  # only traces the dead gateway held part of


@pytest.mark.scale_slow
@pytest.mark.timeout(900)
def test_tier1_restart_with_persistent_queue(scale_stack: ScaleStack) -> None:
    """Both gateways down, a workload into tier 1, tier 1 restarted (SIGTERM: its batch flushes into the queue),
    then the gateways back: every span tier 1 accepted reaches a gateway, from the file_storage queue. At least
    once: a request retried after one gateway refused it goes to both again (the load_balancing exporter retries
    whole requests), so the other gateway sees some spans twice; its decision cache sends a late duplicate the way
    of its trace, and Jaeger's query API returns each span ID once."""
    from opentelemetry.sdk.resources import Resource

    stack = scale_stack
    for gateway in GATEWAYS:
        stack.stop(gateway)
    workload = generate(1000, [_silent_meter_provider()], Resource.create({"service.name": SERVICE}), seed=2103)
    post(f"{stack.url('tier1')}/v1/traces", encode(workload, list(workload.traces)))
    queued = lambda: stack.collector_metric("tier1", "otelcol_exporter_queue_size", exporter="load_balancing")  # noqa: E731
    wait_until(lambda: queued() > 0, 30, "requests in tier 1's queue")
    time.sleep(2)  # past the batch timeout: everything accepted is in the queue
    held = queued()
    stack.stop("tier1")
    stack.start("tier1")
    for gateway in GATEWAYS:
        stack.start(gateway)
    try:
        found = wait_must_keep_complete(stack, workload, 180)
    finally:
        accepted = gateway_accepted(stack)  # fresh gateway processes: their counters are this run's
        print(
            f"\ntier 1 restarted holding {held:.0f} queued requests; gateways then accepted {accepted:.0f} spans "
            f"for {len(workload.spans)} sent ({accepted - len(workload.spans):.0f} duplicates)"
        )
    assert accepted >= len(workload.spans)
    wait_until(lambda: decided(stack) >= len(workload.traces), 60, "a decision on every trace")
    assert not [t for t, trace in found.items() if t in workload.traces and len(gateways_of(trace)) != 1]


@pytest.mark.scale_slow
@pytest.mark.timeout(900)
def test_gateway_memory_limit_refuses_then_recovers(scale_stack: ScaleStack) -> None:
    """gateway-2 restarted with a 60 MiB memory limit (15 MiB spike) and a 30 s decision wait takes a flood of
    traces it must hold for those 30 s: memory_limiter refuses data (a retryable error) instead of the process
    growing until it is killed, tier 1 retries what was refused, and every span is accepted in the end."""
    from opentelemetry.sdk.resources import Resource

    stack = scale_stack
    stack.stop("gateway-2")
    small = {
        "LLMTRACE_COLLECTOR_MEMORY_LIMIT_MIB": "60",
        "LLMTRACE_COLLECTOR_MEMORY_SPIKE_MIB": "15",
        "LLMTRACE_DECISION_WAIT": "30s",
        "LLMTRACE_DECISION_WAIT_AFTER_ROOT": "30s",
    }
    stack.start("gateway-2", **small)
    try:
        workload = generate(20000, [_silent_meter_provider()], Resource.create({"service.name": SERVICE}), seed=2104)
        before = gateway_accepted(stack)
        sender = threading.Thread(
            target=post, args=(f"{stack.url('tier1')}/v1/traces", encode(workload, list(workload.traces)))
        )
        sender.start()
        peak, deadline = 0.0, time.monotonic() + 300
        while gateway_accepted(stack) - before < len(workload.spans):
            assert stack.procs["gateway-2"].poll() is None, "gateway-2 died"
            assert time.monotonic() < deadline, "not every span accepted within 300 s"
            peak = max(peak, stack.collector_metric("gateway-2", "otelcol_process_memory_rss"))
            time.sleep(0.2)
        sender.join()
        refused = stack.collector_metric("gateway-2", "otelcol_receiver_refused_spans")
        print(
            f"\n{len(workload.spans)} spans; gateway-2 (limit 60 MiB) refused {refused:.0f} span deliveries, "
            f"peak RSS {peak / 2**20:.0f} MiB, stayed up; every span accepted after tier 1's retries"
        )
        assert refused > 0  # the limiter engaged
        assert stack.procs["gateway-2"].poll() is None
        wait_must_keep_complete(stack, workload, 180)  # the count above may include retried duplicates: check Jaeger
    finally:
        stack.stop("gateway-2")
        stack.start("gateway-2")


def wait_must_keep_complete(stack: ScaleStack, workload: Workload, timeout: float) -> dict[str, dict[str, Any]]:
    """Jaeger's traces once every must-keep trace of ``workload`` is there and every kept one is complete."""
    must = set().union(*workload.must_keep(LIMITS).values())

    def complete() -> dict[str, dict[str, Any]] | None:
        found = stack.jaeger_traces()
        kept = [t for t in workload.traces if t in found]
        ok = must <= set(found) and all(len(found[t]["spans"]) == len(workload.traces[t]) for t in kept)
        return found if ok else None

    return wait_until(complete, timeout, "every must-keep trace, complete")


def _replay_steadily(stack: ScaleStack, workload: Workload, trace_ids: list[str], chunks: int = 10) -> float:
    """Replay these traces in ``chunks`` requests over ~5 s; return gateway-2's traces in memory at the end."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    exporter = OTLPSpanExporter(endpoint=f"{stack.url('tier1')}/v1/traces", timeout=30)
    size = -(-len(trace_ids) // chunks)
    for start in range(0, len(trace_ids), size):
        spans = [s for t in trace_ids[start : start + size] for s in workload.traces[t]]
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        time.sleep(0.5)
    exporter.shutdown()
    if "gateway-2" not in stack.procs:
        return 0.0
    return stack.collector_metric("gateway-2", "otelcol_processor_tail_sampling_sampling_traces_on_memory")


@dataclass
class Kafka:
    """One KRaft broker+controller on loopback from the Maven jars (scripts/stack-binaries.sh --kafka)."""

    home: Path
    data: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def _java(self, *args: str) -> list[str]:
        return ["java", "-Xmx512m", "-cp", f"{self.home / 'lib'}/*", *args]

    def format(self) -> None:
        import base64
        import uuid

        props = self.data / "server.properties"
        props.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={self.data / 'logs'}\nnum.partitions=4\n"
            "offsets.topic.replication.factor=1\ntransaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\ngroup.initial.rebalance.delay.ms=0\n"
        )
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(props)),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        with (self.data / "kafka.log").open("ab") as log:
            self.proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.data / "server.properties")), stdout=log, stderr=subprocess.STDOUT
            )

        def listening() -> bool:
            assert self.proc and self.proc.poll() is None, (self.data / "kafka.log").read_text()[-3000:]
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, 180, "kafka")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@pytest.mark.scale_slow
@pytest.mark.timeout(1200)
def test_kafka_outage_loses_nothing(scale_binaries: dict[str, str], tmp_path: Path) -> None:
    """OTLP -> Jaeger as Kafka writer (collector/scale/jaeger-kafka-writer.yaml) -> Kafka -> Jaeger as ingester
    (jaeger-kafka-ingester.yaml). Traces sent before, during a 30 s Kafka stop, and after its restart all arrive
    complete: the writer's queue holds what Kafka cannot take, the ingester resumes from its committed offsets."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExportResult

    home = Path(native_binaries(kafka=True)["KAFKA_HOME"])
    kafka = Kafka(home, tmp_path)
    kafka.format()
    kafka.start()
    stack = ScaleStack(tmp_path, scale_binaries)
    brokers = {"KAFKA_BROKERS": f"127.0.0.1:{kafka.port}", "KAFKA_TOPIC": "llmtrace-spans"}
    jaeger_cmd, jaeger_env = stack.command("jaeger")
    ingester = [*jaeger_cmd, f"--config={SCALE / 'jaeger-kafka-ingester.yaml'}"]
    writer = [scale_binaries["JAEGER_BIN"], f"--config={SCALE / 'jaeger-kafka-writer.yaml'}"]
    writer_env = {
        "JAEGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{stack.port('writer_grpc')}",
        "JAEGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{stack.port('writer')}",
        "JAEGER_HEALTH_ENDPOINT": f"127.0.0.1:{stack.port('writer_health')}",
        "JAEGER_METRICS_HOST": "127.0.0.1",
        "JAEGER_METRICS_PORT": str(stack.port("writer_metrics")),
    }
    procs = []
    try:
        for name, cmd, env in (("ingester", ingester, jaeger_env), ("writer", writer, writer_env)):
            with (tmp_path / f"{name}.log").open("ab") as log:
                procs.append(
                    subprocess.Popen(cmd, env={**os.environ, **env, **brokers}, stdout=log, stderr=subprocess.STDOUT)
                )
        wait_until(lambda: http_get(f"{stack.url('writer_health')}/status") is not None, 60, "the kafka writer")
        wait_until(lambda: http_get(stack.health_url("jaeger")) is not None, 60, "the kafka ingester")
        workload = generate(1500, [_silent_meter_provider()], Resource.create({"service.name": SERVICE}), seed=2102)
        ids = list(workload.traces)
        exporter = OTLPSpanExporter(endpoint=f"{stack.url('writer')}/v1/traces", timeout=30)

        def send(part: list[str]) -> None:
            for start in range(0, len(part), 50):
                spans = [s for t in part[start : start + 50] for s in workload.traces[t]]
                assert exporter.export(spans) is SpanExportResult.SUCCESS

        def arrived(part: list[str]) -> bool:
            found = stack.jaeger_traces()
            return all(t in found and len(found[t]["spans"]) == len(workload.traces[t]) for t in part)

        first, during, last = ids[:500], ids[500:1000], ids[1000:]
        send(first)
        wait_until(lambda: arrived(first), 180, "traces through kafka")
        kafka.stop()
        down = time.monotonic()
        for start in range(0, len(during), 50):  # spread over the outage
            send(during[start : start + 50])
            time.sleep(2.5)
        time.sleep(max(0.0, 30 - (time.monotonic() - down)))
        outage = time.monotonic() - down
        kafka.start()
        restarted = time.monotonic()
        send(last)
        try:
            wait_until(lambda: arrived(ids), 300, "every trace after the kafka restart")
        finally:
            found = stack.jaeger_traces()
            missing = [t for t in ids if t not in found or len(found[t]["spans"]) != len(workload.traces[t])]
            took = time.monotonic() - restarted
            print(
                f"\nkafka down {outage:.0f} s; {len(ids)} traces ({len(workload.spans)} spans) sent before, during, "
                f"after; {len(missing)} missing or incomplete; all in {took:.0f} s after the restart"
            )
        assert not missing
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        kafka.stop()


def native_binaries(**kwargs: bool) -> dict[str, str]:
    from .conftest import native_stack

    return native_stack.binaries(**kwargs)

"""The scale profile on the `dns` resolver: a gateway that dies leaves tier 1's ring, its share of traces goes to the
other gateway, and it takes its share back when it returns (collector/scale/tier1.yaml, docs/scale.md "Faults").

Tier 1 (the real otelcol) runs with its /etc/hosts replaced by a file the test owns (test_scale.HostsFile: user and
mount namespaces, no root): one name with an A record per live gateway, each gateway on its own loopback address,
which is what a Kubernetes headless service or a compose network alias serves. Killing a gateway is a SIGKILL plus
dropping its record, as the orchestrator's DNS does when the pod or container goes; bringing it back is a start plus
the record again. Traces are replayed steadily the way apps export them (an agent run's root span a request after its
calls), each request's send time recorded, and every trace is judged by when its parts left against when the ring
changed (tier 1's own `otelcol_loadbalancer_num_backends`, read before the send).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from .conftest import ROOT, wait_until
from .scale_workload import Workload, generate
from .test_scale import (
    GATEWAYS,
    LIMITS,
    SCALE,
    SERVICE,
    HostsFile,
    ScaleStack,
    _silent_meter_provider,
    gateways_of,
    stored_jaeger,
)

ON_MEMORY = "otelcol_processor_tail_sampling_sampling_traces_on_memory"
BATCH_S = 1.0  # tier 1's batch timeout (collector/otelcol.yaml): a request is routed up to this long after it arrived


@pytest.fixture(scope="module")
def dns_stack(tmp_path_factory: pytest.TempPathFactory, scale_binaries: dict[str, str]) -> Iterator[ScaleStack]:
    """Jaeger, two gateways on 127.0.0.2 and 127.0.0.3, tier 1 on the dns resolver (no Prometheus: traces only)."""
    if not HostsFile.available():
        pytest.skip("unprivileged user and mount namespaces are not available here (`unshare -rm true` fails)")
    tmp = tmp_path_factory.mktemp("scale-dns")
    stack = ScaleStack(tmp, scale_binaries, hosts=HostsFile(tmp / "hosts"))
    try:
        for name in ("jaeger", *GATEWAYS, "tier1"):
            stack.start(name)
        yield stack
    finally:
        stack.close()


class SteadyReplay(threading.Thread):
    """Sends a workload to tier 1 the way apps export it, one OTLP/HTTP request every ``period`` s until halted:
    each request carries ``group`` new traces, but an agent run's root span (it ends after its calls, so the SDK
    exports it later) goes in the next request. A run is then two requests apart, and a ring change between them
    sends its two parts to different gateways."""

    def __init__(self, stack: ScaleStack, workload: Workload, group: int = 30, period: float = 0.25) -> None:
        super().__init__(name="steady-replay", daemon=True)
        self.url, self.workload, self.group, self.period = f"{stack.url('tier1')}/v1/traces", workload, group, period
        self.sent: dict[str, list[float]] = {}  # trace ID -> when each of its requests left (monotonic)
        self.halt = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=self.url, timeout=30)
        ids, roots, started = list(self.workload.traces), {}, time.monotonic()
        try:
            for tick, start in enumerate(range(0, len(ids), self.group)):
                if self.halt.is_set():
                    break
                parts, roots = roots, {}  # the previous request's runs end now
                for trace_id in ids[start : start + self.group]:
                    parts[trace_id], root = self._split(trace_id)
                    if root:
                        roots[trace_id] = root
                self._send(exporter, parts)
                time.sleep(max(0.0, started + (tick + 1) * self.period - time.monotonic()))
            else:
                raise AssertionError("the workload ran out before the replay was halted: generate more traces")
            self._send(exporter, roots)
        except BaseException as exc:  # re-raised in the test's thread by finish()
            self.error = exc
        finally:
            exporter.shutdown()

    def _split(self, trace_id: str) -> tuple[list[Any], list[Any]]:
        """(the spans that leave now, the root that leaves with the next request): a lone call leaves whole."""
        spans = self.workload.traces[trace_id]
        if len(spans) == 1:
            return spans, []
        return [s for s in spans if s.parent], [s for s in spans if not s.parent]

    def _send(self, exporter: Any, parts: dict[str, list[Any]]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        now = time.monotonic()
        assert exporter.export([s for spans in parts.values() for s in spans]) is SpanExportResult.SUCCESS
        for trace_id in parts:
            self.sent.setdefault(trace_id, []).append(now)

    def finish(self) -> dict[str, tuple[float, float]]:
        """Halt, and (first, last) send time of every trace sent whole."""
        self.halt.set()
        self.join()
        if self.error:
            raise self.error
        requests = {t: 2 if self._split(t)[1] else 1 for t in self.sent}
        return {t: (min(times), max(times)) for t, times in self.sent.items() if len(times) == requests[t]}


def ring_size(stack: ScaleStack) -> float:
    return stack.collector_metric("tier1", "otelcol_loadbalancer_num_backends", resolver="dns")


def ring_becomes(stack: ScaleStack, size: int) -> float:
    """When tier 1's ring was seen at ``size`` gateways (monotonic): a request sent after it is routed on it."""
    wait_until(lambda: ring_size(stack) == size, 60, f"tier 1's ring at {size} gateways")
    return time.monotonic()


@dataclass
class Outcome:
    """One class of traces: what was sent, what a policy must keep, and what Jaeger holds of them."""

    sent: set[str]
    must: set[str]
    lost: set[str]  # must-keep, not in Jaeger at all
    incomplete: set[str]  # in Jaeger with fewer spans than sent
    split: set[str]  # in Jaeger with both gateways' stamps
    by_gateway: Counter[str]  # kept traces by the one gateway that decided them

    def __str__(self) -> str:
        return (
            f"{len(self.sent)} traces, must-keep lost {len(self.lost)} of {len(self.must)}, incomplete "
            f"{len(self.incomplete)}, split {len(self.split)}, kept by {dict(sorted(self.by_gateway.items()))}"
        )


def outcome(workload: Workload, found: dict[str, dict[str, Any]], sent: set[str]) -> Outcome:
    must = sent & set().union(*workload.must_keep(LIMITS).values())
    kept = {t: found[t] for t in sent if t in found}
    stamps = {t: gateways_of(trace) for t, trace in kept.items()}
    return Outcome(
        sent,
        must,
        must - set(kept),
        {t for t, trace in kept.items() if len(trace["spans"]) != len(workload.traces[t])},
        {t for t, s in stamps.items() if len(s) > 1},
        Counter(next(iter(s)) for s in stamps.values() if len(s) == 1),
    )


def delivered(stack: ScaleStack) -> bool:
    """Tier 1 handed every span it accepted to a gateway (its sending queue retries a failed request whole, counted
    once when it succeeds) and neither gateway holds a trace awaiting its decision."""
    accepted = stack.collector_metric("tier1", "otelcol_receiver_accepted_spans", transport="http")
    handed = stack.collector_metric("tier1", "otelcol_exporter_sent_spans", exporter="load_balancing")
    return accepted == handed and sum(stack.collector_metric(g, ON_MEMORY) for g in GATEWAYS) == 0


@pytest.mark.parametrize(
    ("interval_s", "dwell_s", "traces"),
    [
        pytest.param(1, 3, 3000, id="interval-1s"),
        pytest.param(5, 10, 8000, id="interval-5s", marks=[pytest.mark.scale_slow, pytest.mark.timeout(900)]),
    ],
)
def test_dead_gateway_leaves_the_ring_and_comes_back(
    dns_stack: ScaleStack, interval_s: float, dwell_s: float, traces: int
) -> None:
    """Steady traffic on both gateways; gateway-2 SIGKILLed and dropped from DNS; ``dwell_s`` after tier 1 saw the
    ring shrink, gateway-2 started again and put back; ``dwell_s`` more. Each trace is judged by when its parts left:

    - sent after tier 1 saw the ring at one gateway: all on gateway-1, every must-keep trace kept and complete;
    - sent after it saw both again: both gateways decide, nothing lost, split or incomplete;
    - sent before the kill: a must-keep trace is lost only if gateway-2 held it in memory (bounded by its
      traces-in-memory gauge just before the kill);
    - in flight while the ring shrank (kill to re-resolution) or grew (record back to re-resolution): measured and
      reported, the only traces that may be split across the gateways or incomplete.
    """
    from opentelemetry.sdk.resources import Resource

    stack = dns_stack
    assert stack.hosts
    if stack.dns_interval_s != interval_s:
        stack.dns_interval_s = interval_s
        stack.stop("tier1")
        stack.start("tier1")
    assert wait_until(lambda: ring_size(stack) == 2, 60, "both gateways in tier 1's ring")
    resource = Resource.create({"service.name": SERVICE})
    workload = generate(traces, [_silent_meter_provider()], resource, seed=2110 + int(interval_s))
    replay = SteadyReplay(stack, workload)
    replay.start()
    try:
        time.sleep(dwell_s)
        held = stack.collector_metric("gateway-2", ON_MEMORY)
        killed = time.monotonic()
        stack.stop("gateway-2", signal.SIGKILL)
        stack.hosts.set("gateway-2", present=False)
        shrunk = ring_becomes(stack, 1)
        time.sleep(dwell_s)
        stack.start("gateway-2")
        readded = time.monotonic()
        stack.hosts.set("gateway-2", present=True)
        grown = ring_becomes(stack, 2)
        time.sleep(dwell_s)
    finally:
        sent = replay.finish()
    wait_until(lambda: delivered(stack), 180, "every span tier 1 accepted at a gateway, and decided")
    found = stored_jaeger(stack, lambda _: True, 120)

    classes = {  # by when a trace's parts left (first, last)
        "before the kill": lambda first, last: last < killed - BATCH_S,
        "across the kill": lambda first, last: first < killed <= last + BATCH_S,  # a part may have reached gateway-2
        "in flight while the ring shrank": lambda first, last: killed <= first < shrunk,
        "gateway-1 alone": lambda first, last: shrunk <= first and last < readded - BATCH_S,
        "while the ring grew": lambda first, last: first < grown and readded - BATCH_S <= last,
        "both again": lambda first, last: grown <= first,
    }
    ids = {name: {t for t, times in sent.items() if member(*times)} for name, member in classes.items()}
    assert sum(map(len, ids.values())) == len(sent) == len(set().union(*ids.values()))  # a partition
    result = {name: outcome(workload, found, members) for name, members in ids.items()}
    failed = stack.collector_metric("tier1", "otelcol_loadbalancer_backend_outcome", success="false")
    print(
        f"\ndns interval {interval_s:g} s: the ring shrank {shrunk - killed:.1f} s after the kill, grew "
        f"{grown - readded:.1f} s after the record came back; gateway-2 held {held:.0f} traces at the kill; tier 1 "
        f"sends that failed (retried whole from its queue) {failed:.0f}"
    )
    for name, each in result.items():
        print(f"  {name}: {each}")

    alone, again = result["gateway-1 alone"], result["both again"]
    assert alone.must and not alone.lost and not alone.incomplete and not alone.split
    assert set(alone.by_gateway) == {"gateway-1"}, alone.by_gateway  # re-routed: nothing went to gateway-2
    assert again.must and not again.lost and not again.incomplete and not again.split
    assert set(again.by_gateway) == set(GATEWAYS), again.by_gateway  # gateway-2 took its share back
    # What gateway-2 held died with it: a loss bounded by its traces in memory (about 1 in 4 traces is must-keep).
    assert len(result["before the kill"].lost | result["across the kill"].lost) <= held
    assert not result["before the kill"].incomplete and not result["before the kill"].split


def test_tier1_resolver_settings_validate(scale_binaries: dict[str, str]) -> None:
    """The resolver values tier1.yaml documents pass the collector's own `validate` (which builds the exporter): the
    compose profile's dns resolver, and the static list test_scale.py runs; a number for the dns `port` does not."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["otelcol-tier1"]

    def validate(resolver: str) -> subprocess.CompletedProcess[str]:
        env = {"LLMTRACE_GATEWAY_RESOLVER": resolver, "PROMETHEUS_OTLP_ENDPOINT": "http://127.0.0.1:9/v1/metrics"}
        configs = [f"--config={ROOT / 'collector' / 'otelcol.yaml'}", f"--config={SCALE / 'tier1.yaml'}"]
        return subprocess.run(
            [scale_binaries["OTELCOL_BIN"], "validate", *configs],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LLMTRACE_QUEUE_DIR": "/nonexistent", **env},
        )

    for resolver in (
        compose["environment"]["LLMTRACE_GATEWAY_RESOLVER"],
        "{static: {hostnames: [gateway-1:4317, gateway-2:4317]}}",
    ):
        result = validate(resolver)
        assert result.returncode == 0, (resolver, result.stderr[-2000:])
    broken = validate("{dns: {hostname: gateways, port: 4317}}")
    assert broken.returncode != 0 and "'port' expected type 'string'" in broken.stderr, broken.stderr[-2000:]

"""Every number on the overview dashboard equals what happened, short-lived processes included.

The workload runs the way real traffic does: five short-lived processes (``llmtrace demo``, 30 calls each, exiting
after their last export) and one long-lived process that keeps exporting, on a stack of its own. Two dashboard
ranges are checked: the whole run, and a range that starts in the middle of it (after the first two short-lived
processes and the long-lived process's first phase). Every panel query is evaluated the way Grafana does:
variables at All, ``$__range``/``$__interval``/``$__rate_interval`` computed as Grafana computes them, instant
queries at the range end, range queries on the step-aligned range. Expected values come from the workload's ground
truth (calls, tokens, cost, errors, retries) and from the spans in Jaeger (latency, TTFT).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmtrace.semconv import LATENCY_BUCKETS_S, TTFT_BUCKETS_S
from tests._truth import truth_rows

from .conftest import ROOT, Stack, http_get, running_stack, wait_until

SERVICE = "llmtrace-dashboard-test"
PROVIDERS = ("openai", "anthropic", "ollama")
SHORT_LIVED, CALLS_EACH = 5, 30
ESTIMATOR, ESTIMATED_CALLS = "estimator", 3  # calls whose tokens llmtrace estimates (first phase only)
SCRAPE = 15  # the Prometheus datasource's timeInterval (grafana/provisioning/datasources/datasources.yaml)
MAX_DATA_POINTS = 1000  # about a panel's width in pixels: what Grafana sends as maxDataPoints
BOARD = json.loads((ROOT / "grafana" / "dashboards" / "llm-overview.json").read_text())


# -- Grafana's variables and time handling ----------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardRange:
    """A dashboard time range as Grafana turns it into Prometheus requests (whole seconds here)."""

    start: int
    end: int

    @property
    def step(self) -> int:
        """$__interval: range / maxDataPoints, at least the datasource's scrape interval."""
        computed = (self.end - self.start) / MAX_DATA_POINTS
        assert computed <= SCRAPE, "longer ranges round the interval (Grafana's table): not emulated here"
        return SCRAPE

    def interpolate(self, expr: str) -> str:
        rate_interval = max(self.step + SCRAPE, 4 * SCRAPE)
        values = {
            "__range": f"{self.end - self.start}s",
            "__interval": f"{self.step}s",
            "__rate_interval": _go_duration(rate_interval),
            # every template variable at "All" (allValue .*)
            **{v["name"]: v["allValue"] for v in BOARD["templating"]["list"]},
        }
        concrete = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], expr)
        assert "$" not in concrete, concrete
        return concrete

    def evaluate(self, stack: Stack, target: dict[str, Any]) -> list[dict[str, Any]]:
        """One panel target: instant queries at the range end, range queries over the step-aligned range."""
        expr = self.interpolate(target["expr"])
        if target.get("instant"):
            return stack.promql(expr, at=self.end)
        step = self.step
        return stack.promql_range(expr, self.start // step * step, self.end // step * step, step)


def _go_duration(seconds: int) -> str:
    """Go's time.Duration.String(), which Grafana uses for $__rate_interval (60 -> "1m0s")."""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


# -- the workload --------------------------------------------------------------------------------------------------


@dataclass
class Window:
    """What happened inside one dashboard range: ground truth documents, the spans' timings, and what llmtrace
    estimated (the ``llm.tokens.estimated`` spans' input + output tokens and cost: no server reported them)."""

    range: DashboardRange
    truths: list[dict[str, Any]]
    latencies: dict[tuple[str, str], list[float]]  # (provider, model) -> seconds
    ttfts: dict[tuple[str, str], list[float]]
    estimated: dict[str, float]  # "tokens" / "cost" -> total

    def rows(self, kind: str, **where: str) -> list[dict[str, Any]]:
        return [r for t in self.truths for r in t[kind] if all(r[k] == v for k, v in where.items())]


@dataclass
class Run:
    stack: Stack
    whole: Window
    mid: Window


def _short_lived(stack: Stack, seed: int, out: Path) -> dict[str, Any]:
    """One ``llmtrace demo`` process: its calls, OTLP export at exit, its ground truth."""
    truth = out / f"truth-{seed}.json"
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http, "OTEL_SERVICE_NAME": SERVICE}
    argv = ["demo", "--calls", str(CALLS_EACH), "--seed", str(seed), "--providers", ",".join(PROVIDERS)]
    argv += ["--fault-rate", "0.3", "--truth", str(truth)]
    cli = Path(sys.executable).with_name("llmtrace")  # the console script a user runs
    subprocess.run([str(cli), *argv], env=env, check=True, capture_output=True, timeout=300)
    return json.loads(truth.read_text())


class LongLived:
    """This test process as a long-running service: instrumented once, exporting every 2 s, calls in two phases."""

    def __init__(self, stack: Stack) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        import llmtrace

        resource = Resource.create({"service.name": SERVICE})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces"))
        )
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{stack.otlp_http}/v1/metrics"), export_interval_millis=2000
        )
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        llmtrace.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def calls(self, seed: int) -> dict[str, Any]:
        from llmtrace.demo.fake_server import FakeProviderServer
        from llmtrace.demo.workload import WorkloadConfig, run_workload

        with FakeProviderServer(seed=seed) as server:
            config = WorkloadConfig(calls=CALLS_EACH, seed=seed, fault_rate=0.3, providers=PROVIDERS)
            truth = run_workload(server, config).to_json()
        self.tracer_provider.force_flush()
        return truth

    def estimated_calls(self) -> dict[str, Any]:
        """Streams read without ``include_usage``: the server reports no usage, so llmtrace estimates the tokens
        (kept out of the exact series). Their truth is the calls; the estimates are read back from the spans."""
        import openai

        import llmtrace
        from llmtrace.demo.fake_server import FakeProviderServer

        with FakeProviderServer(seed=7) as server, llmtrace.attributes(agent=ESTIMATOR, tenant="acme"):
            client = openai.OpenAI(base_url=server.openai_base_url, api_key="fake", max_retries=0)
            for n in range(ESTIMATED_CALLS):
                content = f"Summarize report {n} in one line."
                messages = [{"role": "user", "content": content}]
                for _ in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True):
                    pass
        self.tracer_provider.force_flush()
        labels = {"provider": "openai", "model": "gpt-4o-mini", "status": "ok", "error_type": "", "streaming": "true"}
        row = {**labels, "agent": ESTIMATOR, "tenant": "acme", "value": ESTIMATED_CALLS}
        return {"calls": [row], "tokens": [], "cost_usd": [], "retries": [], "totals": {"calls": ESTIMATED_CALLS}}

    def stop(self) -> None:
        import llmtrace

        llmtrace.uninstrument()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _arrived(stack: Stack, truths: list[dict[str, Any]]) -> None:
    """Wait until Prometheus holds every call of ``truths`` (each series' last value, exited processes included)."""
    total = sum(t["totals"]["calls"] for t in truths)
    query = f'sum(last_over_time(llm_calls_total{{service_name="{SERVICE}"}}[1h]))'
    wait_until(lambda: stack.scalar(query) == total, 90, f"{total} calls in prometheus")


def _after_next_step(t: float) -> int:
    """The first step-aligned second at least one step after ``t``: no sample of before ``t`` can fall in the
    first interval of a range starting there (Grafana's first point covers the step before the range start)."""
    return (math.ceil(t) // SCRAPE + 2) * SCRAPE


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def _from_spans(stack: Stack, since: float) -> tuple[Any, Any, dict[str, float]]:
    """Latencies and TTFTs by (provider, model), and the estimated tokens and cost, of the spans since ``since``."""
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    ttfts: dict[tuple[str, str], list[float]] = defaultdict(list)
    estimated = {"tokens": 0.0, "cost": 0.0}
    for trace in stack.jaeger_traces(service=SERVICE, limit="5000"):
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span["tags"]}
            if "llm.provider" not in tags or span["startTime"] / 1e6 < since:  # LLM calls, not agent runs or tools
                continue
            key = (tags["llm.provider"], tags["llm.model"])
            latencies[key].append(tags["llm.latency_ms"] / 1000)
            if "llm.ttft_ms" in tags:
                ttfts[key].append(tags["llm.ttft_ms"] / 1000)
            if tags.get("llm.tokens.estimated") is True:
                estimated["tokens"] += tags["llm.tokens.input"] + tags["llm.tokens.output"]
                estimated["cost"] += tags["llm.cost_usd"]
    return latencies, ttfts, estimated


@contextmanager
def dashboard_run(tmp: Path, bins: dict[str, str]) -> Iterator[Run]:
    """The stack, the workload in its processes, and the two dashboard ranges with what happened in each."""
    with running_stack(tmp, bins) as stack:
        started = math.floor(time.time()) - 60
        service = LongLived(stack)
        try:
            before = [
                service.calls(seed=101),
                service.estimated_calls(),
                *(_short_lived(stack, 200 + i, tmp) for i in (1, 2)),
            ]
            _arrived(stack, before)
            middle = _after_next_step(time.time())
            _sleep_until(middle + 1)  # later calls are after the mid-run range start
            after = [service.calls(seed=102), *(_short_lived(stack, 200 + i, tmp) for i in range(3, SHORT_LIVED + 1))]
        finally:
            service.stop()
        _arrived(stack, before + after)
        calls = (2 + SHORT_LIVED) * CALLS_EACH
        wait_until(lambda: len(stack.jaeger_traces(service=SERVICE, limit="5000")) >= calls, 60, "traces in jaeger")
        end = _after_next_step(time.time())
        _sleep_until(end)
        whole_timings, mid_timings = _from_spans(stack, started), _from_spans(stack, middle)
        yield Run(
            stack,
            whole=Window(DashboardRange(started, end), before + after, *whole_timings),
            mid=Window(DashboardRange(middle, end), after, *mid_timings),
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, stack_binaries: dict[str, str]) -> Iterator[Run]:
    with dashboard_run(tmp_path_factory.mktemp("dashboards"), stack_binaries) as result:
        yield result


# -- what each panel must show -------------------------------------------------------------------------------------


def bucket_quantile(q: float, counts: dict[float, int]) -> float:
    """Prometheus' histogram_quantile over classic buckets (promql/quantile.go BucketQuantile), for true counts."""
    bounds = sorted(counts)
    observations = counts[math.inf]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, bound in enumerate(bounds) if counts[bound] >= rank)
    if b == len(bounds) - 1:
        return bounds[-2]
    start, below = (bounds[b - 1], counts[bounds[b - 1]]) if b else (0.0, 0)
    return start + (bounds[b] - start) * (rank - below) / (counts[bounds[b]] - below)


def _cumulative(values: list[float], bounds: tuple[float, ...]) -> dict[float, int]:
    """Cumulative bucket counts (le semantics: value <= bound), as the OTel SDK fills explicit buckets."""
    return {bound: sum(v <= bound for v in values) for bound in (*bounds, math.inf)}


def _grouped(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    return truth_rows(rows, keys) if keys else {(): sum(r["value"] for r in rows)} if rows else {}


def _error_pct(w: Window, keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    calls, errors = _grouped(w.rows("calls"), keys), _grouped(w.rows("calls", status="error"), keys)
    return {k: 100 * errors.get(k, 0.0) / n for k, n in calls.items()}


def _p99(timings: dict[tuple[str, str], list[float]], bounds: tuple[float, ...], keys: tuple[str, ...]):
    grouped: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for (provider, model), values in timings.items():
        labels = {"provider": provider, "model": model}
        grouped[tuple(labels[k] for k in keys)] += values
    return {k: bucket_quantile(0.99, _cumulative(v, bounds)) for k, v in grouped.items() if v}


def _tokens(w: Window, keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    return _grouped([r for r in w.rows("tokens") if r["type"] in ("input", "output")], keys)


def _avg_latency(w: Window, keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    values = [v for vs in w.latencies.values() for v in vs]
    return {(): sum(values) / len(values)}


Expected = Callable[[Window, tuple[str, ...]], dict[tuple[str, ...], float]]
# Panel title or table column -> the truth it shows, keyed by the query's labels.
EXPECTED: dict[str, Expected] = {
    "Calls": lambda w, k: _grouped(w.rows("calls"), k),
    "Cost": lambda w, k: _grouped(w.rows("cost_usd"), k),
    "Tokens": _tokens,
    # the "estimated" value of the Cost and Tokens stats: present only when non-zero
    "Cost estimated": lambda w, k: {(): w.estimated["cost"]} if w.estimated["cost"] else {},
    "Tokens estimated": lambda w, k: {(): w.estimated["tokens"]} if w.estimated["tokens"] else {},
    "Error %": _error_pct,
    "Avg latency": _avg_latency,
    "p99 latency": lambda w, k: _p99(w.latencies, LATENCY_BUCKETS_S, k),
    "p99 TTFT": lambda w, k: _p99(w.ttfts, TTFT_BUCKETS_S, k),
    "Cost by model": lambda w, k: _grouped(w.rows("cost_usd"), k),
    "Tokens by type": lambda w, k: _grouped(w.rows("tokens"), k),
    "Errors by type": lambda w, k: _grouped(w.rows("calls", status="error"), k),
    "SDK retries": lambda w, k: _grouped(w.rows("retries"), k),
}


def _expected(name: str, legend: str = "") -> Expected:
    """``Cost (USD)`` -> ``Cost``, ``Tokens (in + out)`` -> ``Tokens``, ``Cost by model (per interval)`` -> ...; a
    stat's second value by its legend (``Cost`` + ``estimated`` -> ``Cost estimated``)."""
    base = re.sub(r" \(.*\)$", "", name)
    return EXPECTED[f"{base} {legend}" if legend in ("estimated",) else base]


def _keys(result: list[dict[str, Any]]) -> tuple[str, ...]:
    labels = {name for r in result for name in r["metric"]}
    return tuple(sorted(labels))


def _assert_equal(where: str, got: dict[tuple[str, ...], float], want: dict[tuple[str, ...], float]) -> None:
    """Counts exactly; cost, ratios and latencies to 1e-9 relative (float sums in a different order). A series with
    nothing in the range (a long-lived process's model unused since the range start) may show 0."""
    assert want.keys() <= got.keys(), f"{where}: missing {sorted(want.keys() - got.keys())}"
    for key, value in got.items():
        truth = want.get(key, 0.0)
        assert value == pytest.approx(truth, rel=1e-9, abs=1e-12), f"{where} {key}: got {value}, truth {truth}"


def _instant(run: Run, w: Window, target: dict[str, Any]) -> tuple[tuple[str, ...], dict[tuple[str, ...], float]]:
    result = w.range.evaluate(run.stack, target)
    keys = _keys(result)
    values = {tuple(r["metric"][k] for k in keys): float(r["value"][1]) for r in result}
    return keys, {k: v for k, v in values.items() if not math.isnan(v)}  # NaN: no observation of that model here


def _panels(kind: str) -> list[dict[str, Any]]:
    return [p for p in BOARD["panels"] if p["type"] == kind]


WINDOWS = ("whole", "mid")


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("title", [p["title"] for p in _panels("stat")])
def test_stat_panel_equals_truth(run: Run, window: str, title: str):
    w = getattr(run, window)
    (panel,) = [p for p in _panels("stat") if p["title"] == title]
    for target in panel["targets"]:
        keys, got = _instant(run, w, target)
        want = _expected(title, target["legendFormat"])(w, keys)
        _assert_equal(f"{window} {title} {target['legendFormat']}", got, want)
        if target["legendFormat"] == "estimated":  # shown only when non-zero: absent, never a 0
            assert got.keys() == want.keys(), (window, title, got)


def test_estimated_values_appear_only_in_ranges_with_estimates(run: Run):
    """The workload's estimated calls all fall before the mid-run range starts."""
    assert run.whole.estimated["tokens"] > 0 and run.whole.estimated["cost"] > 0
    assert run.mid.estimated == {"tokens": 0.0, "cost": 0.0}
    estimated = [t for p in _panels("stat") for t in p["targets"] if t["legendFormat"] == "estimated"]
    assert len(estimated) == 2
    for target in estimated:
        assert run.mid.range.evaluate(run.stack, target) == []
        assert len(run.whole.range.evaluate(run.stack, target)) == 1


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("title", [p["title"] for p in _panels("table")])
def test_table_cells_equal_truth(run: Run, window: str, title: str):
    w = getattr(run, window)
    (panel,) = [p for p in _panels("table") if p["title"] == title]
    names = panel["transformations"][1]["options"]["renameByName"]
    for target in panel["targets"]:
        column = names[f"Value #{target['refId']}"]
        keys, got = _instant(run, w, target)
        _assert_equal(f"{window} {title} / {column}", got, _expected(column)(w, keys))


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("title", [p["title"] for p in _panels("timeseries") if "per interval" in p["title"]])
def test_interval_bars_add_up_to_truth(run: Run, window: str, title: str):
    """Each point is what happened in its interval, so a series' points add up to the range's total."""
    w = getattr(run, window)
    (panel,) = [p for p in _panels("timeseries") if p["title"] == title]
    (target,) = panel["targets"]
    result = w.range.evaluate(run.stack, target)
    keys = _keys(result)
    got = {tuple(r["metric"][k] for k in keys): sum(float(v) for _, v in r["values"]) for r in result}
    want = _expected(title)(w, keys)
    _assert_equal(f"{window} {title}", {k: v for k, v in got.items() if v or k in want}, want)


@pytest.mark.parametrize("title", [p["title"] for p in _panels("timeseries") if "p50 / p90 / p99" in p["title"]])
def test_quantile_series_stay_within_the_observed_buckets(run: Run, title: str):
    """Quantiles are estimates: every point lies inside the buckets that hold that model's observed values."""
    w = run.whole
    timings, bounds = (w.ttfts, TTFT_BUCKETS_S) if "first token" in title else (w.latencies, LATENCY_BUCKETS_S)
    (panel,) = [p for p in _panels("timeseries") if p["title"] == title]
    for target in panel["targets"]:
        result = w.range.evaluate(run.stack, target)
        assert result, f"{title} {target['refId']}: no data"
        for series in result:
            model = series["metric"]["model"]
            observed = [v for (_, m), vs in timings.items() if m == model for v in vs]
            low = max([0.0, *(b for b in bounds if b < min(observed))])
            high = min([math.inf, *(b for b in bounds if b >= max(observed))])
            points = [float(v) for _, v in series["values"] if not math.isnan(float(v))]
            assert points and all(low <= p <= high for p in points), (title, model, low, high, points)


def test_every_overview_query_is_checked():
    """A new panel needs its truth here (EXPECTED) or an explicit reason to be an estimate."""
    for panel in BOARD["panels"]:
        if panel["type"] == "timeseries" and "p50 / p90 / p99" in panel["title"]:
            continue  # estimates, bounded by test_quantile_series_stay_within_the_observed_buckets
        names = panel.get("transformations", [{}, {"options": {"renameByName": {}}}])[1]["options"]["renameByName"]
        for target in panel["targets"]:
            assert _expected(names.get(f"Value #{target['refId']}", panel["title"]), target.get("legendFormat", ""))


def test_traces_dashboard_lists_the_services_that_sent_calls(run: Run):
    """The "LLM traces" service variable offers the services that exist (issue 16), not a preset demo name."""
    board = json.loads((ROOT / "grafana" / "dashboards" / "llm-traces.json").read_text())
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "service"]
    assert (variable["type"], variable["datasource"]["uid"]) == ("query", "prometheus")
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"]).groups()
    # what Grafana's Prometheus datasource requests for label_values(metric, label)
    query = f"match[]={metric}&start={run.whole.range.start}&end={run.whole.range.end}"
    services = http_get(f"{run.stack.prometheus}/api/v1/label/{label}/values?{query}")["data"]
    assert services == [SERVICE]
    assert SERVICE in http_get(f"{run.stack.jaeger}/api/services")["data"]
    for panel in board["panels"]:
        assert panel["targets"][0]["service"] == "$service"
    recent = run.stack.jaeger_traces(service=services[0], tags=json.dumps({"llm.success": "true"}))
    assert recent

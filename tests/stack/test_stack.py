"""End to end: demo workload -> real collector -> real Jaeger + Prometheus; numbers equal the ground truth."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from .conftest import PROMETHEUS_FLAGS, ROOT, SERVICE, Stack, WorkloadResult, http_get, native_stack, wait_until

RULES = yaml.safe_load((ROOT / "collector" / "rules" / "llm.rules.yml").read_text())
DASHBOARDS = {p.name: json.loads(p.read_text()) for p in (ROOT / "grafana" / "dashboards").glob("*.json")}
LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 120.0]


def _by(stack: Stack, expr: str, labels: tuple[str, ...], at: float | None = None) -> dict[tuple[str, ...], float]:
    """``expr`` by ``labels``, evaluated at ``at`` (the workload's end: other stack tests may run for more than the
    5-minute lookback in between, after which an exited app's series are no longer "now")."""
    return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in stack.promql(expr, at)}


def _truth(rows: list[dict], labels: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for row in rows:
        out[tuple(row[k] for k in labels)] += row["value"]
    return dict(out)


# -- static checks with the real tools ---------------------------------------------------------------------------


def test_collector_config_validates_and_logs_no_deprecation(stack: Stack, workload: WorkloadResult):
    result = subprocess.run(
        [stack.bins["OTELCOL_BIN"], "validate", f"--config={ROOT / 'collector' / 'otelcol.yaml'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    log = stack.logs["otelcol"].read_text()
    assert "Everything is ready" in log
    assert not re.search(r"deprecat", log, re.IGNORECASE), log


def test_promtool_checks_config_and_unit_tests_rules(stack: Stack):
    promtool = stack.bins["PROMTOOL_BIN"]
    check = subprocess.run(
        [promtool, "check", "config", str(ROOT / "collector" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    native = subprocess.run(
        [promtool, "check", "config", str(stack.native.state / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert native.returncode == 0, native.stdout + native.stderr
    assert "SUCCESS: 1 rule files found" in native.stdout + native.stderr  # the rules, found by absolute path
    rules = subprocess.run(
        [promtool, "test", "rules", str(ROOT / "collector" / "rules" / "llm_rules_test.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS" in rules.stdout


def test_native_prometheus_scrapes_the_collector(stack: Stack):
    """collector/prometheus.yml scrapes otelcol:8888 on the compose network; natively that target is rewritten to the
    collector's metrics port, and the scrape must succeed (up == 1), not sit silently down."""
    wait_until(lambda: stack.scalar('up{job="otelcol"}') == 1, 60, "collector scraped by prometheus")
    targets = http_get(f"{stack.prometheus}/api/v1/targets")["data"]["activeTargets"]
    assert [(t["scrapeUrl"], t["health"]) for t in targets] == [(stack.native.urls["collector_metrics"], "up")]


def test_compose_runs_prometheus_with_the_native_flags():
    """The Prometheus flags are spelled in scripts/native_stack.py; docker-compose.yml must use the same ones."""
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["prometheus"]["command"]
    per_run = ("--config.file=", "--storage.tsdb.path=", "--storage.tsdb.retention.time=", "--web.listen-address=")
    assert sorted(f for f in command if not f.startswith(per_run)) == sorted(native_stack.PROMETHEUS_FLAGS)


# -- metrics equal ground truth ------------------------------------------------------------------------------------


def test_call_counts_equal_ground_truth(stack: Stack, workload: WorkloadResult):
    labels = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    got = _by(stack, f"sum by ({', '.join(labels)}) (llm_calls_total)", labels, workload.finished)
    assert got == _truth(workload.truth["calls"], labels)
    errors = _by(stack, 'sum by (error_type) (llm_calls_total{status="error"})', ("error_type",), workload.finished)
    assert {k[0]: v for k, v in errors.items()} == workload.truth["errors"]


def test_token_and_retry_counters_equal_ground_truth(stack: Stack, workload: WorkloadResult):
    labels = ("provider", "model", "type", "agent", "tenant")
    assert _by(stack, f"sum by ({', '.join(labels)}) (llm_tokens_total)", labels, workload.finished) == _truth(
        workload.truth["tokens"], labels
    )
    assert _by(
        stack, "sum by (provider, model) (llm_retries_total)", ("provider", "model"), workload.finished
    ) == _truth(workload.truth["retries"], ("provider", "model"))
    assert workload.truth["totals"]["retries"] > 0 and workload.truth["totals"]["errors"] > 0


def test_cost_equals_ground_truth_to_a_nano_dollar(stack: Stack, workload: WorkloadResult):
    labels = ("provider", "model", "agent", "tenant")
    got = _by(stack, f"sum by ({', '.join(labels)}) (llm_cost_usd_total)", labels, workload.finished)
    expected = _truth(workload.truth["cost_usd"], labels)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) < 1e-9, key


def test_histogram_counts_exact(stack: Stack, workload: WorkloadResult):
    assert _by(stack, "sum(llm_latency_seconds_count)", (), workload.finished) == {
        (): workload.truth["totals"]["calls"]
    }
    assert _by(
        stack, "sum by (provider, model) (llm_ttft_seconds_count)", ("provider", "model"), workload.finished
    ) == _truth(workload.truth["ttft_count"], ("provider", "model"))


def test_latency_quantiles_within_one_bucket_of_span_truth(stack: Stack, workload: WorkloadResult):
    """Prometheus' histogram_quantile vs the exact p50/p90 of the spans' llm.latency_ms, per model."""
    latencies: dict[str, list[float]] = defaultdict(list)
    for trace in stack.jaeger_traces():
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span["tags"]}
            if "llm.latency_ms" in tags and "llm.provider" in tags:  # LLM calls, not the agent runs around them
                latencies[tags["llm.model"]].append(tags["llm.latency_ms"] / 1000)
    for q in (0.5, 0.9):
        estimates = _by(stack, f"histogram_quantile({q}, sum by (model, le) (llm_latency_seconds_bucket))", ("model",))
        for (model,), estimate in estimates.items():
            values = sorted(latencies[model])
            exact = values[min(len(values) - 1, math.ceil(q * len(values)) - 1)]
            bucket = next(i for i, bound in enumerate([*LATENCY_BUCKETS, math.inf]) if exact <= bound)
            lower = LATENCY_BUCKETS[bucket - 2] if bucket >= 2 else 0.0
            upper = LATENCY_BUCKETS[min(bucket + 1, len(LATENCY_BUCKETS) - 1)]
            assert lower <= estimate <= upper, (model, q, exact, estimate)


# -- every rule and dashboard query parses and returns data ------------------------------------------------------


def _rule_exprs() -> list[str]:
    return [rule["expr"] for group in RULES["groups"] for rule in group["rules"] if "record" in rule]


def _panel_queries() -> list[tuple[str, str]]:
    found = []
    for name, board in DASHBOARDS.items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                if "expr" in target:
                    found.append((f"{name}:{panel['title']}:{target['refId']}", target["expr"]))
    return found


def _instantiate(expr: str) -> str:
    return (
        expr.replace("$__rate_interval", "2m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("$provider", ".*")
        .replace("$model", ".*")
        .replace("$agent", ".*")
        .replace("$tenant", ".*")
    )


# Prometheus itself parses the queries: promql-parser (Python) does not know `anchored` (Prometheus 3.16) yet.
# They are evaluated when the workload ended: its samples are in their windows whatever ran in between.
@pytest.mark.parametrize("expr", _rule_exprs())
def test_recording_rule_parses_and_returns_data(stack: Stack, workload: WorkloadResult, expr: str):
    result = stack.promql(expr, at=workload.finished)
    assert result and all(not math.isnan(float(r["value"][1])) for r in result), expr


@pytest.mark.parametrize(("where", "expr"), _panel_queries())
def test_dashboard_query_parses_and_returns_data(stack: Stack, workload: WorkloadResult, where: str, expr: str):
    concrete = _instantiate(expr)
    assert "$" not in concrete, where
    result = stack.promql(concrete, at=workload.finished)
    if expr.endswith(") > 0") and "estimated" in expr:
        # the overview's "estimated" values show only when non-zero, and this workload reports all its usage:
        # Prometheus parsed the query (an error would have raised); test_dashboard_numbers checks their values
        assert result == [], f"{where}: {concrete}"
        return
    assert result, f"{where}: {concrete}"


def test_dashboard_variables_return_values(stack: Stack, workload: WorkloadResult):
    board = DASHBOARDS["llm-overview.json"]
    for variable in board["templating"]["list"]:
        label = re.match(r"label_values\(llm_calls_total, (\w+)\)", variable["definition"]).group(1)
        values = http_get(f"{stack.prometheus}/api/v1/label/{label}/values")["data"]
        assert values, label


def test_jaeger_panels_find_traces(stack: Stack, workload: WorkloadResult):
    board = DASHBOARDS["llm-traces.json"]
    defaults = {v["name"]: v["current"]["value"] for v in board["templating"]["list"] if "current" in v}
    # $service: the first value of its query variable (services that sent llm metrics), as Grafana preselects
    (service,) = [v for v in board["templating"]["list"] if v["name"] == "service"]
    label = re.fullmatch(r"label_values\(llm_calls_total, (\w+)\)", service["definition"]).group(1)
    defaults["service"] = http_get(f"{stack.prometheus}/api/v1/label/{label}/values?match[]=llm_calls_total")["data"][0]
    assert defaults["service"] == SERVICE
    for panel in board["panels"]:
        (target,) = panel["targets"]
        params = {"limit": str(target["limit"])}
        if "tags" in target:
            key, value = target["tags"].split("=", 1)
            value = re.sub(r"\$(\w+)", lambda m: defaults[m.group(1)], value)
            params["tags"] = json.dumps({key: value})
        if "minDuration" in target:
            params["minDuration"] = target["minDuration"]
        assert target["service"] == "$service"
        assert stack.jaeger_traces(**{**params, "service": defaults["service"]}), panel["title"]


# -- Jaeger -----------------------------------------------------------------------------------------------------


def _tagged_spans(stack: Stack, key: str, value: str) -> int:
    """Spans tagged ``key=value`` in the traces Jaeger finds by that tag (an Agents SDK run's trace holds several
    calls of its model)."""
    traces = stack.jaeger_traces(tags=json.dumps({key: value}))
    return sum(1 for t in traces for s in t["spans"] for tag in s["tags"] if (tag["key"], tag["value"]) == (key, value))


def test_jaeger_finds_error_calls_and_model_calls(stack: Stack, workload: WorkloadResult):
    for error_type, count in workload.truth["errors"].items():
        assert _tagged_spans(stack, "llm.error.type", error_type) == count, error_type
    per_model = _truth(workload.truth["calls"], ("model",))
    for (model,), count in per_model.items():
        assert _tagged_spans(stack, "llm.model", model) == count, model


def test_exemplars_point_to_traces_in_jaeger(stack: Stack, workload: WorkloadResult):
    query = {"query": "llm_latency_seconds_bucket", "start": str(workload.started - 60), "end": str(time.time() + 60)}
    import urllib.parse

    data = http_get(f"{stack.prometheus}/api/v1/query_exemplars?{urllib.parse.urlencode(query)}")["data"]
    trace_ids = {ex["labels"]["trace_id"] for series in data for ex in series["exemplars"]}
    assert trace_ids, data
    for trace_id in sorted(trace_ids)[:10]:
        found = http_get(f"{stack.jaeger}/api/traces/{trace_id}")["data"]
        assert found and found[0]["traceID"] == trace_id


def test_collector_strips_content_attributes_and_events(stack: Stack, workload: WorkloadResult):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces")))
    span = provider.get_tracer("test").start_span(
        "chat leaky-model",
        attributes={
            "llm.model": "leaky-model",
            "gen_ai.input.messages": "SECRET-PROMPT-123",
            "gen_ai.output.messages": "SECRET-COMPLETION-456",
            "gen_ai.prompt.0.content": "SECRET-OLD-789",
        },
    )
    span.add_event("gen_ai.client.inference.operation.details", {"gen_ai.input.messages": "SECRET-EVENT-1"})
    span.add_event("gen_ai.user.message", {"content": "SECRET-EVENT-2"})
    span.add_event("checkpoint", {"note": "kept", "gen_ai.output.messages": "SECRET-EVENT-3"})
    span.end()
    provider.shutdown()
    traces = wait_until(lambda: stack.jaeger_traces(tags=json.dumps({"llm.model": "leaky-model"})), 30, "leaky span")
    stored = json.dumps(traces)
    assert "SECRET" not in stored
    (only,) = traces[0]["spans"]
    assert [log["fields"] for log in only["logs"]] == [
        [{"key": "event", "type": "string", "value": "checkpoint"}, {"key": "note", "type": "string", "value": "kept"}]
    ]


def test_docker_compose_mounts_exactly_the_tested_files():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounted = {  # the secrets (./.secure/...) are checked file by file in tests/stack/test_compose.py
        v.split(":")[0]
        for svc in compose["services"].values()
        for v in svc.get("volumes", [])
        if v.startswith("./") and not v.startswith("./.secure/")
    }
    assert mounted == {
        "./collector/otelcol.yaml",
        "./collector/jaeger.yaml",
        "./collector/prometheus.yml",
        "./collector/rules",
        "./grafana/provisioning",
        "./grafana/dashboards",
        # the secure profile (tests/stack/test_secure.py runs the same files; .secure/ is made by its script)
        "./collector/secure/otelcol.yaml",
        "./collector/secure/jaeger.yaml",
        "./grafana/provisioning/dashboards",
        "./grafana/provisioning-secure/datasources",
        # the scale profile (tests/stack/test_scale.py runs the same files)
        "./collector/scale/tier1.yaml",
        "./collector/scale/gateway.yaml",
        "./collector/scale/prometheus.yml",
        "./collector/scale/rules",
        "./collector/scale/jaeger-kafka-writer.yaml",
        "./collector/scale/jaeger-kafka-ingester.yaml",
    }
    for path in mounted:
        assert (ROOT / path).exists(), path
    (prometheus,) = [svc for name, svc in compose["services"].items() if name == "prometheus"]
    flags = [f for f in prometheus["command"] if not f.startswith(("--config.file", "--storage.tsdb."))]
    assert flags == list(PROMETHEUS_FLAGS)  # the flags the stack tests run Prometheus with
    # One collector distribution for every profile: one manifest, every module at the builder's release, and every
    # compose collector service built from it.
    assert [m.name for m in (ROOT / "collector").rglob("builder-config.yaml")] == ["builder-config.yaml"]
    manifest = yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())
    versions = {
        m["gomod"].split()[-1]
        for kind in ("receivers", "processors", "exporters", "extensions", "connectors")
        for m in manifest.get(kind, [])
    }
    script = (ROOT / "scripts" / "stack-binaries.sh").read_text()
    assert versions == {script.split("OCB_VERSION=")[1].split()[0]}
    assert f"builder@{script.split('OCB_VERSION=')[1].split()[0]}" in (ROOT / "collector" / "Dockerfile").read_text()
    builds = {svc.get("build") for svc in compose["services"].values() if "otelcol" in svc.get("image", "")}
    assert builds == {"./collector"}


def test_dashboards_match_their_generator(tmp_path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("grafana_generate", ROOT / "grafana" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads((ROOT / "grafana" / "dashboards" / "llm-overview.json").read_text()) == module.overview()
    assert json.loads((ROOT / "grafana" / "dashboards" / "llm-traces.json").read_text()) == module.traces()
    rules_spec = importlib.util.spec_from_file_location("rules_generate", ROOT / "collector" / "rules" / "generate.py")
    rules_module = importlib.util.module_from_spec(rules_spec)
    rules_spec.loader.exec_module(rules_module)
    assert (ROOT / "collector" / "rules" / "llm.rules.yml").read_text() == rules_module.render()
    datasources = yaml.safe_load((ROOT / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    assert uids == {"prometheus", "jaeger"}
    for board in DASHBOARDS.values():
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] in uids

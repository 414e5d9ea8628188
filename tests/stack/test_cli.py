"""The ``llmtrace`` CLI against the real Prometheus and Jaeger after the seeded demo run: numbers equal the truth."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from typer.testing import CliRunner

from llmtrace.cli import app

from .conftest import SERVICE, Stack, WorkloadResult

runner = CliRunner()


def cli(stack: Stack, *argv: str) -> object:
    """Run one command with ``--json`` against the stack's backends; it must succeed."""
    prom, jaeger = ["--prometheus-url", stack.prometheus], ["--jaeger-url", stack.jaeger]
    urls = {"recent": jaeger, "trace": jaeger, "errors": prom + jaeger}.get(argv[0], prom)
    result = runner.invoke(app, [*argv, "--json", *urls])
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def _sum(rows: list[dict], **where: str) -> float:
    return sum(r["value"] for r in rows if all(r[k] == v for k, v in where.items()))


def test_stats_equal_ground_truth(stack: Stack, workload: WorkloadResult):
    truth = workload.truth
    got = cli(stack, "stats")
    assert got["calls"] == truth["totals"]["calls"]
    assert got["errors"] == truth["totals"]["errors"]
    assert got["tokens"] == {"input": truth["totals"]["tokens"]["input"], "output": truth["totals"]["tokens"]["output"]}
    assert abs(got["cost_usd"] - truth["totals"]["cost_usd"]) < 1e-9
    assert got["error_pct"] == pytest.approx(100 * truth["totals"]["errors"] / truth["totals"]["calls"])
    assert got["latency_avg_s"] > 0 and got["latency_p99_s"] >= got["latency_avg_s"]


@pytest.mark.parametrize("flag", ["model", "agent", "tenant", "provider"])
def test_stats_filters(stack: Stack, workload: WorkloadResult, flag: str):
    rows = workload.truth["calls"]
    value = sorted({r[flag] for r in rows})[0]
    got = cli(stack, "stats", f"--{flag}", value)
    assert got["calls"] == _sum(rows, **{flag: value})
    cost = _sum(workload.truth["cost_usd"], **{flag: value})
    assert abs(got["cost_usd"] - cost) < 1e-9


def test_injection_through_model_filter_is_escaped(stack: Stack, workload: WorkloadResult):
    got = cli(stack, "stats", "--model", 'x"} or vector(1) #')
    assert got["calls"] == 0 and got["cost_usd"] == 0


def test_models_table_equals_ground_truth(stack: Stack, workload: WorkloadResult):
    rows = cli(stack, "models", "--sort", "calls")
    truth = workload.truth
    assert [r["calls"] for r in rows] == sorted((r["calls"] for r in rows), reverse=True)
    assert {(r["provider"], r["model"]) for r in rows} == {(r["provider"], r["model"]) for r in truth["calls"]}
    for row in rows:
        key = {"provider": row["provider"], "model": row["model"]}
        assert row["calls"] == _sum(truth["calls"], **key)
        assert row["errors"] == _sum(truth["calls"], **key, status="error")
        assert row["tokens_in"] == _sum(truth["tokens"], **key, type="input")
        assert row["tokens_out"] == _sum(truth["tokens"], **key, type="output")
        assert abs(row["cost_usd"] - _sum(truth["cost_usd"], **key)) < 1e-9
        assert row["latency_p99_s"] > 0
        # local models have no list price: every successful call is counted as unpriced, and nothing else is
        unpriced = _sum(truth["calls"], **key, status="ok") if row["provider"] == "ollama" else 0
        assert row["unpriced_calls"] == unpriced
    assert any(r["ttft_p99_s"] for r in rows)
    assert any(r["unpriced_calls"] for r in rows)  # the workload includes Ollama


def test_models_table_says_unpriced_instead_of_zero_dollars(stack: Stack, workload: WorkloadResult):
    prom = ["--prometheus-url", stack.prometheus]
    result = runner.invoke(app, ["models", "--provider", "ollama", *prom], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    ollama_rows = [line for line in result.stdout.splitlines() if "ollama" in line]
    assert ollama_rows and all("unpriced" in line and "$0.00" not in line for line in ollama_rows)


def test_errors_by_type_and_model_with_trace_ids(stack: Stack, workload: WorkloadResult):
    rows = cli(stack, "errors")
    expected: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in workload.truth["calls"]:
        if r["status"] == "error":
            expected[(r["error_type"], r["provider"], r["model"])] += r["value"]
    assert {(r["error_type"], r["provider"], r["model"]): r["count"] for r in rows} == expected
    for row in rows:
        assert row["recent_trace_ids"], row
        for trace_id in row["recent_trace_ids"]:
            spans = cli(stack, "trace", trace_id)["spans"]
            assert spans[0]["attributes"]["llm.error.type"] == row["error_type"]


def test_recent_limit_errors_only_and_slow(stack: Stack, workload: WorkloadResult):
    rows = cli(stack, "recent", "--limit", "7")
    assert len(rows) == 7
    assert [r["time"] for r in rows] == sorted((r["time"] for r in rows), reverse=True)
    assert all(r["model"] and r["trace_id"] for r in rows)
    failed = cli(stack, "recent", "--errors-only", "--limit", "500")
    assert len(failed) == workload.truth["totals"]["errors"]
    assert all(r["error_type"] for r in failed)
    slow = cli(stack, "recent", "--slow-ms", "1000", "--limit", "500")
    assert slow and all(r["latency_ms"] >= 1000 for r in slow)


@pytest.mark.parametrize("flag", ["provider", "model", "agent", "tenant"])
def test_recent_filters_by_provider_model_agent_tenant(stack: Stack, workload: WorkloadResult, flag: str):
    calls = workload.truth["calls"]
    value = max({c[flag] for c in calls}, key=lambda v: _sum(calls, **{flag: v}))
    rows = cli(stack, "recent", f"--{flag}", value, "--limit", "1000", "--service", SERVICE)
    assert len(rows) == _sum(calls, **{flag: value}) > 0
    if flag in ("provider", "model"):
        assert {r[flag] for r in rows} == {value}


def test_trace_shows_attributes_without_content(stack: Stack, workload: WorkloadResult):
    (row,) = cli(stack, "recent", "--limit", "1")
    payload = cli(stack, "trace", row["trace_id"])
    attrs = payload["spans"][0]["attributes"]
    assert attrs["llm.model"] == row["model"] and "llm.prompt.hash" in attrs
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system_instructions")) for k in attrs)


def test_backend_answering_an_error_exits_2(stack: Stack):
    result = runner.invoke(app, ["stats", "--prometheus-url", stack.jaeger])  # Jaeger has no /api/v1/query
    assert result.exit_code == 2 and result.stderr.startswith("error: Prometheus ")
    assert result.stderr.count("\n") == 1


def test_doctor_reports_each_check(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    result = runner.invoke(
        app, ["doctor", "--json", "--prometheus-url", stack.prometheus, "--jaeger-url", stack.jaeger]
    )
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    assert checks["Prometheus ready"]["ok"] and checks["Jaeger ready"]["ok"] and checks["openai SDK"]["ok"]
    assert not checks["OTLP exporter"]["ok"] and result.exit_code == 1

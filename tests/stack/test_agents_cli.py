"""``llmtrace agents`` and ``llmtrace trace`` against the real Prometheus and Jaeger after the seeded demo run (the
session's stack and workload, as tests/stack/test_cli.py): per-agent figures and each run's tree equal the truth."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import pytest
from typer.testing import CliRunner

from llmtrace.cli import app
from llmtrace.semconv import RUN_COST_BUCKETS_USD

from .conftest import Stack, WorkloadResult
from .test_agents_dashboard import _within_buckets
from .test_cli import cli

runner = CliRunner()


def _runs(truth: dict[str, Any], **where: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for row in truth["runs"]:
        if all(row[k] == v for k, v in where.items()):
            out[row["agent"]] += row["value"]
    return out


def test_agents_equal_ground_truth(stack: Stack, workload: WorkloadResult):
    truth = workload.truth
    rows = {r["agent"]: r for r in cli(stack, "agents")}
    assert rows.keys() == truth["agents"].keys() == {"planner", "researcher", "writer"}
    for name, want in truth["agents"].items():
        row = rows[name]
        assert row["operation"] == "invoke_agent"
        assert (row["runs"], row["run_errors"], row["calls"]) == (want["runs"], want["run_errors"], want["calls"])
        assert (row["tool_calls"], row["tool_errors"]) == (want["tool_calls"], want["tool_errors"])
        assert row["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-12)
        assert row["cost_per_run_avg_usd"] == pytest.approx(want["cost_usd"] / want["runs"], rel=1e-9, abs=1e-12)
        assert row["calls_per_run_avg"] == want["calls"] / want["runs"]
        assert row["run_error_pct"] == pytest.approx(100 * want["run_errors"] / want["runs"])
        if want["tool_calls"]:
            assert row["tool_error_pct"] == pytest.approx(100 * want["tool_errors"] / want["tool_calls"])
        else:
            assert row["tool_error_pct"] is None
        costs = [r["cost_usd"] for r in truth["per_run"] if r["agent"] == name]
        for q in ("p50", "p99"):
            assert _within_buckets(row[f"cost_per_run_{q}_usd"], costs, RUN_COST_BUCKETS_USD), (name, q, row)
        assert 0 < row["duration_p50_s"] <= row["duration_p99_s"]
    assert truth["agents"]["researcher"]["tool_errors"] > 0 and truth["totals"]["run_errors"] > 0


def test_agents_filters_by_agent_and_tenant(stack: Stack, workload: WorkloadResult):
    truth = workload.truth
    (row,) = cli(stack, "agents", "--agent", "researcher")
    assert (row["agent"], row["runs"], row["tool_calls"]) == (
        "researcher",
        truth["agents"]["researcher"]["runs"],
        truth["agents"]["researcher"]["tool_calls"],
    )
    tenant = sorted({r["tenant"] for r in truth["runs"]})[0]
    rows = {r["agent"]: r for r in cli(stack, "agents", "--tenant", tenant)}
    assert {a: r["runs"] for a, r in rows.items()} == _runs(truth, tenant=tenant)
    failed = {a: r["run_errors"] for a, r in rows.items() if r["run_errors"]}
    assert failed == _runs(truth, tenant=tenant, status="error")
    # tool series carry no tenant: the figure is the agent's, whatever the tenant filter
    assert rows["researcher"]["tool_calls"] == truth["agents"]["researcher"]["tool_calls"]
    assert cli(stack, "agents", "--agent", 'x"} or vector(1) #') == []


def test_agents_table(stack: Stack, workload: WorkloadResult):
    result = runner.invoke(app, ["agents", "--prometheus-url", stack.prometheus], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    truth = workload.truth["agents"]["researcher"]
    (line,) = [line for line in result.stdout.splitlines() if "researcher" in line]
    cells = [c.strip() for c in line.strip("│ ").split("│")]
    assert cells[:2] == ["researcher", str(truth["runs"])]
    assert cells[-2] == str(truth["tool_calls"]) and cells[-1].startswith(f"{truth['tool_errors']} (")


def _agent_spans(stack: Stack) -> list[dict[str, Any]]:
    return [
        {t["key"]: t["value"] for t in span["tags"]}
        for trace in stack.jaeger_traces(limit="5000")
        for span in trace["spans"]
        if any(t["key"] == "llm.operation" and t["value"] == "invoke_agent" for t in span["tags"])
    ]


def test_every_run_span_carries_its_runs_rollup(stack: Stack, workload: WorkloadResult):
    """In Jaeger, each run's span has what that run did (the truth's runs, matched as a multiset)."""
    spans = _agent_spans(stack)
    fields = ("agent", "tenant", "error_type", "calls", "tool_calls", "tool_errors")
    got = Counter(
        (
            s["llm.agent"],
            s["llm.tenant"],
            s.get("llm.error.type", ""),
            s["llm.run.calls"],
            s["llm.run.tool_calls"],
            s["llm.run.tool_errors"],
        )
        for s in spans
    )
    assert got == Counter(tuple(r[f] for f in fields) for r in workload.truth["per_run"])
    got_cost = sorted(s["llm.run.cost_usd"] for s in spans)
    want_cost = sorted(r["cost_usd"] for r in workload.truth["per_run"])
    assert got_cost == pytest.approx(want_cost, rel=1e-9, abs=1e-12)


def _failed_tool_trace(stack: Stack) -> str:
    tags = json.dumps({"llm.operation": "execute_tool", "llm.success": "false"})
    traces = stack.jaeger_traces(tags=tags, limit="1")
    assert traces, "no run with a failed tool in jaeger"
    return traces[0]["traceID"]


def test_trace_shows_the_run_as_a_tree_with_cost_per_node(stack: Stack, workload: WorkloadResult):
    """A researcher run with a failed tool: on the plain API one call then its tools, through the Agents SDK a call
    before each tool (the model asks for it) and one after the last."""
    trace_id = _failed_tool_trace(stack)
    payload = cli(stack, "trace", trace_id)
    (root,) = payload["tree"]
    calls = [c for c in root["children"] if c["kind"] == "llm"]
    tools = [c for c in root["children"] if c["kind"] == "tool"]
    assert (root["kind"], root["name"], root["calls"]) == ("agent", "invoke_agent researcher", len(calls))
    assert len(root["children"]) == len(calls) + len(tools) and tools and len(calls) in (1, len(tools) + 1)
    run_cost = math.fsum(c["cost_usd"] or 0.0 for c in calls)
    assert root["cost_usd"] == pytest.approx(run_cost, rel=1e-12)  # the run's cost is its calls'
    assert (root["tool_calls"], root["tool_errors"]) == (len(tools), sum(1 for t in tools if t["error_type"]))
    assert {t["error_type"] for t in tools} <= {None, "TimeoutError", "ConnectionError"}
    assert all(c["children"] == [] for c in root["children"])
    # the flat list of spans, as before: the LLM calls' attributes first
    assert payload["spans"][0]["attributes"]["llm.model"] == calls[0]["model"]
    result = runner.invoke(app, ["trace", trace_id, "--jaeger-url", stack.jaeger], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"trace {trace_id}" and lines[1].startswith("└── invoke_agent researcher  $")
    assert sum("execute_tool " in line for line in lines[2 : 2 + len(root["children"])]) == len(tools)


def test_agents_sdk_runs_are_in_jaeger_as_runs_with_their_calls_and_tools(stack: Stack, workload: WorkloadResult):
    """The workload's openai researcher runs went through the OpenAI Agents SDK: each that got to its tools is an
    agent span with a call per turn, one more than its tool executions, as the truth counts them (a plain-API run,
    or one whose first call failed, makes one call)."""
    assert workload.truth["drivers"]["openai-agents"] > 0
    researcher = [s for s in _agent_spans(stack) if s["llm.agent"] == "researcher"]
    sdk_runs = [s for s in researcher if s["llm.run.calls"] > 1]
    assert sdk_runs and all(s["llm.run.calls"] == s["llm.run.tool_calls"] + 1 for s in sdk_runs)
    want = [r for r in workload.truth["per_run"] if r["agent"] == "researcher" and r["calls"] > 1]
    assert len(sdk_runs) == len(want)
    assert sum(s["llm.run.tool_errors"] for s in sdk_runs) == sum(r["tool_errors"] for r in want) > 0

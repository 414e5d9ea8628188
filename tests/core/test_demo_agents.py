"""The demo workload as agent runs: every call inside a run of its agent, the researcher's tools failing and retried,
and the run metrics, spans and rollups llmtrace records in-process equal the workload's ground truth exactly."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from typer.testing import CliRunner

from llmtrace.cli import app, fmt_usd
from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.runs import TOOL_ATTEMPTS, plan_tools
from llmtrace.demo.summary import summarize, summarize_agents
from llmtrace.demo.workload import WorkloadConfig, plan_calls, run_workload

from .._truth import assert_metrics_equal_truth, metric_points, truth_rows

CONFIG = WorkloadConfig(calls=45, seed=4, providers=("openai", "anthropic"), fault_rate=0.3)
RUN_KEYS = ("operation", "agent", "tenant")


@pytest.fixture
def truth(instrumented) -> dict[str, Any]:
    with FakeProviderServer(seed=CONFIG.seed) as server:
        return run_workload(server, CONFIG).to_json()


def _histograms(telemetry, name: str) -> dict[tuple[str, ...], tuple[float, int]]:
    """(sum, count) of histogram ``name`` by the run labels."""
    out: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0])
    for attrs, point in telemetry.points(name):
        key = tuple(str(attrs.get(k, "")) for k in RUN_KEYS)
        out[key][0] += point.sum
        out[key][1] += point.count
    return {k: (v[0], int(v[1])) for k, v in out.items()}


def test_run_and_tool_metrics_equal_ground_truth(instrumented, truth):
    assert_metrics_equal_truth(instrumented, truth)  # the calls' numbers are what they were without runs
    run_keys = (*RUN_KEYS, "status", "error_type")
    assert metric_points(instrumented, "llm.runs", run_keys) == truth_rows(truth["runs"], run_keys)
    tool_keys = ("tool", "agent", "status", "error_type")
    assert metric_points(instrumented, "llm.tool.calls", tool_keys) == truth_rows(truth["tool_calls"], tool_keys)
    runs = truth_rows(truth["runs"], RUN_KEYS)
    cost, calls = _histograms(instrumented, "llm.run.cost.usd"), _histograms(instrumented, "llm.run.calls")
    assert cost.keys() == calls.keys() == runs.keys()
    for key, expected in truth_rows(truth["run_cost_usd"], RUN_KEYS).items():
        assert cost[key] == (pytest.approx(expected, rel=1e-9, abs=1e-15), runs[key])
    assert {k: v for k, (v, _) in calls.items()} == truth_rows(truth["run_calls"], RUN_KEYS)
    totals = truth["totals"]
    assert totals["runs"] == totals["traces"] == CONFIG.calls < totals["calls"]  # Agents SDK runs make several
    assert truth["drivers"]["openai-agents"] > 0 and truth["drivers"]["llmtrace.agent"] > 0
    assert totals["run_errors"] == totals["errors"] > 0  # a call that fails ends its run with the exception
    assert 0 < totals["tool_errors"] < totals["tool_calls"]
    assert {r["status"] for r in truth["tool_calls"] if r["tool"] == "fetch_page"} == {"ok", "error"}


def test_demo_agents_summary_equals_per_run_truth(truth):
    """``agents`` adds up ``per_run``, and the researcher is the only agent with tools."""
    agents = truth["agents"]
    assert set(agents) == {"planner", "researcher", "writer"}
    assert agents["researcher"]["tool_calls"] > 0 and agents["planner"]["tool_calls"] == 0
    for name, row in agents.items():
        mine = [r for r in truth["per_run"] if r["agent"] == name]
        assert row["runs"] == len(mine) == CONFIG.calls // 3
        assert row["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in mine))
        assert row["tool_errors"] == sum(r["tool_errors"] for r in mine)


def test_each_call_runs_inside_its_agent_and_each_run_is_a_trace(instrumented, truth):
    spans = instrumented.spans()
    by_id = {s.context.span_id: s for s in spans}
    runs = [s for s in spans if s.attributes.get("llm.operation") == "invoke_agent"]
    calls = [s for s in spans if "llm.provider" in s.attributes]
    tools = [s for s in spans if s.attributes.get("llm.operation") == "execute_tool"]
    assert len(runs) == CONFIG.calls and len(calls) == truth["totals"]["calls"]
    assert len(tools) == truth["totals"]["tool_calls"]
    assert all(s.parent is None for s in runs)  # one trace per run
    for span in calls + tools:
        parent = by_id[span.parent.span_id]
        assert parent.name == f"invoke_agent {span.attributes['llm.agent']}"
    assert {t.attributes["llm.agent"] for t in tools} == {"researcher"}
    # the rollup on each run's span equals what that run did (runs end in plan order)
    for span, expected in zip(runs, truth["per_run"], strict=True):
        attrs = span.attributes
        assert (attrs["llm.agent"], attrs["llm.tenant"], attrs["llm.session"].startswith("task-")) == (
            expected["agent"],
            expected["tenant"],
            True,
        )
        assert (attrs["llm.run.calls"], attrs["llm.run.tool_calls"], attrs["llm.run.tool_errors"]) == (
            expected["calls"],
            expected["tool_calls"],
            expected["tool_errors"],
        )
        assert attrs["llm.run.cost_usd"] == pytest.approx(expected["cost_usd"], rel=1e-9, abs=1e-15)
        assert attrs.get("llm.error.type", "") == expected["error_type"]


def test_tool_plans_are_seeded_and_retry_only_failures():
    steps = [step for index in range(200) for step in plan_tools(7, index)]
    assert steps == [step for index in range(200) for step in plan_tools(7, index)]  # seeded
    for step in steps:
        assert 1 <= len(step.fails) <= TOOL_ATTEMPTS
        assert all(step.fails[:-1])  # retried only after a failure
        assert len(step.fails) == TOOL_ATTEMPTS or not step.fails[-1]  # stops at a success or at the limit
    assert any(len(s.fails) > 1 and not s.fails[-1] for s in steps)  # a failure that a retry got past
    assert any(len(s.fails) == TOOL_ATTEMPTS and s.fails[-1] for s in steps)  # one that the agent gave up on
    first = plan_calls(CONFIG)
    assert [p.agent for p in first[:3]] == ["planner", "researcher", "writer"] and plan_calls(CONFIG) == first


def test_summary_per_agent_equals_ground_truth(instrumented, truth):
    """What the demo prints per agent, read from the in-process metrics, is the truth."""
    rows = {r.agent: r for r in summarize_agents(instrumented.reader.get_metrics_data())}
    assert rows.keys() == truth["agents"].keys()
    for name, want in truth["agents"].items():
        got = rows[name]
        assert (got.runs, got.run_errors, got.calls, got.tool_calls, got.tool_errors) == (
            want["runs"],
            want["run_errors"],
            want["calls"],
            want["tool_calls"],
            want["tool_errors"],
        )
        assert got.cost_usd == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-15)
        costs = [r["cost_usd"] for r in truth["per_run"] if r["agent"] == name]
        assert got.cost_p50_usd is not None and got.cost_p99_usd is not None and got.duration_p99_s is not None
        assert 0 <= got.cost_p50_usd <= got.cost_p99_usd <= 2 * max(costs) + 1e-4  # inside the top bucket at most
    assert {r.provider for r in summarize(instrumented.reader.get_metrics_data())} == {"openai", "anthropic"}


def test_demo_prints_agent_runs_beside_the_truth(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    truth_file = tmp_path / "truth.json"
    argv = ["demo", "--calls", "9", "--providers", "openai", "--fault-rate", "0.4", "--seed", "2"]
    result = CliRunner().invoke(app, [*argv, "--truth", str(truth_file)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    agents = json.loads(truth_file.read_text())["agents"]
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│ ")}
    for name, want in agents.items():
        cells = [c.strip() for c in lines[name].strip("│ ").split("│")]
        assert cells[1:7] == [
            f"{want['runs']} / {want['runs']}",
            f"{want['run_errors']} / {want['run_errors']}",
            f"{fmt_usd(want['cost_usd'])} / {fmt_usd(want['cost_usd'])}",
            f"{want['calls']} / {want['calls']}",
            f"{want['tool_calls']} / {want['tool_calls']}",
            f"{want['tool_errors']} / {want['tool_errors']}",
        ], lines[name]
    assert agents["researcher"]["tool_calls"] > 0


def test_workflow_mode_nests_each_task_and_rolls_it_up(instrumented):
    """``workflow=``: each task's three agent runs inside one ``invoke_workflow`` run (one trace per task), whose
    rollup, metrics and span equal its agents' truth added up; the calls' numbers do not move."""
    config = WorkloadConfig(calls=18, seed=4, providers=("openai",), fault_rate=0.3, workflow="research-task")
    with FakeProviderServer(seed=config.seed) as server:
        truth = run_workload(server, config).to_json()
    assert_metrics_equal_truth(instrumented, truth)
    run_keys = (*RUN_KEYS, "status", "error_type")
    assert metric_points(instrumented, "llm.runs", run_keys) == truth_rows(truth["runs"], run_keys)
    key = ("invoke_workflow", "research-task", "")
    calls = truth["totals"]["calls"]  # 18 plans; the Agents SDK's researcher runs make several calls each
    assert truth_rows(truth["runs"], RUN_KEYS)[key] == 6 and truth_rows(truth["run_calls"], RUN_KEYS)[key] == calls
    assert calls > 18 and truth["totals"]["traces"] == 6
    cost = _histograms(instrumented, "llm.run.cost.usd")[key]
    assert cost == (pytest.approx(truth_rows(truth["run_cost_usd"], RUN_KEYS)[key], rel=1e-9), 6)
    spans = instrumented.spans()
    by_id = {s.context.span_id: s for s in spans}
    workflows = [s for s in spans if s.name == "invoke_workflow research-task"]
    assert len(workflows) == 6 and all(s.parent is None for s in workflows)
    for span in spans:
        if span.attributes.get("llm.operation") == "invoke_agent":
            assert by_id[span.parent.span_id] in workflows
    expected = [r for r in truth["per_run"] if r["agent"] == "research-task"]
    for span, want in zip(workflows, expected, strict=True):
        assert (span.attributes["llm.run.calls"], span.attributes["llm.run.tool_calls"]) == (
            want["calls"],
            want["tool_calls"],
        )
        assert span.attributes["llm.run.cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-15)
    assert len({s.context.trace_id for s in spans}) == 6
    rows = summarize_agents(instrumented.reader.get_metrics_data())
    summary = {r.agent: (r.runs, r.calls, r.tool_calls) for r in rows}
    assert summary == {a: (r["runs"], r["calls"], r["tool_calls"]) for a, r in truth["agents"].items()}
    assert summary["research-task"] == (6, calls, 0)  # its tools are counted under the researcher that ran them

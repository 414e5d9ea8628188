"""The demo's openai researcher on the real OpenAI Agents SDK (``Runner.run`` on the real ``openai`` client, over
HTTP to the fake server): each run is an ``invoke_agent`` span with its LLM calls and ``execute_tool`` spans inside,
in the order the scripted model asked for the tools, and its rollup equals the workload's truth, which is checked
against the plan itself (not against llmtrace). Without the SDK, the same plans run on the plain API, in one line.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from typer.testing import CliRunner

from llmtrace.cli import app
from llmtrace.demo.agents_sdk import FRAMEWORK, turn_faults
from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.runs import TOOLS, ToolStep, plan_tools
from llmtrace.demo.workload import FAULTS, WorkloadConfig, plan_calls, run_workload
from llmtrace.semconv import Attr

CONFIG = WorkloadConfig(calls=30, seed=4, providers=("openai",), fault_rate=0.3)


@pytest.fixture
def truth(instrumented) -> dict[str, Any]:
    with FakeProviderServer(seed=CONFIG.seed) as server:
        return run_workload(server, CONFIG).to_json()


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    mine = [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]
    return sorted(mine, key=lambda s: s.start_time)


def _expected_tools(plan: Any) -> list[tuple[str, str | None]]:
    """(tool, error type) of every attempt the plan's researcher makes, in order: from the plan, not the demo."""
    steps = plan_tools(CONFIG.seed, plan.index)
    return [(s.tool, TOOLS[s.tool].__qualname__ if fails else None) for s in steps for fails in s.fails]


def test_agents_sdk_runs_are_agent_spans_with_tools_and_rollups_equal_to_the_truth(instrumented, truth):
    plans = plan_calls(CONFIG)
    sdk_plans = [p for p in plans if p.framework == FRAMEWORK]
    assert [p.agent for p in sdk_plans] == ["researcher"] * (CONFIG.calls // 3)  # every openai researcher run
    assert all(not p.streaming for p in sdk_plans)  # Runner.run, non-streamed
    assert truth["drivers"] == {FRAMEWORK: len(sdk_plans), "llmtrace.agent": CONFIG.calls - len(sdk_plans)}
    spans = instrumented.spans()
    runs = [s for s in spans if s.attributes.get(Attr.OPERATION) == "invoke_agent"]  # in end order: plan order
    failed_runs = 0
    for plan, run, want in zip(plans, runs, truth["per_run"], strict=True):
        if plan.framework != FRAMEWORK:
            continue
        assert run.name == "invoke_agent researcher" and run.parent is None
        assert (run.attributes[Attr.TENANT], run.attributes[Attr.SESSION]) == (plan.tenant, f"task-{plan.index // 3}")
        children = _children(spans, run)
        calls = [c for c in children if c.kind is SpanKind.CLIENT]
        tools = [c for c in children if c.attributes.get(Attr.OPERATION) == "execute_tool"]
        assert len(children) == len(calls) + len(tools)
        assert {c.name for c in calls} == {f"responses {plan.model}"}
        error = FAULTS.get(plan.fault, (None, 1))[0]
        if error is not None:  # the first call failed for good: the run ends with the SDK's exception, no tools
            failed_runs += 1
            assert (len(calls), tools) == (1, [])
            assert calls[0].attributes[Attr.ERROR_TYPE] == error
            assert run.status.status_code is StatusCode.ERROR
            assert run.attributes[Attr.ERROR_TYPE] == want["error_type"] != ""
        else:
            # call, tool, call, tool, ..., call: each tool the one its call asked for, failed ones asked for again
            expected = _expected_tools(plan)
            call = f"responses {plan.model}"
            assert [c.name for c in children] == [call, *(n for t, _ in expected for n in (f"execute_tool {t}", call))]
            assert [(t.attributes[Attr.TOOL_NAME], t.attributes.get(Attr.ERROR_TYPE)) for t in tools] == expected
            for asked, tool in zip(calls, tools, strict=False):
                assert list(asked.attributes[Attr.RESPONSE_TOOL_CALL_IDS]) == [tool.attributes[Attr.TOOL_CALL_ID]]
            # the truth is what the plan says the run does (computed by the demo, not read from llmtrace)
            assert (want["calls"], want["tool_calls"]) == (len(expected) + 1, len(expected))
            assert want["tool_errors"] == sum(1 for _, e in expected if e) and want["status"] == "ok"
            assert run.status.status_code is StatusCode.UNSET
        attrs = run.attributes
        assert (attrs[Attr.RUN_CALLS], attrs[Attr.RUN_TOOL_CALLS], attrs[Attr.RUN_TOOL_ERRORS]) == (
            want["calls"],
            want["tool_calls"],
            want["tool_errors"],
        )
        assert len(calls) == want["calls"]
        cost = math.fsum(c.attributes.get(Attr.COST_USD, 0.0) for c in calls)
        assert attrs[Attr.RUN_COST_USD] == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-15)
        assert cost == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-15)
    assert 0 < failed_runs < len(sdk_plans)
    researcher = truth["agents"]["researcher"]
    assert researcher["tool_errors"] > 0 and researcher["calls"] > researcher["runs"]


def test_turn_faults_script_the_model_from_tool_to_tool():
    steps = (ToolStep("web_search", (True, False)), ToolStep("fetch_page", (False,)))
    script = ["tool_call:web_search", "tool_call:fetch_page", "ok"]
    assert turn_faults("ok", steps) == ["tool_call:web_search", *script]
    # the plan's retried attempts come before the first tool call; a failure for good ends the run on turn one
    assert turn_faults("rate_limit,ok", steps) == ["rate_limit,tool_call:web_search", *script]
    assert turn_faults("auth", steps)[0] == "auth"


def test_the_workload_is_the_same_on_a_rerun(instrumented):
    """Seeded: the Agents SDK sends the fake server's ids back in its next turn, and the ids are the same too."""
    config = WorkloadConfig(calls=9, seed=2, providers=("openai",), fault_rate=0.3)
    truths = []
    for _ in range(2):
        with FakeProviderServer(seed=config.seed) as server:
            truths.append(run_workload(server, config).to_json())
    assert truths[0] == truths[1] and truths[0]["drivers"][FRAMEWORK] == 3


def test_without_the_sdk_its_runs_use_the_plain_api_and_the_demo_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "agents", None)  # `import agents` raises ImportError, as when not installed
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    truth_file = tmp_path / "truth.json"
    argv = ["demo", "--calls", "9", "--providers", "openai", "--seed", "2", "--truth", str(truth_file)]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    truth = json.loads(truth_file.read_text())
    assert truth["drivers"] == {"llmtrace.agent": 9} and truth["fallbacks"] == {FRAMEWORK: 3}
    assert truth["totals"]["calls"] == 9 and truth["agents"]["researcher"]["tool_calls"] > 0  # one call per run
    notes = [line for line in result.stdout.splitlines() if "not installed" in line]
    assert notes == [f"{FRAMEWORK} is not installed: its 3 runs used llmtrace.agent on the plain API instead."]
    assert "Agent runs: 9 with llmtrace.agent (plain API)." in result.stdout

"""``llmtrace agents`` queries and ``llmtrace trace``'s tree, without a stack (tests/stack/test_agents_cli.py runs
both against the real Prometheus and Jaeger)."""

from __future__ import annotations

import json

import promql_parser
import pytest
from typer.testing import CliRunner

from llmtrace.cli import app
from llmtrace.queries import Filters, QueryBuilder
from llmtrace.semconv import PromName
from tests._fake_backends import FakeJaeger, closed_port

runner = CliRunner()


def _parse(expr: str) -> object:
    """promql-parser predates Prometheus 3.16's ``anchored``, which the stack tests run for real."""
    assert "[3600s] anchored)" in expr
    return promql_parser.parse(expr.replace("] anchored)", "])"))


def test_every_agents_query_parses_with_the_filters_each_series_has():
    q = QueryBuilder(Filters(agent='re"searcher', tenant="acme"), 3600)
    by = "operation, agent"
    run_queries = [
        q.runs(by),
        q.run_errors(by),
        q.run_sum(PromName.RUN_COST, by),
        q.run_average(PromName.RUN_CALLS, by),
        q.quantile(PromName.RUN_COST, 0.99, by, attribution=True),
        q.quantile(PromName.RUN_DURATION, 0.5, by, attribution=True),
    ]
    for expr in run_queries:
        _parse(expr)
        assert 'agent="re\\"searcher"' in expr and 'tenant="acme"' in expr
    for expr in (q.tool_calls("agent"), q.tool_errors("agent")):
        _parse(expr)
        assert 'agent="re\\"searcher"' in expr and "tenant" not in expr  # tool series have no tenant label
    assert 'status="error"' in q.tool_errors() and 'status="error"' in q.run_errors()
    assert "llm_run_cost_usd_bucket" in run_queries[4] and "by (operation, agent, le)" in run_queries[4]


def test_agents_with_an_unreachable_prometheus_is_one_line_and_exit_2():
    result = runner.invoke(app, ["agents", "--json", "--prometheus-url", closed_port()])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: Prometheus unreachable at ")


_TRACE_ID = "5b8aa5a2d2c872e8321cf37308d69df2"


def _span(span_id: str, parent: str | None, name: str, start: int, tags: dict[str, object]) -> dict[str, object]:
    refs = [{"refType": "CHILD_OF", "traceID": _TRACE_ID, "spanID": parent}] if parent else []
    kinds = {bool: "bool", int: "int64", float: "float64", str: "string"}
    return {
        "traceID": _TRACE_ID,
        "spanID": span_id,
        "operationName": name,
        "references": refs,
        "startTime": 1_700_000_000_000_000 + start,
        "duration": 4_000,
        "processID": "p1",
        "tags": [{"key": k, "type": kinds[type(v)], "value": v} for k, v in tags.items()],
    }


# As Jaeger stores a researcher run: the LLM call, then a failed search and its retry (children in any order).
_RUN = {
    "traceID": _TRACE_ID,
    "processes": {"p1": {"serviceName": "app"}},
    "spans": [
        _span(
            "0000000000000003",
            "0000000000000001",
            "execute_tool web_search",
            300,
            {"llm.operation": "execute_tool", "llm.tool.name": "web_search", "llm.error.type": "TimeoutError"},
        ),
        _span(
            "0000000000000002",
            "0000000000000001",
            "chat gpt-4o-mini",
            100,
            {"llm.provider": "openai", "llm.model": "gpt-4o-mini", "llm.cost_usd": 0.000123, "llm.tokens.input": 33},
        ),
        _span(
            "0000000000000004",
            "0000000000000001",
            "execute_tool web_search",
            400,
            {"llm.operation": "execute_tool", "llm.tool.name": "web_search", "llm.success": True},
        ),
        _span(
            "0000000000000001",
            None,
            "invoke_agent researcher",
            0,
            {
                "llm.operation": "invoke_agent",
                "llm.agent": "researcher",
                "llm.run.cost_usd": 0.000123,
                "llm.run.calls": 1,
                "llm.run.tool_calls": 2,
                "llm.run.tool_errors": 1,
            },
        ),
    ],
}


def test_trace_json_has_the_tree_with_cost_per_node():
    with FakeJaeger({_TRACE_ID: _RUN}) as jaeger:
        result = runner.invoke(app, ["trace", _TRACE_ID, "--jaeger-url", jaeger.url, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # the flat list: LLM calls first (as when a trace was one call), then the rest, each in start order
    spans = [(s["span_id"], s["parent_span_id"]) for s in payload["spans"]]
    assert spans == [("0000000000000002", "0000000000000001")] + [
        (f"000000000000000{n}", "0000000000000001" if n > 1 else None) for n in (1, 3, 4)
    ]
    (root,) = payload["tree"]
    assert (root["kind"], root["name"], root["cost_usd"], root["calls"]) == (
        "agent",
        "invoke_agent researcher",
        0.000123,
        1,
    )
    assert (root["tool_calls"], root["tool_errors"]) == (2, 1)
    children = [(c["kind"], c["span_id"], c["cost_usd"], c["error_type"]) for c in root["children"]]
    assert children == [  # in start order
        ("llm", "0000000000000002", 0.000123, None),
        ("tool", "0000000000000003", None, "TimeoutError"),
        ("tool", "0000000000000004", None, None),
    ]
    assert root["children"][0]["model"] == "gpt-4o-mini" and root["children"][0]["tokens_in"] == 33


def test_trace_prints_the_tree_before_the_attributes():
    with FakeJaeger({_TRACE_ID: _RUN}) as jaeger:
        result = runner.invoke(app, ["trace", _TRACE_ID, "--jaeger-url", jaeger.url], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"trace {_TRACE_ID}"
    assert lines[1].startswith("└── invoke_agent researcher  $0.000123  4.0 ms  1 LLM call, 2 tool calls (1 failed)")
    assert lines[2].strip(" │├└─").startswith("chat gpt-4o-mini  $0.000123  4.0 ms  33 in / - out")
    assert lines[3].strip(" │├└─") == "execute_tool web_search  4.0 ms  error TimeoutError"
    assert lines[4].strip(" │├└─") == "execute_tool web_search  4.0 ms"
    assert "llm.run.tool_errors" in result.stdout  # then every span's attributes, as before


@pytest.mark.parametrize("orphan_parent", ["ffffffffffffffff", None])
def test_a_span_whose_parent_is_missing_is_a_root(orphan_parent):
    spans = [
        _span("0000000000000002", orphan_parent, "chat gpt-4o-mini", 0, {"llm.provider": "openai"}),
        _span("0000000000000001", None, "invoke_agent planner", 10, {"llm.operation": "invoke_agent"}),
    ]
    trace = {**_RUN, "spans": spans}
    with FakeJaeger({_TRACE_ID: trace}) as jaeger:
        result = runner.invoke(app, ["trace", _TRACE_ID, "--jaeger-url", jaeger.url, "--json"])
    assert [(n["kind"], n["children"]) for n in json.loads(result.stdout)["tree"]] == [("llm", []), ("agent", [])]

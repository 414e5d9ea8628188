"""Every number on the "LLM agents" dashboard equals what the demo's agents did; quantiles stay in their buckets.

A small version of test_dashboard_numbers.py's workload, on a stack of its own, with its helpers: one long-lived
process (instrumented once, exporting every 2 s) and one short-lived ``llmtrace demo`` that exports at exit. The
panel queries are evaluated as Grafana does (variables at All, ``$__range``/``$__interval``/``$__rate_interval`` as
Grafana computes them) over the whole run. Counts, sums and means come from the workload's ground truth (runs per
agent and outcome, each run's cost and calls, each tool execution); quantiles are checked against the buckets that
hold the observed values (each run's cost and calls from the truth, durations from the agent and tool spans).
"""

from __future__ import annotations

import importlib.util
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from llmtrace.semconv import LATENCY_BUCKETS_S, RUN_CALLS_BUCKETS, RUN_COST_BUCKETS_USD, RUN_DURATION_BUCKETS_S

from .conftest import ROOT, Stack, running_stack, wait_until
from .test_dashboard_numbers import (
    SERVICE,
    DashboardRange,
    LongLived,
    _after_next_step,
    _arrived,
    _assert_equal,
    _grouped,
    _keys,
    _short_lived,
    _sleep_until,
)

BOARD = json.loads((ROOT / "grafana" / "dashboards" / "llm-agents.json").read_text())


@dataclass
class AgentsRun:
    """The stack after the workload, the dashboard range that covers it, and what happened in it."""

    stack: Stack
    range: DashboardRange
    truths: list[dict[str, Any]]
    run_durations: dict[str, list[float]]  # agent -> seconds, from the invoke_agent spans
    tool_durations: dict[str, list[float]]  # tool -> seconds, from the execute_tool spans

    def rows(self, kind: str, **where: str) -> list[dict[str, Any]]:
        return [r for t in self.truths for r in t[kind] if all(r[k] == v for k, v in where.items())]

    def per_run(self) -> list[dict[str, Any]]:
        return [r for t in self.truths for r in t["per_run"]]


def _span_durations(stack: Stack) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    runs: dict[str, list[float]] = defaultdict(list)
    tools: dict[str, list[float]] = defaultdict(list)
    for trace in stack.jaeger_traces(service=SERVICE, limit="5000"):
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span["tags"]}
            if tags.get("llm.operation") == "invoke_agent":
                runs[tags["llm.agent"]].append(tags["llm.latency_ms"] / 1000)
            elif tags.get("llm.operation") == "execute_tool":
                tools[tags["llm.tool.name"]].append(tags["llm.latency_ms"] / 1000)
    return runs, tools


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, stack_binaries: dict[str, str]) -> Iterator[AgentsRun]:
    tmp = tmp_path_factory.mktemp("agents-dashboard")
    with running_stack(tmp, stack_binaries) as stack:
        started = math.floor(time.time()) - 60
        service = LongLived(stack)
        try:
            truths = [service.calls(seed=301)]
        finally:
            service.stop()
        truths.append(_short_lived(stack, 302, tmp))
        _arrived(stack, truths)
        runs = sum(t["totals"]["runs"] for t in truths)
        query = f'sum(last_over_time(llm_runs_total{{service_name="{SERVICE}"}}[1h]))'
        wait_until(lambda: stack.scalar(query) == runs, 60, f"{runs} runs in prometheus")
        wait_until(lambda: sum(map(len, _span_durations(stack)[0].values())) == runs, 60, "agent spans in jaeger")
        end = _after_next_step(time.time())
        _sleep_until(end)
        yield AgentsRun(stack, DashboardRange(started, end), truths, *_span_durations(stack))


# -- what each panel must show -------------------------------------------------------------------------------------


def _pct(part: dict[tuple[str, ...], float], whole: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    return {k: 100 * part.get(k, 0.0) / n for k, n in whole.items()}


def _ratio(part: dict[tuple[str, ...], float], whole: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    return {k: part[k] / n for k, n in whole.items()}


def _runs(r: AgentsRun, keys: tuple[str, ...], **where: str) -> dict[tuple[str, ...], float]:
    return _grouped(r.rows("runs", **where), keys)


def _tools(r: AgentsRun, keys: tuple[str, ...], **where: str) -> dict[tuple[str, ...], float]:
    return _grouped(r.rows("tool_calls", **where), keys)


# Panel title or table column -> the truth it shows, keyed by the query's labels (counts, sums and means: exact).
EXPECTED = {
    "Runs": lambda r, k: _runs(r, k),
    "Failed runs": lambda r, k: _runs(r, k, status="error"),  # an agent without failures shows 0
    "Failed runs %": lambda r, k: _pct(_runs(r, k, status="error"), _runs(r, k)),
    "Cost": lambda r, k: _grouped(r.rows("run_cost_usd"), k),
    "Cost per run": lambda r, k: _ratio(_grouped(r.rows("run_cost_usd"), k), _runs(r, k)),
    "Calls per run": lambda r, k: _ratio(_grouped(r.rows("run_calls"), k), _runs(r, k)),
    "Tool calls": lambda r, k: _tools(r, k),
    "Failed": lambda r, k: _tools(r, k, status="error"),
    "Tool error %": lambda r, k: _pct(_tools(r, k, status="error"), _tools(r, k)),
    "Runs by agent and outcome": lambda r, k: _runs(r, k),
    "Tool calls by tool and outcome": lambda r, k: _tools(r, k),
}


def _observed(r: AgentsRun, name: str) -> tuple[dict[str, list[float]], tuple[float, ...]]:
    """A quantile's observations by the label its series carry (agent or tool), and the histogram's buckets."""
    per_agent: dict[str, list[float]] = defaultdict(list)
    if "duration" in name.lower() and "tool" in name.lower():
        return r.tool_durations, LATENCY_BUCKETS_S
    if "duration" in name.lower():
        return r.run_durations, RUN_DURATION_BUCKETS_S
    field, bounds = ("calls", RUN_CALLS_BUCKETS) if "calls" in name.lower() else ("cost_usd", RUN_COST_BUCKETS_USD)
    for each in r.per_run():
        per_agent[each["agent"]].append(each[field])
    return per_agent, bounds


def _within_buckets(value: float, observed: list[float], bounds: tuple[float, ...]) -> bool:
    """Inside the buckets holding the observations: from the bound below the smallest to the one at the largest."""
    low = max([0.0, *(b for b in bounds if b < min(observed))])
    high = min([math.inf, *(b for b in bounds if b >= max(observed))])
    return low <= value <= high


def _is_quantile(name: str) -> bool:
    return " p50" in name or " p99" in name


def _instant(r: AgentsRun, target: dict[str, Any]) -> tuple[tuple[str, ...], dict[tuple[str, ...], float]]:
    result = r.range.evaluate(r.stack, target)
    keys = _keys(result)
    values = {tuple(x["metric"][k] for k in keys): float(x["value"][1]) for x in result}
    return keys, {k: v for k, v in values.items() if not math.isnan(v)}


def _panels(kind: str) -> list[dict[str, Any]]:
    return [p for p in BOARD["panels"] if p["type"] == kind]


def _base(title: str) -> str:
    return title.split(" (")[0]


def _check_instant(r: AgentsRun, where: str, name: str, target: dict[str, Any]) -> None:
    keys, got = _instant(r, target)
    assert got, f"{where}: no data"
    if not _is_quantile(name):
        _assert_equal(where, got, EXPECTED[_base(name)](r, keys))
        return
    observed, bounds = _observed(r, name)
    for key, value in got.items():
        values = observed[key[0]] if keys else [v for vs in observed.values() for v in vs]
        assert _within_buckets(value, values, bounds), (where, key, value, sorted(values))


@pytest.mark.parametrize("title", [p["title"] for p in _panels("stat")])
def test_stat_panel_equals_truth(run: AgentsRun, title: str):
    (panel,) = [p for p in _panels("stat") if p["title"] == title]
    for target in panel["targets"]:
        _check_instant(run, title, title, target)


@pytest.mark.parametrize("title", [p["title"] for p in _panels("table")])
def test_table_cells_equal_truth(run: AgentsRun, title: str):
    (panel,) = [p for p in _panels("table") if p["title"] == title]
    names = panel["transformations"][1]["options"]["renameByName"]
    for target in panel["targets"]:
        column = names[f"Value #{target['refId']}"]
        _check_instant(run, f"{title} / {column}", column, target)


@pytest.mark.parametrize("title", [p["title"] for p in _panels("timeseries") if "per interval" in p["title"]])
def test_interval_bars_add_up_to_truth(run: AgentsRun, title: str):
    """Each point is what happened in its interval, so a series' points add up to the range's total."""
    (panel,) = [p for p in _panels("timeseries") if p["title"] == title]
    (target,) = panel["targets"]
    result = run.range.evaluate(run.stack, target)
    keys = _keys(result)
    got = {tuple(r["metric"][k] for k in keys): sum(float(v) for _, v in r["values"]) for r in result}
    want = EXPECTED[_base(title)](run, keys)
    _assert_equal(title, {k: v for k, v in got.items() if v or k in want}, want)


@pytest.mark.parametrize("title", [p["title"] for p in _panels("timeseries") if "p50 / p99" in p["title"]])
def test_quantile_series_stay_within_the_observed_buckets(run: AgentsRun, title: str):
    (panel,) = [p for p in _panels("timeseries") if p["title"] == title]
    observed, bounds = _observed(run, title)
    for target in panel["targets"]:
        result = run.range.evaluate(run.stack, target)
        assert result, f"{title} {target['refId']}: no data"
        for series in result:
            (label,) = series["metric"].values()
            points = [float(v) for _, v in series["values"] if not math.isnan(float(v))]
            assert points and all(_within_buckets(p, observed[label], bounds) for p in points), (title, label, points)


def test_the_workload_had_failures_of_both_kinds(run: AgentsRun):
    """So the error panels are checked against something other than zero."""
    assert sum(t["totals"]["run_errors"] for t in run.truths) > 0
    assert sum(t["totals"]["tool_errors"] for t in run.truths) > 0
    assert {r["agent"] for r in run.per_run()} == {"planner", "researcher", "writer"}


def test_every_agents_query_is_checked():
    """A new panel needs its truth here (EXPECTED) or to be a quantile (bounded by its buckets)."""
    for panel in BOARD["panels"]:
        names = panel.get("transformations", [{}, {"options": {"renameByName": {}}}])[1]["options"]["renameByName"]
        for target in panel["targets"]:
            name = names.get(f"Value #{target['refId']}", panel["title"])
            assert _is_quantile(name) or _base(name) in EXPECTED, name


def test_agents_dashboard_matches_its_generator():
    spec = importlib.util.spec_from_file_location("grafana_generate", ROOT / "grafana" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert BOARD == module.agents()
    variables = {v["name"]: v for v in BOARD["templating"]["list"]}
    assert set(variables) == {"agent", "tenant"} and all(v["allValue"] == ".*" for v in variables.values())
    assert all(p["datasource"]["uid"] == "prometheus" for p in BOARD["panels"])

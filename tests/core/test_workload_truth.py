"""The demo workload's ground truth (from the server log + genai-prices) equals what llmtrace records in-process,
for every provider the demo can drive, faults and retries included."""

from __future__ import annotations

import pytest

from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.workload import WorkloadConfig, available_models, run_workload
from llmtrace.providers._registry import PROVIDERS

from .._truth import metric_points as _points
from .._truth import truth_rows as _rows


def test_recorded_metrics_equal_ground_truth(instrumented):
    providers = tuple(available_models())
    assert set(providers) == {spec.name for spec in PROVIDERS}  # the demo drives every registry provider
    config = WorkloadConfig(calls=160, seed=3, providers=providers, fault_rate=0.3)
    with FakeProviderServer(seed=3) as server:
        truth = run_workload(server, config).to_json()
    recorded_as = set(providers) - {"litellm"}  # litellm's calls are recorded under the provider it routed to
    assert {r["provider"] for r in truth["calls"]} == recorded_as
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    call_keys = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    assert _points(instrumented, "llm.calls", call_keys) == _rows(truth["calls"], call_keys)
    token_keys = ("provider", "model", "type", "agent", "tenant")
    assert _points(instrumented, "llm.tokens", token_keys) == _rows(truth["tokens"], token_keys)
    cost_keys = ("provider", "model", "agent", "tenant")
    got, expected = _points(instrumented, "llm.cost.usd", cost_keys), _rows(truth["cost_usd"], cost_keys)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15)
    assert _points(instrumented, "llm.retries", ("provider", "model")) == _rows(truth["retries"], ("provider", "model"))

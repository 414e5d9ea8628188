"""Every provider in the registry whose SDK is installed, through the real stack: the demo workload's calls,
tokens and cost arrive in Prometheus exactly, and each provider's spans in Jaeger (a stack of this test's own, so
the session stack's ground-truth tests keep their numbers)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from llmtrace.demo.workload import installed_providers
from llmtrace.providers._registry import PROVIDERS

from .conftest import exported_workload, running_stack


def _by_provider(rows: list[dict], status: str | None = None) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for row in rows:
        if status is None or row["status"] == status:
            out[row["provider"]] += row["value"]
    return dict(out)


def test_every_installed_provider_reaches_prometheus_and_jaeger_exactly(tmp_path: Path, stack_binaries):
    providers = installed_providers()
    # the demo drives every registry provider (litellm routes to openai's API, so it records as openai)
    assert {spec.name for spec in PROVIDERS} <= set(providers)
    with running_stack(tmp_path, stack_binaries) as stack:
        result = exported_workload(stack, calls=4 * len(providers), seed=29, fault_rate=0.2, providers=providers)
        truth = result.truth
        calls = {
            r["metric"]["provider"]: float(r["value"][1])
            for r in stack.promql("sum by (provider) (llm_calls_total)", result.finished)
        }
        assert calls == _by_provider(truth["calls"])
        cost = {
            r["metric"]["provider"]: float(r["value"][1])
            for r in stack.promql("sum by (provider) (llm_cost_usd_total)", result.finished)
        }
        for provider, value in _by_provider(truth["cost_usd"]).items():
            assert abs(cost.get(provider, 0.0) - value) < 1e-9, provider
        spans = {
            tag["value"]
            for trace in stack.jaeger_traces(limit="5000")
            for span in trace["spans"]
            for tag in span["tags"]
            if tag["key"] == "llm.provider"
        }
        assert spans == set(calls)

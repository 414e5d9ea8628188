"""``llmtrace.demo.summary.histogram_quantile`` (the demo's summary table, and the unit tests of bucket boundaries in
tests/core/test_agents.py) equals Prometheus' own, promtool's, on the calls-per-run buckets the code exports; and on
those buckets runs that all made k calls read k."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import yaml

from llmtrace.demo.summary import histogram_quantile
from llmtrace.semconv import RUN_CALLS_BUCKETS

# case -> the runs' call counts, and the p50 PromQL must read from them (None: anything inside its bucket)
CASES: dict[str, tuple[list[int], float | None]] = {
    "none": ([0] * 5, 0),
    "ones": ([1] * 20, 1),
    "threes": ([3] * 7, 3),
    "tens": ([10] * 3, 10),
    "mix": ([1, 2, 2, 3], 2),
    "wide": ([12] * 8, None),
    "spread": ([0, 1, 1, 2, 4, 7, 9, 15, 40, 500], None),
}
QUANTILES = (0.5, 0.9, 0.99)
LES = [*(format(bound, "g") for bound in RUN_CALLS_BUCKETS), "+Inf"]


def _cumulative(calls: list[int]) -> list[int]:
    """Runs at or under each bound (the OTel SDK's buckets include their upper bound), ``+Inf`` last."""
    return [sum(1 for n in calls if n <= le) for le in (*RUN_CALLS_BUCKETS, math.inf)]


def test_the_python_histogram_quantile_is_prometheus_own(stack_binaries: dict[str, str], tmp_path: Path):
    series, checks = [], []
    for case, (calls, p50) in CASES.items():
        cumulative = _cumulative(calls)
        series += [
            {"series": f'llm_run_calls_bucket{{case="{case}",le="{le}"}}', "values": f"{total}x5"}
            for le, total in zip(LES, cumulative, strict=True)
        ]
        counts = [c - p for c, p in zip(cumulative, [0, *cumulative[:-1]], strict=True)]
        for q in QUANTILES:
            expected = histogram_quantile(q, list(RUN_CALLS_BUCKETS), counts)
            assert p50 is None or q != 0.5 or expected == p50, (case, expected)
            checks.append(
                {
                    "expr": f'histogram_quantile({q}, llm_run_calls_bucket{{case="{case}"}})',
                    "eval_time": "2m",
                    "exp_samples": [{"labels": f'{{case="{case}"}}', "value": expected}],
                }
            )
    path = tmp_path / "quantiles_test.yaml"
    test = {"interval": "1m", "input_series": series, "promql_expr_test": checks}
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": [test]}, sort_keys=False))
    command = [stack_binaries["PROMTOOL_BIN"], "test", "rules", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr

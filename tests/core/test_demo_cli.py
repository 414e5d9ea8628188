"""``llmtrace demo`` options shape the workload and its ground truth."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from llmtrace.cli import app


def test_demo_options_and_truth_file(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    truth = tmp_path / "truth.json"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--calls",
            "12",
            "--providers",
            "openai",
            "--agents",
            "alpha,beta",
            "--tenants",
            "t1",
            "--fault-rate",
            "0",
            "--seed",
            "5",
            "--truth",
            str(truth),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(truth.read_text())
    assert data["totals"]["calls"] == 12 and data["totals"]["errors"] == 0
    assert {r["provider"] for r in data["calls"]} == {"openai"}
    assert {r["agent"] for r in data["calls"]} == {"alpha", "beta"} and {r["tenant"] for r in data["calls"]} == {"t1"}
    assert "recorded cost" in result.output and "gpt-" in result.output


def test_demo_duration_stops_early(tmp_path):
    truth = tmp_path / "truth.json"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--calls",
            "1000",
            "--rate",
            "20",
            "--duration",
            "2",
            "--fault-rate",
            "0",
            "--providers",
            "anthropic",
            "--truth",
            str(truth),
        ],
    )
    assert result.exit_code == 0, result.output
    assert 10 <= json.loads(truth.read_text())["totals"]["calls"] <= 41  # 20 calls/s for 2 s, never more


def test_demo_rejects_unknown_provider():
    result = CliRunner().invoke(app, ["demo", "--providers", "openai,bogus"])
    assert result.exit_code == 2 and "unknown bogus" in result.output

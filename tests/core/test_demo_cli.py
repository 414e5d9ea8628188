"""``llmtrace demo`` options shape the workload and its ground truth."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from llmtrace.cli import app
from tests._fake_backends import GrpcOnlyPort, OTLPReceiver, closed_port


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
    assert data["totals"]["runs"] == 12 and data["totals"]["errors"] == 0
    assert data["drivers"] == {"llmtrace.agent": 6, "openai-agents": 6}  # beta, the second agent, uses tools
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


_SMALL = ["demo", "--calls", "6", "--providers", "openai", "--fault-rate", "0"]
_EXPORT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL")


def _demo(monkeypatch, env: dict[str, str], *options: str):
    for name in _EXPORT_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, [*_SMALL, *options])


def test_demo_bad_setting_is_one_line_and_exit_2(monkeypatch):
    result = _demo(monkeypatch, {"LLMTRACE_CAPTURE_CONTENT": "maybe"})
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: LLMTRACE_CAPTURE_CONTENT='maybe' is not a boolean; accepted")


def _broken_endpoints():
    with GrpcOnlyPort() as grpc_port:
        yield "notaurl", "is not an http:// or https:// URL"
        yield closed_port(), "nothing accepts connections at"
        yield grpc_port.url, "did not answer HTTP/1.1: is that the collector's gRPC port?"


def test_demo_broken_exporter_is_one_line_and_exit_2(monkeypatch):
    """A URL that is not one, a closed port, and the collector's gRPC port under the HTTP exporter: each is one
    line naming the problem and exit 2, instead of pages of OTel export errors and 'Exported over OTLP.'"""
    for endpoint, reason in _broken_endpoints():
        result = _demo(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
        assert result.exit_code == 2, (endpoint, result.output)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: cannot export over OTLP: ")
        assert reason in result.stderr, result.stderr
        assert "Exported" not in result.output and "Failed to export" not in result.output


def test_demo_says_where_the_data_went(monkeypatch, tmp_path):
    truth = tmp_path / "truth.json"
    with OTLPReceiver() as receiver:
        result = _demo(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}, "--truth", str(truth))
    assert result.exit_code == 0, result.output
    llm_spans = [name for name in receiver.spans if name.startswith(("chat ", "responses "))]  # plain API, Agents SDK
    assert len(llm_spans) == json.loads(truth.read_text())["totals"]["calls"] > 6 and receiver.metric_points > 0
    line = result.stdout.strip().splitlines()[-1]
    assert line == (
        f"Exported {len(receiver.spans)} spans to {receiver.url}/v1/traces and {receiver.metric_points} metric "
        f"points to {receiver.url}/v1/metrics (OTLP/HTTP)."
    )


def test_demo_export_rejected_midway_is_one_line_and_exit_2(monkeypatch):
    """The endpoint takes the empty check export but refuses the data: the counting exporters notice."""
    with OTLPReceiver(reject_data=True) as receiver:
        result = _demo(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: OTLP export to {receiver.url} failed: ") and " spans " in result.stderr
    assert "400" in result.stderr and "Failed to export" not in result.stdout and "Exported" not in result.stdout
    assert "recorded cost" in result.stdout  # the in-process summary is still shown

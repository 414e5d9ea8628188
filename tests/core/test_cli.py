"""CLI pieces that need no backend: escaping, time parsing, formatting, unreachable-backend exit code."""

from __future__ import annotations

import promql_parser
import pytest
from typer.testing import CliRunner

from llmtrace.cli import app, fmt_ms, fmt_usd, parse_time
from llmtrace.queries import Filters, QueryBuilder

runner = CliRunner()


def test_label_values_are_escaped_against_injection():
    hostile = 'x"} or vector(1) #'
    selector = "llm_calls_total" + Filters(model=hostile).matchers()
    parsed = promql_parser.parse(f"sum({selector})")
    assert type(parsed).__name__ == "AggregateExpr"  # one selector inside sum(): no injected `or vector(1)`
    assert [(m.name, m.value) for m in parsed.expr.matchers.matchers] == [("model", hostile)]


def test_every_query_parses():
    """Offline parse; promql-parser predates Prometheus 3.16's `anchored`, which the stack tests run for real."""
    q = QueryBuilder(Filters(provider="openai", agent="planner"), 86400)
    for expr in (
        q.calls("provider, model"),
        q.errors(),
        q.tokens("input"),
        q.cost("model"),
        q.latency_avg(),
        q.quantile("llm_latency_seconds", 0.99, "provider, model"),
        q.quantile("llm_ttft_seconds", 0.5),
    ):
        assert "[86400s] anchored)" in expr
        promql_parser.parse(expr.replace("] anchored)", "])"))
    assert "agent" not in q.latency_avg()  # latency series have no agent label


def test_parse_time():
    now = 1_000_000.0
    assert parse_time("now", now) == now
    assert parse_time("24h", now) == now - 86400
    assert parse_time("30m", now) == now - 1800
    assert parse_time("2026-01-01T00:00:00Z", now) == 1767225600
    with pytest.raises(Exception, match="is not a time"):
        parse_time("yesterday", now)


def test_formatting():
    assert (fmt_usd(1234.5), fmt_usd(0.0123), fmt_usd(0.000435), fmt_usd(None)) == (
        "$1,234.50",
        "$0.0123",
        "$0.000435",
        "-",
    )
    assert fmt_ms(1.2345) == "1,234 ms"


@pytest.mark.parametrize(
    ("argv", "backend"),
    [
        (["stats", "--prometheus-url", "http://127.0.0.1:9"], "Prometheus"),
        (["models", "--prometheus-url", "http://127.0.0.1:9"], "Prometheus"),
        (["recent", "--jaeger-url", "http://127.0.0.1:9"], "Jaeger"),
        (["trace", "abc", "--jaeger-url", "http://127.0.0.1:9"], "Jaeger"),
        (["errors", "--prometheus-url", "http://127.0.0.1:9"], "Prometheus"),
    ],
)
def test_unreachable_backend_is_one_line_and_exit_2(argv, backend):
    result = runner.invoke(app, [*argv, "--json"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {backend} unreachable at ")
    assert result.stdout == ""

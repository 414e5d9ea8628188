"""CLI pieces that need no backend: escaping, time parsing, formatting, unreachable-backend exit code."""

from __future__ import annotations

import importlib.util
import json

import promql_parser
import pytest
from typer.testing import CliRunner

from llmtrace.cli import app, fmt_ms, fmt_usd, parse_time
from llmtrace.queries import Filters, QueryBuilder
from tests._fake_backends import FakeJaeger, GrpcOnlyPort, OTLPReceiver, closed_port

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


@pytest.mark.parametrize(
    ("mode", "action"), [("suppress", "suppressed inside llmtrace calls"), ("keep", "nests under")]
)
def test_doctor_says_which_sdks_trace_themselves(mode, action, monkeypatch):
    pytest.importorskip("anthropic")
    monkeypatch.setenv("LLMTRACE_SDK_SPANS", mode)
    result = runner.invoke(app, ["doctor", "--json", "--prometheus-url", "http://127.0.0.1:9", "--jaeger-url", "x"])
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    anthropic_spans = checks["anthropic own spans"]
    assert anthropic_spans["traces_itself"] is True  # anthropic 2.14+ traces itself by default
    assert "on by default" in anthropic_spans["detail"] and action in anthropic_spans["detail"]
    assert "opt-in" in checks["mistralai own spans"]["detail"]
    assert "left alone" in checks["litellm own spans"]["detail"]  # logs from a worker thread: not foldable
    if importlib.util.find_spec("pydantic_ai"):
        folded = "the chat span of OpenAIChatModel requests folded into ours" if mode == "suppress" else action
        assert folded in checks["pydantic-ai OpenAIChatModel own spans"]["detail"]


def test_doctor_reports_a_bad_setting_as_a_failed_check(monkeypatch):
    """The settings as instrument() resolves them: a bad LLMTRACE_* value is a FAIL line naming it, and exit 1."""
    monkeypatch.setenv("LLMTRACE_SDK_SPANS", "kep")
    monkeypatch.setenv("LLMTRACE_COLLECTOR_HEALTH_URL", closed_port())
    down = closed_port()
    result = runner.invoke(app, ["doctor", "--json", "--prometheus-url", down, "--jaeger-url", down])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0] == {
        "check": "llmtrace settings",
        "ok": False,
        "detail": "LLMTRACE_SDK_SPANS='kep' is not a mode; accepted values: suppress, keep",
    }
    monkeypatch.setenv("LLMTRACE_SDK_SPANS", " Keep ")  # valid: no settings line, and the mode is honoured
    result = runner.invoke(app, ["doctor", "--json", "--prometheus-url", down, "--jaeger-url", down])
    checks = {c["check"]: c for c in json.loads(result.stdout)}
    assert "llmtrace settings" not in checks
    if "anthropic own spans" in checks:
        assert "nests under" in checks["anthropic own spans"]["detail"]


_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
_JAEGER_TRACE = {
    "traceID": _TRACE_ID,
    "processes": {"p1": {"serviceName": "app"}},
    "spans": [
        {
            "traceID": _TRACE_ID,
            "spanID": "00f067aa0ba902b7",
            "startTime": 1_700_000_000_000_000,
            "duration": 35_000,
            "operationName": "chat gpt-4o-mini",
            "processID": "p1",
            "tags": [{"key": "llm.provider", "type": "string", "value": "openai"}],
        }
    ],
}


@pytest.mark.parametrize(
    ("trace_id", "message"),
    [
        ("", "error: '' is not a trace id (1 to 32 hex digits"),
        ("not-hex!", "error: 'not-hex!' is not a trace id (1 to 32 hex digits"),
        ("ab" * 17, f"error: '{'ab' * 17}' is not a trace id"),
        ("0123456789abcdef", "error: no trace with id 0123456789abcdef in Jaeger at {url}"),
    ],
)
def test_trace_without_such_trace_says_so_in_one_line(trace_id, message):
    with FakeJaeger({_TRACE_ID: _JAEGER_TRACE}) as jaeger:
        result = runner.invoke(app, ["trace", trace_id, "--jaeger-url", jaeger.url])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message.format(url=jaeger.url)), result.stderr
    assert "{" not in result.stderr  # never Jaeger's raw JSON


def test_trace_shows_a_known_trace():
    with FakeJaeger({_TRACE_ID: _JAEGER_TRACE}) as jaeger:
        result = runner.invoke(app, ["trace", _TRACE_ID.upper(), "--jaeger-url", jaeger.url, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["trace_id"] == _TRACE_ID and payload["spans"][0]["attributes"] == {"llm.provider": "openai"}


def _doctor_otlp(monkeypatch, env: dict[str, str]) -> dict[str, object]:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LLMTRACE_COLLECTOR_HEALTH_URL", closed_port())
    down = closed_port()
    result = runner.invoke(app, ["doctor", "--json", "--prometheus-url", down, "--jaeger-url", down])
    assert result.exit_code == 1  # Prometheus and Jaeger are down here
    return {c["check"]: c for c in json.loads(result.stdout)}["OTLP exporter"]


def test_doctor_tries_a_real_otlp_export(monkeypatch):
    """An empty export over the configured protocol: only an OTLP receiver speaking that protocol passes."""
    with OTLPReceiver() as receiver, GrpcOnlyPort() as grpc_port:
        good = _doctor_otlp(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
        assert good == {
            "check": "OTLP exporter",
            "ok": True,
            "detail": f"http/protobuf to {receiver.url}/v1/traces: accepted",
        }
        closed = _doctor_otlp(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": closed_port()})
        assert not closed["ok"] and "nothing accepts connections at" in closed["detail"]
        wrong = _doctor_otlp(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": grpc_port.url})
        assert not wrong["ok"] and "is that the collector's gRPC port?" in wrong["detail"]
        grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
        assert _doctor_otlp(monkeypatch, {**grpc, "OTEL_EXPORTER_OTLP_ENDPOINT": grpc_port.url})["ok"]
        http_under_grpc = _doctor_otlp(monkeypatch, {**grpc, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
        assert not http_under_grpc["ok"] and "answered HTTP/1, not gRPC" in http_under_grpc["detail"]
    with FakeJaeger({}) as not_otlp:  # a web server that is not an OTLP receiver
        other = _doctor_otlp(monkeypatch, {"OTEL_EXPORTER_OTLP_ENDPOINT": not_otlp.url})
    assert not other["ok"] and "not an OTLP/HTTP receiver" in other["detail"]
    unset = _doctor_otlp(monkeypatch, {})
    assert not unset["ok"] and "not set" in unset["detail"]


def test_credentials_come_from_env_and_flags_win():
    from llmtrace.backends import Credentials

    env = {"LLMTRACE_JAEGER_USER": "u", "LLMTRACE_JAEGER_PASSWORD": "p", "LLMTRACE_JAEGER_TOKEN": "t"}
    assert Credentials.from_env("JAEGER", env) == Credentials("u", "p", "t", None)
    assert Credentials.from_env("JAEGER", env).request_kwargs() == {"verify": True, "auth": ("u", "p")}
    assert Credentials(token="t").request_kwargs() == {"verify": True, "headers": {"Authorization": "Bearer t"}}
    assert "p" not in repr(Credentials.from_env("JAEGER", env)) and "t'" not in repr(Credentials(token="t"))


def test_unusable_ca_file_is_one_line_and_exit_2(tmp_path):
    missing = str(tmp_path / "no-ca.crt")
    result = runner.invoke(app, ["--ca-file", missing, "stats", "--prometheus-url", "https://127.0.0.1:9"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: CA file {missing!r} cannot be used: [Errno 2] No such file or directory"
    ]

"""``opentelemetry-instrument python examples/openai_app.py`` finds our entry point and emits the llm span."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_opentelemetry_instrument_produces_llm_span():
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": "example-app",
        "LLMTRACE_RAISE_INTERNAL_ERRORS": "1",
    }
    env.pop("OPENAI_BASE_URL", None)
    result = subprocess.run(
        [str(bindir / "opentelemetry-instrument"), sys.executable, str(ROOT / "examples" / "openai_app.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "reply:" in result.stdout
    start = result.stdout.index("{")
    decoder, spans, pos = json.JSONDecoder(), [], start
    while pos < len(result.stdout):
        try:
            obj, end = decoder.raw_decode(result.stdout, pos)
        except json.JSONDecodeError:
            pos += 1
            continue
        spans.append(obj)
        pos = end
    llm = [s for s in spans if s.get("attributes", {}).get("llm.provider") == "openai"]
    assert len(llm) == 1, result.stdout
    attrs = llm[0]["attributes"]
    assert llm[0]["name"] == "chat gpt-4o-mini" and attrs["llm.success"] is True
    assert attrs["llm.tokens.input"] > 0 and attrs["llm.cost_usd"] > 0
    assert llm[0]["resource"]["attributes"]["service.name"] == "example-app"


# A second OTel extension, installed as its own distribution: an instrumentor that traces ``other_target.work()``
# and a post-instrument hook (OTel runs those after every instrumentor, so it shows the loader got past ours).
_OTHER_DIST = {
    "other_otel-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: other-otel\nVersion: 0.1\n",
    "other_otel-0.1.dist-info/entry_points.txt": (
        "[opentelemetry_instrumentor]\nother = other_otel:OtherInstrumentor\n\n"
        "[opentelemetry_post_instrument]\nother = other_otel:post_instrument\n"
    ),
    "other_target.py": "def work():\n    return 42\n",
    "other_otel.py": """
import other_target
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

POST = []


class OtherInstrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return ()

    def _instrument(self, **kwargs):
        original = other_target.work

        def work():
            with trace.get_tracer("other").start_as_current_span("other.work"):
                return original()

        other_target.work = work

    def _uninstrument(self, **kwargs):
        pass


def post_instrument():
    POST.append(True)
""",
    "app.py": """
import other_otel
import other_target
from opentelemetry import trace

with trace.get_tracer("app").start_as_current_span("app.manual"):
    other_target.work()
print("post_instrument ran:", bool(other_otel.POST))
exec(open(__import__("sys").argv[1]).read(), {"__name__": "__main__"})
""",
}


def _run_instrumented(tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in _OTHER_DIST.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        **extra_env,
    }
    for name in ("OPENAI_BASE_URL", "LLMTRACE_RAISE_INTERNAL_ERRORS"):
        env.pop(name, None)
    bindir = Path(sys.executable).parent
    app = [sys.executable, str(tmp_path / "app.py"), str(ROOT / "examples" / "openai_app.py")]
    return subprocess.run(
        [str(bindir / "opentelemetry-instrument"), *app], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )


def _span_names(stdout: str) -> list[str]:
    return [json.loads(m)["name"] for m in re.findall(r"^\{\n.*?^\}$", stdout, flags=re.M | re.S)]


@pytest.mark.parametrize(
    ("var", "value"),
    [("LLMTRACE_CAPTURE_CONTENT", "maybe"), ("LLMTRACE_METRIC_LABELS", "user"), ("LLMTRACE_HASH_KEY", "s3cr3t-k3y")],
)
def test_bad_setting_under_auto_instrumentation_costs_only_llmtrace(tmp_path, var, value):
    """One line names the setting and what it accepts; llmtrace is off (no llm span), and the other instrumentor,
    the post-instrument hook and the app's own span all still work: OTel's loader got past us."""
    result = _run_instrumented(tmp_path, {var: value})
    assert result.returncode == 0, result.stderr
    assert "reply:" in result.stdout and "post_instrument ran: True" in result.stdout
    assert "Traceback" not in result.stderr and "Failed to auto initialize" not in result.stderr, result.stderr
    named = [line for line in result.stderr.splitlines() if var in line]
    assert len(named) == 1 and "accepted" in named[0] and "llmtrace is off" in named[0], result.stderr
    if var == "LLMTRACE_HASH_KEY":
        assert value not in result.stderr  # a secret, even a bad one, is never echoed
    names = _span_names(result.stdout)
    assert "app.manual" in names and "other.work" in names, names
    assert not any(name.startswith("chat ") for name in names), names


def test_good_settings_under_auto_instrumentation_trace_everything(tmp_path):
    result = _run_instrumented(tmp_path, {"LLMTRACE_CAPTURE_CONTENT": "false"})
    assert result.returncode == 0 and "post_instrument ran: True" in result.stdout, result.stderr
    assert {"app.manual", "other.work", "chat gpt-4o-mini"} <= set(_span_names(result.stdout))
    assert "llmtrace is off" not in result.stderr


# One small app per integration: what it prints, and the llmtrace span it makes when llmtrace is on.
_INTEGRATION_APPS = {
    "mcp": (
        """
import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

server = MCPServer("weather")


@server.tool()
def forecast(city: str) -> str:
    return f"sunny in {city}"


async def main():
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("forecast", {"city": "Oslo"})
    print("result:", result.content[0].text)


anyio.run(main)
""",
        "execute_tool forecast",
    ),
    "langchain": (
        """
from langchain_core.tools import tool


@tool
def add(a: int, b: int) -> int:
    \"\"\"Add two numbers.\"\"\"
    return a + b


print("result:", add.invoke({"a": 2, "b": 3}))
""",
        "execute_tool add",
    ),
    "openai_agents": (
        """
import openai
from agents import Agent, OpenAIResponsesModel, Runner, set_trace_processors

from llmtrace.demo.fake_server import FakeProviderServer

set_trace_processors([])  # the SDK's own exporter would post to OpenAI's backend
with FakeProviderServer() as server:
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url)
    agent = Agent(name="assistant", model=OpenAIResponsesModel("gpt-4o-mini", client))
    print("result:", Runner.run_sync(agent, "Name a river.").final_output)
""",
        "invoke_agent assistant",
    ),
}


def _run_integration(tmp_path: Path, name: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The integration's app under ``opentelemetry-instrument`` with only that integration's entry point enabled, so
    it alone meets the settings (the providers' instrumentors would otherwise meet them first)."""
    from importlib.metadata import entry_points

    others = [
        ep.name
        for ep in entry_points(group="opentelemetry_instrumentor")
        if ep.value.startswith("llmtrace.") and ep.name != f"llmtrace_{name}"
    ]
    (tmp_path / "app.py").write_text(_INTEGRATION_APPS[name][0])
    env = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(others),
        **extra_env,
    }
    env.pop("LLMTRACE_RAISE_INTERNAL_ERRORS", None)
    bindir = Path(sys.executable).parent
    command = [str(bindir / "opentelemetry-instrument"), sys.executable, str(tmp_path / "app.py")]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


_FRAMEWORKS = {"mcp": "mcp", "langchain": "langchain_core", "openai_agents": "agents"}


@pytest.mark.parametrize("name", sorted(_INTEGRATION_APPS))
def test_bad_setting_under_auto_instrumentation_turns_an_integration_off(tmp_path, name):
    """An integration that meets a bad setting first says so in one line (nothing else of llmtrace is loaded to say
    it), records nothing, and the app runs."""
    pytest.importorskip(_FRAMEWORKS[name])
    result = _run_integration(tmp_path, name, {"LLMTRACE_METRIC_LABELS": "user"})
    assert result.returncode == 0 and "result:" in result.stdout, result.stderr
    assert "Traceback" not in result.stderr and "Failed to auto initialize" not in result.stderr, result.stderr
    named = [line for line in result.stderr.splitlines() if "LLMTRACE_METRIC_LABELS" in line]
    assert len(named) == 1 and "llmtrace is off" in named[0] and "accepted" in named[0], result.stderr
    assert _INTEGRATION_APPS[name][1] not in _span_names(result.stdout)


@pytest.mark.parametrize("name", sorted(_INTEGRATION_APPS))
def test_integration_alone_under_auto_instrumentation_traces(tmp_path, name):
    """The same app with good settings: the integration's span, recorded through the LLM tracer it built from env."""
    pytest.importorskip(_FRAMEWORKS[name])
    result = _run_integration(tmp_path, name, {"LLMTRACE_CAPTURE_CONTENT": "false"})
    assert result.returncode == 0 and "result:" in result.stdout, result.stderr
    assert _INTEGRATION_APPS[name][1] in _span_names(result.stdout) and "llmtrace is off" not in result.stderr

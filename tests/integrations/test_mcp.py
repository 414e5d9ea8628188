"""MCP client tool calls (``llmtrace.integrations.mcp``) against real servers of the ``mcp`` SDK.

Servers are ``MCPServer`` instances reached in-process (``mcp.Client(server, mode="legacy")``: the JSON-RPC stream
path with its initialize handshake; ``mode="auto"``: the SDK's direct in-process dispatcher) or a subprocess over
stdio. The SDK's own spans go to the test's tracer provider, so a folded or nested SDK span would show. LLM calls in
the agent-run test go through the real openai SDK to the fake provider server. Nothing of the SDK is mocked.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp.client.client
import mcp.client.session
import mcp.shared.jsonrpc_dispatcher
import openai
import pytest
import uvicorn
import wrapt
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
import llmtrace.integrations.mcp as mcp_integration
from llmtrace import _guard, _state
from llmtrace.integrations.mcp import MCPInstrumentor
from llmtrace.semconv import MCP, Attr, GenAI, Metric
from tests.conftest import Telemetry

STDIO_SERVER = Path(__file__).with_name("_mcp_stdio_server.py")
EMAIL = "ada@example.com"


# -- a real server, and the SDK's own tracing pointed at the test ---------------------------------------------------


class Weather:
    """An MCP server whose tools succeed, report an error in their result, and fail the request; ``received``
    holds the ``_meta`` each forecast request arrived with."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        server = MCPServer("weather", version="1.2.3")

        @server.tool()
        def forecast(city: str, ctx: Context) -> str:
            self.received.append(dict(ctx.request_context.meta or {}))
            return f"sunny in {city}"

        @server.tool()
        def flaky(city: str) -> str:
            raise ToolError(f"no data for {city}")

        @server.tool()
        def refuse() -> str:
            raise MCPError(code=-32042, message="refused")

        self.server = server


@pytest.fixture
def weather() -> Weather:
    return Weather()


@pytest.fixture
def sdk_spans_to_test(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> Telemetry:
    """mcp's own tracer (client and server spans) records into ``telemetry``, as it would into an app's global
    provider (its module-level proxy tracer caches the first provider it meets, so point it here per test)."""
    import mcp.shared._otel as sdk_otel

    monkeypatch.setattr(sdk_otel, "_tracer", telemetry.tracer_provider.get_tracer("mcp-python-sdk"))
    return telemetry


def _instrument(telemetry: Telemetry, **settings: Any) -> Iterator[Telemetry]:
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, **settings
    )
    yield telemetry
    instrumentor.uninstrument()
    _state.set_llm_tracer(None)


@pytest.fixture
def traced(sdk_spans_to_test: Telemetry) -> Iterator[Telemetry]:
    yield from _instrument(sdk_spans_to_test)


@pytest.fixture
def traced_with_content(sdk_spans_to_test: Telemetry) -> Iterator[Telemetry]:
    yield from _instrument(sdk_spans_to_test, capture_content=True)


@pytest.fixture
def traced_keeping_sdk_spans(sdk_spans_to_test: Telemetry) -> Iterator[Telemetry]:
    yield from _instrument(sdk_spans_to_test, sdk_spans="keep")


def _tool_spans(telemetry: Telemetry) -> list[ReadableSpan]:
    return [s for s in telemetry.spans() if s.name.startswith("execute_tool ")]


def _named(telemetry: Telemetry, name: str) -> ReadableSpan:
    (span,) = [s for s in telemetry.spans() if s.name == name]
    return span


def _traceparent(span: ReadableSpan) -> str:
    ctx = span.context
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _sha256(value: Any) -> tuple[str, int]:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest(), len(text)


def _wire(result: Any) -> Any:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


# -- the tool span --------------------------------------------------------------------------------------------------


async def test_tool_call_is_one_execute_tool_span_with_the_mcp_attributes(weather, traced):
    async with Client(weather.server, mode="legacy") as client:
        result = await client.call_tool("forecast", {"city": "Oslo"})
        protocol = client.session.protocol_version

    assert result.content[0].text == "sunny in Oslo" and result.is_error is False
    (span,) = _tool_spans(traced)
    server_span = _named(traced, "tools/call forecast")
    attrs = dict(span.attributes)
    assert attrs.pop(Attr.LATENCY_MS) > 0
    args_hash, args_length = _sha256({"city": "Oslo"})
    result_hash, result_length = _sha256(_wire(result))
    assert attrs == {
        Attr.OPERATION: "execute_tool",
        Attr.TOOL_NAME: "forecast",
        Attr.TOOL_TYPE: "extension",
        GenAI.OPERATION_NAME: "execute_tool",
        GenAI.TOOL_NAME: "forecast",
        GenAI.TOOL_TYPE: "extension",
        MCP.METHOD_NAME: "tools/call",
        MCP.PROTOCOL_VERSION: protocol,
        MCP.JSONRPC_REQUEST_ID: server_span.attributes["jsonrpc.request.id"],
        MCP.SERVER_NAME: "weather",
        MCP.SERVER_VERSION: "1.2.3",
        Attr.SUCCESS: True,
        Attr.TOOL_ARGUMENTS_HASH: args_hash,
        Attr.TOOL_ARGUMENTS_LENGTH: args_length,
        Attr.TOOL_RESULT_HASH: result_hash,
        Attr.TOOL_RESULT_LENGTH: result_length,
    }
    assert span.name == "execute_tool forecast" and span.status.status_code is StatusCode.UNSET
    # the SDK's own CLIENT span of this request is folded into ours; its other requests keep theirs
    assert not [s for s in traced.spans() if s.name == "MCP send tools/call forecast"]
    assert _named(traced, "MCP send initialize").kind is SpanKind.CLIENT
    assert traced.total(Metric.TOOL_CALLS, tool="forecast", status="ok") == 1


async def test_server_receives_the_tool_span_as_its_parent(weather, traced):
    meta = {"example.com/tenant": "acme"}
    async with Client(weather.server, mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Oslo"}, meta=meta)

    (span,) = _tool_spans(traced)
    (received,) = weather.received
    assert received == {"example.com/tenant": "acme", "traceparent": _traceparent(span)}
    assert meta == {"example.com/tenant": "acme"}  # the caller's dict is not touched
    server_span = _named(traced, "tools/call forecast")
    assert server_span.kind is SpanKind.SERVER and server_span.parent.span_id == span.context.span_id


async def test_direct_in_process_client_gets_the_trace_context_from_us(weather, traced):
    """mode="auto" in-process: the SDK's direct dispatcher injects nothing of its own; ours still arrives."""
    async with Client(weather.server) as client:
        await client.call_tool("forecast", {"city": "Oslo"})
        protocol = client.session.protocol_version

    (span,) = _tool_spans(traced)
    (received,) = weather.received
    assert received["traceparent"] == _traceparent(span)
    assert span.attributes[MCP.PROTOCOL_VERSION] == protocol
    assert span.attributes[MCP.SERVER_NAME] == "weather"


async def test_sdk_spans_keep_nests_the_sdk_span_and_its_context_travels(weather, traced_keeping_sdk_spans):
    telemetry = traced_keeping_sdk_spans
    async with Client(weather.server, mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Oslo"})

    (span,) = _tool_spans(telemetry)
    sdk_span = _named(telemetry, "MCP send tools/call forecast")
    assert sdk_span.parent.span_id == span.context.span_id
    assert weather.received[0]["traceparent"] == _traceparent(sdk_span)
    assert MCP.JSONRPC_REQUEST_ID not in span.attributes  # the SDK's span carries it


# -- outcomes -------------------------------------------------------------------------------------------------------


async def test_is_error_result_is_a_tool_error_and_is_returned_unchanged(weather, traced):
    async with Client(weather.server, mode="legacy") as client:
        result = await client.call_tool("flaky", {"city": "Oslo"})

    assert result.is_error is True and result.content[0].text == "Error executing tool flaky: no data for Oslo"
    (span,) = _tool_spans(traced)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[Attr.SUCCESS] is False
    assert span.attributes[Attr.ERROR_TYPE] == span.attributes[GenAI.ERROR_TYPE] == "tool_error"
    assert span.attributes[Attr.TOOL_RESULT_HASH] == _sha256(_wire(result))[0]
    assert traced.total(Metric.TOOL_CALLS, tool="flaky", status="error", error_type="tool_error") == 1


async def test_request_error_raises_unchanged_with_its_type_and_code(weather, traced):
    async with Client(weather.server, mode="legacy") as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("refuse", {})

    assert raised.value.code == -32042 and raised.value.message == "refused"
    (span,) = _tool_spans(traced)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[Attr.ERROR_TYPE] == "MCPError"
    assert span.attributes[MCP.RPC_STATUS_CODE] == "-32042"
    assert Attr.TOOL_RESULT_HASH not in span.attributes
    assert traced.total(Metric.TOOL_CALLS, tool="refuse", status="error", error_type="MCPError") == 1


# -- agent runs -----------------------------------------------------------------------------------------------------


async def test_agent_run_counts_mcp_tools_with_its_llm_calls(weather, server, instrumented, sdk_spans_to_test):
    """llmtrace.instrument() picks the integration up from the registry; the run adds up LLM calls and tools."""
    llm = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    async with Client(weather.server, mode="legacy") as client:
        async with llmtrace.agent("planner") as run:
            await llm.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Go."}])
            await client.call_tool("forecast", {"city": "Oslo"})
            await client.call_tool("forecast", {"city": "Rome"})
            await client.call_tool("flaky", {"city": "Lima"})
            with pytest.raises(MCPError):
                await client.call_tool("refuse", {})

    assert (run.totals.calls, run.totals.tool_calls, run.totals.tool_errors) == (1, 4, 2)
    run_span = _named(instrumented, "invoke_agent planner")
    assert run_span.attributes[Attr.RUN_TOOL_CALLS] == 4 and run_span.attributes[Attr.RUN_TOOL_ERRORS] == 2
    tools = _tool_spans(instrumented)
    assert len(tools) == 4
    assert all(t.parent.span_id == run_span.context.span_id and t.attributes[Attr.AGENT] == "planner" for t in tools)
    assert instrumented.total(Metric.TOOL_CALLS, agent="planner") == 4


async def test_outer_tool_span_of_the_same_tool_gets_the_mcp_attributes_instead_of_a_twin(weather, traced):
    async with Client(weather.server, mode="legacy") as client:
        async with llmtrace.agent("planner") as run:
            with llmtrace.tool("flaky", call_id="call_1", arguments={"city": "Lima"}):
                result = await client.call_tool("flaky", {"city": "Lima"})

    (span,) = _tool_spans(traced)
    assert span.attributes[Attr.TOOL_CALL_ID] == "call_1" and span.attributes[MCP.SERVER_NAME] == "weather"
    assert span.attributes[Attr.ERROR_TYPE] == "tool_error"
    assert span.attributes[Attr.TOOL_RESULT_HASH] == _sha256(_wire(result))[0]
    assert (run.totals.tool_calls, run.totals.tool_errors) == (1, 1)
    assert span.attributes[Attr.TOOL_TYPE] == "function"  # the outer span's own


# -- content --------------------------------------------------------------------------------------------------------


async def test_no_raw_arguments_or_results_by_default(weather, traced):
    async with Client(weather.server, mode="legacy") as client:
        await client.call_tool("forecast", {"city": EMAIL})

    (span,) = _tool_spans(traced)
    assert GenAI.TOOL_CALL_ARGUMENTS not in span.attributes and GenAI.TOOL_CALL_RESULT not in span.attributes
    assert not [s for s in traced.spans() if any(EMAIL in str(v) for v in s.attributes.values())]
    assert span.attributes[Attr.TOOL_ARGUMENTS_HASH] == _sha256({"city": EMAIL})[0]


async def test_capture_content_records_redacted_arguments_and_result(weather, traced_with_content):
    async with Client(weather.server, mode="legacy") as client:
        result = await client.call_tool("forecast", {"city": EMAIL})

    (span,) = _tool_spans(traced_with_content)
    arguments = json.loads(span.attributes[GenAI.TOOL_CALL_ARGUMENTS])
    captured = json.loads(span.attributes[GenAI.TOOL_CALL_RESULT])
    assert set(arguments) == {"city"} and EMAIL not in arguments["city"] and arguments["city"]
    assert captured["isError"] is False and captured["content"][0]["type"] == "text"
    assert EMAIL not in captured["content"][0]["text"] and captured["content"][0]["text"].startswith("sunny in ")
    assert result.content[0].text == f"sunny in {EMAIL}"  # the user's result is the raw one


# -- over stdio, in another process ---------------------------------------------------------------------------------


async def test_stdio_server_in_a_subprocess_receives_the_trace_context(traced):
    params = StdioServerParameters(command=sys.executable, args=[str(STDIO_SERVER)])
    async with Client(params) as client, llmtrace.agent("planner"):
        result = await client.call_tool("received_meta", {})

    (span,) = _tool_spans(traced)
    received = json.loads(result.content[0].text)
    assert received.get("traceparent") == _traceparent(span)
    assert span.attributes[MCP.NETWORK_TRANSPORT] == "pipe"
    assert (span.attributes[MCP.SERVER_NAME], span.attributes[MCP.SERVER_VERSION]) == ("stdio-echo", "0.9.1")


@pytest.fixture
def http_weather(weather: Weather) -> Iterator[str]:
    """``weather`` served over streamable HTTP by uvicorn on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(weather.server.streamable_http_app(), host="127.0.0.1", port=port, log_level="error")
    http_server = uvicorn.Server(config)
    thread = threading.Thread(target=http_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not http_server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert http_server.started
    yield f"http://127.0.0.1:{port}/mcp"
    http_server.should_exit = True
    thread.join(10)


async def test_streamable_http_session_names_address_port_and_session(weather, http_weather, traced):
    async with Client(http_weather, mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Oslo"})

    (span,) = _tool_spans(traced)
    port = int(http_weather.rsplit(":", 1)[1].split("/")[0])
    assert span.attributes[MCP.NETWORK_TRANSPORT] == "tcp"
    assert (span.attributes[Attr.SERVER_ADDRESS], span.attributes[Attr.SERVER_PORT]) == ("127.0.0.1", port)
    session_id = span.attributes[MCP.SESSION_ID]
    assert isinstance(session_id, str) and len(session_id) >= 16
    assert weather.received[0]["traceparent"] == _traceparent(span)


# -- on and off -----------------------------------------------------------------------------------------------------


async def test_a_failure_of_ours_leaves_the_call_and_its_context_alone(weather, traced, monkeypatch):
    """Reading the session breaks: the tool still runs, its result comes back, and no span of ours stays open
    or current (the call runs bare)."""

    def broken(session: Any) -> dict[str, Any]:
        raise RuntimeError("llmtrace bug")

    monkeypatch.setattr(_guard, "RAISE_INTERNAL_ERRORS", False)
    monkeypatch.setattr(mcp_integration, "_session_attributes", broken)
    async with Client(weather.server, mode="legacy") as client:
        with llmtrace.agent("planner") as run:
            result = await client.call_tool("forecast", {"city": "Oslo"})

    assert result.content[0].text == "sunny in Oslo"
    run_span = _named(traced, "invoke_agent planner")
    assert _named(traced, "MCP send tools/call forecast").parent.span_id == run_span.context.span_id
    assert run.totals.tool_calls == 1  # the abandoned execution still ended (a success: the call went on)


async def test_uninstrument_restores_the_sdk(weather, sdk_spans_to_test):
    originals = (
        mcp.client.session.ClientSession.call_tool,
        mcp.shared.jsonrpc_dispatcher.otel_span,
        mcp.client.client.stdio_client,
    )
    instrumenting = _instrument(sdk_spans_to_test)
    next(instrumenting)
    assert isinstance(mcp.client.session.ClientSession.__dict__["call_tool"], wrapt.FunctionWrapper)
    assert isinstance(mcp.client.client.stdio_client, wrapt.FunctionWrapper)  # the alias bound before instrument()
    next(instrumenting, None)  # uninstrument

    # what the class holds, not what attribute access gives (a wrapt proxy compares equal to what it wraps)
    assert not isinstance(mcp.client.session.ClientSession.__dict__["call_tool"], wrapt.ObjectProxy)
    assert (
        mcp.client.session.ClientSession.call_tool,
        mcp.shared.jsonrpc_dispatcher.otel_span,
        mcp.client.client.stdio_client,
    ) == originals
    async with Client(weather.server, mode="legacy") as client:
        await client.call_tool("forecast", {"city": "Oslo"})
    assert _tool_spans(sdk_spans_to_test) == []
    sdk_span = _named(sdk_spans_to_test, "MCP send tools/call forecast")  # the SDK traces itself again
    assert weather.received[0]["traceparent"] == _traceparent(sdk_span)

"""The real OpenAI Agents SDK (``agents.Agent`` + ``Runner``) on the real ``openai`` client, over HTTP to the fake
provider server, instrumented by the openai provider and the openai_agents integration: span trees, run rollups,
tool spans, handoffs, guardrails and metrics, read back through the real OTel SDK.

The SDK's default trace processor exports to api.openai.com: these tests replace it with nothing (or with a recording
processor of their own), so nothing leaves the machine. Expected tokens and cost come from the server's exchange log
and genai-prices directly, never from llmtrace.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import wrapt
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    ToolCallItem,
    UserError,
    function_tool,
    input_guardrail,
    set_trace_processors,
)
from agents.tracing import TracingProcessor, add_trace_processor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

import llmtrace
from llmtrace.demo.workload import reference_cost
from llmtrace.integrations.openai_agents import OpenAIAgentsInstrumentor
from llmtrace.providers.openai import OpenAIInstrumentor
from llmtrace.semconv import Attr, GenAI, Metric

from .._instrumentors import instrumented_by

MODEL = "gpt-4o-mini"

traced = instrumented_by(OpenAIInstrumentor, OpenAIAgentsInstrumentor)


@pytest.fixture(autouse=True, scope="module")
def _no_trace_export() -> Iterator[None]:
    """Drop the SDK's default processor (an exporter to OpenAI's backend) for these tests, and after them."""
    set_trace_processors([])
    yield
    set_trace_processors([])


@pytest.fixture(autouse=True)
def _no_processor_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The SDK catches and logs what a trace processor raises: a failure of ours must fail the test, not a log."""
    caplog.set_level(logging.DEBUG, logger="openai.agents")
    yield
    errors = [r.getMessage() for r in caplog.records if "trace processor" in r.getMessage()]
    assert not errors, errors


class Recorder(TracingProcessor):
    """A processor beside ours, as the SDK's default exporter is: what the SDK reports to it, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def on_trace_start(self, trace: Any) -> None:
        self.events.append(("trace_start", trace.name))

    def on_trace_end(self, trace: Any) -> None:
        self.events.append(("trace_end", trace.name))

    def on_span_start(self, span: Any) -> None:
        self.events.append(("start", span.span_data.type))

    def on_span_end(self, span: Any) -> None:
        self.events.append(("end", span.span_data.type))

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


def _responses(server: Any) -> OpenAIResponsesModel:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=0)
    return OpenAIResponsesModel(model=MODEL, openai_client=client)


def _chat(server: Any) -> OpenAIChatCompletionsModel:
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=0)
    return OpenAIChatCompletionsModel(model=MODEL, openai_client=client)


@function_tool
def lookup(query: str) -> str:
    """Look the query up."""
    return f"sunny for {query}"


@function_tool
def broken(query: str) -> str:
    """Always fails."""
    raise ValueError("no such place")


@function_tool(failure_error_function=None)
def broken_loudly(query: str) -> str:
    """Always fails, and the SDK does not swallow it."""
    raise ValueError("no such place")


# -- reading the exported spans ---------------------------------------------------------------------------------------


def _tree(spans: list[ReadableSpan]) -> list[tuple[int, str, str]]:
    """(depth, name, kind) in start order: the shape of the trace."""
    by_id = {s.context.span_id: s for s in spans}

    def depth(span: ReadableSpan) -> int:
        d = 0
        while span.parent is not None and span.parent.span_id in by_id:
            span, d = by_id[span.parent.span_id], d + 1
        return d

    return [(depth(s), s.name, s.kind.name) for s in sorted(spans, key=lambda s: s.start_time)]


def _named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    (span,) = [s for s in spans if s.name == name]
    return span


def _calls(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.kind is SpanKind.CLIENT), key=lambda s: s.start_time)


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _assert_rollup(run: ReadableSpan, calls: list[ReadableSpan], tools: int = 0, tool_errors: int = 0) -> None:
    """The run's figures are its calls' recorded numbers: tokens exactly, cost to float summation order."""
    attrs = run.attributes
    assert attrs[Attr.RUN_CALLS] == len(calls)
    assert attrs[Attr.RUN_CALL_ERRORS] == 0
    assert attrs[Attr.RUN_TOKENS_INPUT] == sum(c.attributes[Attr.TOKENS_INPUT] for c in calls)
    assert attrs[Attr.RUN_TOKENS_OUTPUT] == sum(c.attributes[Attr.TOKENS_OUTPUT] for c in calls)
    assert attrs[Attr.RUN_COST_USD] == pytest.approx(math.fsum(c.attributes[Attr.COST_USD] for c in calls), rel=1e-12)
    assert (attrs[Attr.RUN_TOOL_CALLS], attrs[Attr.RUN_TOOL_ERRORS]) == (tools, tool_errors)


def _truth(server: Any) -> tuple[int, int, float]:
    """Input tokens, output tokens and cost of every exchange, from the server's log and genai-prices."""
    log = list(server.log)
    cost = math.fsum(reference_cost("openai", e.model, e.usage) for e in log)
    return sum(e.usage["input"] for e in log), sum(e.usage["output"] for e in log), cost


def traced_hasher() -> Any:
    """The hasher the active LLM tracer uses (plain sha256 unless a hash key is set)."""
    from llmtrace import _state

    return _state.get_llm_tracer().hasher


def _no_content(spans: list[ReadableSpan], *texts: str) -> None:
    for span in spans:
        for value in span.attributes.values():
            assert not any(t in str(value) for t in texts), (span.name, value)


# -- one agent ---------------------------------------------------------------------------------------------------------


async def test_single_agent_async_responses_api(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    result = await Runner.run(agent, "Name a river.")
    spans = traced.spans()
    assert _tree(spans) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"responses {MODEL}", "CLIENT")]
    run, (call,) = _named(spans, "invoke_agent assistant"), _calls(spans)
    (exchange,) = server.log
    assert result.final_output == exchange.text
    assert call.attributes[Attr.AGENT] == "assistant" and call.attributes[Attr.RESPONSE_ID] == exchange.response_id
    assert run.status.status_code is StatusCode.UNSET and run.attributes[Attr.SUCCESS] is True
    assert run.attributes[GenAI.AGENT_NAME] == "assistant" and run.attributes[GenAI.OPERATION_NAME] == "invoke_agent"
    _assert_rollup(run, [call])
    assert run.attributes[Attr.RUN_COST_USD] == call.attributes[Attr.COST_USD]  # one call: exactly its cost
    tokens_in, tokens_out, cost = _truth(server)
    assert (run.attributes[Attr.RUN_TOKENS_INPUT], run.attributes[Attr.RUN_TOKENS_OUTPUT]) == (tokens_in, tokens_out)
    assert run.attributes[Attr.RUN_COST_USD] == pytest.approx(cost, rel=1e-12)
    assert traced.points(Metric.RUNS) == [({"operation": "invoke_agent", "agent": "assistant", "status": "ok"}, 1)]
    assert traced.total(Metric.CALLS, agent="assistant") == 1


async def test_llmtrace_instrument_includes_the_integration(instrumented, server):
    """``llmtrace.instrument()`` finds the integration in the registry and hands it the same LLM tracer."""
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    await Runner.run(agent, "Name a river.")
    spans = instrumented.spans()
    assert _tree(spans) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"responses {MODEL}", "CLIENT")]
    _assert_rollup(_named(spans, "invoke_agent assistant"), _calls(spans))
    assert instrumented.total(Metric.RUNS, agent="assistant") == 1


def test_single_agent_run_sync_chat_completions(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_chat(server))
    result = Runner.run_sync(agent, "Name a river.")
    spans = traced.spans()
    assert _tree(spans) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"chat {MODEL}", "CLIENT")]
    (call,) = _calls(spans)
    assert result.final_output == server.log[0].text and call.attributes[Attr.AGENT] == "assistant"
    _assert_rollup(_named(spans, "invoke_agent assistant"), [call])
    assert traced.total(Metric.RUNS, agent="assistant", status="ok") == 1


async def test_a_failed_llm_call_fails_the_run(traced, server):
    server.enqueue("server_error")
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    with pytest.raises(openai.InternalServerError):
        await Runner.run(agent, "Name a river.")
    spans = traced.spans()
    assert _tree(spans) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"responses {MODEL}", "CLIENT")]
    run, (call,) = _named(spans, "invoke_agent assistant"), _calls(spans)
    assert call.attributes[Attr.ERROR_TYPE] == "server_error"
    assert run.status.status_code is StatusCode.ERROR and run.attributes[Attr.ERROR_TYPE] == "InternalServerError"
    assert (run.attributes[Attr.RUN_CALLS], run.attributes[Attr.RUN_CALL_ERRORS]) == (1, 1)
    assert (run.attributes[Attr.RUN_TOKENS_INPUT], run.attributes[Attr.RUN_COST_USD]) == (0, 0.0)


async def test_streamed_run(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    result = Runner.run_streamed(agent, "Name a river.")
    async for _ in result.stream_events():
        pass
    spans = traced.spans()
    assert _tree(spans) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"responses {MODEL}", "CLIENT")]
    (call,) = _calls(spans)
    assert call.attributes[Attr.STREAMING] is True and call.attributes[Attr.AGENT] == "assistant"
    assert _named(spans, "invoke_agent assistant").attributes[Attr.RUN_CALLS] == 1


async def test_streamed_run_rollup(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    result = Runner.run_streamed(agent, "Name a river.")
    async for _ in result.stream_events():
        pass
    spans = traced.spans()
    (call,) = _calls(spans)
    assert call.attributes[Attr.TOKENS_INPUT] == server.log[0].usage["input"]
    _assert_rollup(_named(spans, "invoke_agent assistant"), [call])


# -- tools -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [_responses, _chat], ids=["responses", "chat"])
async def test_function_tool(traced, server, model):
    server.enqueue("tool_call", "ok")
    agent = Agent(name="researcher", instructions="Use the tool.", model=model(server), tools=[lookup])
    result = await Runner.run(agent, "Weather?")
    spans = traced.spans()
    call_name = f"{'responses' if model is _responses else 'chat'} {MODEL}"
    assert _tree(spans) == [
        (0, "invoke_agent researcher", "INTERNAL"),
        (1, call_name, "CLIENT"),
        (1, "execute_tool lookup", "INTERNAL"),
        (1, call_name, "CLIENT"),
    ]
    run, tool, calls = _named(spans, "invoke_agent researcher"), _named(spans, "execute_tool lookup"), _calls(spans)
    (call_item,) = [item for item in result.new_items if isinstance(item, ToolCallItem)]
    hasher = traced_hasher()
    attrs = dict(tool.attributes)
    assert attrs.pop(Attr.LATENCY_MS) > 0
    assert attrs == {
        Attr.OPERATION: "execute_tool",
        GenAI.OPERATION_NAME: "execute_tool",
        Attr.TOOL_NAME: "lookup",
        GenAI.TOOL_NAME: "lookup",
        Attr.TOOL_TYPE: "function",
        GenAI.TOOL_TYPE: "function",
        Attr.TOOL_CALL_ID: call_item.raw_item.call_id,
        GenAI.TOOL_CALL_ID: call_item.raw_item.call_id,
        Attr.AGENT: "researcher",
        GenAI.AGENT_NAME: "researcher",
        Attr.SUCCESS: True,
        Attr.TOOL_ARGUMENTS_HASH: hasher.hash_text('{"query":"weather in Paris"}'),
        Attr.TOOL_ARGUMENTS_LENGTH: len('{"query":"weather in Paris"}'),
        Attr.TOOL_RESULT_HASH: hasher.hash_text("sunny for weather in Paris"),
        Attr.TOOL_RESULT_LENGTH: len("sunny for weather in Paris"),
    }
    # the execute_tool span runs the call the model asked for: same id, same arguments hash
    asked = calls[0].attributes
    assert list(asked[Attr.RESPONSE_TOOL_CALL_IDS]) == [call_item.raw_item.call_id]
    assert list(asked[Attr.RESPONSE_TOOL_CALL_ARGUMENT_HASHES]) == [attrs[Attr.TOOL_ARGUMENTS_HASH]]
    assert all(c.attributes[Attr.AGENT] == "researcher" for c in calls)
    _assert_rollup(run, calls, tools=1)
    _no_content(spans, "weather in Paris", "sunny for")
    assert traced.points(Metric.TOOL_CALLS) == [({"tool": "lookup", "agent": "researcher", "status": "ok"}, 1)]


async def test_tool_without_sensitive_tracing_still_hashes_its_arguments(traced, server):
    """``trace_include_sensitive_data=False`` keeps arguments and result off the SDK's spans: the arguments still
    come from the tool's context (hashed), the result is not known."""
    server.enqueue("tool_call", "ok")
    agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[lookup])
    await Runner.run(agent, "Weather?", run_config=RunConfig(trace_include_sensitive_data=False))
    tool = _named(traced.spans(), "execute_tool lookup")
    assert tool.attributes[Attr.TOOL_ARGUMENTS_HASH] == traced_hasher().hash_text('{"query":"weather in Paris"}')
    assert Attr.TOOL_RESULT_HASH not in tool.attributes and tool.attributes[Attr.SUCCESS] is True


async def test_tool_that_raises_is_a_failed_tool_in_a_run_that_goes_on(traced, server):
    """The SDK's default failure handler swallows the exception and tells the model: the tool span fails with the
    exception's class, the run succeeds."""
    server.enqueue("tool_call", "ok")
    agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[broken])
    await Runner.run(agent, "Weather?")
    spans = traced.spans()
    tool, run = _named(spans, "execute_tool broken"), _named(spans, "invoke_agent researcher")
    assert tool.status.status_code is StatusCode.ERROR and tool.status.description == "ValueError"
    assert tool.attributes[Attr.ERROR_TYPE] == "ValueError" and tool.attributes[GenAI.ERROR_TYPE] == "ValueError"
    assert tool.attributes[Attr.SUCCESS] is False and Attr.TOOL_RESULT_HASH not in tool.attributes
    assert Attr.TOOL_ARGUMENTS_HASH in tool.attributes
    assert run.attributes[Attr.SUCCESS] is True
    _assert_rollup(run, _calls(spans), tools=1, tool_errors=1)
    assert traced.points(Metric.TOOL_CALLS) == [
        ({"tool": "broken", "agent": "researcher", "status": "error", "error_type": "ValueError"}, 1)
    ]


async def test_tool_that_raises_through_the_run(traced, server):
    """With ``failure_error_function=None`` the SDK re-raises (as ``UserError``): the run fails with that class, the
    tool with the tool's own, and the caller gets the SDK's exception unchanged."""
    server.enqueue("tool_call", "ok")
    agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[broken_loudly])
    with pytest.raises(UserError) as raised:
        await Runner.run(agent, "Weather?")
    assert isinstance(raised.value.__cause__, ValueError)
    spans = traced.spans()
    tool, run = _named(spans, "execute_tool broken_loudly"), _named(spans, "invoke_agent researcher")
    assert tool.attributes[Attr.ERROR_TYPE] == "ValueError"
    assert run.attributes[Attr.ERROR_TYPE] == "UserError" and run.status.status_code is StatusCode.ERROR
    assert traced.points(Metric.RUNS) == [
        ({"operation": "invoke_agent", "agent": "researcher", "status": "error", "error_type": "UserError"}, 1)
    ]


class Query(BaseModel):
    query: str


async def test_agent_as_tool_nests_under_its_tool(traced, server):
    """``Agent.as_tool``: the inner agent's run is inside the tool execution, and the outer run adds it up."""
    server.enqueue("tool_call", "ok", "ok")  # manager calls the tool; researcher answers; manager answers
    model = _responses(server)
    researcher = Agent(name="researcher", instructions="Research.", model=model)
    manager = Agent(
        name="manager",
        instructions="Delegate.",
        model=model,
        tools=[researcher.as_tool("research", "Research it.", parameters=Query)],
    )
    await Runner.run(manager, "Weather?")
    spans = traced.spans()
    call = f"responses {MODEL}"
    assert _tree(spans) == [
        (0, "invoke_agent manager", "INTERNAL"),
        (1, call, "CLIENT"),
        (1, "execute_tool research", "INTERNAL"),
        (2, "invoke_agent researcher", "INTERNAL"),
        (3, call, "CLIENT"),
        (1, call, "CLIENT"),
    ]
    calls = _calls(spans)
    assert [c.attributes[Attr.AGENT] for c in calls] == ["manager", "researcher", "manager"]
    _assert_rollup(_named(spans, "invoke_agent researcher"), calls[1:2])
    _assert_rollup(_named(spans, "invoke_agent manager"), calls, tools=1)
    assert _named(spans, "execute_tool research").attributes[Attr.TOOL_CALL_ID].startswith("call_")


async def test_concurrent_runs_keep_apart(traced, server):
    """Runs in concurrent tasks: each call nests under, and adds up into, its own run."""
    model = _responses(server)
    agents = [Agent(name=f"agent-{i}", instructions="Be brief.", model=model) for i in range(4)]
    await asyncio.gather(*(Runner.run(agent, f"Question {i}.") for i, agent in enumerate(agents)))
    spans = traced.spans()
    for agent in agents:
        run = _named(spans, f"invoke_agent {agent.name}")
        (call,) = _children(spans, run)
        assert call.kind is SpanKind.CLIENT and call.attributes[Attr.AGENT] == agent.name
        _assert_rollup(run, [call])
    assert len(_calls(spans)) == len(server.log) == 4


# -- handoffs and guardrails ------------------------------------------------------------------------------------------


@input_guardrail
async def on_topic(ctx: Any, agent: Any, user_input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


@input_guardrail
async def off_topic(ctx: Any, agent: Any, user_input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=True)


@pytest.mark.parametrize("task_spans", [True, False], ids=["task_and_turn_spans", "agent_spans_only"])
async def test_handoff_planner_to_researcher(traced, server, task_spans):
    """The researcher's run nests in the planner's (which stays open until it ends), so the planner's rollup is the
    whole run's; the handoff and the guardrail are events on the planner's span. Whether or not the SDK puts its
    task and turn spans between the trace and the agents."""
    server.enqueue("tool_call", "tool_call", "ok")  # planner hands off; researcher calls its tool, then answers
    model = _responses(server)
    researcher = Agent(name="researcher", instructions="Research.", model=model, tools=[lookup])
    planner = Agent(
        name="planner", instructions="Plan.", model=model, handoffs=[researcher], input_guardrails=[on_topic]
    )
    run_config = RunConfig(tracing={"include_task_and_turn_spans": task_spans})
    result = await Runner.run(planner, "Weather in Paris?", run_config=run_config)
    spans = traced.spans()
    call = f"responses {MODEL}"
    assert _tree(spans) == [
        (0, "invoke_agent planner", "INTERNAL"),
        (1, call, "CLIENT"),
        (1, "invoke_agent researcher", "INTERNAL"),
        (2, call, "CLIENT"),
        (2, "execute_tool lookup", "INTERNAL"),
        (2, call, "CLIENT"),
    ]
    assert result.last_agent is researcher
    planner_run, researcher_run = _named(spans, "invoke_agent planner"), _named(spans, "invoke_agent researcher")
    calls = _calls(spans)
    assert [c.attributes[Attr.AGENT] for c in calls] == ["planner", "researcher", "researcher"]
    assert len(calls) == len(server.log) == 3  # one CLIENT span per LLM call, no span of the SDK's own
    _assert_rollup(researcher_run, calls[1:], tools=1)
    _assert_rollup(planner_run, calls, tools=1)
    tokens_in, tokens_out, cost = _truth(server)
    assert planner_run.attributes[Attr.RUN_TOKENS_INPUT] == tokens_in
    assert planner_run.attributes[Attr.RUN_TOKENS_OUTPUT] == tokens_out
    assert planner_run.attributes[Attr.RUN_COST_USD] == pytest.approx(cost, rel=1e-12)
    assert planner_run.end_time >= researcher_run.end_time
    assert researcher_run.attributes[Attr.HANDOFF_FROM_AGENT] == "planner"
    assert [(e.name, dict(e.attributes)) for e in planner_run.events] == [
        (Attr.EVENT_GUARDRAIL, {Attr.GUARDRAIL_NAME: "on_topic", Attr.GUARDRAIL_TRIGGERED: False}),
        (Attr.EVENT_HANDOFF, {Attr.HANDOFF_FROM_AGENT: "planner", Attr.HANDOFF_TO_AGENT: "researcher"}),
    ]
    assert sorted(traced.points(Metric.RUNS), key=lambda p: p[0]["agent"]) == [
        ({"operation": "invoke_agent", "agent": "planner", "status": "ok"}, 1),
        ({"operation": "invoke_agent", "agent": "researcher", "status": "ok"}, 1),
    ]
    assert traced.total(Metric.CALLS, agent="researcher") == 2 and traced.total(Metric.CALLS, agent="planner") == 1


async def test_guardrail_tripwire(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server), input_guardrails=[off_topic])
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner.run(agent, "Something else entirely.")
    run = _named(traced.spans(), "invoke_agent assistant")
    assert run.attributes[Attr.ERROR_TYPE] == "InputGuardrailTripwireTriggered"
    assert [(e.name, dict(e.attributes)) for e in run.events] == [
        (Attr.EVENT_GUARDRAIL, {Attr.GUARDRAIL_NAME: "off_topic", Attr.GUARDRAIL_TRIGGERED: True})
    ]


# -- context: conversations, outer runs, callers handling an exception ----------------------------------------------


async def test_group_id_is_the_conversation_and_an_outer_workflow_adds_up(traced, server):
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    with llmtrace.workflow("support") as flow:
        await Runner.run(agent, "One.", run_config=RunConfig(group_id="thread-7"))
        await Runner.run(agent, "Two.")
    spans = traced.spans()
    workflow = _named(spans, "invoke_workflow support")
    runs = sorted((s for s in spans if s.name == "invoke_agent assistant"), key=lambda s: s.start_time)
    assert [r.parent.span_id for r in runs] == [workflow.context.span_id] * 2
    calls = _calls(spans)
    assert runs[0].attributes[Attr.SESSION] == "thread-7" and runs[0].attributes[GenAI.CONVERSATION_ID] == "thread-7"
    assert calls[0].attributes[Attr.SESSION] == "thread-7" and Attr.SESSION not in calls[1].attributes
    assert flow.totals.calls == 2 and workflow.attributes[Attr.RUN_CALLS] == 2
    _assert_rollup(workflow, calls)


async def test_run_inside_an_except_block_is_not_a_failure(traced, server):
    """The exception a caller is handling is visible to the SDK's span ends (``sys.exc_info``): it is not the run's."""
    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    try:
        raise KeyError("the caller's own")
    except KeyError:
        await Runner.run(agent, "Retry, then.")
    run = _named(traced.spans(), "invoke_agent assistant")
    assert run.attributes[Attr.SUCCESS] is True and run.status.status_code is StatusCode.UNSET


# -- the SDK's own tracing ---------------------------------------------------------------------------------------------


async def test_the_sdks_own_processors_see_the_same_trace(telemetry, server):
    """llmtrace's processor sits beside the SDK's own (the default one exports to OpenAI): they get the same spans,
    in the same order, instrumented or not, and the SDK's response spans stay theirs (no OTel twin)."""
    recorder = Recorder()
    add_trace_processor(recorder)
    try:
        agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[lookup])
        server.enqueue("tool_call", "ok")
        await Runner.run(agent, "Weather?")
        bare, recorder.events = recorder.events, []
        inst = [OpenAIInstrumentor(), OpenAIAgentsInstrumentor()]
        for i in inst:
            i.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        try:
            server.enqueue("tool_call", "ok")
            await Runner.run(agent, "Weather?")
        finally:
            for i in reversed(inst):
                i.uninstrument()
    finally:
        set_trace_processors([])
    assert recorder.events == bare
    assert ("end", "response") in bare and ("end", "function") in bare
    assert sorted(s.name for s in telemetry.spans()) == [
        "execute_tool lookup",
        "invoke_agent researcher",
        f"responses {MODEL}",
        f"responses {MODEL}",
    ]


async def test_replacing_the_sdks_processors_keeps_llmtraces(traced, server):
    """``set_trace_processors`` is how an app drops the SDK's exporter to OpenAI: llmtrace's processor stays."""
    recorder = Recorder()
    set_trace_processors([recorder])
    try:
        agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
        await Runner.run(agent, "Name a river.")
    finally:
        set_trace_processors([])
    assert _tree(traced.spans()) == [(0, "invoke_agent assistant", "INTERNAL"), (1, f"responses {MODEL}", "CLIENT")]
    assert ("end", "agent") in recorder.events


@pytest.mark.parametrize("switch", ["run_config", "global"])
async def test_sdk_tracing_disabled_keeps_the_calls(traced, server, switch):
    """With the SDK's tracing off there is nothing to map: no agent spans, no errors, every LLM call still traced."""
    from agents import set_tracing_disabled

    agent = Agent(name="assistant", instructions="Be brief.", model=_responses(server))
    if switch == "global":
        set_tracing_disabled(True)
    try:
        await Runner.run(agent, "Name a river.", run_config=RunConfig(tracing_disabled=switch == "run_config"))
    finally:
        set_tracing_disabled(False)
    assert _tree(traced.spans()) == [(0, f"responses {MODEL}", "CLIENT")]
    assert traced.points(Metric.RUNS) == []


@pytest.fixture
def app_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The SDK's tracing as an app that never touched it has it: a fresh trace provider with the SDK's default
    processor (the exporter to OpenAI's backend), and no OpenAI key in the environment, so that exporter skips its
    export (and says so) instead of sending anything."""
    from agents.tracing import get_trace_provider, set_trace_provider
    from agents.tracing.processors import default_processor
    from agents.tracing.provider import DefaultTraceProvider

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_AGENTS_DISABLE_TRACING", raising=False)
    previous = get_trace_provider()
    provider = DefaultTraceProvider()
    provider.register_processor(default_processor())
    set_trace_provider(provider)
    yield provider
    set_trace_provider(previous)


@pytest.mark.parametrize("disabled", [False, True], ids=["no_openai_key", "tracing_disabled_by_env"])
def test_an_app_without_an_openai_key_or_with_sdk_tracing_off_sees_no_errors(
    app_tracing, traced, server, caplog, monkeypatch, disabled
):
    """Beside the SDK's default processor, with no OpenAI key (the SDK skips its export, as without llmtrace) or
    with ``OPENAI_AGENTS_DISABLE_TRACING`` (the SDK reports nothing: calls only). No error either way."""
    from agents import flush_traces

    if disabled:
        monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")  # read by the provider at its first trace
    server.enqueue("tool_call", "ok")
    agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[lookup])
    Runner.run_sync(agent, "Weather?")
    flush_traces()
    calls = [f"responses {MODEL}"] * 2
    names = sorted(s.name for s in traced.spans())
    assert names == (calls if disabled else ["execute_tool lookup", "invoke_agent researcher", *calls])
    skipped = [r for r in caplog.records if r.getMessage() == "OPENAI_API_KEY is not set, skipping trace export"]
    assert bool(skipped) is not disabled  # the SDK's own exporter ran beside ours (and found no key)
    # (asyncio's complaints about other tests' clients, collected on a closed loop, are not this test's business)
    ours = [r for r in caplog.records if r.name.startswith("llmtrace")]
    sdk_errors = [r for r in caplog.records if r.name.startswith("openai.agents") and r.levelno >= logging.ERROR]
    assert not ours and not sdk_errors, [r.getMessage() for r in ours + sdk_errors]


async def test_uninstrument_restores(telemetry, server):
    from agents import tool as sdk_tool
    from agents.tool_context import ToolContext
    from agents.tracing.provider import SynchronousMultiTracingProcessor

    def targets() -> tuple[Any, ...]:
        return (
            vars(ToolContext)["from_agent_context"],
            sdk_tool.maybe_invoke_function_tool_failure_error_function,
            vars(SynchronousMultiTracingProcessor)["set_processors"],
        )

    originals = targets()
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    ours = OpenAIAgentsInstrumentor()
    ours.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        assert all(isinstance(target, wrapt.FunctionWrapper) for target in targets())
        ours.uninstrument()
        assert targets() == originals
        server.enqueue("tool_call", "ok")
        agent = Agent(name="researcher", instructions="Use the tool.", model=_responses(server), tools=[lookup])
        await Runner.run(agent, "Weather?")
    finally:
        OpenAIInstrumentor().uninstrument()
    spans = telemetry.spans()
    assert _tree(spans) == [(0, f"responses {MODEL}", "CLIENT"), (0, f"responses {MODEL}", "CLIENT")]
    assert all(Attr.AGENT not in s.attributes for s in spans)

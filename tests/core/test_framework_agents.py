"""Frameworks that trace their own agent runs: llmtrace adds no agent span, and its calls still carry the agent.

pydantic-ai, google-adk and crewai open an ``invoke_agent`` span with ``gen_ai.agent.name`` around a run (pydantic-ai
also sets the baggage entry ``gen_ai.agent.name``, and names the agent on its own per-request spans). Outside an
llmtrace agent run, llmtrace reads the agent from there, so each LLM span, tool span and metric point carries it.
The frameworks' spans are made here exactly as they make them: a plain OTel tracer with the GenAI attributes, around a
real openai call to the fake server; and real pydantic-ai agent runs, when pydantic-ai is installed, whose own
per-request ``chat`` span is folded into llmtrace's call span (``sdk_spans``) when llmtrace records the call.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context

import llmtrace
from llmtrace.semconv import Metric

MESSAGES = [{"role": "user", "content": "Name a river."}]
AGENT_SPAN = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner", "gen_ai.provider.name": "openai"}


@pytest.fixture
def traced(telemetry: Any) -> Any:
    """openai instrumented into ``telemetry``, and the frameworks' tracer on the same provider."""
    llmtrace.instrument(
        providers=["openai"], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry, telemetry.tracer_provider.get_tracer("some-agent-framework")
    llmtrace.uninstrument()


def _chat(server: Any) -> Any:
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def _llm_spans(telemetry: Any) -> list[Any]:
    return [s for s in telemetry.spans() if s.instrumentation_scope.name == "llmtrace"]


def _calls_by_agent(telemetry: Any) -> dict[Any, float]:
    totals: dict[Any, float] = {}
    for labels, value in telemetry.points(Metric.CALLS):
        totals[labels.get("agent")] = totals.get(labels.get("agent"), 0) + value
    return totals


def test_call_inside_a_framework_agent_span_carries_its_agent(traced, server):
    telemetry, tracer = traced
    with tracer.start_as_current_span("invoke_agent planner", attributes=AGENT_SPAN) as agent_span:
        _chat(server)
        _chat(server)
    calls = _llm_spans(telemetry)
    assert len(calls) == 2 and len(telemetry.spans()) == 3  # llmtrace adds no agent span of its own
    assert all(s.attributes["llm.agent"] == "planner" for s in calls)
    assert all(s.parent.span_id == agent_span.get_span_context().span_id for s in calls)
    assert _calls_by_agent(telemetry) == {"planner": 2}


async def test_async_call_inside_a_framework_agent_span(traced, server):
    telemetry, tracer = traced
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    with tracer.start_as_current_span("invoke_agent planner", attributes=AGENT_SPAN):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (call,) = _llm_spans(telemetry)
    assert call.attributes["llm.agent"] == "planner"
    assert _calls_by_agent(telemetry) == {"planner": 1}


def test_llmtrace_tool_inside_a_framework_agent_carries_its_agent(traced):
    telemetry, tracer = traced
    with tracer.start_as_current_span("invoke_agent planner", attributes=AGENT_SPAN):
        with llmtrace.tool("search", arguments={"q": 1}) as execution:
            execution.record_result("ok")
    (tool,) = _llm_spans(telemetry)
    assert tool.attributes["llm.agent"] == "planner"
    assert [labels.get("agent") for labels, _ in telemetry.points(Metric.TOOL_CALLS)] == ["planner"]


def test_explicit_attribution_and_llmtrace_runs_win_over_the_framework_span(traced, server):
    telemetry, tracer = traced
    with tracer.start_as_current_span("invoke_agent planner", attributes=AGENT_SPAN):
        with llmtrace.attributes(agent="router"):
            _chat(server)
        with llmtrace.agent("writer"):
            _chat(server)
    agents = sorted(s.attributes["llm.agent"] for s in _llm_spans(telemetry) if s.attributes["llm.operation"] == "chat")
    assert agents == ["router", "writer"]
    assert _calls_by_agent(telemetry) == {"router": 1, "writer": 1}


def test_spans_that_name_no_agent_give_none(traced, server):
    """A web request's span (recording, no agent), and a framework's agent span that the sampler dropped (its
    attributes are gone with it): the call has no agent. Dropped spans are why pydantic-ai's baggage matters."""
    telemetry, tracer = traced
    with tracer.start_as_current_span("GET /ask", attributes={"http.request.method": "GET"}):
        _chat(server)
    dropped = trace.NonRecordingSpan(trace.SpanContext(1, 2, is_remote=False))
    with trace.use_span(dropped):
        _chat(server)
    assert all("llm.agent" not in s.attributes for s in _llm_spans(telemetry))
    assert _calls_by_agent(telemetry) == {None: 2}


def test_agent_from_genai_baggage(traced, server):
    """pydantic-ai puts ``gen_ai.agent.name`` in baggage for the whole run: it survives sampling and nesting."""
    telemetry, _ = traced
    token = otel_context.attach(baggage.set_baggage("gen_ai.agent.name", "researcher"))
    try:
        _chat(server)
        with llmtrace.attributes(tenant="acme"):
            _chat(server)
    finally:
        otel_context.detach(token)
    assert [s.attributes["llm.agent"] for s in _llm_spans(telemetry)] == ["researcher", "researcher"]


def test_pydantic_ai_agent_run(telemetry, server):
    """A real pydantic-ai agent (with its own instrumentation on) asks the model for a tool call, runs the tool, and
    answers: its ``invoke_agent`` span is the only agent span, each LLM call is one llmtrace span named for the
    agent, and the metrics count the calls under the agent."""
    import httpx2
    from pydantic_ai import Agent
    from pydantic_ai.capabilities.instrumentation import Instrumentation
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    sent: list[Any] = []

    async def fault_plan(request: Any) -> None:  # the model asks for the tool, then answers
        request.headers["x-llmtrace-fault"] = "tool_call" if not sent else "ok"
        sent.append(request)

    http_client = httpx2.AsyncClient(event_hooks={"request": [fault_plan]})
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0, http_client=http_client)
    settings = InstrumentationSettings(tracer_provider=telemetry.tracer_provider, include_content=False)
    agent = Agent(
        OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client)),
        name="planner",
        capabilities=[Instrumentation(settings=settings)],
    )
    looked_up: list[str] = []

    @agent.tool_plain
    def lookup(query: str) -> str:
        looked_up.append(query)
        return "sunny"

    llmtrace.instrument(
        providers=["openai"], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        result = agent.run_sync("Weather in Paris?")
    finally:
        llmtrace.uninstrument()
    assert result.output == server.log[-1].text and looked_up == ["weather in Paris"]
    assert [e.fault for e in server.log] == ["tool_call", "ok"]
    ours = _llm_spans(telemetry)
    assert [s.attributes["llm.operation"] for s in ours] == ["chat", "chat"]  # one span per LLM call
    assert all(s.attributes["llm.agent"] == "planner" for s in ours)
    assert ours[0].attributes["llm.response.tool_call_names"] == ("lookup",)
    operations = [s.attributes.get("gen_ai.operation.name") for s in telemetry.spans()]
    assert operations.count("invoke_agent") == 1  # pydantic-ai's; llmtrace adds none
    assert _calls_by_agent(telemetry) == {"planner": 2}


# -- pydantic-ai's own per-request `chat` span: folded into llmtrace's call span ------------------------------------


def _openai_model(server: Any, faults: list[str]) -> Any:
    """pydantic-ai's chat completions model on the real openai SDK against the fake server, which answers its
    requests with ``faults`` in order (``tool_call``: the model asks for ``lookup``)."""
    import httpx2
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    plan = iter(faults)

    async def fault_plan(request: Any) -> None:
        request.headers["x-llmtrace-fault"] = next(plan)

    http_client = httpx2.AsyncClient(event_hooks={"request": [fault_plan]})
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0, http_client=http_client)
    return OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(openai_client=client))


def _instrumentation(telemetry: Any) -> Any:
    from pydantic_ai.models.instrumented import InstrumentationSettings

    return InstrumentationSettings(tracer_provider=telemetry.tracer_provider, include_content=False)


def _pydantic_agent(telemetry: Any, model: Any) -> Any:
    """A real pydantic-ai agent named ``planner`` with its instrumentation on (``agent.instrument``) and one tool."""
    from pydantic_ai import Agent

    agent = Agent(model, name="planner")
    agent.instrument = _instrumentation(telemetry)

    @agent.tool_plain
    def lookup(query: str) -> str:
        return "sunny"

    return agent


@pytest.fixture
def pydantic_traced(telemetry: Any) -> Any:
    pytest.importorskip("pydantic_ai")
    llmtrace.instrument(
        providers=["openai"], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    llmtrace.uninstrument()


def _assert_one_span_per_request(telemetry: Any, requests: int) -> None:
    """``invoke_agent planner`` (pydantic-ai's) -> llmtrace's call span, one per request; no pydantic-ai chat span."""
    spans = telemetry.spans()
    agent_spans = {s.context.span_id for s in spans if s.name == "invoke_agent planner"}
    ours = _llm_spans(telemetry)
    assert [s.attributes["llm.operation"] for s in ours] == ["chat"] * requests
    assert [s.name for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"] == [s.name for s in ours]
    for call in ours:
        assert call.parent.span_id in agent_spans
        assert call.attributes["llm.agent"] == "planner"
        assert call.attributes["llm.tokens.input"] > 0 and call.attributes["llm.cost_usd"] > 0
    assert not [s for s in spans if s.parent and s.parent.span_id in {c.context.span_id for c in ours}]
    assert _calls_by_agent(telemetry) == {"planner": requests}


def test_pydantic_ai_chat_span_is_folded_into_ours(pydantic_traced, server, caplog):
    """A tool-using run (two requests): one span per request, ours, under pydantic-ai's agent span, whose tool span
    stays; pydantic-ai's code that annotates its (now non-recording) chat span raises nothing llmtrace would log."""
    caplog.set_level(logging.WARNING)
    result = _pydantic_agent(pydantic_traced, _openai_model(server, ["tool_call", "ok"])).run_sync("Weather in Paris?")
    assert result.output == server.log[-1].text
    _assert_one_span_per_request(pydantic_traced, 2)
    tools = [s for s in pydantic_traced.spans() if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    assert [s.attributes["gen_ai.tool.name"] for s in tools] == ["lookup"]
    assert _llm_spans(pydantic_traced)[0].attributes["llm.response.tool_call_names"] == ("lookup",)
    assert not [r for r in caplog.records if r.name.startswith("llmtrace")]


async def test_pydantic_ai_async_run_is_folded(pydantic_traced, server):
    result = await _pydantic_agent(pydantic_traced, _openai_model(server, ["ok"])).run("Weather in Paris?")
    assert result.output == server.log[-1].text
    _assert_one_span_per_request(pydantic_traced, 1)


async def test_pydantic_ai_streamed_run_is_folded(pydantic_traced, server):
    agent = _pydantic_agent(pydantic_traced, _openai_model(server, ["ok"]))
    async with agent.run_stream("Weather in Paris?") as streamed:
        output = await streamed.get_output()
    assert output == server.log[-1].text
    _assert_one_span_per_request(pydantic_traced, 1)
    assert _llm_spans(pydantic_traced)[0].attributes["llm.streaming"] is True


def test_pydantic_ai_chat_span_kept_with_sdk_spans_keep(telemetry, server):
    """``sdk_spans="keep"``: pydantic-ai's chat span stays, and ours nests under it."""
    pytest.importorskip("pydantic_ai")
    llmtrace.instrument(
        providers=["openai"],
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        sdk_spans="keep",
    )
    try:
        _pydantic_agent(telemetry, _openai_model(server, ["ok"])).run_sync("Weather in Paris?")
    finally:
        llmtrace.uninstrument()
    (call,) = _llm_spans(telemetry)
    (theirs,) = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini" and s is not call]
    assert theirs.instrumentation_scope.name != "llmtrace" and call.parent.span_id == theirs.context.span_id
    assert call.attributes["llm.agent"] == "planner"


def test_pydantic_ai_instrumented_model_request_is_folded(pydantic_traced, server):
    """A direct request through ``InstrumentedModel`` (no agent): one span, ours."""
    from pydantic_ai import ModelRequest
    from pydantic_ai.direct import model_request_sync
    from pydantic_ai.models.instrumented import InstrumentedModel

    model = InstrumentedModel(_openai_model(server, ["ok"]), _instrumentation(pydantic_traced))
    response = model_request_sync(model, [ModelRequest.user_text_prompt("Name a river.")])
    assert response.parts[0].content == server.log[-1].text
    (call,) = pydantic_traced.spans()
    assert call.instrumentation_scope.name == "llmtrace" and call.attributes["llm.tokens.input"] > 0


def test_pydantic_ai_chat_span_kept_when_llmtrace_records_no_call(telemetry, server):
    """Requests llmtrace does not record keep pydantic-ai's chat span, else they would have none: a model that is
    no SDK's (pydantic-ai's TestModel), and the openai model while llmtrace instruments another provider only."""
    pytest.importorskip("pydantic_ai")
    from pydantic_ai.models.test import TestModel

    for providers, model in ((["openai"], TestModel(call_tools=[])), (["anthropic"], _openai_model(server, ["ok"]))):
        llmtrace.instrument(
            providers=providers, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        try:
            _pydantic_agent(telemetry, model).run_sync("Weather in Paris?")
        finally:
            llmtrace.uninstrument()
    theirs = [s for s in telemetry.spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert [s.instrumentation_scope.name for s in theirs] == ["pydantic-ai", "pydantic-ai"]
    assert not _llm_spans(telemetry)


def test_pydantic_ai_models_of_two_instrumented_sdks_are_folded(telemetry, server):
    """openai and groq both fold pydantic-ai's span (one patched function, a row each); uninstrumenting groq leaves
    openai's row folding, and GroqModel's requests, no longer recorded by llmtrace, get pydantic-ai's span back."""
    pytest.importorskip("pydantic_ai")
    import groq
    from pydantic_ai.models.groq import GroqModel
    from pydantic_ai.providers.groq import GroqProvider

    from llmtrace.demo.providers.groq import PREFIX
    from llmtrace.providers.groq import GroqInstrumentor

    def groq_model() -> Any:
        client = groq.AsyncGroq(api_key="gsk_test", base_url=server.url + PREFIX, max_retries=0)
        return GroqModel("llama-3.3-70b-versatile", provider=GroqProvider(groq_client=client))

    llmtrace.instrument(
        providers=["openai", "groq"], tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        _pydantic_agent(telemetry, groq_model()).run_sync("Weather in Paris?")
        _pydantic_agent(telemetry, _openai_model(server, ["ok"])).run_sync("Weather in Paris?")
        _assert_one_span_per_request(telemetry, 2)
        telemetry.exporter.clear()
        GroqInstrumentor().uninstrument()
        _pydantic_agent(telemetry, _openai_model(server, ["ok"])).run_sync("Weather in Paris?")
        _pydantic_agent(telemetry, groq_model()).run_sync("Weather in Paris?")
    finally:
        llmtrace.uninstrument()
    chats = [s for s in telemetry.spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert [(s.instrumentation_scope.name, s.attributes.get("gen_ai.request.model")) for s in chats] == [
        ("llmtrace", "gpt-4o-mini"),
        ("pydantic-ai", "llama-3.3-70b-versatile"),
    ]


def test_pydantic_ai_failed_request_is_one_error_span(pydantic_traced, server):
    """A request the provider fails: pydantic-ai raises its own error as without llmtrace, and the call is one span,
    ours, with the error; pydantic-ai's error recording on its folded span does nothing."""
    from pydantic_ai.exceptions import ModelHTTPError

    with pytest.raises(ModelHTTPError) as raised:
        _pydantic_agent(pydantic_traced, _openai_model(server, ["server_error"])).run_sync("Weather in Paris?")
    assert raised.value.status_code == 500
    (call,) = _llm_spans(pydantic_traced)
    assert call.attributes["llm.error.type"] == "server_error" and call.attributes["llm.agent"] == "planner"
    assert not [s for s in pydantic_traced.spans() if s.name.startswith("chat ") and s is not call]

"""LangChain / LangGraph runs as llmtrace agent runs and tool executions.

Real parts only: LangGraph graphs (``create_react_agent``, ``StateGraph`` with subgraphs) driving langchain-openai's
``ChatOpenAI``, whose ``openai`` SDK talks HTTP to the fake provider server; spans and metric points are read back
through the real OTel SDK. Expected tokens and cost come from the server's exchange log and genai-prices directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import warnings
from typing import Any

import openai
import pytest
from langchain_core.callbacks import CallbackManager
from langchain_core.tools import ToolException, tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace import _guard, _state
from llmtrace.demo.workload import reference_cost
from llmtrace.integrations import langchain as integration
from llmtrace.rollup import ACTIVE_RUN

MODEL = "gpt-4o-mini"
ASK = {"messages": [("user", "What is the weather in Paris?")]}
ARGUMENTS = '{"query": "weather in Paris"}'  # what the fake server's tool calls ask for


def _react_agent(*args: Any, **kwargs: Any) -> Any:
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():  # moved to langchain.agents.create_agent (langchain 1.x, not installed here)
        warnings.simplefilter("ignore")
        return create_react_agent(*args, **kwargs)


@pytest.fixture
def model(server: Any) -> ChatOpenAI:
    # a fresh async HTTP client per test: langchain-openai caches one per base URL, bound to the first event loop
    return ChatOpenAI(
        model=MODEL,
        api_key="k",
        base_url=server.openai_base_url,
        max_retries=0,
        http_async_client=openai.DefaultAsyncHttpxClient(),
    )


@tool
def lookup(query: str) -> str:
    """Look the query up."""
    return f"found {query}"


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _truth(exchanges: list[Any]) -> dict[str, Any]:
    """What the server says the successful calls used, priced straight from genai-prices."""
    ok = [e for e in exchanges if e.usage and e.status == 200]
    return {
        "input": sum(e.usage["input"] for e in ok),
        "output": sum(e.usage["output"] for e in ok),
        "cost": pytest.approx(sum(reference_cost(e.provider, e.model, e.usage) for e in ok)),
    }


def _rollup(span: Any) -> dict[str, Any]:
    a = span.attributes
    return {
        "input": a["llm.run.tokens.input"],
        "output": a["llm.run.tokens.output"],
        "cost": a["llm.run.cost_usd"],
    }


def _calls_sum(calls: list[Any]) -> dict[str, Any]:
    return {
        "input": sum(s.attributes["llm.tokens.input"] for s in calls),
        "output": sum(s.attributes["llm.tokens.output"] for s in calls),
        "cost": pytest.approx(sum(s.attributes["llm.cost_usd"] for s in calls)),
    }


class Tree:
    """The exported spans, by kind and name, with parent lookups."""

    def __init__(self, spans: list[Any]) -> None:
        self.spans = spans
        self.by_id = {s.context.span_id: s for s in spans}
        self.calls = [s for s in spans if s.kind is SpanKind.CLIENT]

    def one(self, name: str) -> Any:
        (span,) = [s for s in self.spans if s.name == name]
        return span

    def parent(self, span: Any) -> Any:
        return self.by_id.get(span.parent.span_id) if span.parent is not None else None

    def names(self) -> list[str]:
        return sorted(s.name for s in self.spans)


def _assert_react_run(tree: Tree, server: Any, name: str) -> None:
    """One agent run of two model calls around one ``lookup`` tool call, all nested and added up exactly."""
    agent, execution = tree.one(f"invoke_agent {name}"), tree.one("execute_tool lookup")
    assert tree.names() == sorted([f"invoke_agent {name}", "execute_tool lookup", f"chat {MODEL}", f"chat {MODEL}"])
    assert len(tree.calls) == len(server.log) == 2  # one CLIENT span per LLM call: LangChain adds none of its own
    assert len({s.context.trace_id for s in tree.spans}) == 1
    for span in (*tree.calls, execution):
        assert tree.parent(span) is agent
        assert span.attributes["llm.agent"] == name
    assert agent.attributes["gen_ai.agent.name"] == name
    assert agent.status.status_code is StatusCode.UNSET
    assert _rollup(agent) == _truth(server.log) == _calls_sum(tree.calls)
    assert agent.attributes["llm.run.calls"] == 2
    assert (agent.attributes["llm.run.tool_calls"], agent.attributes["llm.run.tool_errors"]) == (1, 0)
    first_call = min(tree.calls, key=lambda s: s.start_time)
    assert execution.attributes["gen_ai.tool.call.id"] == first_call.attributes["llm.response.tool_call_ids"][0]
    arguments_hash = execution.attributes["llm.tool.arguments_hash"]
    assert arguments_hash == _sha256(json.dumps(json.loads(ARGUMENTS), separators=(",", ":")))
    assert arguments_hash == first_call.attributes["llm.response.tool_call_argument_hashes"][0]  # what was asked for
    assert execution.attributes["llm.tool.result_hash"] == _sha256("found weather in Paris")
    assert execution.attributes["llm.success"] is True
    assert not any(
        k in s.attributes for s in tree.spans for k in ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result")
    )


# -- agents and tools -----------------------------------------------------------------------------------------------


def test_react_agent_invoke_nests_calls_and_tool_and_adds_up(server, instrumented, model):
    agent = _react_agent(model, [lookup], name="weather")
    server.enqueue("tool_call", "ok")
    with llmtrace.workflow("trip") as workflow:
        result = agent.invoke(ASK, config={"configurable": {"thread_id": "thread-7"}})
    assert [m.type for m in result["messages"]] == ["human", "ai", "tool", "ai"]
    tree = Tree(instrumented.spans())
    flow = tree.one("invoke_workflow trip")
    tree.spans.remove(flow)
    _assert_react_run(tree, server, "weather")
    agent_span = tree.one("invoke_agent weather")
    assert tree.parent(agent_span) is flow  # the app's context is the top-level run's parent
    assert flow.attributes["llm.run.calls"] == workflow.totals.calls == 2
    assert flow.attributes["llm.run.tool_calls"] == 1
    for span in (agent_span, *tree.calls):
        assert span.attributes["gen_ai.conversation.id"] == "thread-7"
    assert instrumented.total("llm.calls", agent="weather") == 2
    assert instrumented.total("llm.tool.calls", tool="lookup", agent="weather") == 1


async def test_react_agent_ainvoke_nests_and_leaves_no_context_behind(server, instrumented, model):
    agent = _react_agent(model, [lookup], name="weather")
    server.enqueue("tool_call", "ok")
    before = trace.get_current_span()
    await agent.ainvoke(ASK)
    # the end callbacks ran shielded in other tasks: nothing of the run may stay current in this one
    assert trace.get_current_span() is before
    assert ACTIVE_RUN.get() is None
    _assert_react_run(Tree(instrumented.spans()), server, "weather")


async def test_concurrent_async_runs_keep_their_own_calls(server, instrumented, model):
    agents = [_react_agent(model, [lookup], name=f"agent-{i}") for i in range(3)]
    async with llmtrace.workflow("batch") as batch:
        await asyncio.gather(*(a.ainvoke({"messages": [("user", f"question {i}")]}) for i, a in enumerate(agents)))
    tree = Tree(instrumented.spans())
    assert len(tree.calls) == len(server.log) == 3
    assert batch.totals.calls == 3 and batch.totals.input_tokens == sum(e.usage["input"] for e in server.log)
    for i in range(3):
        agent = tree.one(f"invoke_agent agent-{i}")
        assert tree.parent(agent) is tree.one("invoke_workflow batch")
        (call,) = [c for c in tree.calls if tree.parent(c) is agent]
        assert call.attributes["llm.agent"] == f"agent-{i}"
        assert agent.attributes["llm.run.calls"] == 1
        assert agent.attributes["llm.run.tokens.input"] == call.attributes["llm.tokens.input"]


# -- tool errors ----------------------------------------------------------------------------------------------------


def test_tool_error_reaches_the_caller_unchanged_and_counts(server, instrumented, model):
    raised: list[BaseException] = []

    @tool
    def broken(query: str) -> str:
        """Always fails."""
        raised.append(RuntimeError("backend down"))
        raise raised[-1]

    agent = _react_agent(model, [broken], name="fragile")
    server.enqueue("tool_call")
    with pytest.raises(RuntimeError) as caught:
        agent.invoke(ASK)
    assert caught.value is raised[0]
    tree = Tree(instrumented.spans())
    agent_span, execution = tree.one("invoke_agent fragile"), tree.one("execute_tool broken")
    assert tree.parent(execution) is agent_span
    assert (execution.status.status_code, execution.attributes["error.type"]) == (StatusCode.ERROR, "RuntimeError")
    assert (agent_span.status.status_code, agent_span.attributes["error.type"]) == (StatusCode.ERROR, "RuntimeError")
    assert agent_span.attributes["llm.run.calls"] == len(tree.calls) == 1
    assert (agent_span.attributes["llm.run.tool_calls"], agent_span.attributes["llm.run.tool_errors"]) == (1, 1)
    assert instrumented.total("llm.tool.calls", tool="broken", status="error") == 1


async def test_handled_tool_errors_count_as_tool_errors(server, instrumented, model):
    @tool
    def broken(query: str) -> str:
        """Always fails; ToolNode turns the exception into the tool's message."""
        raise RuntimeError("backend down")

    @tool
    def refusing(query: str) -> str:
        """Fails the LangChain way: the tool itself turns the ToolException into its result."""
        raise ToolException("not today")

    refusing.handle_tool_error = True

    for tools, expected in ((ToolNode([broken], handle_tool_errors=True), "RuntimeError"), ([refusing], "tool_error")):
        server.enqueue("tool_call", "ok")
        instrumented.exporter.clear()
        result = await _react_agent(model, tools, name="patient").ainvoke(ASK)
        assert result["messages"][-1].type == "ai"  # the agent went on after the tool's error
        tree = Tree(instrumented.spans())
        agent_span = tree.one("invoke_agent patient")
        (execution,) = [s for s in tree.spans if s.name.startswith("execute_tool")]
        assert (execution.status.status_code, execution.attributes["error.type"]) == (StatusCode.ERROR, expected)
        assert agent_span.status.status_code is StatusCode.UNSET
        assert (agent_span.attributes["llm.run.tool_calls"], agent_span.attributes["llm.run.tool_errors"]) == (1, 1)
        assert agent_span.attributes["llm.run.calls"] == len(tree.calls) == 2


# -- nesting: subgraph agents, SDK calls inside nodes and tools -----------------------------------------------------


async def test_subgraph_agent_nests_under_the_graph_and_adds_up(server, instrumented, model):
    sdk = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)

    async def summarize(state: MessagesState) -> dict[str, Any]:
        reply = await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Summarize."}])
        return {"messages": [("ai", reply.choices[0].message.content)]}

    graph = StateGraph(MessagesState)
    graph.add_node("research", _react_agent(model, [lookup], name="researcher"))
    graph.add_node("summarize", summarize)
    graph.add_edge(START, "research")
    graph.add_edge("research", "summarize")
    graph.add_edge("summarize", END)
    server.enqueue("tool_call", "ok", "ok")
    await graph.compile(name="team").ainvoke(ASK)

    tree = Tree(instrumented.spans())
    team, researcher = tree.one("invoke_agent team"), tree.one("invoke_agent researcher")
    assert len(tree.calls) == len(server.log) == 3
    assert tree.parent(researcher) is team
    assert tree.parent(tree.one("execute_tool lookup")) is researcher
    by_agent = {name: [c for c in tree.calls if c.attributes["llm.agent"] == name] for name in ("team", "researcher")}
    assert [tree.parent(c) for c in by_agent["researcher"]] == [researcher, researcher]
    assert [tree.parent(c) for c in by_agent["team"]] == [team]  # the raw SDK call inside the node
    assert _rollup(researcher) == _truth(server.log[:2]) == _calls_sum(by_agent["researcher"])
    assert _rollup(team) == _truth(server.log) == _calls_sum(tree.calls)  # the child's totals included
    assert (team.attributes["llm.run.calls"], team.attributes["llm.run.tool_calls"]) == (3, 1)


def test_sdk_call_inside_a_tool_nests_under_the_tool(server, instrumented, model):
    sdk = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)

    @tool
    def ask_expert(query: str) -> str:
        """Ask another model."""
        reply = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": query}])
        return reply.choices[0].message.content or ""

    server.enqueue("tool_call", "ok", "ok")
    _react_agent(model, [ask_expert], name="consultant").invoke(ASK)
    tree = Tree(instrumented.spans())
    agent, execution = tree.one("invoke_agent consultant"), tree.one("execute_tool ask_expert")
    inner = [c for c in tree.calls if tree.parent(c) is execution]
    assert len(inner) == 1 and len(tree.calls) == len(server.log) == 3
    assert inner[0].attributes["llm.agent"] == "consultant"
    assert execution.attributes["llm.tool.result_hash"] == _sha256(server.log[1].text)
    assert _rollup(agent) == _truth(server.log) == _calls_sum(tree.calls)


def test_streamed_model_calls_nest_and_add_up(server, instrumented, model):
    streaming = model.model_copy(update={"stream_usage": True})  # the usage chunk: exact tokens, not estimates
    agent = _react_agent(streaming, [lookup], name="streamer")
    server.enqueue("tool_call", "ok")
    chunks = list(agent.stream(ASK, stream_mode="messages"))
    assert len(chunks) > 4  # the model's tokens, streamed through the graph
    tree = Tree(instrumented.spans())
    assert all(c.attributes["llm.streaming"] for c in tree.calls)
    _assert_react_run(tree, server, "streamer")


def test_stream_closed_early_ends_the_run_without_error(server, instrumented, model):
    agent = _react_agent(model, [lookup], name="streamer")
    server.enqueue("tool_call", "ok")
    with contextlib.closing(agent.stream(ASK, stream_mode="updates")) as updates:
        first = next(updates)
    assert "agent" in first
    assert trace.get_current_span() is trace.INVALID_SPAN and ACTIVE_RUN.get() is None
    agent_span = Tree(instrumented.spans()).one("invoke_agent streamer")
    assert agent_span.status.status_code is StatusCode.UNSET
    assert agent_span.attributes["llm.run.calls"] == 1


def test_interrupt_pauses_the_runs_without_error(instrumented):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command, interrupt

    def approve(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", f"approved: {interrupt('approve?')}")]}

    inner = StateGraph(MessagesState)
    inner.add_node("approve", approve)
    inner.add_edge(START, "approve")
    outer = StateGraph(MessagesState)
    outer.add_node("approval", inner.compile(name="approver"))
    outer.add_edge(START, "approval")
    app = outer.compile(name="desk", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ticket-1"}}
    assert "__interrupt__" in app.invoke(ASK, config)
    assert app.invoke(Command(resume="yes"), config)["messages"][-1].content == "approved: yes"
    spans = instrumented.spans()
    assert sorted(s.name for s in spans) == ["invoke_agent approver"] * 2 + ["invoke_agent desk"] * 2
    for span in spans:  # the interrupt (GraphInterrupt, a GraphBubbleUp) is LangGraph's control flow
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert span.attributes["llm.session"] == "ticket-1"


# -- instrumentation hygiene ----------------------------------------------------------------------------------------


def _our_handlers(manager: Any) -> list[Any]:
    return [h for h in manager.inheritable_handlers if isinstance(h, integration._Callbacks)]


def test_uninstrument_removes_the_handler_and_the_wrappers(server, telemetry, model):
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert len(_our_handlers(CallbackManager.configure())) == 1
    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert len(_our_handlers(CallbackManager.configure())) == 1  # instrumenting again replaces, never adds
    held = CallbackManager.configure()  # a manager made while instrumented, used after
    assert _our_handlers(copy.deepcopy(held)) == _our_handlers(held)  # copies share the handler and its open runs
    llmtrace.uninstrument()
    assert _our_handlers(CallbackManager.configure()) == []
    from langchain_core.callbacks.base import BaseCallbackManager
    from langchain_core.runnables import config
    from langgraph.pregel.main import Pregel

    for holder, attr in ((BaseCallbackManager, "__init__"), (config, "_set_config_context"), (Pregel, "stream")):
        assert not hasattr(vars(holder)[attr], "__wrapped__"), attr
    server.enqueue("tool_call", "ok")
    _react_agent(model, [lookup], name="bare").invoke(ASK, config={"callbacks": held})
    assert telemetry.spans() == []


def test_instrumentor_on_its_own_records_into_the_given_providers(telemetry):
    graph = StateGraph(MessagesState)
    graph.add_node("echo", lambda state: {"messages": [("ai", "echo")]})
    graph.add_edge(START, "echo")
    instrumentor = integration.LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        graph.compile(name="echoer").invoke(ASK)
    finally:
        instrumentor.uninstrument()
        _state.set_llm_tracer(None)  # the shared LLM tracer it made records into this test's providers only
    (span,) = telemetry.spans()
    assert (span.name, span.attributes["llm.run.calls"]) == ("invoke_agent echoer", 0)
    assert telemetry.total("llm.runs", agent="echoer") == 1


def test_internal_failure_never_reaches_the_app(server, instrumented, model, monkeypatch):
    monkeypatch.setattr(_guard, "RAISE_INTERNAL_ERRORS", False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("llmtrace bug")

    monkeypatch.setattr(integration._Runs, "chain_started", broken)
    monkeypatch.setattr(integration._Runs, "tool_started", broken)
    server.enqueue("tool_call", "ok")
    result = _react_agent(model, [lookup], name="weather").invoke(ASK)
    assert result["messages"][-1].content == server.log[-1].text
    tree = Tree(instrumented.spans())
    assert len(tree.calls) == 2 and all(s.kind is SpanKind.CLIENT for s in tree.spans)  # calls still recorded

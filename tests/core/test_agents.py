"""Agent runs, workflows and tool executions: spans, attribution, exact rollups, metrics, and transparency.

Real SDKs (openai, anthropic) call the fake provider server inside the runs; spans and metric points are read back
through the real OTel SDK's in-memory exporter and reader. Expected tokens and cost come from the server's exchange
log and genai-prices directly, never from llmtrace.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace import _guard
from llmtrace.demo.summary import histogram_quantile
from llmtrace.demo.workload import reference_cost
from llmtrace.semconv import Attr, GenAI, Metric
from tests.conftest import Telemetry

MESSAGES = [{"role": "user", "content": "Name a river."}]
OPENAI_MODEL, ANTHROPIC_MODEL = "gpt-4o-mini", "claude-sonnet-4-6"


def _openai(server: Any, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0, **kwargs)


def _anthropic(server: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)


def _chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, **kwargs)


def _message(client: anthropic.Anthropic) -> Any:
    return client.messages.create(model=ANTHROPIC_MODEL, max_tokens=50, messages=MESSAGES)


def _truth(exchanges: list[Any]) -> dict[str, Any]:
    """What the server says the successful calls used, priced straight from genai-prices."""
    ok = [e for e in exchanges if e.usage and e.status == 200]
    return {
        "input": sum(e.usage["input"] for e in ok),
        "output": sum(e.usage["output"] for e in ok),
        "cost": sum(reference_cost(e.provider, e.model, e.usage) for e in ok),
    }


def _by_name(telemetry: Telemetry) -> dict[str, Any]:
    """The agent, workflow and tool spans by name (each name once)."""
    spans = [s for s in telemetry.spans() if s.kind is SpanKind.INTERNAL]
    by_name = {s.name: s for s in spans}
    assert len(by_name) == len(spans), [s.name for s in spans]
    return by_name


def _histogram(telemetry: Telemetry, name: str, **labels: Any) -> tuple[int, float]:
    """(count, sum) of histogram ``name`` over the points matching ``labels``."""
    points = [p for a, p in telemetry.points(name) if all(a.get(k) == v for k, v in labels.items())]
    return sum(p.count for p in points), sum(p.sum for p in points)


def _runs_making(telemetry: Telemetry, calls: list[int], agent: str = "counter") -> Callable[[float], float | None]:
    """One run of ``agent`` per entry, making that many calls: the quantiles PromQL reads from its calls-per-run
    histogram (``histogram_quantile``, held equal to Prometheus' own by tests/stack/test_histogram_quantile.py)."""
    for n in calls:
        with llmtrace.agent(agent):
            for _ in range(n):
                llmtrace.log_call(provider="openai", model=OPENAI_MODEL, input_tokens=1, output_tokens=1)
    (point,) = [p for a, p in telemetry.points(Metric.RUN_CALLS) if a.get("agent") == agent]
    assert point.count == len(calls)
    return lambda q: histogram_quantile(q, list(point.explicit_bounds), list(point.bucket_counts))


@pytest.mark.parametrize("calls", range(11))
def test_calls_per_run_quantiles_read_whole_calls(instrumented, calls):
    """Runs that all made k calls: histogram_quantile's p50 is k, the p99 still rounds to k (le=1 read 0.5 for k=1)."""
    quantile = _runs_making(instrumented, [calls] * 20)
    assert quantile(0.5) == calls and round(quantile(0.99)) == calls


def test_calls_per_run_median_of_a_mix(instrumented):
    """1, 2, 2, 3 calls: the median run made 2 calls; past ten the buckets widen, and a quantile stays inside its."""
    assert _runs_making(instrumented, [1, 2, 2, 3])(0.5) == 2
    assert 10.5 < _runs_making(instrumented, [12] * 8, agent="busy")(0.5) <= 12.5


# -- agent runs -----------------------------------------------------------------------------------------------------


def test_agent_run_rolls_up_openai_and_anthropic_calls(server, instrumented):
    oa, an = _openai(server), _anthropic(server)
    with llmtrace.agent("planner", id="agent-7", conversation="conv-1") as run:
        _chat(oa)
        _message(an)
        _chat(oa, extra_headers={"x-llmtrace-usage": "input=1000,output=250"})
    truth = _truth(list(server.log))
    spans = instrumented.spans()
    (agent_span,) = [s for s in spans if s.kind is SpanKind.INTERNAL]
    calls = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(calls) == 3
    for call in calls:
        assert call.parent.span_id == agent_span.context.span_id
        assert call.attributes[Attr.AGENT] == "planner"
        assert call.attributes[Attr.SESSION] == call.attributes[GenAI.CONVERSATION_ID] == "conv-1"
        assert GenAI.AGENT_NAME not in call.attributes  # the inference span has no agent attribute in the conventions
    attrs = dict(agent_span.attributes)
    assert agent_span.name == "invoke_agent planner"
    assert agent_span.status.status_code is StatusCode.UNSET
    cost = attrs.pop(Attr.RUN_COST_USD)
    assert cost == pytest.approx(truth["cost"], rel=1e-12) and truth["cost"] > 0
    assert cost == pytest.approx(sum(c.attributes[Attr.COST_USD] for c in calls), rel=1e-12)
    assert attrs.pop(Attr.LATENCY_MS) > 0
    assert attrs == {
        Attr.OPERATION: "invoke_agent",
        GenAI.OPERATION_NAME: "invoke_agent",
        Attr.AGENT: "planner",
        GenAI.AGENT_NAME: "planner",
        Attr.AGENT_ID: "agent-7",
        GenAI.AGENT_ID: "agent-7",
        Attr.SESSION: "conv-1",
        GenAI.CONVERSATION_ID: "conv-1",
        GenAI.SESSION_ID: "conv-1",
        Attr.SUCCESS: True,
        Attr.RUN_CALLS: 3,
        Attr.RUN_CALL_ERRORS: 0,
        Attr.RUN_RETRIES: 0,
        Attr.RUN_TOKENS_INPUT: truth["input"],
        Attr.RUN_TOKENS_OUTPUT: truth["output"],
        Attr.RUN_TOOL_CALLS: 0,
        Attr.RUN_TOOL_ERRORS: 0,
    }
    assert (run.totals.calls, run.totals.cost_usd) == (3, cost)
    # per-agent call metrics without attributes(), and the run's own metrics
    assert instrumented.total(Metric.CALLS, agent="planner") == 3
    assert instrumented.total(Metric.COST, agent="planner") == pytest.approx(truth["cost"], rel=1e-12)
    assert instrumented.points(Metric.RUNS) == [({"operation": "invoke_agent", "agent": "planner", "status": "ok"}, 1)]
    assert _histogram(instrumented, Metric.RUN_CALLS, agent="planner") == (1, 3)
    count, total = _histogram(instrumented, Metric.RUN_COST, agent="planner")
    assert count == 1 and total == pytest.approx(truth["cost"], rel=1e-12)
    assert _histogram(instrumented, Metric.RUN_DURATION, agent="planner", status="ok")[0] == 1


def test_nested_agents_nest_and_the_parent_includes_the_child(server, instrumented):
    oa, an = _openai(server), _anthropic(server)
    with llmtrace.agent("planner") as planner:
        _chat(oa)
        with llmtrace.agent("researcher") as researcher:
            _message(an)
            _message(an)
        _chat(oa)
    spans = _by_name(instrumented)
    outer, inner = spans["invoke_agent planner"], spans["invoke_agent researcher"]
    assert inner.parent.span_id == outer.context.span_id
    by_agent: dict[str, list[Any]] = {}
    for span in instrumented.spans():
        if span.kind is SpanKind.CLIENT:
            by_agent.setdefault(span.attributes[Attr.AGENT], []).append(span)
            parent = inner if span.attributes[Attr.AGENT] == "researcher" else outer
            assert span.parent.span_id == parent.context.span_id
    assert {k: len(v) for k, v in by_agent.items()} == {"planner": 2, "researcher": 2}
    researcher_truth = _truth([e for e in server.log if e.provider == "anthropic"])
    assert inner.attributes[Attr.RUN_CALLS] == 2 and researcher.totals.calls == 2
    assert inner.attributes[Attr.RUN_COST_USD] == pytest.approx(researcher_truth["cost"], rel=1e-12)
    assert outer.attributes[Attr.RUN_CALLS] == 4 and planner.totals.calls == 4  # children included
    assert outer.attributes[Attr.RUN_COST_USD] == pytest.approx(_truth(list(server.log))["cost"], rel=1e-12)
    assert outer.attributes[Attr.RUN_TOKENS_INPUT] == _truth(list(server.log))["input"]
    assert instrumented.total(Metric.CALLS, agent="researcher") == 2
    assert instrumented.total(Metric.CALLS, agent="planner") == 2
    assert _histogram(instrumented, Metric.RUN_CALLS, agent="planner") == (1, 4)
    assert _histogram(instrumented, Metric.RUN_CALLS, agent="researcher") == (1, 2)


def test_exception_ends_the_run_with_its_type_and_is_reraised_unchanged(server, instrumented):
    error = ValueError("bad plan")
    with pytest.raises(ValueError) as raised:
        with llmtrace.agent("planner"):
            _chat(_openai(server))
            raise error
    assert raised.value is error
    span = _by_name(instrumented)["invoke_agent planner"]
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes[Attr.SUCCESS], span.attributes[Attr.ERROR_TYPE]) == (False, "ValueError")
    assert span.attributes[GenAI.ERROR_TYPE] == "ValueError"
    assert span.attributes[Attr.RUN_CALLS] == 1
    assert instrumented.points(Metric.RUNS) == [
        ({"operation": "invoke_agent", "agent": "planner", "status": "error", "error_type": "ValueError"}, 1)
    ]


def test_a_failed_llm_call_counts_as_a_call_error_and_its_exception_passes_through(server, instrumented):
    client = _openai(server)
    with pytest.raises(openai.AuthenticationError) as raised:
        with llmtrace.agent("planner") as run:
            _chat(client)
            _chat(client, extra_headers={"x-llmtrace-fault": "auth"})
    assert type(raised.value) is openai.AuthenticationError
    span = _by_name(instrumented)["invoke_agent planner"]
    assert (span.attributes[Attr.RUN_CALLS], span.attributes[Attr.RUN_CALL_ERRORS]) == (2, 1)
    assert span.attributes[Attr.ERROR_TYPE] == "AuthenticationError"
    assert run.totals.cost_usd == pytest.approx(_truth(list(server.log))["cost"], rel=1e-12)  # the failure adds none


def test_retries_inside_a_run_are_rolled_up(server, instrumented):
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=2)
    with llmtrace.agent("planner"):
        _chat(client, extra_headers={"x-llmtrace-fault": "rate_limit,ok"})
    span = _by_name(instrumented)["invoke_agent planner"]
    assert (span.attributes[Attr.RUN_CALLS], span.attributes[Attr.RUN_RETRIES]) == (1, 1)


class _DropClientSpans(Sampler):
    """Samples agent/tool spans and drops every LLM call span, as a rate sampler may."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None):
        return SamplingResult(Decision.DROP if kind is SpanKind.CLIENT else Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "drop client spans"


def test_rollup_is_exact_when_the_calls_spans_are_not_sampled(server):
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(sampler=_DropClientSpans())
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]), exporter, reader)
    llmtrace.instrument(tracer_provider=tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        with llmtrace.agent("planner"):
            _chat(_openai(server))
            with llmtrace.agent("researcher"):
                _message(_anthropic(server))
    finally:
        llmtrace.uninstrument()
    assert sorted(s.name for s in telemetry.spans()) == ["invoke_agent planner", "invoke_agent researcher"]
    truth = _truth(list(server.log))
    outer = _by_name(telemetry)["invoke_agent planner"]
    assert outer.attributes[Attr.RUN_CALLS] == 2
    assert outer.attributes[Attr.RUN_TOKENS_INPUT] == truth["input"]
    assert outer.attributes[Attr.RUN_TOKENS_OUTPUT] == truth["output"]
    assert outer.attributes[Attr.RUN_COST_USD] == pytest.approx(truth["cost"], rel=1e-12)


def test_agent_labels_follow_tenant_from_attributes(server, instrumented):
    with llmtrace.attributes(tenant="acme", user="u-1"):
        with llmtrace.agent("planner"):
            _chat(_openai(server))
    span = _by_name(instrumented)["invoke_agent planner"]
    assert (span.attributes[Attr.TENANT], span.attributes[Attr.USER]) == ("acme", "u-1")
    ((labels, _),) = instrumented.points(Metric.RUNS)
    assert labels["tenant"] == "acme" and "user" not in labels
    ((call_labels, _),) = instrumented.points(Metric.CALLS)
    assert (call_labels["agent"], call_labels["tenant"]) == ("planner", "acme")


# -- the decorator on every kind of function --------------------------------------------------------------------


def test_decorated_function_returns_its_value_and_keeps_its_metadata(server, instrumented):
    @llmtrace.agent("writer")
    def write(topic: str, *, words: int = 10) -> str:
        """Write."""
        return _chat(_openai(server)).choices[0].message.content + f" {topic} {words}"

    assert write.__name__ == "write" and write.__doc__ == "Write."
    assert write("rivers", words=3).endswith(" rivers 3")
    write("lakes")
    runs = [s for s in instrumented.spans() if s.kind is SpanKind.INTERNAL]
    assert [s.attributes[Attr.RUN_CALLS] for s in runs] == [1, 1]  # one run per call
    assert instrumented.total(Metric.RUNS, agent="writer") == 2


def test_decorated_coroutines_run_concurrently_with_their_own_totals(server, instrumented):
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)

    @llmtrace.agent("researcher")
    async def research(n: int) -> int:
        for _ in range(n):
            await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
        return n

    async def main() -> list[int]:
        return await asyncio.gather(research(1), research(3))

    assert asyncio.run(main()) == [1, 3]
    runs = sorted(s.attributes[Attr.RUN_CALLS] for s in instrumented.spans() if s.kind is SpanKind.INTERNAL)
    assert runs == [1, 3]
    for span in instrumented.spans():
        if span.kind is SpanKind.CLIENT:
            assert span.attributes[Attr.AGENT] == "researcher"
    assert _histogram(instrumented, Metric.RUN_CALLS, agent="researcher") == (2, 4)


def test_decorated_coroutine_reraises_unchanged(instrumented):
    error = KeyError("k")

    @llmtrace.agent("planner")
    async def plan() -> None:
        raise error

    with pytest.raises(KeyError) as raised:
        asyncio.run(plan())
    assert raised.value is error
    assert _by_name(instrumented)["invoke_agent planner"].attributes[Attr.ERROR_TYPE] == "KeyError"


def test_decorated_generator_behaves_exactly_as_the_bare_one(server, instrumented):
    client = _openai(server)
    outside = trace.get_current_span()

    def body():
        received = []
        while True:
            try:
                value = yield _chat(client).id
            except KeyError:
                value = "thrown"
            if value == "stop":
                return received
            received.append(value)

    decorated = llmtrace.agent("streamer")(body)
    gen = decorated()
    assert trace.get_current_span() is outside  # nothing runs before the first next(), as without the decorator
    assert instrumented.spans() == []
    first = next(gen)
    assert isinstance(first, str) and trace.get_current_span() is outside  # the run's context stays inside
    gen.send("a")
    assert gen.throw(KeyError("x")) is not None
    with pytest.raises(StopIteration) as stopped:
        gen.send("stop")
    assert stopped.value.value == ["a", "thrown"]
    span = _by_name(instrumented)["invoke_agent streamer"]
    assert (span.attributes[Attr.RUN_CALLS], span.attributes[Attr.SUCCESS]) == (3, True)
    for call in instrumented.spans():
        if call.kind is SpanKind.CLIENT:
            assert call.parent.span_id == span.context.span_id and call.attributes[Attr.AGENT] == "streamer"


def test_decorated_generator_closed_early_ends_the_run_and_closes_the_inner_one(server, instrumented):
    closed = []

    @llmtrace.agent("streamer")
    def numbers():
        try:
            yield from range(10)
        finally:
            closed.append(True)

    for n in numbers():
        if n == 2:
            break
    assert closed == [True]
    span = _by_name(instrumented)["invoke_agent streamer"]
    assert span.attributes[Attr.SUCCESS] is True


def test_decorated_generator_error_is_reraised_unchanged(instrumented):
    error = RuntimeError("boom")

    @llmtrace.agent("streamer")
    def numbers():
        yield 1
        raise error

    gen = numbers()
    assert next(gen) == 1
    with pytest.raises(RuntimeError) as raised:
        next(gen)
    assert raised.value is error
    assert _by_name(instrumented)["invoke_agent streamer"].attributes[Attr.ERROR_TYPE] == "RuntimeError"


def test_decorated_async_generator_behaves_exactly_as_the_bare_one(server, instrumented):
    client = openai.AsyncOpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)

    @llmtrace.agent("streamer")
    async def body():
        received = []
        while True:
            try:
                value = yield (await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)).id
            except KeyError:
                value = "thrown"
            if value == "stop":
                received.append("done")
                yield received
                return
            received.append(value)

    async def main() -> Any:
        outside = trace.get_current_span()
        gen = body()
        await gen.__anext__()
        assert trace.get_current_span() is outside
        await gen.asend("a")
        await gen.athrow(KeyError("x"))
        last = await gen.asend("stop")
        with pytest.raises(StopAsyncIteration):
            await gen.__anext__()
        return last

    assert asyncio.run(main()) == ["a", "thrown", "done"]
    span = _by_name(instrumented)["invoke_agent streamer"]
    assert (span.attributes[Attr.RUN_CALLS], span.attributes[Attr.SUCCESS]) == (3, True)


def test_decorated_async_generator_closed_early_and_failing(instrumented):
    closed = []
    error = ValueError("v")

    @llmtrace.agent("early")
    async def numbers():
        try:
            for n in range(10):
                yield n
        finally:
            closed.append(True)

    @llmtrace.agent("failing")
    async def failing():
        yield 1
        raise error

    async def main() -> None:
        gen = numbers()
        async for n in gen:
            if n == 1:
                break
        await gen.aclose()
        with pytest.raises(ValueError) as raised:
            async for _ in failing():
                pass
        assert raised.value is error

    asyncio.run(main())
    assert closed == [True]
    spans = _by_name(instrumented)
    assert spans["invoke_agent early"].attributes[Attr.SUCCESS] is True
    assert spans["invoke_agent failing"].attributes[Attr.ERROR_TYPE] == "ValueError"


def test_one_scope_object_entered_by_many_threads(server, instrumented):
    planner = llmtrace.agent("planner")
    client = _openai(server)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with planner as run:
                _chat(client)
                assert run.totals.calls == 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = [s for s in instrumented.spans() if s.kind is SpanKind.INTERNAL]
    assert [s.attributes[Attr.RUN_CALLS] for s in runs] == [1, 1, 1, 1]
    assert all(s.parent is None for s in runs)


# -- tools ------------------------------------------------------------------------------------------------------------


def test_tool_span_hashes_arguments_and_result_and_counts_in_the_run(server, instrumented):
    @llmtrace.tool("search", call_id="call_1")
    def search(query: str, limit: int = 3) -> list[str]:
        return [query] * limit

    with llmtrace.agent("researcher"):
        assert search("rivers of europe", limit=2) == ["rivers of europe"] * 2
    spans = _by_name(instrumented)
    tool_span, run = spans["execute_tool search"], spans["invoke_agent researcher"]
    assert tool_span.kind is SpanKind.INTERNAL and tool_span.parent.span_id == run.context.span_id
    attrs = dict(tool_span.attributes)
    assert attrs.pop(Attr.LATENCY_MS) >= 0
    arguments_hash, result_hash = attrs.pop(Attr.TOOL_ARGUMENTS_HASH), attrs.pop(Attr.TOOL_RESULT_HASH)
    assert arguments_hash.startswith("sha256:") and result_hash.startswith("sha256:") and arguments_hash != result_hash
    assert attrs == {
        Attr.OPERATION: "execute_tool",
        GenAI.OPERATION_NAME: "execute_tool",
        Attr.TOOL_NAME: "search",
        GenAI.TOOL_NAME: "search",
        Attr.TOOL_TYPE: "function",
        GenAI.TOOL_TYPE: "function",
        Attr.TOOL_CALL_ID: "call_1",
        GenAI.TOOL_CALL_ID: "call_1",
        Attr.AGENT: "researcher",
        GenAI.AGENT_NAME: "researcher",
        Attr.SUCCESS: True,
        Attr.TOOL_ARGUMENTS_LENGTH: len('{"limit":2,"query":"rivers of europe"}'),
        Attr.TOOL_RESULT_LENGTH: len('["rivers of europe","rivers of europe"]'),
    }
    assert run.attributes[Attr.RUN_TOOL_CALLS] == 1 and run.attributes[Attr.RUN_TOOL_ERRORS] == 0
    # the same arguments hash the same whether passed by position or keyword
    with llmtrace.tool("search", arguments={"query": "rivers of europe", "limit": 2}):
        pass
    (manual,) = [s for s in instrumented.spans() if s.name == "execute_tool search" and s is not tool_span][-1:]
    assert manual.attributes[Attr.TOOL_ARGUMENTS_HASH] == arguments_hash
    assert instrumented.points(Metric.TOOL_CALLS) == [
        ({"tool": "search", "agent": "researcher", "status": "ok"}, 1),
        ({"tool": "search", "status": "ok"}, 1),
    ]
    assert _histogram(instrumented, Metric.TOOL_DURATION, tool="search")[0] == 2


def test_tool_error_is_counted_against_the_tool_and_the_run(instrumented):
    error = TimeoutError("slow")

    @llmtrace.tool("fetch")
    async def fetch(url: str) -> str:
        raise error

    async def main() -> None:
        with pytest.raises(TimeoutError) as raised:
            await fetch("https://example.com")
        assert raised.value is error

    with llmtrace.agent("researcher"):
        asyncio.run(main())
    spans = _by_name(instrumented)
    tool_span = spans["execute_tool fetch"]
    assert tool_span.status.status_code is StatusCode.ERROR
    assert (tool_span.attributes[Attr.SUCCESS], tool_span.attributes[Attr.ERROR_TYPE]) == (False, "TimeoutError")
    assert Attr.TOOL_RESULT_HASH not in tool_span.attributes
    run = spans["invoke_agent researcher"]
    assert (run.attributes[Attr.RUN_TOOL_CALLS], run.attributes[Attr.RUN_TOOL_ERRORS]) == (1, 1)
    assert instrumented.points(Metric.TOOL_CALLS) == [
        ({"tool": "fetch", "agent": "researcher", "status": "error", "error_type": "TimeoutError"}, 1)
    ]


def test_tool_content_stays_out_by_default_and_is_redacted_when_captured(telemetry):
    secret = "mail jane.doe@example.com the key sk-proj-ABCDEFGHIJKLMNOPQRSTUV"

    def run_tool() -> Any:
        with llmtrace.tool("notify", arguments={"text": secret}) as execution:
            execution.record_result({"sent_to": "jane.doe@example.com"})
        return telemetry.spans()[-1]

    for capture in (False, True):
        llmtrace.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, capture_content=capture
        )
        try:
            span = run_tool()
        finally:
            llmtrace.uninstrument()
        values = " ".join(str(v) for v in span.attributes.values())
        assert "jane.doe" not in values and "sk-proj" not in values
        assert Attr.TOOL_ARGUMENTS_HASH in span.attributes and Attr.TOOL_RESULT_HASH in span.attributes
        if capture:
            assert span.attributes[GenAI.TOOL_CALL_ARGUMENTS] == (
                '{"text":"mail [REDACTED:email] the key [REDACTED:api_key]"}'
            )
            assert span.attributes[GenAI.TOOL_CALL_RESULT] == '{"sent_to":"[REDACTED:email]"}'
        else:
            assert GenAI.TOOL_CALL_ARGUMENTS not in span.attributes and GenAI.TOOL_CALL_RESULT not in span.attributes


def test_tool_method_arguments_leave_out_self(instrumented):
    class Toolbox:
        @llmtrace.tool("lookup")
        def lookup(self, key: str) -> str:
            return key.upper()

    assert Toolbox().lookup("a") == "A"
    assert Toolbox().lookup(key="a") == "A"
    first, second = instrumented.spans()
    assert first.attributes[Attr.TOOL_ARGUMENTS_HASH] == second.attributes[Attr.TOOL_ARGUMENTS_HASH]
    assert first.attributes[Attr.TOOL_ARGUMENTS_LENGTH] == len('{"key":"a"}')


def test_llm_calls_inside_a_tool_nest_under_it_and_still_add_to_the_run(server, instrumented):
    @llmtrace.tool("summarize")
    def summarize() -> str:
        return _chat(_openai(server)).choices[0].message.content

    with llmtrace.agent("writer"):
        summarize()
    spans = _by_name(instrumented)
    (call,) = [s for s in instrumented.spans() if s.kind is SpanKind.CLIENT]
    assert call.parent.span_id == spans["execute_tool summarize"].context.span_id
    assert call.attributes[Attr.AGENT] == "writer"
    assert spans["invoke_agent writer"].attributes[Attr.RUN_CALLS] == 1


# -- workflows --------------------------------------------------------------------------------------------------------


def test_workflow_groups_agents_and_rolls_them_up(server, instrumented):
    @llmtrace.agent("triage")
    def triage() -> None:
        _chat(_openai(server))

    @llmtrace.agent("answer")
    def answer() -> None:
        _message(_anthropic(server))

    with llmtrace.workflow("support", conversation="ticket-9"):
        triage()
        answer()
    spans = _by_name(instrumented)
    flow = spans["invoke_workflow support"]
    assert spans["invoke_agent triage"].parent.span_id == flow.context.span_id
    assert spans["invoke_agent answer"].parent.span_id == flow.context.span_id
    assert (flow.attributes[Attr.OPERATION], flow.attributes[GenAI.OPERATION_NAME]) == ("invoke_workflow",) * 2
    assert (flow.attributes[Attr.WORKFLOW], flow.attributes[GenAI.WORKFLOW_NAME]) == ("support", "support")
    assert Attr.AGENT not in flow.attributes
    assert flow.attributes[Attr.RUN_CALLS] == 2
    assert flow.attributes[Attr.RUN_COST_USD] == pytest.approx(_truth(list(server.log))["cost"], rel=1e-12)
    for span in instrumented.spans():
        if span.kind is SpanKind.CLIENT:
            assert span.attributes[Attr.SESSION] == "ticket-9"
    assert instrumented.total(Metric.RUNS, operation="invoke_workflow", agent="support") == 1


# -- never break the user's code ----------------------------------------------------------------------------------


def test_internal_failure_is_swallowed_and_the_function_runs_bare(monkeypatch, instrumented):
    from llmtrace import agents

    monkeypatch.setattr(_guard, "RAISE_INTERNAL_ERRORS", False)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("llmtrace bug")

    monkeypatch.setattr(agents.RunTotals, "__init__", broken)

    @llmtrace.agent("planner")
    def plan(x: int) -> int:
        return x + 1

    @llmtrace.agent("planner")
    def numbers():
        yield 1
        yield 2

    assert plan(1) == 2
    assert list(numbers()) == [1, 2]
    with llmtrace.agent("planner") as run:
        pass
    assert run is None
    error = ValueError("user's")
    with pytest.raises(ValueError) as raised:
        with llmtrace.agent("planner"):
            raise error
    assert raised.value is error
    assert [s for s in instrumented.spans() if s.kind is SpanKind.INTERNAL] == []


def test_a_run_that_failed_to_start_never_ends_the_one_around_it(monkeypatch, server, instrumented):
    from llmtrace import agents

    monkeypatch.setattr(_guard, "RAISE_INTERNAL_ERRORS", False)
    original = agents.Run.__init__

    def fail_for_inner(self: Any, operation: Any, name: str, *args: Any) -> None:
        if name == "inner":
            raise RuntimeError("llmtrace bug")
        original(self, operation, name, *args)

    monkeypatch.setattr(agents.Run, "__init__", fail_for_inner)
    with llmtrace.agent("outer") as outer:
        with llmtrace.agent("inner") as inner:
            assert inner is None
        _chat(_openai(server))  # still inside the outer run
    assert outer.totals.calls == 1
    (span,) = [s for s in instrumented.spans() if s.kind is SpanKind.INTERNAL]
    assert span.attributes[Attr.RUN_CALLS] == 1


def test_a_failure_while_ending_still_ends_the_span(monkeypatch, instrumented):
    from llmtrace import agents

    monkeypatch.setattr(_guard, "RAISE_INTERNAL_ERRORS", False)
    monkeypatch.setattr(agents, "record_run", lambda *a, **k: 1 / 0)
    with llmtrace.agent("planner"):
        pass
    (span,) = instrumented.spans()
    assert span.end_time is not None


# -- the tool calls the model asked for -----------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
ANTHROPIC_TOOLS = [{"name": "search", "input_schema": {"type": "object"}}]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_requested_tool_calls_are_on_the_llm_span_and_hash_like_the_tool_that_ran_them(server, instrumented, provider):
    fault = {"x-llmtrace-fault": "tool_call"}

    @llmtrace.tool("search")
    def search(query: str) -> str:
        return "sunny"

    with llmtrace.agent("assistant"):
        if provider == "openai":
            message = _chat(_openai(server), tools=TOOLS, extra_headers=fault).choices[0].message
            (requested,) = message.tool_calls
            call_id, arguments = requested.id, requested.function.arguments  # JSON text
        else:
            response = _anthropic(server).messages.create(
                model=ANTHROPIC_MODEL, max_tokens=50, messages=MESSAGES, tools=ANTHROPIC_TOOLS, extra_headers=fault
            )
            (requested,) = [block for block in response.content if block.type == "tool_use"]
            call_id, arguments = requested.id, requested.input  # an object
        with llmtrace.tool("search", call_id=call_id, arguments=arguments) as execution:
            execution.record_result("sunny")
        search(query="weather in Paris")  # the same arguments, as keyword arguments
    (call,) = [s for s in instrumented.spans() if s.kind is SpanKind.CLIENT]
    assert call.attributes[Attr.RESPONSE_TOOL_CALLS] == 1
    assert list(call.attributes[Attr.RESPONSE_TOOL_CALL_NAMES]) == ["search"]
    assert list(call.attributes[Attr.RESPONSE_TOOL_CALL_IDS]) == [call_id]
    (requested_hash,) = call.attributes[Attr.RESPONSE_TOOL_CALL_ARGUMENT_HASHES]
    executed = [s for s in instrumented.spans() if s.name == "execute_tool search"]
    assert [s.attributes.get(Attr.TOOL_CALL_ID) for s in executed] == [call_id, None]
    assert {s.attributes[Attr.TOOL_ARGUMENTS_HASH] for s in executed} == {requested_hash}
    assert "weather" not in " ".join(str(v) for s in instrumented.spans() for v in s.attributes.values())


def test_no_tool_call_attributes_without_tool_calls(server, instrumented):
    _chat(_openai(server))
    attrs = instrumented.span().attributes
    assert not {Attr.RESPONSE_TOOL_CALL_NAMES, Attr.RESPONSE_TOOL_CALL_IDS} & set(attrs)

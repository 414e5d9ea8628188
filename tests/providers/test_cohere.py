"""The real ``cohere`` SDK (v2 API, on httpx) over HTTP to the fake server's Cohere wire format, instrumented."""

from __future__ import annotations

import inspect
import itertools
from typing import Any

import cohere
import httpx
import pytest
from cohere.core import ApiError, ParsingError

from llmtrace.call import Outcomes, normalize_finish_reason
from llmtrace.classification import ErrorRules
from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.providers.cohere import PREFIX
from llmtrace.demo.workload import WorkloadConfig, reference_cost, run_workload
from llmtrace.providers import cohere as cohere_provider
from llmtrace.providers.cohere import CohereInstrumentor

from .._assertions import assert_rate_limited_after_retries, assert_stream_timing
from .._error_tables import assert_most_specific_first, listed_classes
from .._instrumentors import instrumented_by
from .._truth import assert_metrics_equal_truth
from ..reliability._case import (
    Bound,
    Prompt,
    ProviderCase,
    openai_kwargs,
    with_call_id,
)

MODEL = "command-a-03-2025"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name three rivers."}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Find", "parameters": {"type": "object"}}}]
_ids = itertools.count()


instrumented_cohere = instrumented_by(CohereInstrumentor)


@pytest.fixture
def fast_backoff(monkeypatch):
    """The SDK backs off 1 s, 2 s on 5xx without Retry-After and has no option for it: shrink its constant."""
    monkeypatch.setattr("cohere.core.http_client.INITIAL_RETRY_DELAY_SECONDS", 0.001)


@pytest.fixture
def client(server, instrumented_cohere):
    return cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX, timeout=5.0, max_retries=2)


@pytest.fixture
def aclient(server, instrumented_cohere):
    return cohere.AsyncClientV2(api_key="co-test", base_url=server.url + PREFIX, timeout=5.0, max_retries=2)


def options(fault: str = "ok", **headers: str) -> dict:
    """Per-call headers: the fault plan, and a call id so the server counts this call's attempts."""
    extra = {"x-llmtrace-fault": fault, "x-llmtrace-call": f"cohere-{next(_ids)}"}
    extra.update({k.replace("_", "-"): v for k, v in headers.items()})
    return {"additional_headers": extra}


def assert_call_recorded(telemetry, exchange, *, streaming: bool) -> dict:
    """Tokens equal what the server sent, cost equals genai-prices directly, and the metric points agree."""
    attrs = dict(telemetry.span().attributes)
    usage = exchange.usage
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.output"]) == (usage["input"], usage["output"])
    assert attrs.get("llm.tokens.cache_read") == usage.get("cache_read")
    cost = reference_cost("cohere", exchange.model, usage)
    assert attrs["llm.cost_usd"] == pytest.approx(cost, rel=1e-12)
    assert telemetry.total("llm.calls", provider="cohere", status="ok", streaming=streaming) == 1
    assert telemetry.total("llm.tokens", type="input") == usage["input"]
    assert telemetry.total("llm.tokens", type="output") == usage["output"]
    assert telemetry.total("llm.tokens", type="cache_read") == usage.get("cache_read", 0)
    assert telemetry.total("llm.cost.usd", provider="cohere", model=exchange.model) == pytest.approx(cost, rel=1e-12)
    assert ("llm.ttft_ms" in attrs, "llm.chunks" in attrs) == (streaming, streaming)
    assert bool(telemetry.points("llm.ttft")) == streaming
    return attrs


def test_chat(client, instrumented_cohere, server):
    reply = client.chat(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.2,
        max_tokens=64,
        p=0.9,
        k=40,
        seed=7,
        stop_sequences=["END"],
        request_options=options(x_llmtrace_usage="input=1324,output=30,cache_read=1024"),
    )
    (exchange,) = server.log
    attrs = assert_call_recorded(instrumented_cohere, exchange, streaming=False)
    assert reply.message.content[0].text == exchange.text
    assert reply.usage.billed_units.input_tokens < exchange.usage["input"]  # we record tokens, not billed units
    assert {k: v for k, v in attrs.items() if "hash" not in k} == {
        "llm.provider": "cohere",
        "llm.operation": "chat",
        "llm.model": MODEL,
        "llm.streaming": False,
        "llm.temperature": 0.2,
        "llm.max_tokens": 64,
        "llm.top_p": 0.9,
        "llm.prompt.message_count": 1,
        "llm.prompt.length": len("Name three rivers."),
        "llm.prompt.system_length": len("Be brief."),
        "llm.response.id": exchange.response_id,
        "llm.response.length": len(exchange.text),
        "llm.tokens.input": 1324,
        "llm.tokens.output": 30,
        "llm.tokens.total": 1354,
        "llm.tokens.cache_read": 1024,
        "llm.cost_usd": attrs["llm.cost_usd"],
        "llm.cost.input_usd": attrs["llm.cost.input_usd"],
        "llm.cost.output_usd": attrs["llm.cost.output_usd"],
        "llm.cost.cache_usd": attrs["llm.cost.cache_usd"],
        "llm.cost.pricing": attrs["llm.cost.pricing"],
        "llm.stop_reason": "stop",
        "llm.retry_count": 0,
        "llm.success": True,
        "llm.latency_ms": attrs["llm.latency_ms"],
        "server.address": "127.0.0.1",
        "server.port": int(server.url.rsplit(":", 1)[1]),
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "cohere",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.stream": False,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.id": exchange.response_id,
        "gen_ai.response.finish_reasons": ("COMPLETE",),
        "gen_ai.usage.input_tokens": 1324,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "http.request.resend_count": 0,
    }
    assert attrs["llm.cost.pricing"].startswith("genai-prices")


def test_chat_stream(client, instrumented_cohere, server):
    events = list(
        client.chat_stream(
            model=MODEL, messages=MESSAGES, request_options=options(x_llmtrace_chunks="7", x_llmtrace_ttft_ms="20")
        )
    )
    (exchange,) = server.log
    attrs = assert_call_recorded(instrumented_cohere, exchange, streaming=True)
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == exchange.text and events[-1].type == "message-end"
    assert exchange.chunks == 7
    assert_stream_timing(attrs, chunks=7, ttft_ms=20)
    assert attrs["llm.response.id"] == exchange.response_id and attrs["llm.stop_reason"] == "stop"
    assert attrs["llm.retry_count"] == 0


async def test_async_chat(aclient, instrumented_cohere, server):
    reply = await aclient.chat(model="command-r-08-2024", messages=MESSAGES, request_options=options())
    (exchange,) = server.log
    assert reply.message.content[0].text == exchange.text
    assert_call_recorded(instrumented_cohere, exchange, streaming=False)


async def test_async_chat_stream(aclient, instrumented_cohere, server):
    stream = aclient.chat_stream(model=MODEL, messages=MESSAGES, request_options=options(x_llmtrace_chunks="4"))
    events = [e async for e in stream]
    (exchange,) = server.log
    attrs = assert_call_recorded(instrumented_cohere, exchange, streaming=True)
    assert [e.type for e in events].count("content-delta") == attrs["llm.chunks"] == exchange.chunks == 4


def test_embed(client, instrumented_cohere, server):
    texts = ["the river delta", "a mountain stream"]
    response = client.embed(model="embed-v4.0", input_type="search_document", texts=texts, embedding_types=["float"])
    (exchange,) = server.log
    attrs = dict(instrumented_cohere.span().attributes)
    assert len(response.embeddings.float_) == 2 and attrs["llm.operation"] == "embeddings"
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.output"]) == (exchange.usage["input"], 0)
    assert attrs["llm.cost_usd"] == pytest.approx(reference_cost("cohere", "embed-v4.0", exchange.usage), rel=1e-12)
    assert attrs["llm.prompt.message_count"] == 2 and attrs["llm.response.id"] == exchange.response_id
    assert instrumented_cohere.total("llm.calls", operation="embeddings", status="ok") == 1


async def test_async_embed(aclient, instrumented_cohere, server):
    await aclient.embed(model="embed-v4.0", input_type="search_query", texts=["where is the delta"])
    attrs = dict(instrumented_cohere.span().attributes)
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["llm.tokens.input"] == server.log[0].usage["input"]


def test_retry_then_success_counts_one_retry(client, instrumented_cohere, server):
    client.chat(model=MODEL, messages=MESSAGES, request_options=options("rate_limit,ok"))
    attrs = dict(instrumented_cohere.span().attributes)
    assert [e.status for e in server.log] == [429, 200]
    assert attrs["llm.retry_count"] == 1 and attrs["llm.success"] is True
    assert attrs["llm.tokens.input"] == server.log[-1].usage["input"]
    assert instrumented_cohere.total("llm.retries", provider="cohere") == 1
    assert instrumented_cohere.total("llm.calls", status="ok") == 1


def test_all_attempts_rate_limited(client, instrumented_cohere, server):
    with pytest.raises(cohere.TooManyRequestsError) as info:
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("rate_limit"))
    assert info.value.status_code == 429 and len(server.log) == 3
    assert_rate_limited_after_retries(instrumented_cohere.span(), "TooManyRequestsError")
    assert instrumented_cohere.total("llm.calls", status="error", error_type="rate_limit") == 1
    assert instrumented_cohere.points("llm.tokens") == [] and instrumented_cohere.total("llm.retries") == 2


def test_rate_limit_retry_after_is_recorded(server, instrumented_cohere):
    client = cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX, max_retries=0)
    with pytest.raises(cohere.TooManyRequestsError):
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("rate_limit"))
    assert instrumented_cohere.span().attributes["llm.error.retry_after_s"] == pytest.approx(0.01)


def test_server_error_retries_exhausted(client, instrumented_cohere, server, fast_backoff):
    with pytest.raises(cohere.InternalServerError):
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("server_error"))
    attrs = dict(instrumented_cohere.span().attributes)
    assert [e.status for e in server.log] == [500, 500, 500]
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["llm.retry_count"]) == ("server_error", 500, 2)


def test_timeout(server, instrumented_cohere):
    client = cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX, timeout=0.2, max_retries=2)
    with pytest.raises(httpx.ReadTimeout):  # the transport's own error: cohere neither wraps nor retries it
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("timeout:2"))
    span = instrumented_cohere.span()
    assert span.status.status_code.name == "ERROR"
    assert (span.attributes["llm.error.type"], span.attributes["error.type"]) == ("timeout", "ReadTimeout")


def test_stream_cut(client, instrumented_cohere, server):
    with pytest.raises(httpx.RemoteProtocolError):
        list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=options("stream_cut")))
    span = instrumented_cohere.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"
    assert span.attributes["llm.chunks"] == server.log[0].chunks > 0
    assert instrumented_cohere.total("llm.calls", status="error", error_type="connection", streaming=True) == 1


def test_stream_errors_are_not_retried_by_the_sdk(client, instrumented_cohere, server):
    with pytest.raises(cohere.TooManyRequestsError):
        list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=options("rate_limit,ok")))
    attrs = dict(instrumented_cohere.span().attributes)
    assert len(server.log) == 1 and attrs["llm.error.type"] == "rate_limit" and attrs["llm.retry_count"] == 0


@pytest.mark.parametrize(
    ("fault", "exc", "status", "error_type"),
    [
        ("auth", cohere.UnauthorizedError, 401, "auth"),
        ("permission", cohere.ForbiddenError, 403, "permission"),
        ("not_found", cohere.NotFoundError, 404, "not_found"),
        ("bad_request", cohere.BadRequestError, 400, "bad_request"),
        ("context_length", cohere.BadRequestError, 400, "context_length"),
        ("overloaded", cohere.ServiceUnavailableError, 503, "overloaded"),
    ],
)
def test_errors(server, instrumented_cohere, fast_backoff, fault, exc, status, error_type):
    client = cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX, max_retries=0)
    with pytest.raises(exc) as info:
        client.chat(model=MODEL, messages=MESSAGES, request_options=options(fault))
    attrs = dict(instrumented_cohere.span().attributes)
    assert type(info.value) is exc and info.value.status_code == status  # the SDK's own exception, unchanged
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        exc.__name__,
    )
    # status and the API's own message, not the response headers cohere's ApiError text starts with
    message = attrs["llm.error.message"]
    assert message.startswith(f"status_code: {status}, ") and "headers" not in message
    assert message == f"status_code: {status}, {info.value.body['message']}"  # the fake server's Cohere body


def test_malformed_body(client, instrumented_cohere, server):
    with pytest.raises(ApiError) as info:  # cohere raises its bare ApiError with the 200 status for a broken body
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("malformed"))
    span = instrumented_cohere.span()
    assert info.value.status_code == 200 and span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "ApiError"


def test_malformed_body_is_an_invalid_response(client, instrumented_cohere, server):
    with pytest.raises(ApiError):
        client.chat(model=MODEL, messages=MESSAGES, request_options=options("malformed"))
    assert instrumented_cohere.span().attributes["llm.error.type"] == "invalid_response"


def test_v1_client_v2_namespace_and_clients_made_before_instrumenting(server, telemetry):
    """``cohere.Client(...).v2`` is a V2Client reached through the raw client; it is traced even when created
    before ``instrument()`` (only ClientV2 binds chat/chat_stream per instance)."""
    v1 = cohere.Client(api_key="co-test", base_url=server.url + PREFIX)
    inst = CohereInstrumentor()
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        v1.v2.chat(model=MODEL, messages=MESSAGES)
    finally:
        inst.uninstrument()
    attrs = telemetry.span().attributes
    assert (attrs["server.address"], attrs["llm.tokens.input"]) == ("127.0.0.1", server.log[0].usage["input"])


def test_tool_call(client, instrumented_cohere, server):
    reply = client.chat(model=MODEL, messages=MESSAGES, tools=TOOLS, request_options=options("tool_call"))
    attrs = dict(instrumented_cohere.span().attributes)
    assert reply.message.tool_calls[0].function.name == "lookup"
    assert attrs["llm.response.tool_calls"] == 1 and attrs["llm.tools.names"] == ("lookup",)
    assert attrs["gen_ai.response.finish_reasons"] == ("TOOL_CALL",) and attrs["llm.stop_reason"] == "tool_use"


def test_stream_tool_call_and_content_filter(client, instrumented_cohere, server):
    list(client.chat_stream(model=MODEL, messages=MESSAGES, tools=TOOLS, request_options=options("tool_call")))
    list(client.chat_stream(model=MODEL, messages=MESSAGES, request_options=options("content_filter")))
    tool, blocked = sorted(instrumented_cohere.spans(), key=lambda s: s.start_time)
    assert tool.attributes["llm.response.tool_calls"] == 1 and tool.attributes["llm.stop_reason"] == "tool_use"
    assert tool.attributes["llm.chunks"] == server.log[0].chunks
    assert blocked.attributes["llm.stop_reason"] == "content_filter" and "llm.response.length" not in blocked.attributes


def test_finish_reasons_normalize():
    reasons = Outcomes.of(cohere_provider.PROVIDER.finish_reasons, ErrorRules()).finish_reasons
    assert [
        normalize_finish_reason(r, reasons).value for r in ("COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "ERROR")
    ] == [
        "stop",
        "stop",
        "length",
        "error",
    ]


def test_instrument_twice_and_uninstrument(server, telemetry):
    first, second = CohereInstrumentor(), CohereInstrumentor()
    first.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    second.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    client = cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX)
    client.chat(model=MODEL, messages=MESSAGES)
    assert len(telemetry.spans()) == 1  # one span: not wrapped twice
    first.uninstrument()
    for target in cohere_provider.TARGETS:
        cls_name, method = target.name.split(".")
        assert not hasattr(vars(getattr(cohere.v2.client, cls_name))[method], "__wrapped__")
    cohere.ClientV2(api_key="co-test", base_url=server.url + PREFIX).chat(model=MODEL, messages=MESSAGES)
    assert len(telemetry.spans()) == 1


# -- error table ------------------------------------------------------------------------------------------------


def _public_errors() -> list[type]:
    found = {getattr(cohere, n) for n in dir(cohere) if not n.startswith("_")}
    found |= {getattr(cohere.core, n) for n in dir(cohere.core) if not n.startswith("_")}
    return [c for c in found if inspect.isclass(c) and issubclass(c, Exception) and c is not ApiError]


def test_every_public_exception_is_mapped():
    listed = listed_classes(cohere_provider)
    assert ParsingError in listed
    assert sorted(c.__name__ for c in _public_errors() if c not in listed) == []


def test_subclasses_come_before_their_bases():
    assert_most_specific_first(cohere_provider)


# -- the demo driver ---------------------------------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(instrumented_cohere, fast_backoff):
    config = WorkloadConfig(calls=30, seed=1, providers=("cohere",), fault_rate=0.3)
    with FakeProviderServer(seed=1) as server:
        truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"cohere"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    assert_metrics_equal_truth(instrumented_cohere, truth)


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _cohere_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    """Made after ``instrument()`` (cohere binds chat/chat_stream onto each client when it is created)."""
    import cohere

    from llmtrace.demo.providers.cohere import PREFIX

    sdk = cohere.ClientV2(api_key="k", base_url=server.url + PREFIX, timeout=5.0, max_retries=retries)
    return Bound(sdk, with_call_id(headers))


def _cohere_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import cohere

    from llmtrace.demo.providers.cohere import PREFIX

    sdk = cohere.AsyncClientV2(api_key="k", base_url=server.url + PREFIX, timeout=5.0, max_retries=retries)
    return Bound(sdk, with_call_id(headers))


def _cohere_kwargs(client: Bound, prompt: Prompt) -> dict[str, Any]:
    kwargs = openai_kwargs(prompt, False)
    del kwargs["stream"]
    options = {"additional_headers": client.headers}
    return {**kwargs, "model": "command-a-03-2025", "request_options": options}


def _cohere_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _cohere_kwargs(client, prompt)
    return client.sdk.chat_stream(**kwargs) if stream else client.sdk.chat(**kwargs)


async def _cohere_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    kwargs = _cohere_kwargs(client, prompt)
    return client.sdk.chat_stream(**kwargs) if stream else await client.sdk.chat(**kwargs)


_COHERE_USAGE = {
    "billed_units": {"input_tokens": 4, "output_tokens": 5},
    "tokens": {"input_tokens": 12, "output_tokens": 5},
    "cached_tokens": 0,
}


def _cohere_event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


RELIABILITY_CASE = ProviderCase(
    name="cohere",
    sdk="cohere",
    make_client=_cohere_client,
    make_async_client=_cohere_async_client,
    chat=_cohere_chat,
    achat=_cohere_achat,
    response={
        "id": "c-1",
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello there"}],
            "tool_calls": [
                {"id": "lookup_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}}
            ],
        },
        "finish_reason": "COMPLETE",
        "usage": _COHERE_USAGE,
    },
    stream_events=[
        _cohere_event("message-start", id="c-1", delta={"message": {"role": "assistant", "content": []}}),
        _cohere_event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}}),
        _cohere_event("content-delta", index=0, delta={"message": {"content": {"text": "Hel"}}}),
        _cohere_event("content-delta", index=0, delta={"message": {"content": {"text": "lo"}}}),
        _cohere_event("content-end", index=0),
        _cohere_event("message-end", delta={"finish_reason": "COMPLETE", "usage": _COHERE_USAGE}),
    ],
    stream_retries=False,
)

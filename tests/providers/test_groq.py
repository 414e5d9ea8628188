"""The real ``groq`` SDK over HTTP to the fake provider server (Groq's JSON and SSE under ``/groq/openai/v1``),
instrumented: exact attributes and metric points."""

from __future__ import annotations

import gc
import json
import typing
from typing import Any

import groq
import groq._exceptions as groq_exceptions
import httpx
import pytest
import wrapt
from groq.resources.chat.completions import Completions
from groq.types.chat.chat_completion_chunk import Choice as ChunkChoice

from llmtrace.call import Outcomes, normalize_finish_reason
from llmtrace.classification import ErrorRules
from llmtrace.demo.fake_server import RawReply, sse_event
from llmtrace.demo.providers.groq import PREFIX
from llmtrace.demo.workload import WorkloadConfig, run_workload
from llmtrace.pricing import GENAI_PRICES_PROVIDER_IDS
from llmtrace.providers import groq as groq_provider
from llmtrace.providers._reading import get_path
from llmtrace.providers.groq import GroqInstrumentor
from llmtrace.semconv import GENAI_PROVIDER_NAMES

from .._assertions import (
    assert_attributes,
    assert_rate_limited_after_retries,
    assert_stream_timing,
    assert_usage_matches,
    fault,
)
from .._error_tables import assert_maps_every, assert_most_specific_first, public_exceptions
from .._instrumentors import instrumented_by
from .._truth import assert_metrics_equal_truth
from ..reliability._case import Prompt, ProviderCase, chat_chunks, chat_completion, function_chat

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three rivers."},
]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
MODEL = "llama-3.3-70b-versatile"

instrumented_groq = instrumented_by(GroqInstrumentor)


def make_client(server, *, retries: int = 2, timeout: float = 5.0, **options: Any) -> groq.Groq:
    return groq.Groq(api_key="gsk_test", base_url=server.url + PREFIX, max_retries=retries, timeout=timeout, **options)


def make_async_client(server, *, retries: int = 2) -> groq.AsyncGroq:
    return groq.AsyncGroq(api_key="gsk_test", base_url=server.url + PREFIX, max_retries=retries, timeout=5.0)


@pytest.fixture
def client(server, instrumented_groq):
    return make_client(server)


@pytest.fixture
def aclient(server, instrumented_groq):
    return make_async_client(server)


def _by_start(telemetry):
    return sorted(telemetry.spans(), key=lambda s: s.start_time)


# -- success paths ----------------------------------------------------------------------------------------------


def test_chat_non_stream(client, instrumented_groq, server):
    reply = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, temperature=0.2, max_completion_tokens=50, top_p=0.9, seed=7, stop=["END"]
    )
    (exchange,) = server.log
    span = instrumented_groq.span()
    attrs = dict(span.attributes)
    assert span.name == f"chat {MODEL}" and span.kind.name == "CLIENT"
    assert exchange.path == "/groq/openai/v1/chat/completions" and exchange.provider == "groq"
    assert reply.choices[0].message.content == exchange.text
    assert get_path(reply, "x_groq", "id").startswith("req_")  # a model field in groq 1.x, a dict before
    assert_usage_matches(attrs, exchange, "groq")
    assert_attributes(
        attrs,
        {
            "llm.provider": "groq",
            "llm.operation": "chat",
            "llm.model": MODEL,
            "llm.response.model": MODEL,
            "llm.response.id": exchange.response_id,
            "llm.streaming": False,
            "llm.success": True,
            "llm.retry_count": 0,
            "llm.stop_reason": "stop",
            "llm.temperature": 0.2,
            "llm.max_tokens": 50,
            "llm.top_p": 0.9,
            "llm.prompt.message_count": 1,
            "gen_ai.provider.name": "groq",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": MODEL,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ("END",),
            "gen_ai.response.finish_reasons": ("stop",),
            "server.address": "127.0.0.1",
            "server.port": int(server.url.rsplit(":", 1)[1]),
            "http.request.resend_count": 0,
        },
    )
    assert "llm.tokens.cache_read" not in attrs and "llm.tokens.estimated" not in attrs
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs["llm.prompt.system_length"] == len("You are terse.")
    assert "llm.ttft_ms" not in attrs and "llm.chunks" not in attrs
    labels = {"provider": "groq", "model": MODEL}
    assert instrumented_groq.points("llm.calls") == [
        ({**labels, "operation": "chat", "status": "ok", "streaming": False}, 1)
    ]
    assert instrumented_groq.total("llm.tokens", type="input") == exchange.usage["input"]
    assert instrumented_groq.total("llm.tokens", type="output") == exchange.usage["output"]
    assert instrumented_groq.total("llm.cost.usd", **labels) == pytest.approx(attrs["llm.cost_usd"], rel=1e-12)
    assert instrumented_groq.points("llm.ttft") == [] and instrumented_groq.points("llm.retries") == []


def test_deprecated_max_tokens_and_developer_prompt(client, instrumented_groq, server):
    messages = [{"role": "developer", "content": "Answer in French."}, *MESSAGES[1:]]
    client.chat.completions.create(model=MODEL, messages=messages, max_tokens=33)
    attrs = dict(instrumented_groq.span().attributes)
    assert attrs["llm.max_tokens"] == 33 and attrs["llm.prompt.message_count"] == 1
    assert attrs["llm.prompt.system_length"] == len("Answer in French.")


def test_cached_and_reasoning_tokens(client, instrumented_groq, server):
    headers = {"x-llmtrace-usage": "input=2000,output=90,cache_read=1536,cache_write=64,reasoning=12"}
    reply = client.chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES, extra_headers=headers)
    (exchange,) = server.log
    attrs = dict(instrumented_groq.span().attributes)
    assert get_path(reply, "usage", "prompt_tokens_details", "cached_tokens") == 1536
    assert exchange.usage == {"input": 2000, "output": 90, "cache_read": 1536, "reasoning": 12}  # no cache writes
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.cache_read"], attrs["llm.tokens.reasoning"]) == (
        2000,
        1536,
        12,
    )
    assert "llm.tokens.cache_write" not in attrs
    assert_usage_matches(attrs, exchange, "groq")
    assert attrs["llm.cost.cache_usd"] > 0
    assert instrumented_groq.total("llm.tokens", type="cache_read") == 1536


def test_chat_stream_usage_from_x_groq(client, instrumented_groq, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "5"})
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers)
    assert isinstance(stream, groq.Stream)  # the proxy keeps isinstance
    chunks = list(stream)
    (exchange,) = server.log
    attrs = dict(instrumented_groq.span().attributes)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == exchange.text
    assert chunks[-1].usage is None and chunks[-1].x_groq.usage.prompt_tokens == exchange.usage["input"]
    assert_usage_matches(attrs, exchange, "groq")
    assert "llm.tokens.estimated" not in attrs
    assert attrs["llm.streaming"] is True and attrs["gen_ai.request.stream"] is True
    assert attrs["llm.chunks"] == exchange.chunks == 6
    assert_stream_timing(attrs, chunks=6, ttft_ms=30, delay_ms=5)
    assert attrs["llm.response.id"] == exchange.response_id and attrs["llm.stop_reason"] == "stop"
    assert "llm.stream.incomplete" not in attrs and attrs["llm.success"] is True
    ((labels, ttft_point),) = instrumented_groq.points("llm.ttft")
    assert labels == {"provider": "groq", "model": MODEL} and ttft_point.count == 1


def test_stream_with_include_usage_counts_once(client, instrumented_groq, server):
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_body={"stream_options": {"include_usage": True}}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the extra usage chunk
    assert_usage_matches(dict(instrumented_groq.span().attributes), server.log[0], "groq")
    assert instrumented_groq.total("llm.tokens", type="input") == server.log[0].usage["input"]


async def test_async_chat_and_stream(aclient, instrumented_groq, server):
    reply = await aclient.chat.completions.create(model=MODEL, messages=MESSAGES)
    stream = await aclient.chat.completions.create(model="openai/gpt-oss-20b", messages=MESSAGES, stream=True)
    assert isinstance(stream, groq.AsyncStream)
    chunks = [c async for c in stream]
    assert reply.choices[0].message.content == server.log[0].text
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == server.log[1].text
    first, second = _by_start(instrumented_groq)
    assert_usage_matches(dict(first.attributes), server.log[0], "groq")
    assert_usage_matches(dict(second.attributes), server.log[1], "groq")
    assert "llm.chunks" not in first.attributes and "llm.ttft_ms" not in first.attributes
    assert second.attributes["llm.chunks"] == server.log[1].chunks and "llm.ttft_ms" in second.attributes
    assert instrumented_groq.total("llm.calls", streaming=True) == 1
    assert instrumented_groq.total("llm.calls", streaming=False) == 1


async def test_async_stream_context_manager(aclient, instrumented_groq, server):
    async with await aclient.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream:
        async for _ in stream:
            pass
    attrs = dict(instrumented_groq.span().attributes)
    assert_usage_matches(attrs, server.log[0], "groq")
    assert attrs["llm.success"] is True and "llm.stream.incomplete" not in attrs


async def test_embeddings_sync_and_async(client, aclient, instrumented_groq, server):
    result = client.embeddings.create(model="nomic-embed-text-v1_5", input=["alpha", "beta"])
    aresult = await aclient.embeddings.create(model="nomic-embed-text-v1_5", input="gamma")
    assert len(result.data) == 2 and len(aresult.data) == 1
    for span, exchange in zip(_by_start(instrumented_groq), server.log, strict=True):
        attrs = dict(span.attributes)
        assert exchange.path == "/groq/openai/v1/embeddings" and span.name == "embeddings nomic-embed-text-v1_5"
        assert attrs["llm.operation"] == "embeddings" and attrs["gen_ai.operation.name"] == "embeddings"
        assert attrs["llm.tokens.input"] == exchange.usage["input"] and attrs["llm.tokens.output"] == 0
        assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs  # genai-prices lists no price
        assert "llm.stop_reason" not in attrs
    assert instrumented_groq.total("llm.calls", operation="embeddings") == 2
    assert instrumented_groq.total("llm.unpriced_calls", model="nomic-embed-text-v1_5") == 2


def test_with_raw_response_keeps_working(client, instrumented_groq, server):
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()
    assert raw.headers.get("x-request-id", "").startswith("req_")
    assert completion.choices[0].message.content == server.log[0].text
    assert_usage_matches(dict(instrumented_groq.span().attributes), server.log[0], "groq")


def test_with_streaming_response_stream(client, instrumented_groq, server):
    with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=MESSAGES, stream=True
    ) as response:
        text = "".join(c.choices[0].delta.content or "" for c in response.parse())
    attrs = dict(instrumented_groq.span().attributes)
    assert text == server.log[0].text
    assert_usage_matches(attrs, server.log[0], "groq")  # from x_groq on the last chunk, as for create(stream=True)
    assert attrs["llm.chunks"] == server.log[0].chunks and attrs["llm.stop_reason"] == "stop"


def test_tool_calls_and_content_filter(client, instrumented_groq, server):
    client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS, extra_headers=fault("tool_call"))
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=TOOLS, stream=True, extra_headers=fault("tool_call")
    )
    calls = [c for chunk in stream for c in (chunk.choices[0].delta.tool_calls or [])]
    client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("content_filter"))
    assert [c.function.name for c in calls] == ["lookup"]  # Groq streams a tool call whole
    tool, tool_stream, filtered = _by_start(instrumented_groq)
    for span in (tool, tool_stream):
        assert span.attributes["llm.stop_reason"] == "tool_use"
        assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
        assert span.attributes["llm.response.tool_calls"] == 1
        assert span.attributes["llm.tools.count"] == 1 and span.attributes["llm.tools.names"] == ("lookup",)
    assert tool_stream.attributes["llm.chunks"] == 1  # the tool-call delta is the content
    assert filtered.attributes["llm.stop_reason"] == "content_filter" and filtered.attributes["llm.success"] is True


def test_messages_from_a_generator_reach_the_sdk_untouched(client, instrumented_groq, server):
    client.chat.completions.create(model=MODEL, messages=(m for m in MESSAGES))
    assert server.log[0].request_body["messages"] == MESSAGES
    assert instrumented_groq.span().attributes["llm.success"] is True


def test_unknown_model_is_unpriced(client, instrumented_groq, server):
    client.chat.completions.create(model="acme-internal-7b", messages=MESSAGES)
    attrs = dict(instrumented_groq.span().attributes)
    assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs
    assert instrumented_groq.total("llm.unpriced_calls", model="acme-internal-7b") == 1


# -- retries and errors -----------------------------------------------------------------------------------------


def test_retry_then_success_counts_one_retry(client, instrumented_groq, server):
    client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("rate_limit,ok"))
    attrs = dict(instrumented_groq.span().attributes)
    assert [(e.status, e.attempt) for e in server.log] == [(429, 0), (200, 1)]  # x-stainless-retry-count
    assert attrs["llm.retry_count"] == 1 and attrs["http.request.resend_count"] == 1 and attrs["llm.success"] is True
    assert_usage_matches(attrs, server.log[-1], "groq")
    assert instrumented_groq.points("llm.retries") == [({"provider": "groq", "model": MODEL}, 1)]
    assert instrumented_groq.total("llm.calls", status="ok") == 1


async def test_async_stream_retry_then_success(aclient, instrumented_groq, server):
    stream = await aclient.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers=fault("server_error,ok")
    )
    async for _ in stream:
        pass
    attrs = dict(instrumented_groq.span().attributes)
    assert [e.status for e in server.log] == [500, 200]
    assert attrs["llm.retry_count"] == 1 and attrs["llm.chunks"] == server.log[-1].chunks
    assert_usage_matches(attrs, server.log[-1], "groq")


def test_user_http_client_still_counts_retries(server, instrumented_groq):
    client = make_client(server, retries=3, http_client=groq.DefaultHttpxClient(timeout=5.0))
    client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("overloaded,rate_limit,ok"))
    assert instrumented_groq.span().attributes["llm.retry_count"] == 2


def test_all_attempts_rate_limited(client, instrumented_groq, server):
    with pytest.raises(groq.RateLimitError) as info:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("rate_limit"))
    assert info.value.status_code == 429 and [e.status for e in server.log] == [429, 429, 429]
    attrs = assert_rate_limited_after_retries(instrumented_groq.span(), "RateLimitError")
    assert attrs["llm.error.retry_after_s"] == pytest.approx(0.01)
    assert "Rate limit reached" in attrs["llm.error.message"]
    assert instrumented_groq.total("llm.calls", status="error", error_type="rate_limit") == 1
    assert instrumented_groq.points("llm.tokens") == [] and instrumented_groq.points("llm.cost.usd") == []
    assert instrumented_groq.total("llm.retries") == 2


def test_user_exception_is_the_sdks_own_object(server, instrumented_groq):
    with pytest.raises(groq.BadRequestError) as info:
        make_client(server, retries=0).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers=fault("bad_request")
        )
    assert type(info.value) is groq.BadRequestError
    assert info.value.response.status_code == 400 and info.value.body["error"]["type"] == "invalid_request_error"
    assert instrumented_groq.span().attributes["llm.error.type"] == "bad_request"


@pytest.mark.parametrize(
    ("plan", "exc_type", "status", "error_type"),
    [
        ("server_error", groq.InternalServerError, 500, "server_error"),
        ("overloaded", groq.InternalServerError, 503, "overloaded"),
        ("auth", groq.AuthenticationError, 401, "auth"),
        ("permission", groq.PermissionDeniedError, 403, "permission"),
        ("not_found", groq.NotFoundError, 404, "not_found"),
        ("context_length", groq.BadRequestError, 400, "context_length"),
    ],
)
def test_error_classification(server, instrumented_groq, plan, exc_type, status, error_type):
    with pytest.raises(exc_type):
        make_client(server, retries=0).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers=fault(plan)
        )
    attrs = dict(instrumented_groq.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        exc_type.__name__,
    )


def test_malformed_body_is_invalid_response(server, instrumented_groq):
    with pytest.raises(json.JSONDecodeError):  # the SDK lets the parser's error through
        make_client(server, retries=0).chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers=fault("malformed")
        )
    assert instrumented_groq.span().attributes["llm.error.type"] == "invalid_response"


def test_flex_tier_capacity_is_overloaded_and_not_retried(client, instrumented_groq, server):
    with pytest.raises(groq.APIStatusError) as info:
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, service_tier="flex", extra_headers=fault("overloaded")
        )
    assert type(info.value) is groq.APIStatusError and info.value.status_code == 498
    attrs = dict(instrumented_groq.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["llm.retry_count"]) == ("overloaded", 498, 0)


def test_cancelled_request_is_cancelled(client, instrumented_groq, server):
    body = json.dumps({"error": {"message": "Request was cancelled", "type": "request_cancelled"}}).encode()
    server.enqueue_raw(RawReply(body, status=499))
    with pytest.raises(groq.APIStatusError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    attrs = dict(instrumented_groq.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.error.status"]) == ("cancelled", 499)


@pytest.mark.parametrize(
    ("kind", "error_type"), [("invalid_request_error", "bad_request"), ("internal_server_error", "server_error")]
)
def test_error_event_inside_a_stream(client, instrumented_groq, server, kind, error_type):
    """Groq reports a failure after the stream started (e.g. ``tool_use_failed``) as an ``{"error": ...}`` event,
    which the SDK raises as a bare ``APIError``."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    text = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}
    error = {"error": {"message": "Failed to call a function.", "type": kind, "code": "tool_use_failed"}}
    server.enqueue_raw(RawReply([sse_event(None, text), sse_event(None, error)], content_type="text/event-stream"))
    with pytest.raises(groq.APIError) as info:
        for _ in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            pass
    assert type(info.value) is groq.APIError
    attrs = dict(instrumented_groq.span().attributes)
    assert (attrs["llm.error.type"], attrs["error.type"], attrs["llm.chunks"]) == (error_type, "APIError", 1)
    assert "llm.error.status" not in attrs


def test_timeout(server, instrumented_groq):
    client = make_client(server, retries=0, timeout=0.3)
    with pytest.raises(groq.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("timeout:2"))
    attrs = dict(instrumented_groq.span().attributes)
    assert attrs["llm.error.type"] == "timeout" and attrs["error.type"] == "APITimeoutError"
    assert attrs["llm.latency_ms"] >= 250  # the client's 300 ms timeout is the floor; the raise proves no 2 s wait


def test_stream_cut_ends_span_with_error(client, instrumented_groq, server):
    with pytest.raises(httpx.RemoteProtocolError):  # the SDK lets the transport's exception through
        for _ in client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers=fault("stream_cut")
        ):
            pass
    span = instrumented_groq.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llm.error.type"] == "connection" and span.attributes["llm.success"] is False
    assert span.attributes["llm.chunks"] == server.log[0].chunks >= 1
    assert instrumented_groq.points("llm.tokens") == []


def test_malformed_stream(client, instrumented_groq, server):
    with pytest.raises(json.JSONDecodeError):
        for _ in client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, extra_headers=fault("malformed")
        ):
            pass
    assert instrumented_groq.span().attributes["llm.error.type"] == "invalid_response"


def test_stream_closed_early_and_abandoned_streams_end_their_spans(client, instrumented_groq, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "20"})
    with client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers) as s:
        next(iter(s))
        next(s)
    abandoned = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, extra_headers=headers)
    next(abandoned)
    del abandoned
    gc.collect()
    spans = instrumented_groq.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["llm.stream.incomplete"] is True and span.attributes["llm.success"] is True
    assert instrumented_groq.total("llm.calls") == 2


def _sdk_finish_reasons() -> list[str]:
    """Every finish reason the SDK's chunk type spells (a superset of the non-streamed one's)."""
    (literal, _none) = typing.get_args(ChunkChoice.model_fields["finish_reason"].annotation)
    return list(typing.get_args(literal))


@pytest.mark.parametrize("raw", _sdk_finish_reasons())
def test_every_sdk_finish_reason_normalizes(raw):
    outcomes = Outcomes.of(groq_provider.PROVIDER.finish_reasons, ErrorRules())
    expected = {"tool_calls": "tool_use", "function_call": "tool_use"}.get(raw, raw)
    reason = normalize_finish_reason(raw, outcomes.finish_reasons)
    assert reason is not None and reason.value == expected


# -- lifecycle --------------------------------------------------------------------------------------------------


def test_instrument_twice_wraps_once_and_uninstrument_restores(server, telemetry):
    original = Completions.__dict__["create"]
    first, second = GroqInstrumentor(), GroqInstrumentor()
    first.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    second.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        assert isinstance(Completions.__dict__["create"], wrapt.FunctionWrapper)
        assert not isinstance(Completions.__dict__["create"].__wrapped__, wrapt.FunctionWrapper)
        make_client(server).chat.completions.create(model=MODEL, messages=MESSAGES)
        assert len(telemetry.spans()) == 1
    finally:
        first.uninstrument()
    assert Completions.__dict__["create"] is original
    make_client(server).chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers=fault("rate_limit,ok"))
    assert len(telemetry.spans()) == 1  # no span, and the transport hook is gone too (nothing to count into)


def test_registry_names_are_those_of_the_former_endpoint():
    """Groq was an OpenAI-compatible endpoint before it was a provider: the derived names stay the same."""
    assert GENAI_PROVIDER_NAMES["groq"] == "groq" and GENAI_PRICES_PROVIDER_IDS["groq"] == "groq"


# -- error table ------------------------------------------------------------------------------------------------


def test_every_public_exception_is_mapped():
    public = public_exceptions(groq)  # the SDK re-homes its exported classes' __module__ to "groq"
    defined = [cls for cls in vars(groq_exceptions).values() if isinstance(cls, type) and issubclass(cls, Exception)]
    assert set(defined) == set(public) and len(public) == 14
    assert_maps_every(groq_provider, public)


def test_subclasses_come_before_their_bases():
    assert_most_specific_first(groq_provider)


# -- the demo driver --------------------------------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(server, instrumented_groq):
    config = WorkloadConfig(calls=30, seed=1, providers=("groq",), fault_rate=0.3)
    truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"groq"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    assert truth["totals"]["tokens"]["cache_read"] > 0
    assert_metrics_equal_truth(instrumented_groq, truth)


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _groq_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return groq.Groq(api_key="k", base_url=server.url + PREFIX, max_retries=retries, default_headers=headers)


def _groq_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return groq.AsyncGroq(api_key="k", base_url=server.url + PREFIX, max_retries=retries, default_headers=headers)


def _groq_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat.completions.create(**function_chat(MODEL, prompt, stream))


async def _groq_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat.completions.create(**function_chat(MODEL, prompt, stream))


def _usage_in_x_groq(event: tuple[str | None, Any]) -> tuple[str | None, Any]:
    """Groq's stream carries its usage in the finishing chunk's ``x_groq``, not in ``usage``."""
    name, payload = event
    if not isinstance(payload, dict) or "usage" not in payload:
        return event
    rest = {k: v for k, v in payload.items() if k != "usage"}
    return name, {**rest, "x_groq": {"id": "req_1", "usage": payload["usage"]}}


_GROQ_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "queue_time": 0.01, "total_time": 0.05}
_GROQ_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
RELIABILITY_CASE = ProviderCase(
    name="groq",
    sdk="groq",
    make_client=_groq_client,
    make_async_client=_groq_async_client,
    chat=_groq_chat,
    achat=_groq_achat,
    response=chat_completion("chatcmpl-1", MODEL, "call_1", _GROQ_USAGE),
    stream_events=[_usage_in_x_groq(e) for e in chat_chunks(_GROQ_CHUNK, _GROQ_USAGE, usage_chunk=False)],
)

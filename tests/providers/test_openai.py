"""The real ``openai`` SDK over HTTP to the fake provider server, instrumented: exact attributes and metric points."""

from __future__ import annotations

import gc
import json
from typing import Any

import httpx2
import openai
import pytest

from llmtrace.demo.workload import reference_cost
from llmtrace.providers.openai import detect_provider

from .._assertions import (
    assert_attributes,
    assert_rate_limited_after_retries,
    assert_stream_timing,
    assert_usage_matches,
    fault,
)
from ..reliability._case import (
    Prompt,
    ProviderCase,
    chat_chunks,
    chat_completion,
    openai_kwargs,
)

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three rivers."},
]


@pytest.fixture
def client(server, instrumented):
    return openai.OpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=2, timeout=5.0)


@pytest.fixture
def aclient(server, instrumented):
    return openai.AsyncOpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=2, timeout=5.0)


def test_chat_non_stream(client, instrumented, server):
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=50)
    (exchange,) = server.log
    span = instrumented.span()
    attrs = dict(span.attributes)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind.name == "CLIENT"
    assert reply.choices[0].message.content == exchange.text
    assert_usage_matches(attrs, exchange, "openai")
    assert_attributes(
        attrs,
        {
            "llm.provider": "openai",
            "llm.operation": "chat",
            "llm.model": "gpt-4o-mini",
            "llm.response.id": exchange.response_id,
            "llm.streaming": False,
            "llm.success": True,
            "llm.retry_count": 0,
            "llm.stop_reason": "stop",
            "llm.temperature": 0.2,
            "llm.max_tokens": 50,
            "llm.prompt.message_count": 1,
            "gen_ai.provider.name": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.finish_reasons": ("stop",),
            "server.address": "127.0.0.1",
            "http.request.resend_count": 0,
        },
    )
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs["llm.prompt.system_length"] == len("You are terse.")
    assert "llm.ttft_ms" not in attrs and "llm.chunks" not in attrs
    assert attrs["llm.latency_ms"] > 0
    assert instrumented.total("llm.calls", status="ok", streaming=False) == 1
    assert instrumented.total("llm.tokens", type="input") == exchange.usage["input"]
    assert instrumented.total("llm.tokens", type="output") == exchange.usage["output"]
    assert instrumented.total("llm.cost.usd") == pytest.approx(attrs["llm.cost_usd"], rel=1e-12)
    assert instrumented.points("llm.ttft") == []


def test_chat_stream_with_usage(client, instrumented, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "40", "x-llmtrace-delay-ms": "5"})
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=headers,
    )
    assert isinstance(stream, openai.Stream)  # the proxy keeps isinstance
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    (exchange,) = server.log
    attrs = dict(instrumented.span().attributes)
    assert text == exchange.text
    assert_usage_matches(attrs, exchange, "openai")
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 6
    assert_stream_timing(attrs, chunks=6, ttft_ms=40, delay_ms=5)
    assert attrs["gen_ai.response.time_to_first_chunk"] == pytest.approx(attrs["llm.ttft_ms"] / 1000)
    ((labels, ttft_point),) = instrumented.points("llm.ttft")
    assert labels == {"provider": "openai", "model": "gpt-4o-mini"} and ttft_point.count == 1


def test_stream_without_usage_estimates_and_flags(client, instrumented, server):
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.tokens.estimated"] is True
    assert attrs["llm.tokens.output"] == round(len(server.log[0].text) / 4)
    _assert_estimates_kept_apart(instrumented, attrs)


def test_stream_closed_early_without_usage_keeps_estimates_apart(client, instrumented, server):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.tokens.estimated"] is True and attrs["llm.tokens.input"] > 0
    _assert_estimates_kept_apart(instrumented, attrs)


def _assert_estimates_kept_apart(telemetry, attrs):
    """llm_tokens_total and llm_cost_usd_total hold provider-reported usage only; estimates have their own series."""
    assert telemetry.points("llm.tokens") == [] and telemetry.points("llm.cost.usd") == []
    assert telemetry.total("llm.tokens.estimated", type="input") == attrs["llm.tokens.input"]
    assert telemetry.total("llm.tokens.estimated", type="output") == attrs["llm.tokens.output"]
    assert telemetry.total("llm.cost.estimated.usd") == pytest.approx(attrs["llm.cost_usd"], rel=1e-9)
    assert telemetry.total("llm.calls") == 1


async def test_async_chat_and_stream(aclient, instrumented, server):
    reply = await aclient.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    stream = await aclient.chat.completions.create(
        model="gpt-4.1", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert reply.choices[0].message.content == server.log[0].text
    assert len(chunks) >= server.log[1].chunks
    first, second = sorted(instrumented.spans(), key=lambda s: s.start_time)
    assert_usage_matches(dict(first.attributes), server.log[0], "openai")
    assert_usage_matches(dict(second.attributes), server.log[1], "openai")
    assert second.attributes["llm.chunks"] == server.log[1].chunks and "llm.ttft_ms" in second.attributes


def test_responses_api_sync_and_stream(client, instrumented, server):
    resp = client.responses.create(model="gpt-4o-mini", input="Tell me a fact.", instructions="Be brief.")
    events = list(client.responses.create(model="gpt-4o-mini", input="Another.", stream=True))
    assert resp.output_text == server.log[0].text
    assert events[-1].type == "response.completed"
    plain, streamed = sorted(instrumented.spans(), key=lambda s: s.start_time)
    for span, exchange in ((plain, server.log[0]), (streamed, server.log[1])):
        attrs = dict(span.attributes)
        assert attrs["llm.operation"] == "responses" and attrs["gen_ai.operation.name"] == "chat"
        assert_usage_matches(attrs, exchange, "openai")
        assert attrs["llm.stop_reason"] == "stop"
        assert attrs["llm.response.length"] == len(exchange.text)
    assert streamed.attributes["llm.chunks"] == server.log[1].chunks
    assert "llm.prompt.system_hash" in plain.attributes


async def test_async_responses_stream(aclient, instrumented, server):
    stream = await aclient.responses.create(model="gpt-4o-mini", input="x", stream=True)
    async for _ in stream:
        pass
    attrs = dict(instrumented.span().attributes)
    assert_usage_matches(attrs, server.log[0], "openai")
    assert attrs["llm.chunks"] == server.log[0].chunks


def test_embeddings(client, instrumented, server):
    result = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])
    attrs = dict(instrumented.span().attributes)
    assert len(result.data) == 2
    assert attrs["llm.operation"] == "embeddings" and attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["llm.tokens.input"] == server.log[0].usage["input"] and attrs["llm.tokens.output"] == 0
    expected = reference_cost("openai", "text-embedding-3-small", {"input": server.log[0].usage["input"]})
    assert attrs["llm.cost_usd"] == pytest.approx(expected, rel=1e-9)


def test_with_raw_response_keeps_working(client, instrumented, server):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert raw.headers.get("content-type", "").startswith("application/json")
    assert completion.choices[0].message.content == server.log[0].text
    assert_usage_matches(dict(instrumented.span().attributes), server.log[0], "openai")


# -- raw responses whose stream or body comes on parse() (the OpenAI Agents SDK streams Responses this way) -----------

_TIMED = {"x-llmtrace-chunks": "5", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "2"}
_STREAMED = {
    "chat": {"model": "gpt-4o-mini", "messages": MESSAGES, "stream_options": {"include_usage": True}},
    "responses": {"model": "gpt-4o-mini", "input": "Name a river.", "instructions": "Be brief."},
}


def _resource(client: Any, operation: str) -> Any:
    return client.chat.completions if operation == "chat" else client.responses


def _assert_streamed_call(span: Any, exchange: Any, reference: Any) -> None:
    """A stream read through a raw response is recorded as ``create(stream=True)`` records one: usage, cost, chunks,
    TTFT, finish reason, and the same attribute set as the ``reference`` span of a plain streamed call."""
    attrs = dict(span.attributes)
    assert_usage_matches(attrs, exchange, "openai")
    assert_stream_timing(attrs, chunks=5, ttft_ms=30, delay_ms=2)
    assert_attributes(attrs, {"llm.streaming": True, "llm.success": True, "llm.stop_reason": "stop"})
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs.keys() == reference.attributes.keys()


@pytest.mark.parametrize("operation", ["chat", "responses"])
def test_with_streaming_response_stream(client, instrumented, server, operation):
    resource, kwargs = _resource(client, operation), _STREAMED[operation]
    for _ in resource.create(**kwargs, stream=True, extra_headers=_TIMED):
        pass
    with resource.with_streaming_response.create(**kwargs, stream=True, extra_headers=_TIMED) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = response.parse()
        assert isinstance(stream, openai.Stream) and response.parse() is stream  # the SDK's cache holds
        events = list(stream)
    assert len(events) >= server.log[1].chunks
    reference, raw = sorted(instrumented.spans(), key=lambda s: s.start_time)
    _assert_streamed_call(raw, server.log[1], reference)
    assert instrumented.total("llm.tokens", type="input") == sum(e.usage["input"] for e in server.log)


@pytest.mark.parametrize("operation", ["chat", "responses"])
async def test_async_with_streaming_response_stream(aclient, instrumented, server, operation):
    resource, kwargs = _resource(aclient, operation), _STREAMED[operation]
    async for _ in await resource.create(**kwargs, stream=True, extra_headers=_TIMED):
        pass
    async with resource.with_streaming_response.create(**kwargs, stream=True, extra_headers=_TIMED) as response:
        stream = await response.parse()
        assert isinstance(stream, openai.AsyncStream) and await response.parse() is stream
        events = [event async for event in stream]
    assert len(events) >= server.log[1].chunks
    reference, raw = sorted(instrumented.spans(), key=lambda s: s.start_time)
    _assert_streamed_call(raw, server.log[1], reference)


def test_with_raw_response_stream(client, instrumented, server):
    kwargs = _STREAMED["chat"]
    for _ in client.chat.completions.create(**kwargs, stream=True, extra_headers=_TIMED):
        pass
    raw = client.chat.completions.with_raw_response.create(**kwargs, stream=True, extra_headers=_TIMED)
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == server.log[1].text
    reference, streamed = sorted(instrumented.spans(), key=lambda s: s.start_time)
    _assert_streamed_call(streamed, server.log[1], reference)


async def test_async_with_streaming_response_body(aclient, instrumented, server):
    async with aclient.chat.completions.with_streaming_response.create(**_STREAMED["chat"]) as response:
        completion = await response.parse()
    assert completion.choices[0].message.content == server.log[0].text
    attrs = dict(instrumented.span().attributes)
    assert_usage_matches(attrs, server.log[0], "openai")
    assert attrs["llm.streaming"] is False and attrs["llm.stop_reason"] == "stop"


def test_streaming_response_closed_mid_stream_ends_the_call(client, instrumented, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "20"})
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=headers
    ) as response:
        stream = iter(response.parse())
        next(stream), next(stream), next(stream)  # the role chunk, then content
        assert instrumented.spans() == []
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.stream.incomplete"] is True and attrs["llm.success"] is True and attrs["llm.chunks"] >= 1


def test_streaming_response_read_as_bytes_ends_the_call_on_close(client, instrumented, server):
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        lines = [line for line in response.iter_lines() if line]
        assert instrumented.spans() == []
    assert lines[-1] == "data: [DONE]"
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.streaming"] is True and attrs["llm.success"] is True
    assert "llm.stream.incomplete" not in attrs


def test_unparsed_raw_stream_ends_its_call_when_collected(client, instrumented, server):
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert raw.http_response.status_code == 200
    del raw
    gc.collect()
    assert instrumented.span().attributes["llm.success"] is True


def test_retry_then_success_counts_one_retry(client, instrumented, server):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("rate_limit,ok"))
    attrs = dict(instrumented.span().attributes)
    assert [e.status for e in server.log] == [429, 200]
    assert attrs["llm.retry_count"] == 1 and attrs["llm.success"] is True
    assert instrumented.total("llm.retries") == 1
    assert instrumented.total("llm.calls", status="ok") == 1


def test_all_attempts_rate_limited(client, instrumented, server):
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("rate_limit"))
    assert info.value.status_code == 429 and len(server.log) == 3
    attrs = assert_rate_limited_after_retries(instrumented.span(), "RateLimitError")
    assert attrs["llm.error.retry_after_s"] == pytest.approx(0.01)
    assert instrumented.total("llm.calls", status="error", error_type="rate_limit") == 1
    assert instrumented.points("llm.tokens") == [] and instrumented.total("llm.retries") == 2


def test_user_exception_is_the_sdks_own_object(server, instrumented):
    """The exception the user catches is exactly what the SDK raised: same class, same response, same body."""
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("bad_request"))
    assert type(info.value) is openai.BadRequestError
    assert info.value.response.status_code == 400 and info.value.body is not None
    assert instrumented.span().attributes["llm.error.type"] == "bad_request"


@pytest.mark.parametrize(
    ("plan", "exc_type", "error_type"),
    [
        ("server_error", openai.InternalServerError, "server_error"),
        ("overloaded", openai.InternalServerError, "overloaded"),
        ("auth", openai.AuthenticationError, "auth"),
        ("not_found", openai.NotFoundError, "not_found"),
        ("context_length", openai.BadRequestError, "context_length"),
        ("malformed", json.JSONDecodeError, "invalid_response"),
    ],
)
def test_error_classification(server, instrumented, plan, exc_type, error_type):
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    with pytest.raises(exc_type):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault(plan))
    assert instrumented.span().attributes["llm.error.type"] == error_type


def test_timeout(server, instrumented):
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("timeout:2"))
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.error.type"] == "timeout" and attrs["error.type"] == "APITimeoutError"
    assert attrs["llm.latency_ms"] >= 250  # the client's 300 ms timeout is the floor; the raise proves no 2 s wait


def test_stream_cut_ends_span_with_error(client, instrumented, server):
    with pytest.raises(openai.APIConnectionError):  # the SDK's own wrapping of the cut connection
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=fault("stream_cut")
        ):
            pass
    span = instrumented.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llm.error.type"] == "connection"
    assert span.attributes["llm.chunks"] >= 1


def test_content_filter_and_tool_calls(client, instrumented, server):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("content_filter"))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=tools, extra_headers=fault("tool_call")
    )
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=tools, stream=True, extra_headers=fault("tool_call")
    )
    for _ in stream:
        pass
    filtered, tool, tool_stream = sorted(instrumented.spans(), key=lambda s: s.start_time)
    assert filtered.attributes["llm.stop_reason"] == "content_filter"
    for span in (tool, tool_stream):
        assert span.attributes["llm.stop_reason"] == "tool_use"
        assert span.attributes["llm.response.tool_calls"] == 1
        assert span.attributes["llm.tools.count"] == 1 and span.attributes["llm.tools.names"] == ("lookup",)


def test_stream_closed_early_and_abandoned_streams_end_their_spans(client, instrumented, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "20"})
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=headers
    ) as s:
        next(iter(s))
        next(s)
    abandoned = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=headers
    )
    next(abandoned)
    del abandoned
    gc.collect()
    spans = instrumented.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["llm.stream.incomplete"] is True and span.attributes["llm.success"] is True
    assert instrumented.total("llm.calls") == 2


def test_unknown_model_is_unpriced(client, instrumented, server):
    client.chat.completions.create(model="acme-internal-7b", messages=MESSAGES)
    attrs = dict(instrumented.span().attributes)
    assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs
    assert instrumented.total("llm.unpriced_calls", model="acme-internal-7b") == 1
    assert instrumented.points("llm.cost.usd") == []


def test_user_http_client_built_from_httpx2_still_counts_retries(server, instrumented):
    http_client = httpx2.Client(timeout=5.0)
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, http_client=http_client, max_retries=3)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=fault("overloaded,rate_limit,ok")
    )
    assert instrumented.span().attributes["llm.retry_count"] == 2


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.together.xyz/v1", "together"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://127.0.0.1:8000/v1", "vllm"),
        ("https://my-proxy.internal/v1", "openai"),
    ],
)
def test_provider_detection_from_base_url(base_url, expected):
    assert detect_provider(openai.OpenAI(api_key="k", base_url=base_url)) == expected


def test_azure_client_is_azure():
    client = openai.AzureOpenAI(api_key="k", api_version="2024-10-21", azure_endpoint="https://x.openai.azure.com")
    assert detect_provider(client) == "azure"


def test_reasoning_and_cached_tokens(client, instrumented, server):
    headers = {"x-llmtrace-usage": "input=2000,output=90,cache_read=1536,reasoning=64"}
    client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES, extra_headers=headers)
    attrs = dict(instrumented.span().attributes)
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.cache_read"], attrs["llm.tokens.reasoning"]) == (
        2000,
        1536,
        64,
    )
    assert_usage_matches(attrs, server.log[0], "openai")


def test_system_prompt_hash_is_the_same_template_on_openai_and_anthropic(server, instrumented):
    """One system message with text content is hashed as that text: the template's hash is provider-independent."""
    import anthropic

    system, user = "You answer in one sentence.", [{"role": "user", "content": "Hi"}]
    oai = openai.OpenAI(api_key="sk-test", base_url=server.openai_base_url, max_retries=0)
    oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "system", "content": system}, *user])
    oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": system}, {"role": "developer", "content": "Be kind."}, *user],
    )
    ant = anthropic.Anthropic(api_key="sk-ant-test", base_url=server.anthropic_base_url, max_retries=0)
    ant.messages.create(model="claude-sonnet-4-6", max_tokens=32, system=system, messages=user)
    single, several, claude = (s.attributes for s in instrumented.spans())
    assert single["llm.prompt.system_hash"] == claude["llm.prompt.system_hash"]
    assert single["llm.prompt.system_length"] == claude["llm.prompt.system_length"] == len(system)
    assert several["llm.prompt.system_hash"] != single["llm.prompt.system_hash"]  # two prompts: both count
    assert single["llm.prompt.hash"] == claude["llm.prompt.hash"]  # the conversation without the system prompt


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _openai_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers)


def _openai_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import openai

    return openai.AsyncOpenAI(
        api_key="k", base_url=server.openai_base_url, max_retries=retries, default_headers=headers
    )


def _openai_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat.completions.create(**openai_kwargs(prompt, stream))


async def _openai_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat.completions.create(**openai_kwargs(prompt, stream))


_OPENAI_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}
_OPENAI_CHUNK = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
RELIABILITY_CASE = ProviderCase(
    name="openai",
    sdk="openai",
    make_client=_openai_client,
    make_async_client=_openai_async_client,
    chat=_openai_chat,
    achat=_openai_achat,
    response=chat_completion("chatcmpl-1", "gpt-4o-mini-2024-07-18", "c1", _OPENAI_USAGE),
    stream_events=chat_chunks(_OPENAI_CHUNK, _OPENAI_USAGE, usage_chunk=True),
)

"""The real ``anthropic`` SDK over HTTP to the fake provider server, instrumented."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import pytest

from .._assertions import assert_attributes, assert_usage_matches, fault
from ..reliability._case import (
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    Prompt,
    ProviderCase,
)

MESSAGES = [{"role": "user", "content": "Name three rivers."}]
SYSTEM = "You are terse."
CACHE = {"x-llmtrace-usage": "input=1200,output=40,cache_read=800,cache_write=300"}


@pytest.fixture
def client(server, instrumented):
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=server.anthropic_base_url, max_retries=2, timeout=5.0)


@pytest.fixture
def aclient(server, instrumented):
    return anthropic.AsyncAnthropic(api_key="sk-ant-test", base_url=server.anthropic_base_url, max_retries=2)


def test_create_non_stream(client, instrumented, server):
    message = client.messages.create(model="claude-sonnet-4-6", max_tokens=100, system=SYSTEM, messages=MESSAGES)
    (exchange,) = server.log
    attrs = dict(instrumented.span().attributes)
    assert message.content[0].text == exchange.text
    assert_usage_matches(attrs, exchange, "anthropic")
    assert_attributes(
        attrs,
        {
            "llm.provider": "anthropic",
            "llm.stop_reason": "stop",
            "llm.max_tokens": 100,
            "gen_ai.provider.name": "anthropic",
            "gen_ai.response.finish_reasons": ("end_turn",),
            "llm.response.id": exchange.response_id,
        },
    )
    assert attrs["llm.prompt.system_length"] == len(SYSTEM) and "llm.ttft_ms" not in attrs


def test_cache_tokens_are_added_to_input(client, instrumented, server):
    message = client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, extra_headers=CACHE)
    attrs = dict(instrumented.span().attributes)
    assert message.usage.input_tokens == 1200 - 800 - 300  # the wire excludes cached tokens
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.cache_read"], attrs["llm.tokens.cache_write"]) == (
        1200,
        800,
        300,
    )
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 800
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 300
    assert_usage_matches(attrs, server.log[0], "anthropic")
    assert attrs["llm.cost.cache_usd"] > 0
    assert attrs["llm.cost.input_usd"] + attrs["llm.cost.cache_usd"] + attrs["llm.cost.output_usd"] == pytest.approx(
        attrs["llm.cost_usd"]
    )
    assert instrumented.total("llm.tokens", type="cache_read") == 800


def test_raw_stream(client, instrumented, server):
    headers = fault("ok", **CACHE, **{"x-llmtrace-chunks": "5", "x-llmtrace-ttft-ms": "30"})
    stream = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, stream=True, extra_headers=headers
    )
    assert isinstance(stream, anthropic.Stream)
    events = [e.type for e in stream]
    attrs = dict(instrumented.span().attributes)
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert_usage_matches(attrs, server.log[0], "anthropic")
    assert attrs["llm.chunks"] == server.log[0].chunks == 5 and attrs["llm.ttft_ms"] >= 30


def test_with_streaming_response_stream(client, instrumented, server):
    headers = fault("ok", **CACHE, **{"x-llmtrace-chunks": "5", "x-llmtrace-ttft-ms": "30"})
    with client.messages.with_streaming_response.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, stream=True, extra_headers=headers
    ) as response:
        events = [e.type for e in response.parse()]
    attrs = dict(instrumented.span().attributes)
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert_usage_matches(attrs, server.log[0], "anthropic")
    assert attrs["llm.chunks"] == 5 and attrs["llm.ttft_ms"] >= 30 and attrs["llm.stop_reason"] == "stop"


async def test_async_with_streaming_response_stream(aclient, instrumented, server):
    async with aclient.messages.with_streaming_response.create(
        model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES, stream=True
    ) as response:
        events = [e.type async for e in await response.parse()]
    attrs = dict(instrumented.span().attributes)
    assert events[-1] == "message_stop"
    assert_usage_matches(attrs, server.log[0], "anthropic")
    assert attrs["llm.chunks"] == server.log[0].chunks and attrs["llm.stop_reason"] == "stop"


def test_stream_helper_text_stream_and_final_message(client, instrumented, server):
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    (exchange,) = server.log
    attrs = dict(instrumented.span().attributes)
    assert text == exchange.text == final.content[0].text
    assert final.usage.output_tokens == exchange.usage["output"]
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks
    assert_usage_matches(attrs, exchange, "anthropic")
    assert attrs["llm.stop_reason"] == "stop"


async def test_async_create_stream_and_helper(aclient, instrumented, server):
    message = await aclient.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES)
    raw = await aclient.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, stream=True)
    async for _ in raw:
        pass
    async with aclient.messages.stream(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert message.content[0].text == server.log[0].text and text == server.log[2].text == final.content[0].text
    spans = sorted(instrumented.spans(), key=lambda s: s.start_time)
    assert [s.attributes["llm.streaming"] for s in spans] == [False, True, True]
    for span, exchange in zip(spans, server.log, strict=True):
        assert_usage_matches(dict(span.attributes), exchange, "anthropic")


def test_tool_use(client, instrumented, server):
    tools = [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}]
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, tools=tools, extra_headers=fault("tool_call")
    )
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, tools=tools, extra_headers=fault("tool_call")
    ) as stream:
        stream.until_done()
    for span in instrumented.spans():
        assert span.attributes["llm.stop_reason"] == "tool_use"
        assert span.attributes["llm.response.tool_calls"] == 1
        assert span.attributes["llm.tools.names"] == ("get_weather",)


def test_retry_then_success(client, instrumented, server):
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("rate_limit,ok")
    )
    assert instrumented.span().attributes["llm.retry_count"] == 1
    assert [e.status for e in server.log] == [429, 200]


def test_all_attempts_rate_limited(client, instrumented, server):
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("rate_limit")
        )
    attrs = dict(instrumented.span().attributes)
    assert (attrs["llm.retry_count"], attrs["llm.error.type"], attrs["llm.error.status"]) == (2, "rate_limit", 429)


@pytest.mark.parametrize(
    ("plan", "exc_type", "error_type"),
    [
        ("server_error", anthropic.InternalServerError, "server_error"),
        ("overloaded", anthropic.OverloadedError, "overloaded"),
        ("context_length", anthropic.BadRequestError, "context_length"),
        ("permission", anthropic.PermissionDeniedError, "permission"),
        ("malformed", json.JSONDecodeError, "invalid_response"),
    ],
)
def test_error_classification(server, instrumented, plan, exc_type, error_type):
    client = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    with pytest.raises(exc_type):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault(plan))
    assert instrumented.span().attributes["llm.error.type"] == error_type


def test_overloaded_is_the_sdk_overloaded_error(server, instrumented):
    client = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0)
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("overloaded")
        )
    assert info.value.status_code == 529
    assert instrumented.span().attributes["error.type"] == type(info.value).__qualname__


def test_timeout(server, instrumented):
    client = anthropic.Anthropic(api_key="k", base_url=server.anthropic_base_url, max_retries=0, timeout=0.3)
    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("timeout:2")
        )
    assert instrumented.span().attributes["llm.error.type"] == "timeout"


def test_stream_cut_ends_span_with_error(client, instrumented, server):
    with pytest.raises(httpx2.RemoteProtocolError):  # the helper stream lets the transport error through
        with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("stream_cut")
        ) as stream:
            stream.until_done()
    span = instrumented.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"


def test_refusal_is_content_filter(client, instrumented, server):
    client.messages.create(
        model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers=fault("content_filter")
    )
    assert instrumented.span().attributes["llm.stop_reason"] == "content_filter"


def test_helper_stream_closed_early_ends_span(client, instrumented, server):
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES, extra_headers={"x-llmtrace-chunks": "30"}
    ) as stream:
        next(iter(stream.text_stream))
    span = instrumented.span()
    assert span.attributes["llm.stream.incomplete"] is True and span.attributes["llm.chunks"] >= 1


def test_thinking_tokens_are_reasoning_tokens(client, instrumented, server):
    headers = {"x-llmtrace-usage": "input=500,output=120,reasoning=80"}
    client.messages.create(model="claude-sonnet-4-6", max_tokens=200, messages=MESSAGES, extra_headers=headers)
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=200, messages=MESSAGES, extra_headers=headers
    ) as s:
        s.until_done()
    for span in instrumented.spans():
        attrs = span.attributes
        assert (attrs["llm.tokens.output"], attrs["llm.tokens.reasoning"]) == (120, 80)
        assert attrs["gen_ai.usage.reasoning.output_tokens"] == 80
    assert instrumented.total("llm.tokens", type="reasoning") == 160


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _anthropic_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import anthropic

    return anthropic.Anthropic(
        api_key="k", base_url=server.anthropic_base_url, max_retries=retries, default_headers=headers
    )


def _anthropic_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key="k", base_url=server.anthropic_base_url, max_retries=retries, default_headers=headers
    )


def _anthropic_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    tool = {"name": prompt.tool_name, "description": prompt.tool_description, "input_schema": {"type": "object"}}
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt.user}]
    if prompt.tool_result is not None:
        use = {"type": "tool_use", "id": TOOL_CALL_ID, "name": prompt.tool_name, "input": TOOL_ARGUMENTS}
        result = {"type": "tool_result", "tool_use_id": TOOL_CALL_ID, "content": prompt.tool_result}
        messages += [{"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "system": prompt.system,
        "messages": messages,
        "tools": [tool],
        "stream": stream,
    }


def _anthropic_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.messages.create(**_anthropic_kwargs(prompt, stream))


async def _anthropic_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.messages.create(**_anthropic_kwargs(prompt, stream))


_ANTHROPIC_USAGE = {"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 0}
_ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "text", "text": "Hello there"},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": _ANTHROPIC_USAGE,
}
RELIABILITY_CASE = ProviderCase(
    name="anthropic",
    sdk="anthropic",
    make_client=_anthropic_client,
    make_async_client=_anthropic_async_client,
    chat=_anthropic_chat,
    achat=_anthropic_achat,
    response=_ANTHROPIC_MESSAGE,
    stream_events=[
        ("message_start", {"type": "message_start", "message": {**_ANTHROPIC_MESSAGE, "content": []}}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ],
)

"""The real ``together`` SDK over HTTP to the fake provider server (Together's JSON and SSE), instrumented."""

from __future__ import annotations

import gc
import json
from typing import Any

import httpx
import pytest
import together
import wrapt
from together.resources.chat.completions import CompletionsResource

from llmtrace.call import Outcomes, normalize_finish_reason
from llmtrace.classification import ErrorRules
from llmtrace.demo.fake_server import RawReply, sse_event
from llmtrace.demo.providers.together import PREFIX
from llmtrace.demo.workload import WorkloadConfig, run_workload
from llmtrace.providers import together as together_provider
from llmtrace.providers.together import TogetherInstrumentor

from .._assertions import (
    assert_attributes,
    assert_rate_limited_after_retries,
    assert_stream_timing,
    assert_usage_matches,
    fault,
)
from .._error_tables import assert_maps_every, assert_most_specific_first, classified, public_exceptions
from .._instrumentors import instrumented_by
from .._truth import assert_metrics_equal_truth
from ..reliability._case import Prompt, ProviderCase, chat_chunks, chat_completion, function_chat

LLAMA = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
DEEPSEEK = "deepseek-ai/DeepSeek-V4.1-Flash"  # priced with a cache-read rate
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three rivers."},
]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]

instrumented_together = instrumented_by(TogetherInstrumentor)


def make_client(server: Any, **options: Any) -> together.Together:
    return together.Together(api_key="k", base_url=server.url + PREFIX, **{"max_retries": 2, "timeout": 5.0, **options})


@pytest.fixture
def client(server, instrumented_together):
    return make_client(server)


@pytest.fixture
def aclient(server, instrumented_together):
    return together.AsyncTogether(api_key="k", base_url=server.url + PREFIX, max_retries=2, timeout=5.0)


# -- success paths ----------------------------------------------------------------------------------------------


def test_chat_non_stream(client, instrumented_together, server):
    reply = client.chat.completions.create(
        model=LLAMA, messages=MESSAGES, temperature=0.3, max_tokens=64, top_p=0.9, top_k=40, seed=11, stop=["END"]
    )
    (exchange,) = server.log
    span = instrumented_together.span()
    attrs = dict(span.attributes)
    assert span.name == f"chat {LLAMA}" and span.kind.name == "CLIENT"
    assert reply.choices[0].message.content == exchange.text
    assert exchange.path == "/together/v1/chat/completions"
    assert_usage_matches(attrs, exchange, "together")
    assert_attributes(
        attrs,
        {
            "llm.provider": "together",
            "llm.operation": "chat",
            "llm.model": LLAMA,
            "llm.response.model": LLAMA,
            "llm.response.id": exchange.response_id,
            "llm.streaming": False,
            "llm.success": True,
            "llm.retry_count": 0,
            "llm.stop_reason": "stop",  # Together's "eos"
            "llm.temperature": 0.3,
            "llm.max_tokens": 64,
            "llm.top_p": 0.9,
            "llm.prompt.message_count": 1,
            "gen_ai.provider.name": "together",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.top_k": 40.0,
            "gen_ai.request.seed": 11,
            "gen_ai.request.stop_sequences": ("END",),
            "gen_ai.response.finish_reasons": ("eos",),
            "server.address": "127.0.0.1",
            "server.port": int(server.url.rsplit(":", 1)[1]),
        },
    )
    assert attrs["llm.prompt.system_length"] == len("You are terse.")
    assert attrs["llm.response.length"] == len(exchange.text)
    assert "llm.ttft_ms" not in attrs and "llm.tokens.estimated" not in attrs
    assert instrumented_together.total("llm.calls", provider="together", status="ok", streaming=False) == 1
    assert instrumented_together.total("llm.cost.usd") == pytest.approx(attrs["llm.cost_usd"], rel=1e-12)


def test_cached_prompt_tokens_are_a_subset_of_input_and_priced(client, instrumented_together, server):
    headers = {"x-llmtrace-usage": "input=2300,output=40,cache_read=2048"}
    client.chat.completions.create(model=DEEPSEEK, messages=MESSAGES, extra_headers=headers)
    attrs = dict(instrumented_together.span().attributes)
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.cache_read"]) == (2300, 2048)
    assert_usage_matches(attrs, server.log[0], "together")
    assert attrs["llm.cost.input_usd"] < 2300 * 0.3 / 1e6  # the cached part is cheaper


def test_chat_stream(client, instrumented_together, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "5"})
    stream = client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True, extra_headers=headers)
    assert isinstance(stream, together.Stream)  # the proxy keeps isinstance
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    (exchange,) = server.log
    attrs = dict(instrumented_together.span().attributes)
    assert text == exchange.text
    assert_usage_matches(attrs, exchange, "together")  # usage on the last chunk, no stream_options
    assert attrs["llm.streaming"] is True and attrs["llm.stop_reason"] == "stop"
    assert "llm.stream.incomplete" not in attrs and "llm.tokens.estimated" not in attrs
    assert_stream_timing(attrs, chunks=6, ttft_ms=30, delay_ms=5)
    ((labels, ttft),) = instrumented_together.points("llm.ttft")
    assert labels == {"provider": "together", "model": LLAMA} and ttft.count == 1


async def test_async_chat_and_stream(aclient, instrumented_together, server):
    reply = await aclient.chat.completions.create(model=LLAMA, messages=MESSAGES)
    stream = await aclient.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True)
    assert isinstance(stream, together.AsyncStream)
    chunks = [c async for c in stream]
    assert reply.choices[0].message.content == server.log[0].text
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == server.log[1].text
    plain, streamed = sorted(instrumented_together.spans(), key=lambda s: s.start_time)
    assert_usage_matches(dict(plain.attributes), server.log[0], "together")
    assert_usage_matches(dict(streamed.attributes), server.log[1], "together")
    assert streamed.attributes["llm.chunks"] == server.log[1].chunks and "llm.ttft_ms" in streamed.attributes


async def test_completions_sync_async_and_streamed(client, aclient, instrumented_together, server):
    done = client.completions.create(model=LLAMA, prompt="Rivers of France:", max_tokens=32)
    pieces = [c.choices[0].text for c in client.completions.create(model=LLAMA, prompt="Rivers:", stream=True)]
    adone = await aclient.completions.create(model=LLAMA, prompt="Rivers of Spain:")
    apieces = [c async for c in await aclient.completions.create(model=LLAMA, prompt="Lakes:", stream=True)]
    assert done.choices[0].text == server.log[0].text and adone.choices[0].text == server.log[2].text
    assert "".join(pieces) == server.log[1].text and apieces[-1].finish_reason == "eos"
    spans = sorted(instrumented_together.spans(), key=lambda s: s.start_time)
    for span, exchange in zip(spans, server.log, strict=True):
        attrs = dict(span.attributes)
        assert attrs["llm.operation"] == "completion" and attrs["gen_ai.operation.name"] == "text_completion"
        assert attrs["llm.stop_reason"] == "stop" and attrs["llm.response.length"] == len(exchange.text)
        assert_usage_matches(attrs, exchange, "together")
    assert spans[1].attributes["llm.chunks"] == server.log[1].chunks
    assert "llm.stream.incomplete" not in spans[3].attributes  # the finish reason beside the choices ends it


async def test_embeddings_report_no_usage_so_input_is_estimated(client, aclient, instrumented_together, server):
    result = client.embeddings.create(model="BAAI/bge-base-en-v1.5", input=["alpha", "beta"])
    aresult = await aclient.embeddings.create(model="BAAI/bge-base-en-v1.5", input="gamma")
    assert len(result.data) == 2 and len(aresult.data) == 1
    for span in instrumented_together.spans():
        attrs = dict(span.attributes)
        assert attrs["llm.operation"] == "embeddings" and attrs["llm.streaming"] is False
        assert attrs["llm.tokens.estimated"] is True and attrs["llm.tokens.input"] > 0
    assert instrumented_together.points("llm.tokens") == []  # estimates have their own series


def test_with_raw_response_keeps_working(client, instrumented_together, server):
    raw = client.chat.completions.with_raw_response.create(model=LLAMA, messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == server.log[0].text
    assert_usage_matches(dict(instrumented_together.span().attributes), server.log[0], "together")


def test_with_streaming_response_stream(client, instrumented_together, server):
    with client.chat.completions.with_streaming_response.create(
        model=LLAMA, messages=MESSAGES, stream=True
    ) as response:
        text = "".join(c.choices[0].delta.content or "" for c in response.parse())
    attrs = dict(instrumented_together.span().attributes)
    assert text == server.log[0].text
    assert_usage_matches(attrs, server.log[0], "together")
    assert attrs["llm.chunks"] == server.log[0].chunks and attrs["llm.stop_reason"] == "stop"


def test_tool_calls_complete_and_stream(client, instrumented_together, server):
    client.chat.completions.create(model=LLAMA, messages=MESSAGES, tools=TOOLS, extra_headers=fault("tool_call"))
    for _ in client.chat.completions.create(
        model=LLAMA, messages=MESSAGES, tools=TOOLS, stream=True, extra_headers=fault("tool_call")
    ):
        pass
    for span in instrumented_together.spans():
        attrs = dict(span.attributes)
        assert attrs["llm.stop_reason"] == "tool_use" and attrs["llm.response.tool_calls"] == 1
        assert attrs["llm.tools.count"] == 1 and attrs["llm.tools.names"] == ("lookup",)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("stop", "stop"),
        ("eos", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
    ],
)
def test_finish_reasons_normalize(raw, normalized):
    """Every value of the SDK's ``finish_reason`` literal maps to a normalized stop reason."""
    outcomes = Outcomes.of(together_provider.PROVIDER.finish_reasons, ErrorRules())
    reason = normalize_finish_reason(raw, outcomes.finish_reasons)
    assert reason is not None and reason.value == normalized


def test_default_client_sends_chat_to_the_inference_host(monkeypatch):
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)
    default = together.Together(api_key="k")
    chat = together_provider.read_request(together_provider.TARGETS[0], default.chat.completions, {"model": LLAMA})
    embed = together_provider.read_request(together_provider.TARGETS[4], default.embeddings, {"model": "m"})
    assert (chat.server_address, chat.server_port) == ("api-inference.together.ai", 443)
    assert (embed.server_address, embed.server_port) == ("api.together.ai", 443)


# -- retries and errors -----------------------------------------------------------------------------------------


def test_retry_then_success_counts_one_retry(client, instrumented_together, server):
    client.chat.completions.create(model=LLAMA, messages=MESSAGES, extra_headers=fault("rate_limit,ok"))
    attrs = dict(instrumented_together.span().attributes)
    assert [e.status for e in server.log] == [429, 200]
    assert attrs["llm.retry_count"] == 1 and attrs["llm.success"] is True
    assert attrs["http.request.resend_count"] == 1
    assert instrumented_together.total("llm.retries", provider="together") == 1


async def test_async_stream_retry_then_success(aclient, instrumented_together, server):
    stream = await aclient.chat.completions.create(
        model=LLAMA, messages=MESSAGES, stream=True, extra_headers=fault("rate_limit,rate_limit,ok")
    )
    async for _ in stream:
        pass
    attrs = dict(instrumented_together.span().attributes)
    assert attrs["llm.retry_count"] == 2 and attrs["llm.success"] is True
    assert_usage_matches(attrs, server.log[-1], "together")


def test_all_attempts_rate_limited(client, instrumented_together, server):
    with pytest.raises(together.RateLimitError) as info:
        client.chat.completions.create(model=LLAMA, messages=MESSAGES, extra_headers=fault("rate_limit"))
    assert info.value.status_code == 429 and len(server.log) == 3
    attrs = assert_rate_limited_after_retries(instrumented_together.span(), "RateLimitError")
    assert attrs["llm.error.retry_after_s"] == pytest.approx(0.01)
    assert instrumented_together.total("llm.calls", status="error", error_type="rate_limit") == 1
    assert instrumented_together.points("llm.tokens") == []


def test_user_exception_is_the_sdks_own_object(server, instrumented_together):
    with pytest.raises(together.BadRequestError) as info:
        make_client(server, max_retries=0).chat.completions.create(
            model=LLAMA, messages=MESSAGES, extra_headers=fault("bad_request")
        )
    assert type(info.value) is together.BadRequestError
    assert info.value.response.status_code == 400
    assert info.value.body["error"]["message"] == "Invalid request"  # the SDK keeps the whole body, not its "error"
    assert instrumented_together.span().attributes["llm.error.type"] == "bad_request"


@pytest.mark.parametrize(
    ("plan", "exc_type", "status", "error_type"),
    [
        ("server_error", together.InternalServerError, 500, "server_error"),
        ("overloaded", together.InternalServerError, 503, "overloaded"),
        ("auth", together.AuthenticationError, 401, "auth"),
        ("permission", together.PermissionDeniedError, 403, "permission"),
        ("not_found", together.NotFoundError, 404, "not_found"),
        ("context_length", together.BadRequestError, 400, "context_length"),  # the inference server's wording
    ],
)
def test_error_classification(server, instrumented_together, plan, exc_type, status, error_type):
    with pytest.raises(exc_type):
        make_client(server, max_retries=0).chat.completions.create(
            model=LLAMA, messages=MESSAGES, extra_headers=fault(plan)
        )
    attrs = dict(instrumented_together.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        exc_type.__name__,
    )


def test_malformed_body(server, instrumented_together):
    with pytest.raises(json.JSONDecodeError):
        make_client(server, max_retries=0).chat.completions.create(
            model=LLAMA, messages=MESSAGES, extra_headers=fault("malformed")
        )
    assert instrumented_together.span().attributes["llm.error.type"] == "invalid_response"


def test_timeout(server, instrumented_together):
    with pytest.raises(together.APITimeoutError):
        make_client(server, max_retries=0, timeout=0.3).chat.completions.create(
            model=LLAMA, messages=MESSAGES, extra_headers=fault("timeout:2")
        )
    attrs = dict(instrumented_together.span().attributes)
    assert attrs["llm.error.type"] == "timeout" and attrs["error.type"] == "APITimeoutError"
    assert attrs["llm.latency_ms"] >= 250


def test_stream_cut_ends_span_with_error(client, instrumented_together, server):
    with pytest.raises(httpx.RemoteProtocolError):  # the SDK lets the transport's error through mid-stream
        for _ in client.chat.completions.create(
            model=LLAMA, messages=MESSAGES, stream=True, extra_headers=fault("stream_cut")
        ):
            pass
    span = instrumented_together.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llm.error.type"] == "connection" and span.attributes["llm.chunks"] >= 1


def test_error_event_mid_stream(client, instrumented_together, server):
    """Together reports a failure after the 200 as an SSE ``{"error": ...}`` event: the SDK raises a bare APIError."""
    head = {"id": "r1", "object": "chat.completion.chunk", "created": 1, "model": LLAMA}
    first = {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]}
    error = {"error": {"message": "Internal error while generating", "type": "server_error"}}
    server.enqueue_raw(RawReply([sse_event(None, first), sse_event(None, error)], content_type="text/event-stream"))
    with pytest.raises(together.APIError) as info:
        for _ in client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True):
            pass
    assert type(info.value) is together.APIError
    attrs = dict(instrumented_together.span().attributes)
    assert (attrs["llm.error.type"], attrs["error.type"], attrs["llm.chunks"]) == ("server_error", "APIError", 1)


def test_stream_closed_early_and_abandoned_streams_end_their_spans(client, instrumented_together, server):
    headers = fault("ok", **{"x-llmtrace-chunks": "20"})
    with client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True, extra_headers=headers) as s:
        next(iter(s))
    abandoned = client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True, extra_headers=headers)
    next(abandoned)
    del abandoned
    gc.collect()
    spans = instrumented_together.spans()
    assert len(spans) == 2
    for span in spans:
        assert span.attributes["llm.stream.incomplete"] is True and span.attributes["llm.success"] is True


def test_unknown_model_is_unpriced(client, instrumented_together, server):
    client.chat.completions.create(model="acme/private-7b", messages=MESSAGES)
    attrs = dict(instrumented_together.span().attributes)
    assert_usage_matches(attrs, server.log[0], None)
    assert instrumented_together.total("llm.unpriced_calls", provider="together") == 1


# -- lifecycle --------------------------------------------------------------------------------------------------


def test_instrument_twice_wraps_once_and_uninstrument_restores(server, telemetry):
    original = CompletionsResource.__dict__["create"]
    first, second = TogetherInstrumentor(), TogetherInstrumentor()
    first.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    second.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        assert isinstance(CompletionsResource.__dict__["create"], wrapt.FunctionWrapper)
        assert not isinstance(CompletionsResource.__dict__["create"].__wrapped__, wrapt.FunctionWrapper)
        make_client(server).chat.completions.create(model=LLAMA, messages=MESSAGES)
        assert len(telemetry.spans()) == 1
    finally:
        first.uninstrument()
    assert CompletionsResource.__dict__["create"] is original
    make_client(server).chat.completions.create(model=LLAMA, messages=MESSAGES)
    assert len(telemetry.spans()) == 1


def test_instrument_all_includes_together(server, telemetry):
    import llmtrace

    llmtrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        make_client(server).chat.completions.create(model=LLAMA, messages=MESSAGES)
    finally:
        llmtrace.uninstrument()
    assert telemetry.span().attributes["llm.provider"] == "together"


# -- error table ------------------------------------------------------------------------------------------------


def test_every_public_exception_is_mapped():
    public = public_exceptions(together)
    assert {cls.__name__ for cls in public} >= {"TogetherError", "APIError", "RateLimitError", "DownloadError"}
    assert_maps_every(together_provider, public)


def test_subclasses_come_before_their_bases():
    assert_most_specific_first(together_provider)


@pytest.mark.parametrize("status", [400, 422])
def test_inference_server_context_overflow_is_context_length(status):
    request = httpx.Request("POST", "https://api.together.ai/v1/chat/completions")
    response = httpx.Response(status, request=request)
    body = {"message": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4097. Given: 4000"}
    cls = together.BadRequestError if status == 400 else together.UnprocessableEntityError
    info = classified(together_provider, cls(f"Error code: {status} - {body}", response=response, body=body))
    assert (info.type.value, info.status) == ("context_length", status)


# -- the demo driver --------------------------------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(server, instrumented_together):
    config = WorkloadConfig(calls=24, seed=3, providers=("together",), fault_rate=0.3)
    truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"together"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    assert truth["totals"]["tokens"]["cache_read"] > 0
    assert_metrics_equal_truth(instrumented_together, truth)


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _together_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return together.Together(
        api_key="k", base_url=server.url + PREFIX, max_retries=retries, default_headers=headers, timeout=10.0
    )


def _together_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return together.AsyncTogether(
        api_key="k", base_url=server.url + PREFIX, max_retries=retries, default_headers=headers, timeout=10.0
    )


def _together_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat.completions.create(**function_chat(LLAMA, prompt, stream))


async def _together_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat.completions.create(**function_chat(LLAMA, prompt, stream))


_TOGETHER_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "cached_tokens": 0}
_TOGETHER_CHUNK = {"id": "oJx1", "object": "chat.completion.chunk", "created": 1, "model": LLAMA}
RELIABILITY_CASE = ProviderCase(
    name="together",
    sdk="together",
    make_client=_together_client,
    make_async_client=_together_async_client,
    chat=_together_chat,
    achat=_together_achat,
    response={**chat_completion("oJx1", LLAMA, "call_1", _TOGETHER_USAGE), "prompt": []},
    # Together puts the usage on the finishing chunk (no stream_options), then ``[DONE]``.
    stream_events=chat_chunks(_TOGETHER_CHUNK, _TOGETHER_USAGE, usage_chunk=False),
    error_body=lambda message: {"id": "e1", "error": {"message": message, "type": "invalid_request_error"}},
)

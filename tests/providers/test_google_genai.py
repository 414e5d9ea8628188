"""The real ``google-genai`` SDK over HTTP to the fake provider server (Gemini's JSON, SSE and RPC error bodies),
instrumented by ``GoogleGenAIInstrumentor``: exact attributes, metric points and the demo's ground truth."""

from __future__ import annotations

import inspect
import itertools
import json
import re
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.providers.google import base_url
from llmtrace.demo.workload import WorkloadConfig, reference_cost, run_workload
from llmtrace.providers import google_genai as google_provider
from llmtrace.providers.google_genai import GoogleGenAIInstrumentor

from .._assertions import assert_attributes, assert_rate_limited_after_retries, assert_stream_timing
from .._error_tables import listed_classes
from .._instrumentors import instrumented_by
from .._truth import metric_points as _points
from .._truth import truth_rows as _rows
from ..reliability._case import (
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    Prompt,
    ProviderCase,
    with_call_id,
)

CONTENTS = [{"role": "user", "parts": [{"text": "Name three rivers."}]}]
SYSTEM = "You are terse."
_call_ids = itertools.count()


def config(plan: str = "ok", **kwargs: object) -> types.GenerateContentConfig:
    """Per-call config carrying the fault plan; a fresh call id lets the server count this call's attempts."""
    headers = {"x-llmtrace-fault": plan, "x-llmtrace-call": f"google-{next(_call_ids)}"}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return types.GenerateContentConfig(http_options=types.HttpOptions(headers=headers), **kwargs)  # type: ignore[arg-type]


def make_client(server, timeout_ms: int = 5000, attempts: int = 3) -> genai.Client:
    retry = types.HttpRetryOptions(attempts=attempts, initial_delay=0.001, max_delay=0.002, jitter=0)
    options = types.HttpOptions(base_url=base_url(server), timeout=timeout_ms, retry_options=retry)
    return genai.Client(api_key="test-key", http_options=options)


instrumented_google = instrumented_by(GoogleGenAIInstrumentor)


@pytest.fixture
def client(server, instrumented_google):
    with make_client(server) as sdk_client:
        yield sdk_client


def assert_usage_matches(attrs, exchange, model="gemini-2.5-flash"):
    usage = exchange.usage
    assert attrs["llm.tokens.input"] == usage["input"]
    assert attrs["llm.tokens.output"] == usage["output"]
    assert attrs["llm.tokens.total"] == usage["input"] + usage["output"]
    assert attrs.get("llm.tokens.cache_read") == (usage.get("cache_read") or None)
    assert attrs.get("llm.tokens.reasoning") == (usage.get("reasoning") or None)
    assert attrs["gen_ai.usage.input_tokens"] == usage["input"]
    assert attrs["gen_ai.usage.output_tokens"] == usage["output"]
    assert attrs["llm.cost_usd"] == pytest.approx(reference_cost("google", model, usage), rel=1e-9, abs=1e-15)
    assert attrs["llm.cost.pricing"].startswith("genai-prices ")


# -- sync ------------------------------------------------------------------------------------------------------


def test_generate_content(client, instrumented_google, server):
    usage = "input=1324,cache_read=1024,reasoning=8"
    cfg = config(
        headers={"x-llmtrace-usage": usage},
        system_instruction=SYSTEM,
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_output_tokens=64,
        seed=7,
        stop_sequences=["END"],
    )
    reply = client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=cfg)
    (exchange,) = server.log
    span = instrumented_google.span()
    attrs = dict(span.attributes)
    assert reply.text == exchange.text
    assert span.name == "chat gemini-2.5-flash" and span.kind.name == "CLIENT"
    assert exchange.usage == {"input": 1324, "output": len(exchange.text.split()), "cache_read": 1024, "reasoning": 8}
    assert_usage_matches(attrs, exchange)
    assert_attributes(
        attrs,
        {
            "llm.provider": "google",
            "llm.operation": "chat",
            "llm.model": "gemini-2.5-flash",
            "llm.response.model": "gemini-2.5-flash",
            "llm.response.id": exchange.response_id,
            "llm.streaming": False,
            "llm.success": True,
            "llm.retry_count": 0,
            "llm.stop_reason": "stop",
            "llm.temperature": 0.2,
            "llm.max_tokens": 64,
            "llm.top_p": 0.9,
            "llm.prompt.message_count": 1,
            "llm.prompt.length": len("Name three rivers."),
            "llm.prompt.system_length": len(SYSTEM),
            "llm.response.length": len(exchange.text),
            "gen_ai.provider.name": "gcp.gemini",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gemini-2.5-flash",
            "gen_ai.request.top_k": 40.0,
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ("END",),
            "gen_ai.response.finish_reasons": ("STOP",),
            "gen_ai.usage.cache_read.input_tokens": 1024,
            "gen_ai.usage.reasoning.output_tokens": 8,
            "server.address": "127.0.0.1",
            "server.port": int(server.url.rsplit(":", 1)[1]),
        },
    )
    assert "llm.ttft_ms" not in attrs and "llm.chunks" not in attrs
    assert instrumented_google.total("llm.calls", provider="google", status="ok", streaming=False) == 1
    for kind in ("input", "output", "cache_read", "reasoning"):
        assert instrumented_google.total("llm.tokens", provider="google", type=kind) == exchange.usage[kind]
    assert instrumented_google.total("llm.cost.usd", provider="google") == pytest.approx(attrs["llm.cost_usd"])
    assert instrumented_google.points("llm.ttft") == [] and instrumented_google.points("llm.retries") == []


def test_string_contents_hash_like_structured_contents(client, instrumented_google, server):
    client.models.generate_content(model="models/gemini-2.5-flash", contents="Name three rivers.", config=config())
    client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config())
    first, second = sorted(instrumented_google.spans(), key=lambda s: s.start_time)
    assert first.attributes["llm.model"] == "gemini-2.5-flash"  # the API's resource prefix is not part of the id
    assert first.attributes["llm.prompt.hash"] == second.attributes["llm.prompt.hash"]


def test_generate_content_stream(client, instrumented_google, server):
    headers = {"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "5"}
    stream = client.models.generate_content_stream(
        model="gemini-2.5-pro", contents=CONTENTS, config=config(headers=headers)
    )
    text = "".join(chunk.text or "" for chunk in stream)
    (exchange,) = server.log
    attrs = dict(instrumented_google.span().attributes)
    assert text == exchange.text and exchange.stream
    assert_usage_matches(attrs, exchange, model="gemini-2.5-pro")
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 6
    assert attrs["llm.stop_reason"] == "stop"
    assert_stream_timing(attrs, chunks=6, ttft_ms=30, delay_ms=5)
    assert attrs["llm.response.id"] == exchange.response_id and attrs["llm.response.length"] == len(text)
    ((labels, ttft), *_) = instrumented_google.points("llm.ttft")
    assert labels == {"provider": "google", "model": "gemini-2.5-pro"} and ttft.count == 1
    assert instrumented_google.total("llm.calls", provider="google", status="ok", streaming=True) == 1


def test_stream_abandoned_early_ends_the_span(client, instrumented_google, server):
    stream = client.models.generate_content_stream(model="gemini-2.5-flash", contents=CONTENTS, config=config())
    next(iter(stream))
    stream.close()
    attrs = dict(instrumented_google.span().attributes)
    assert attrs["llm.success"] is True and attrs["llm.stream.incomplete"] is True


def test_embed_content(client, instrumented_google, server):
    result = client.models.embed_content(model="gemini-embedding-001", contents=["alpha", "beta"])
    (exchange,) = server.log
    attrs = dict(instrumented_google.span().attributes)
    assert len(result.embeddings) == 2 and exchange.path.endswith(":batchEmbedContents")
    assert attrs["llm.operation"] == "embeddings" and attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["llm.tokens.input"] == exchange.usage["input"] and attrs["llm.tokens.output"] == 0
    assert attrs["llm.prompt.message_count"] == 2
    expected = reference_cost("google", "gemini-embedding-001", exchange.usage)
    assert attrs["llm.cost_usd"] == pytest.approx(expected, rel=1e-9)


def test_tool_call(client, instrumented_google, server):
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    tools = [types.Tool(function_declarations=[types.FunctionDeclaration(name="weather", description="Weather")])]
    reply = client.models.generate_content(
        model="gemini-2.5-flash", contents=CONTENTS, config=config("tool_call", tools=tools)
    )
    attrs = dict(instrumented_google.span().attributes)
    assert reply.function_calls[0].name == "weather"
    assert attrs["llm.response.tool_calls"] == 1 and attrs["llm.tools.count"] == 1
    assert attrs["llm.tools.names"] == ("weather",) and attrs["gen_ai.response.finish_reasons"] == ("STOP",)
    afc_off = types.AutomaticFunctionCallingConfig(disable=True)
    client.models.generate_content(
        model="gemini-2.5-flash",
        contents=CONTENTS,
        config=config("tool_call", tools=[lookup], automatic_function_calling=afc_off),
    )
    assert instrumented_google.spans()[-1].attributes["llm.tools.names"] == ("lookup",)


def test_automatic_function_calling_records_each_model_request(client, instrumented_google, server):
    """AFC makes two model requests inside one generate_content(): each is its own span with its own usage."""
    called = []

    def lookup(query: str) -> str:
        """Look something up."""
        called.append(query)
        return "sunny"

    reply = client.models.generate_content(
        model="gemini-2.5-flash", contents="Weather in Paris?", config=config("tool_call,ok", tools=[lookup])
    )
    assert called == ["weather in Paris"] and reply.text == server.log[1].text
    first, second = sorted(instrumented_google.spans(), key=lambda s: s.start_time)
    assert first.attributes["llm.response.tool_calls"] == 1 and "llm.response.tool_calls" not in second.attributes
    for span, exchange in ((first, server.log[0]), (second, server.log[1])):
        assert_usage_matches(dict(span.attributes), exchange)
        assert span.attributes["llm.retry_count"] == 0
    assert second.attributes["llm.prompt.message_count"] == 3  # user, model function call, function response


def test_chat_session_is_covered(client, instrumented_google, server):
    chat = client.chats.create(model="gemini-2.5-flash", config=config())
    chat.send_message("Name three rivers.")
    list(chat.send_message_stream("And three lakes?"))
    plain, streamed = sorted(instrumented_google.spans(), key=lambda s: s.start_time)
    assert plain.attributes["llm.prompt.message_count"] == 1 and streamed.attributes["llm.prompt.message_count"] == 3
    assert streamed.attributes["llm.streaming"] is True
    assert_usage_matches(dict(streamed.attributes), server.log[1])


def test_tool_call_stop_reason_is_tool_use(client, instrumented_google, server):
    tools = [types.Tool(function_declarations=[types.FunctionDeclaration(name="weather", description="Weather")])]
    client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("tool_call", tools=tools))
    assert instrumented_google.span().attributes["llm.stop_reason"] == "tool_use"


@pytest.mark.parametrize("streaming", [False, True])
def test_content_filter(client, instrumented_google, server, streaming):
    cfg = config("content_filter")
    if streaming:
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=CONTENTS, config=cfg))
    else:
        client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=cfg)
    attrs = dict(instrumented_google.span().attributes)
    assert attrs["llm.stop_reason"] == "content_filter" and attrs["gen_ai.response.finish_reasons"] == ("SAFETY",)
    assert attrs["llm.success"] is True and attrs["llm.tokens.output"] == server.log[0].usage["output"]
    assert "llm.response.length" not in attrs  # blocked: no text came back


# -- retries and errors ----------------------------------------------------------------------------------------


def test_retry_then_success_counts_one_retry(client, instrumented_google, server):
    client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("rate_limit,ok"))
    attrs = dict(instrumented_google.span().attributes)
    assert [e.status for e in server.log] == [429, 200]
    assert attrs["llm.retry_count"] == 1 and attrs["http.request.resend_count"] == 1 and attrs["llm.success"] is True
    assert_usage_matches(attrs, server.log[-1])
    assert instrumented_google.total("llm.retries", provider="google") == 1


def test_all_attempts_rate_limited(client, instrumented_google, server):
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("rate_limit"))
    assert info.value.code == 429 and [e.status for e in server.log] == [429, 429, 429]
    assert_rate_limited_after_retries(instrumented_google.span(), "ClientError")
    assert instrumented_google.total("llm.calls", provider="google", status="error", error_type="rate_limit") == 1
    assert instrumented_google.points("llm.tokens") == [] and instrumented_google.total("llm.retries") == 2


def test_rate_limit_retry_hint_from_the_error_body(server, instrumented_google):
    with make_client(server, attempts=1) as sdk_client, pytest.raises(genai_errors.ClientError):
        sdk_client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("rate_limit"))
    assert instrumented_google.span().attributes["llm.error.retry_after_s"] == pytest.approx(0.01)


def test_server_error_exhausts_retries(client, instrumented_google, server):
    with pytest.raises(genai_errors.ServerError):
        client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("server_error"))
    attrs = dict(instrumented_google.span().attributes)
    assert len(server.log) == 3 and attrs["llm.retry_count"] == 2
    assert attrs["llm.error.type"] == "server_error" and attrs["error.type"] == "ServerError"


def test_timeout(server, instrumented_google):
    with make_client(server, timeout_ms=150) as sdk_client, pytest.raises(httpx2.TimeoutException):
        sdk_client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config("timeout:2"))
    attrs = dict(instrumented_google.span().attributes)
    assert attrs["llm.error.type"] == "timeout" and attrs["llm.retry_count"] == 2  # the SDK retries timeouts


@pytest.mark.parametrize(
    ("plan", "exc_type", "error_type"),
    [
        ("bad_request", genai_errors.ClientError, "bad_request"),
        ("context_length", genai_errors.ClientError, "context_length"),
        ("malformed", json.JSONDecodeError, "invalid_response"),
        ("overloaded", genai_errors.ServerError, "overloaded"),
        ("not_found", genai_errors.ClientError, "not_found"),
        ("permission", genai_errors.ClientError, "permission"),
        ("auth", genai_errors.ClientError, "auth"),
    ],
)
def test_error_classification(server, instrumented_google, plan, exc_type, error_type):
    with make_client(server, attempts=1) as sdk_client, pytest.raises(exc_type):
        sdk_client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config(plan))
    assert instrumented_google.span().attributes["llm.error.type"] == error_type


def test_stream_cut(client, instrumented_google, server):
    with pytest.raises(httpx2.RemoteProtocolError):  # the transport's own error, re-raised unchanged
        list(
            client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=CONTENTS, config=config("stream_cut")
            )
        )
    span = instrumented_google.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"
    assert span.attributes["llm.chunks"] == server.log[0].chunks > 0
    assert instrumented_google.total("llm.calls", provider="google", status="error", error_type="connection") == 1


def test_stream_malformed_chunk(client, instrumented_google, server):
    with pytest.raises(genai_errors.UnknownApiResponseError):
        list(
            client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=CONTENTS, config=config("malformed")
            )
        )
    assert instrumented_google.span().attributes["llm.error.type"] == "invalid_response"


def test_stream_retry_then_success_counts_one_retry(client, instrumented_google, server):
    list(
        client.models.generate_content_stream(
            model="gemini-2.5-flash", contents=CONTENTS, config=config("rate_limit,ok")
        )
    )
    assert [e.status for e in server.log] == [429, 200]
    assert instrumented_google.span().attributes["llm.retry_count"] == 1


# -- async -----------------------------------------------------------------------------------------------------


async def test_async_generate_stream_and_embed(server, instrumented_google):
    sdk_client = make_client(server)
    try:
        reply = await sdk_client.aio.models.generate_content(
            model="gemini-2.5-flash", contents=CONTENTS, config=config(system_instruction=SYSTEM)
        )
        stream = await sdk_client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents=CONTENTS, config=config(headers={"x-llmtrace-chunks": "4"})
        )
        text = "".join([chunk.text or "" async for chunk in stream])
        embedded = await sdk_client.aio.models.embed_content(model="gemini-embedding-001", contents="alpha")
    finally:
        await sdk_client.aio.aclose()
    assert reply.text == server.log[0].text and text == server.log[1].text and len(embedded.embeddings) == 1
    plain, streamed, embed = sorted(instrumented_google.spans(), key=lambda s: s.start_time)
    assert_usage_matches(dict(plain.attributes), server.log[0])
    assert_usage_matches(dict(streamed.attributes), server.log[1])
    assert "llm.chunks" not in plain.attributes and "llm.ttft_ms" not in plain.attributes
    assert streamed.attributes["llm.chunks"] == server.log[1].chunks == 4 and "llm.ttft_ms" in streamed.attributes
    assert streamed.attributes["llm.streaming"] is True and streamed.attributes["llm.stop_reason"] == "stop"
    assert embed.attributes["llm.operation"] == "embeddings"
    assert embed.attributes["llm.tokens.input"] == server.log[2].usage["input"]
    assert instrumented_google.total("llm.calls", provider="google", status="ok") == 3


async def test_async_stream_cut(server, instrumented_google):
    import aiohttp

    sdk_client = make_client(server)
    try:
        stream = await sdk_client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents=CONTENTS, config=config("stream_cut")
        )
        with pytest.raises(aiohttp.ClientPayloadError):
            async for _ in stream:
                pass
    finally:
        await sdk_client.aio.aclose()
    span = instrumented_google.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"


async def test_async_timeout(server, instrumented_google):
    sdk_client = make_client(server, timeout_ms=150, attempts=1)
    try:
        with pytest.raises(TimeoutError):
            await sdk_client.aio.models.generate_content(
                model="gemini-2.5-flash", contents=CONTENTS, config=config("timeout:2")
            )
    finally:
        await sdk_client.aio.aclose()
    assert instrumented_google.span().attributes["llm.error.type"] == "timeout"


async def test_async_retry_then_success_counts_one_retry(server, instrumented_google):
    sdk_client = make_client(server)
    try:
        await sdk_client.aio.models.generate_content(
            model="gemini-2.5-flash", contents=CONTENTS, config=config("rate_limit,ok")
        )
    finally:
        await sdk_client.aio.aclose()
    assert [e.status for e in server.log] == [429, 200]
    assert instrumented_google.span().attributes["llm.retry_count"] == 1


# -- lifecycle and error table ---------------------------------------------------------------------------------


def test_instrument_twice_and_uninstrument(server, telemetry):
    inst = GoogleGenAIInstrumentor()
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        with make_client(server) as sdk_client:
            sdk_client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config())
        assert len(telemetry.spans()) == 1
    finally:
        inst.uninstrument()
    from google.genai import models

    assert all(
        not hasattr(getattr(models, t.name.split(".")[0]).__dict__[t.name.split(".")[1]], "__wrapped__")
        for t in google_provider.TARGETS
    )
    with make_client(server) as sdk_client:
        sdk_client.models.generate_content(model="gemini-2.5-flash", contents=CONTENTS, config=config())
    assert len(telemetry.spans()) == 1


def test_every_public_exception_is_mapped():
    listed = listed_classes(google_provider)
    bases = {"APIError"}  # ClientError/ServerError's base: classified from the HTTP status
    public = [
        cls
        for name, cls in vars(genai_errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, Exception)
        and not name.startswith("_")
        and name not in bases
        and not issubclass(cls, Warning)
    ]
    assert public and [cls.__name__ for cls in public if cls not in listed] == []
    for i, cls in enumerate(listed):
        for later in listed[i + 1 :]:
            assert not issubclass(later, cls) or later is cls, f"{later.__name__} is shadowed by {cls.__name__}"


# -- the demo driver against its ground truth ------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(instrumented_google):
    config_ = WorkloadConfig(calls=30, seed=1, providers=("google",), fault_rate=0.3)
    with FakeProviderServer(seed=1) as fake:
        truth = run_workload(fake, config_).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"google"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    call_keys = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    assert _points(instrumented_google, "llm.calls", call_keys) == _rows(truth["calls"], call_keys)
    token_keys = ("provider", "model", "type", "agent", "tenant")
    assert _points(instrumented_google, "llm.tokens", token_keys) == _rows(truth["tokens"], token_keys)
    cost_keys = ("provider", "model", "agent", "tenant")
    got, expected = _points(instrumented_google, "llm.cost.usd", cost_keys), _rows(truth["cost_usd"], cost_keys)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15)
    retry_keys = ("provider", "model")
    assert _points(instrumented_google, "llm.retries", retry_keys) == _rows(truth["retries"], retry_keys)


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _google_options(server: Any, headers: dict[str, str], retries: int) -> Any:
    from google.genai import types

    from llmtrace.demo.providers.google import base_url

    retry = types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.001, max_delay=0.002, jitter=0)
    # 30 s: the load test's 100 async clients (aiohttp, auth via the loop's small default executor) queue for
    # several seconds on 2 cores, and the SDK's timeout covers that wait.
    return types.HttpOptions(
        base_url=base_url(server), timeout=30_000, retry_options=retry, headers=with_call_id(headers)
    )


def _google_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from google import genai

    return genai.Client(api_key="k", http_options=_google_options(server, headers, retries))


def _google_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    return _google_client(server, headers, retries).aio


def _google_kwargs(prompt: Prompt) -> dict[str, Any]:
    from google.genai import types

    declaration = {"name": prompt.tool_name, "description": prompt.tool_description, "parameters": {"type": "OBJECT"}}
    config = types.GenerateContentConfig(
        system_instruction=prompt.system,
        tools=[types.Tool(function_declarations=[declaration])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents = [{"role": "user", "parts": [{"text": prompt.user}]}]
    if prompt.tool_result is not None:
        call = {"id": TOOL_CALL_ID, "name": prompt.tool_name, "args": TOOL_ARGUMENTS}
        response = {"id": TOOL_CALL_ID, "name": prompt.tool_name, "response": {"result": prompt.tool_result}}
        contents += [
            {"role": "model", "parts": [{"function_call": call}]},
            {"role": "user", "parts": [{"function_response": response}]},
        ]
    return {"model": "gemini-2.5-flash", "contents": contents, "config": config}


def _google_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    call = client.models.generate_content_stream if stream else client.models.generate_content
    return call(**_google_kwargs(prompt))


async def _google_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    call = client.models.generate_content_stream if stream else client.models.generate_content
    return await call(**_google_kwargs(prompt))


def _snake(value: Any) -> Any:
    """Gemini's camelCase wire JSON -> the snake_case fields of the SDK's pydantic models."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", str(k)).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


_GOOGLE_USAGE = {"promptTokenCount": 12, "candidatesTokenCount": 5, "totalTokenCount": 17, "thoughtsTokenCount": 0}
_GOOGLE_HEAD = {"modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
RELIABILITY_CASE = ProviderCase(
    name="google",
    sdk="google.genai",
    make_client=_google_client,
    make_async_client=_google_async_client,
    chat=_google_chat,
    achat=_google_achat,
    response={
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"text": "Hello there"}, {"functionCall": {"name": "lookup", "args": {"q": 1}}}],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {**_GOOGLE_USAGE, "cachedContentTokenCount": 0},
        **_GOOGLE_HEAD,
    },
    stream_events=[
        (
            None,
            {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}], **_GOOGLE_HEAD},
        ),
        (None, {"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "index": 0}], **_GOOGLE_HEAD}),
        (
            None,
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}],
                "usageMetadata": _GOOGLE_USAGE,
                **_GOOGLE_HEAD,
            },
        ),
    ],
    sdk_response=_snake,
    sdk_chunk=lambda event, payload: _snake(payload),
    proxied_stream=False,
)

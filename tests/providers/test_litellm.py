"""The real ``litellm`` SDK over HTTP to the fake provider server (its OpenAI and Anthropic routes), instrumented.

LiteLLM runs the real ``openai`` SDK for ``openai/<model>`` and its own httpx handler for ``anthropic/<model>``. The
fixture instruments the OpenAI SDK too, so every test also proves the nesting rule: one litellm call is one span,
one ``llm.calls`` increment and one set of token/cost counts.
"""

from __future__ import annotations

import os
from typing import Any

from ..reliability._case import (
    SDK_DATE,
    UUID,
    Prompt,
    ProviderCase,
    openai_kwargs,
)
from .test_openai import RELIABILITY_CASE as _OPENAI_CASE

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no model cost map download at import

import inspect

import litellm
import pytest

from llmtrace.demo.fake_server import FakeProviderServer
from llmtrace.demo.providers.openai import RESPONSE_MODELS
from llmtrace.demo.workload import WorkloadConfig, reference_cost, run_workload
from llmtrace.providers import litellm as litellm_provider
from llmtrace.providers.litellm import LiteLLMInstrumentor
from llmtrace.providers.openai import OpenAIInstrumentor

from .._assertions import assert_attributes
from .._error_tables import assert_most_specific_first, listed_classes
from .._instrumentors import instrumented_by
from .._truth import metric_points as _points
from .._truth import truth_rows as _rows

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name three rivers."}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
USAGE = "input=2300,cache_read=1024,reasoning=4"


# litellm and the openai SDK it calls underneath, both instrumented into ``telemetry``.
instrumented_litellm = instrumented_by(OpenAIInstrumentor, LiteLLMInstrumentor)


def _openai(server, fault="ok", **extra):
    headers = {"x-llmtrace-fault": fault, "x-llmtrace-usage": USAGE, **extra.pop("headers", {})}
    return {
        "model": "openai/gpt-4o-mini",
        "api_base": server.openai_base_url,
        "api_key": "sk-test",
        "messages": MESSAGES,
        "extra_headers": headers,
        "max_retries": 2,
        "timeout": 2.0,
        **extra,
    }


def _anthropic(server, fault="ok", **extra):
    headers = {"x-llmtrace-fault": fault, "x-llmtrace-call": f"{fault}-{id(extra)}", **extra.pop("headers", {})}
    return {
        "model": "anthropic/claude-haiku-4-5",
        "api_base": server.anthropic_base_url,
        "api_key": "sk-ant-test",
        "messages": MESSAGES,
        "max_tokens": 64,
        "extra_headers": headers,
        "timeout": 2.0,
        **extra,
    }


def _one_call(telemetry, provider, model, *, streaming=False, status="ok", operation="chat"):
    """Exactly one llm.calls increment, whatever the inner SDK did."""
    points = telemetry.points("llm.calls")
    assert [v for _, v in points] == [1], points
    attrs = points[0][0]
    assert (attrs["provider"], attrs["model"], attrs["status"], attrs["streaming"], attrs["operation"]) == (
        provider,
        model,
        status,
        streaming,
        operation,
    )


def _tokens(telemetry) -> dict[str, int]:
    return {a["type"]: v for a, v in telemetry.points("llm.tokens")}


def _assert_usage(attrs, usage):
    assert attrs["llm.tokens.input"] == usage["input"]
    assert attrs["llm.tokens.output"] == usage["output"]
    assert attrs.get("llm.tokens.cache_read") == usage.get("cache_read")
    assert attrs.get("llm.tokens.cache_write") == usage.get("cache_write")
    assert attrs.get("llm.tokens.reasoning") == usage.get("reasoning")


# -- chat over the OpenAI route (litellm -> openai SDK -> fake OpenAI API) ----------------------------------------


def test_sync_chat_openai_route_counts_once(instrumented_litellm, server):
    reply = litellm.completion(**_openai(server, temperature=0.2, top_p=0.9, seed=7, stop=["\n\n"]))
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)  # one span: the inner openai call stood aside
    assert reply.choices[0].message.content == exchange.text
    assert_attributes(
        attrs,
        {
            "llm.provider": "openai",
            "llm.via": "litellm",
            "llm.operation": "chat",
            "llm.model": "gpt-4o-mini",
            "llm.response.model": RESPONSE_MODELS["gpt-4o-mini"],
            "llm.response.id": exchange.response_id,
            "llm.streaming": False,
            "llm.stop_reason": "stop",
            "llm.temperature": 0.2,
            "llm.top_p": 0.9,
            "llm.retry_count": 0,
            "server.address": "127.0.0.1",
            "server.port": int(server.url.rsplit(":", 1)[1]),
            "gen_ai.provider.name": "openai",
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ("\n\n",),
            "gen_ai.response.finish_reasons": ("stop",),
        },
    )
    _assert_usage(attrs, exchange.usage)
    assert exchange.usage == {"input": 2300, "output": exchange.usage["output"], "cache_read": 1024, "reasoning": 4}
    cost = reference_cost("openai", attrs["llm.response.model"], exchange.usage)
    assert attrs["llm.cost_usd"] == pytest.approx(cost, rel=1e-12)
    assert "llm.ttft_ms" not in attrs and "llm.chunks" not in attrs
    assert attrs["llm.prompt.system_length"] == len("Be brief.") and attrs["llm.prompt.message_count"] == 1
    _one_call(instrumented_litellm, "openai", "gpt-4o-mini")
    assert _tokens(instrumented_litellm) == exchange.usage
    assert instrumented_litellm.total("llm.cost.usd", provider="openai") == pytest.approx(cost, rel=1e-12)


async def test_async_chat_openai_route_counts_once(instrumented_litellm, server):
    reply = await litellm.acompletion(**_openai(server, fault="rate_limit,ok"))
    exchange = server.log[-1]
    attrs = dict(instrumented_litellm.span().attributes)
    assert reply.choices[0].message.content == exchange.text and len(server.log) == 2
    assert (attrs["llm.provider"], attrs["llm.via"], attrs["llm.retry_count"]) == ("openai", "litellm", 1)
    _assert_usage(attrs, exchange.usage)
    _one_call(instrumented_litellm, "openai", "gpt-4o-mini")
    assert _tokens(instrumented_litellm) == exchange.usage
    assert instrumented_litellm.total("llm.retries") == 1
    cost = reference_cost("openai", RESPONSE_MODELS["gpt-4o-mini"], exchange.usage)
    assert instrumented_litellm.total("llm.cost.usd") == pytest.approx(cost, rel=1e-12)


def test_stream_openai_route_counts_once(instrumented_litellm, server):
    kwargs = _openai(server, headers={"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "20"})
    chunks = list(litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}))
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == exchange.text
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 6
    assert attrs["llm.ttft_ms"] >= 20 and attrs["gen_ai.response.time_to_first_chunk"] >= 0.02
    assert attrs["llm.stop_reason"] == "stop" and attrs["llm.response.id"] == exchange.response_id
    _assert_usage(attrs, exchange.usage)
    _one_call(instrumented_litellm, "openai", "gpt-4o-mini", streaming=True)
    assert _tokens(instrumented_litellm) == exchange.usage
    assert len(instrumented_litellm.points("llm.ttft")) == 1


async def test_async_stream_openai_route_counts_once(instrumented_litellm, server):
    stream = await litellm.acompletion(**_openai(server), stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)
    assert chunks and attrs["llm.chunks"] == exchange.chunks and attrs["llm.ttft_ms"] > 0
    _assert_usage(attrs, exchange.usage)
    _one_call(instrumented_litellm, "openai", "gpt-4o-mini", streaming=True)
    assert _tokens(instrumented_litellm) == exchange.usage


# -- chat over the Anthropic route (litellm's own httpx handler) -------------------------------------------------


def test_sync_chat_anthropic_route_with_cache_tokens(instrumented_litellm, server):
    usage = {"x-llmtrace-usage": "input=2300,cache_read=1024,cache_write=1000,reasoning=4"}
    reply = litellm.completion(**_anthropic(server, headers=usage, top_k=40))
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)
    assert reply.choices[0].message.content == exchange.text
    assert (attrs["llm.provider"], attrs["llm.via"], attrs["llm.model"]) == ("anthropic", "litellm", "claude-haiku-4-5")
    assert attrs["llm.response.model"] == RESPONSE_MODELS["claude-haiku-4-5"] and attrs["llm.max_tokens"] == 64
    assert attrs["gen_ai.request.top_k"] == 40 and attrs["gen_ai.response.finish_reasons"] == ("stop",)
    _assert_usage(attrs, exchange.usage)  # input includes cache reads and writes, as Anthropic's API does not
    cost = reference_cost("anthropic", attrs["llm.response.model"], exchange.usage)
    assert attrs["llm.cost_usd"] == pytest.approx(cost, rel=1e-12)
    _one_call(instrumented_litellm, "anthropic", "claude-haiku-4-5")
    assert _tokens(instrumented_litellm) == exchange.usage


async def test_async_stream_anthropic_route(instrumented_litellm, server):
    stream = await litellm.acompletion(**_anthropic(server), stream=True, stream_options={"include_usage": True})
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)
    assert text == exchange.text and attrs["llm.chunks"] == exchange.chunks
    _assert_usage(attrs, exchange.usage)
    _one_call(instrumented_litellm, "anthropic", "claude-haiku-4-5", streaming=True)


def test_stream_without_include_usage_uses_the_usage_litellm_kept(instrumented_litellm, server):
    """Anthropic streams usage whatever the caller asked; litellm hides it from the caller but keeps it."""
    chunks = list(litellm.completion(**_anthropic(server), stream=True))
    (exchange,) = server.log
    attrs = dict(instrumented_litellm.span().attributes)
    assert all(getattr(c, "usage", None) is None for c in chunks)
    _assert_usage(attrs, exchange.usage)
    assert "llm.tokens.estimated" not in attrs and _tokens(instrumented_litellm) == exchange.usage


def test_stream_without_any_usage_is_estimated(instrumented_litellm, server):
    """OpenAI sends no stream usage unless asked: an estimate, flagged."""
    list(litellm.completion(**_openai(server), stream=True))
    attrs = dict(instrumented_litellm.span().attributes)
    assert attrs["llm.tokens.estimated"] is True and attrs["llm.success"] is True


async def test_async_stream_close_stays_synchronous(instrumented_litellm, server):
    stream = await litellm.acompletion(**_anthropic(server), stream=True)
    await stream.__anext__()
    assert stream.close() is None  # litellm's close() is sync (aclose() is the async one): the proxy keeps that
    attrs = dict(instrumented_litellm.span().attributes)
    assert attrs["llm.stream.incomplete"] is True and attrs["llm.success"] is True


# -- embeddings -------------------------------------------------------------------------------------------------


async def test_embeddings_sync_and_async(instrumented_litellm, server):
    kwargs = {"api_base": server.openai_base_url, "api_key": "sk-test", "input": ["a", "bb"]}
    litellm.embedding(model="openai/text-embedding-3-small", **kwargs)
    await litellm.aembedding("openai/text-embedding-3-small", **kwargs)  # positional model
    spans = sorted(instrumented_litellm.spans(), key=lambda s: s.start_time)
    assert len(spans) == 2
    for span, exchange in zip(spans, server.log, strict=True):
        attrs = dict(span.attributes)
        assert (attrs["llm.operation"], attrs["llm.provider"], attrs["llm.model"]) == (
            "embeddings",
            "openai",
            "text-embedding-3-small",
        )
        assert (attrs["llm.tokens.input"], attrs["llm.tokens.output"]) == (exchange.usage["input"], 0)
        assert attrs["llm.cost_usd"] == pytest.approx(
            reference_cost("openai", "text-embedding-3-small", exchange.usage), rel=1e-12
        )
    assert instrumented_litellm.total("llm.calls", operation="embeddings") == 2


# -- retries, errors, finish reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["openai", "anthropic"])
def test_retry_then_success(instrumented_litellm, server, route):
    """openai/: the openai SDK's max_retries retries; anthropic/: litellm's own num_retries does."""
    fault = "rate_limit,ok"
    kwargs = _openai(server, fault) if route == "openai" else _anthropic(server, fault, num_retries=2)
    litellm.completion(**kwargs)
    attrs = dict(instrumented_litellm.span().attributes)
    assert [e.status for e in server.log] == [429, 200]
    assert (attrs["llm.retry_count"], attrs["llm.success"], attrs["http.request.resend_count"]) == (1, True, 1)
    _assert_usage(attrs, server.log[-1].usage)
    assert instrumented_litellm.total("llm.retries") == 1 and instrumented_litellm.total("llm.calls") == 1


async def test_async_num_retries_then_success(instrumented_litellm, server):
    """acompletion's retries call acompletion again (litellm.acompletion_with_retries): still one logical call."""
    await litellm.acompletion(**_anthropic(server, "server_error,ok", num_retries=2))
    attrs = dict(instrumented_litellm.span().attributes)
    assert [e.status for e in server.log] == [500, 200]
    assert (attrs["llm.retry_count"], attrs["llm.success"]) == (1, True)
    _one_call(instrumented_litellm, "anthropic", "claude-haiku-4-5")
    assert _tokens(instrumented_litellm) == server.log[-1].usage


def test_rate_limit_retries_exhausted(instrumented_litellm, server):
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(**_openai(server, "rate_limit"))
    attrs = dict(instrumented_litellm.span().attributes)
    assert len(server.log) == 3
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["llm.retry_count"]) == ("rate_limit", 429, 2)
    assert attrs["llm.error.retry_after_s"] == pytest.approx(0.01) and attrs["error.type"] == "RateLimitError"
    assert attrs["llm.stop_reason"] == "error"
    assert instrumented_litellm.total("llm.calls", status="error", error_type="rate_limit") == 1
    assert instrumented_litellm.points("llm.tokens") == [] and instrumented_litellm.points("llm.cost.usd") == []


def test_server_error_retries_exhausted(instrumented_litellm, server):
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(**_anthropic(server, "server_error", num_retries=2))
    attrs = dict(instrumented_litellm.span().attributes)
    assert [e.status for e in server.log] == [500, 500, 500]
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["llm.retry_count"]) == ("server_error", 500, 2)
    assert instrumented_litellm.span().status.status_code.name == "ERROR"
    assert instrumented_litellm.total("llm.calls", status="error", error_type="server_error") == 1


@pytest.mark.parametrize("route", ["openai", "anthropic"])
def test_timeout(instrumented_litellm, server, route):
    kwargs = _openai(server, "timeout:2", max_retries=0) if route == "openai" else _anthropic(server, "timeout:2")
    with pytest.raises(litellm.Timeout):
        litellm.completion(**{**kwargs, "timeout": 0.2})
    attrs = dict(instrumented_litellm.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.retry_count"]) == ("timeout", 0)


@pytest.mark.parametrize(
    ("fault", "exc", "error_type"),
    [
        ("context_length", litellm.ContextWindowExceededError, "context_length"),
        ("auth", litellm.AuthenticationError, "auth"),
        ("bad_request", litellm.BadRequestError, "bad_request"),
        ("not_found", litellm.NotFoundError, "not_found"),
    ],
)
def test_errors_are_classified(instrumented_litellm, server, fault, exc, error_type):
    with pytest.raises(exc) as info:
        litellm.completion(**_anthropic(server, fault))
    attrs = dict(instrumented_litellm.span().attributes)
    assert attrs["llm.error.type"] == error_type and attrs["error.type"] == type(info.value).__qualname__
    assert attrs["llm.provider"] == "anthropic" and attrs["llm.success"] is False


@pytest.mark.parametrize("stream", [False, True])
def test_stream_cut_and_overloaded(instrumented_litellm, server, stream):
    if stream:
        with pytest.raises(litellm.exceptions.MidStreamFallbackError):  # litellm's own error, re-raised unchanged
            list(litellm.completion(**_openai(server, "stream_cut"), stream=True))
        expected = "connection"
    else:
        with pytest.raises(litellm.ServiceUnavailableError):
            litellm.completion(**_openai(server, "overloaded", max_retries=0))
        expected = "overloaded"
    span = instrumented_litellm.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == expected
    _one_call(instrumented_litellm, "openai", "gpt-4o-mini", streaming=stream, status="error")


@pytest.mark.parametrize(
    ("route", "fault", "raw", "normalized"),
    [
        ("openai", "tool_call", "tool_calls", "tool_use"),
        ("anthropic", "tool_call", "tool_calls", "tool_use"),
        ("openai", "content_filter", "content_filter", "content_filter"),
        ("anthropic", "content_filter", "content_filter", "content_filter"),
    ],
)
def test_finish_reasons_normalized(instrumented_litellm, server, route, fault, raw, normalized):
    kwargs = _openai(server, fault, tools=TOOLS) if route == "openai" else _anthropic(server, fault, tools=TOOLS)
    litellm.completion(**kwargs)
    attrs = dict(instrumented_litellm.span().attributes)
    assert attrs["gen_ai.response.finish_reasons"] == (raw,) and attrs["llm.stop_reason"] == normalized
    assert attrs.get("llm.response.tool_calls", 0) == (1 if fault == "tool_call" else 0)
    assert attrs["llm.tools.names"] == ("lookup",)


def test_stream_tool_call_counted_once(instrumented_litellm, server):
    list(litellm.completion(**_openai(server, "tool_call", tools=TOOLS), stream=True))
    attrs = dict(instrumented_litellm.span().attributes)
    assert attrs["llm.response.tool_calls"] == 1 and attrs["llm.stop_reason"] == "tool_use"


# -- lifecycle -----------------------------------------------------------------------------------------------------


def test_instrument_twice_and_uninstrument(server, telemetry):
    original = litellm.main.completion
    inst = LiteLLMInstrumentor()
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    wrapped = litellm.completion
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert litellm.completion is wrapped is litellm.main.completion and wrapped.__wrapped__ is original
    litellm.completion(**_anthropic(server))
    assert len(telemetry.spans()) == 1
    inst.uninstrument()
    assert litellm.completion is original and litellm.main.completion is original
    litellm.completion(**_anthropic(server))
    assert len(telemetry.spans()) == 1


def test_unknown_route_is_recorded_as_litellm(instrumented_litellm):
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(model="no-such-provider-model", messages=MESSAGES, api_key="x")
    attrs = dict(instrumented_litellm.span().attributes)
    assert (attrs["llm.provider"], attrs["llm.model"], attrs["llm.error.type"]) == (
        "litellm",
        "no-such-provider-model",
        "bad_request",
    )


# -- error table ---------------------------------------------------------------------------------------------------

_BASES = {"APIError", "OpenAIError"}


def test_every_public_exception_is_mapped():
    listed = listed_classes(litellm_provider)
    public = [
        cls
        for name, cls in vars(litellm.exceptions).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == "litellm.exceptions"
        and not name.startswith("_")
        and name not in _BASES
    ]
    assert [cls.__name__ for cls in public if cls not in listed] == []


def test_subclasses_come_before_their_bases():
    assert_most_specific_first(litellm_provider)


# -- the demo driver: ground truth equals what llmtrace recorded ----------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(instrumented_litellm):
    config = WorkloadConfig(calls=30, seed=1, providers=("litellm",), fault_rate=0.3)
    with FakeProviderServer(seed=1) as server:
        truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"openai"}  # recorded as the provider litellm routed to
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    call_keys = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    assert _points(instrumented_litellm, "llm.calls", call_keys) == _rows(truth["calls"], call_keys)
    token_keys = ("provider", "model", "type", "agent", "tenant")
    assert _points(instrumented_litellm, "llm.tokens", token_keys) == _rows(truth["tokens"], token_keys)
    cost_keys = ("provider", "model", "agent", "tenant")
    got = _points(instrumented_litellm, "llm.cost.usd", cost_keys)
    expected = _rows(truth["cost_usd"], cost_keys)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15)
    retry_keys = ("provider", "model")
    assert _points(instrumented_litellm, "llm.retries", retry_keys) == _rows(truth["retries"], retry_keys)


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _litellm_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    """litellm has no client object: the per-call routing arguments (the openai SDK underneath retries)."""
    import litellm

    litellm.suppress_debug_info = True
    return {"api_base": server.openai_base_url, "api_key": "sk-k", "max_retries": retries, "extra_headers": headers}


def _litellm_kwargs(client: dict[str, Any], prompt: Prompt, stream: bool) -> dict[str, Any]:
    kwargs = {**openai_kwargs(prompt, stream), **client, "model": "openai/gpt-4o-mini"}
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _litellm_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    import litellm

    return litellm.completion(**_litellm_kwargs(client, prompt, stream))


async def _litellm_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    import litellm

    return await litellm.acompletion(**_litellm_kwargs(client, prompt, stream))


RELIABILITY_CASE = ProviderCase(
    name="litellm",
    sdk="litellm",
    make_client=_litellm_client,
    make_async_client=_litellm_client,
    chat=_litellm_chat,
    achat=_litellm_achat,
    response=_OPENAI_CASE.response,
    stream_events=_OPENAI_CASE.stream_events,
    # litellm stamps what the body lacks (ids, created) with fresh values, and the time it took
    volatile=(SDK_DATE, UUID, r"created=\d+", r"'created': \d+", r"_response_ms=[\d.]+"),
)

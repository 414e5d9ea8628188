"""The real ``huggingface_hub`` InferenceClient over HTTP to the fake provider server (a TGI: OpenAI-shaped chat,
TGI's own text generation; JSON and SSE), instrumented."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

# The SDK's user-agent telemetry fetches an "agent harness" registry from huggingface.co inside the first call of
# a process: tests stay on loopback (and that fetch would be counted as an attempt of the call, see below).
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from typing import Any

import httpx2
import pytest
import wrapt
from huggingface_hub import AsyncInferenceClient, InferenceClient, constants
from huggingface_hub import errors as hf_errors
from huggingface_hub.inference import _common as hf_common
from huggingface_hub.inference._client import InferenceClient as _InferenceClientClass

from llmtrace.call import Outcomes, normalize_finish_reason
from llmtrace.classification import ErrorRules
from llmtrace.demo.providers.huggingface import CONTEXT_LENGTH_MESSAGE, PREFIX
from llmtrace.demo.workload import WorkloadConfig, run_workload
from llmtrace.providers import huggingface as hf_provider
from llmtrace.providers.huggingface import HuggingFaceInstrumentor

from .._assertions import assert_attributes, assert_stream_timing, assert_usage_matches, fault
from .._error_tables import assert_maps_every, assert_most_specific_first, classified, public_exceptions
from .._instrumentors import instrumented_by
from .._truth import metric_points as _points
from .._truth import truth_rows as _rows
from ..reliability._case import (
    Prompt,
    ProviderCase,
    chat_chunks,
    chat_completion,
    function_chat,
    with_call_id,
)

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three rivers."}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]

instrumented_hf = instrumented_by(HuggingFaceInstrumentor)
constants.HF_HUB_DISABLE_TELEMETRY = True  # in case huggingface_hub was imported before this module set the env


def make_client(server, headers: dict[str, str] | None = None, *, timeout: float = 5.0) -> InferenceClient:
    """A client whose base URL is the fake TGI: chat goes to ``<base>/v1/chat/completions``."""
    return InferenceClient(base_url=server.url + PREFIX, api_key="hf_test", headers=headers, timeout=timeout)


def make_tgi(server, headers: dict[str, str] | None = None, *, timeout: float = 5.0) -> InferenceClient:
    """A client whose model is the fake TGI's URL: text_generation posts to it."""
    return InferenceClient(model=server.url + PREFIX, api_key="hf_test", headers=headers, timeout=timeout)


def _attrs(telemetry) -> dict[str, Any]:
    return dict(telemetry.span().attributes)


def _tokens(attrs: dict[str, Any]) -> tuple[Any, Any]:
    return attrs.get("llm.tokens.input"), attrs.get("llm.tokens.output")


# -- chat completions -------------------------------------------------------------------------------------------


def test_chat_completion(server, instrumented_hf):
    reply = make_client(server).chat_completion(
        MESSAGES, model=MODEL, max_tokens=50, temperature=0.2, top_p=0.9, seed=7, stop=["END"]
    )
    (exchange,) = server.log
    span = instrumented_hf.span()
    attrs = dict(span.attributes)
    assert span.name == f"chat {MODEL}" and span.kind.name == "CLIENT"
    assert exchange.path == "/huggingface/v1/chat/completions" and exchange.provider == "huggingface"
    assert reply.choices[0].message.content == exchange.text
    assert_usage_matches(attrs, exchange, None)  # genai-prices prices HF per routed provider only: unpriced
    assert_attributes(
        attrs,
        {
            "llm.provider": "huggingface",
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
            "gen_ai.provider.name": "huggingface",  # the spec has no value for Hugging Face
            "gen_ai.request.seed": 7,
            "gen_ai.request.stop_sequences": ("END",),
            "gen_ai.response.finish_reasons": ("stop",),
            "server.address": "127.0.0.1",
            "server.port": int(server.url.rsplit(":", 1)[1]),
        },
    )
    assert attrs["llm.prompt.system_length"] == len("You are terse.")
    assert attrs["llm.response.length"] == len(exchange.text)
    assert "llm.ttft_ms" not in attrs and "llm.tokens.cache_read" not in attrs
    assert instrumented_hf.total("llm.unpriced_calls", provider="huggingface", model=MODEL) == 1
    assert instrumented_hf.total("llm.tokens", type="output") == exchange.usage["output"]


def test_openai_style_alias_and_positional_messages(server, instrumented_hf):
    client = make_client(server)
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    client.chat_completion(MESSAGES, model=MODEL)
    spans = instrumented_hf.spans()
    assert len(spans) == 2 and all(s.attributes["llm.prompt.message_count"] == 1 for s in spans)


def test_chat_stream_with_usage(server, instrumented_hf):
    headers = fault("ok", **{"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "5"})
    client = make_client(server, headers)  # a stream lives as long as its client (its exit stack holds the response)
    stream = client.chat_completion(MESSAGES, model=MODEL, stream=True, stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    (exchange,) = server.log
    attrs = _attrs(instrumented_hf)
    assert text == exchange.text
    assert_usage_matches(attrs, exchange, None)
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 6
    assert_stream_timing(attrs, chunks=6, ttft_ms=30, delay_ms=5)
    assert attrs["llm.response.id"] == exchange.response_id and attrs["llm.stop_reason"] == "stop"
    assert "llm.tokens.estimated" not in attrs and "llm.stream.incomplete" not in attrs
    assert instrumented_hf.total("llm.calls", status="ok", streaming=True) == 1


def test_chat_stream_without_usage_is_estimated(server, instrumented_hf):
    client = make_client(server)
    for _ in client.chat_completion(MESSAGES, model=MODEL, stream=True):
        pass
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.tokens.estimated"] is True and attrs["llm.success"] is True
    assert instrumented_hf.total("llm.tokens", type="output") == 0  # estimates go to their own series


async def test_async_chat_and_stream(server, instrumented_hf):
    client = AsyncInferenceClient(base_url=server.url + PREFIX, api_key="hf_test")
    reply = await client.chat_completion(MESSAGES, model=MODEL)
    stream = await client.chat_completion(MESSAGES, model=MODEL, stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    await client.close()
    assert reply.choices[0].message.content == server.log[0].text
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == server.log[1].text
    first, second = sorted(instrumented_hf.spans(), key=lambda s: s.start_time)
    assert_usage_matches(dict(first.attributes), server.log[0], None)
    assert_usage_matches(dict(second.attributes), server.log[1], None)
    assert "llm.chunks" not in first.attributes
    assert second.attributes["llm.chunks"] == server.log[1].chunks and "llm.ttft_ms" in second.attributes


def test_tool_calls_complete_and_stream(server, instrumented_hf):
    make_client(server, fault("tool_call")).chat_completion(MESSAGES, model=MODEL, tools=TOOLS)
    client = make_client(server, fault("tool_call"))
    stream = client.chat_completion(MESSAGES, model=MODEL, tools=TOOLS, stream=True)
    calls = [c for chunk in stream for c in (chunk.choices[0].delta.tool_calls or [])]
    assert [c.function.name for c in calls] == ["lookup"]
    for span in instrumented_hf.spans():
        assert span.attributes["llm.stop_reason"] == "tool_use"
        assert span.attributes["llm.response.tool_calls"] == 1
        assert span.attributes["llm.tools.count"] == 1 and span.attributes["llm.tools.names"] == ("lookup",)


def test_content_filter_finish(server, instrumented_hf):
    make_client(server, fault("content_filter")).chat_completion(MESSAGES, model=MODEL)
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.stop_reason"] == "content_filter" and attrs["llm.success"] is True


# -- text generation (TGI's API) --------------------------------------------------------------------------------


def test_text_generation_plain_string_is_estimated(server, instrumented_hf):
    text = make_tgi(server).text_generation("The three longest rivers are", max_new_tokens=40, top_k=5)
    (exchange,) = server.log
    span = instrumented_hf.span()
    attrs = dict(span.attributes)
    assert text == exchange.text and exchange.path == "/huggingface" and exchange.usage is None
    assert span.name == "completion"  # a TGI endpoint's URL names no model, and TGI's answer neither
    assert "llm.model" not in attrs and attrs["llm.operation"] == "completion"
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["llm.tokens.estimated"] is True and "llm.stop_reason" not in attrs
    assert (attrs["llm.max_tokens"], attrs["gen_ai.request.top_k"]) == (40, 5.0)
    assert attrs["llm.prompt.length"] == len("The three longest rivers are")


def test_text_generation_details(server, instrumented_hf):
    output = make_tgi(server).text_generation("Say hi", details=True, decoder_input_details=True, stop=["\n"])
    (exchange,) = server.log
    attrs = _attrs(instrumented_hf)
    assert output.generated_text == exchange.text and output.details.finish_reason == "stop_sequence"
    assert _tokens(attrs) == (exchange.usage["input"], exchange.usage["output"])
    assert attrs["llm.stop_reason"] == "stop" and attrs["gen_ai.response.finish_reasons"] == ("stop_sequence",)
    assert "llm.tokens.estimated" not in attrs


def test_text_generation_details_without_prefill_has_no_input_count(server, instrumented_hf):
    make_tgi(server).text_generation("Say hi", details=True)
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.tokens.output"] == server.log[0].usage["output"] and "llm.tokens.input" not in attrs
    assert attrs["llm.stop_reason"] == "stop" and attrs["gen_ai.response.finish_reasons"] == ("eos_token",)


def test_text_generation_stream_with_details(server, instrumented_hf):
    headers = fault("ok", **{"x-llmtrace-chunks": "4", "x-llmtrace-ttft-ms": "20", "x-llmtrace-delay-ms": "5"})
    client = make_tgi(server, headers)
    events = list(client.text_generation("Say hi", stream=True, details=True))
    (exchange,) = server.log
    attrs = _attrs(instrumented_hf)
    assert events[-1].generated_text == exchange.text and events[-1].token.special is True
    assert _tokens(attrs) == (exchange.usage["input"], exchange.usage["output"])
    assert "llm.cost.unpriced" not in attrs  # no model named: nothing to price or to call unpriced
    assert attrs["llm.chunks"] == exchange.chunks == 4  # the end-of-sequence token is not content
    assert_stream_timing(attrs, chunks=4, ttft_ms=20, delay_ms=5)
    assert attrs["llm.stop_reason"] == "stop" and attrs["llm.response.length"] == len(exchange.text)


def test_text_generation_stream_of_strings(server, instrumented_hf):
    client = make_tgi(server, fault("ok", **{"x-llmtrace-chunks": "3"}))
    pieces = list(client.text_generation("Hi", stream=True))
    attrs = _attrs(instrumented_hf)
    assert pieces[-1] == "</s>"  # without details the SDK hands out every token's text, the special one too
    assert attrs["llm.chunks"] == 4 and attrs["llm.tokens.estimated"] is True and attrs["llm.success"] is True


async def test_async_text_generation_and_stream(server, instrumented_hf):
    client = AsyncInferenceClient(model=server.url + PREFIX, api_key="hf_test")
    output = await client.text_generation("Say hi", details=True, decoder_input_details=True)
    events = [e async for e in await client.text_generation("Say hi", stream=True, details=True)]
    await client.close()
    assert output.generated_text == server.log[0].text and events[-1].details.finish_reason == "eos_token"
    first, second = sorted(instrumented_hf.spans(), key=lambda s: s.start_time)
    for span, exchange in ((first, server.log[0]), (second, server.log[1])):
        assert span.attributes["llm.tokens.input"] == exchange.usage["input"]
        assert span.attributes["llm.tokens.output"] == exchange.usage["output"]
    assert second.attributes["llm.chunks"] == server.log[1].chunks


# -- retries and errors -----------------------------------------------------------------------------------------


def test_rate_limit_is_not_retried_by_the_sdk(server, instrumented_hf):
    """huggingface_hub has no retry loop for inference: the 429 of a "rate_limit,ok" plan reaches the caller."""
    with pytest.raises(hf_errors.HfHubHTTPError) as info:
        make_client(server, fault("rate_limit,ok")).chat_completion(MESSAGES, model=MODEL)
    attrs = _attrs(instrumented_hf)
    assert info.value.response.status_code == 429 and [e.status for e in server.log] == [429]
    assert_attributes(
        attrs,
        {
            "llm.retry_count": 0,
            "llm.error.type": "rate_limit",
            "llm.error.status": 429,
            "llm.error.retry_after_s": 1.0,
            "error.type": "HfHubHTTPError",
        },
    )
    assert instrumented_hf.points("llm.retries") == []
    assert instrumented_hf.total("llm.calls", status="error", error_type="rate_limit") == 1


def test_unused_model_kwargs_retry_is_counted(server, instrumented_hf):
    """The SDK's one retry: a non-TGI backend's 400 naming unused ``model_kwargs`` makes it post again without
    them (and without ``details``: a non-TGI backend has none, so the answer is a plain string)."""
    url = server.url + PREFIX  # the SDK remembers unused kwargs by the call's ``model``: name the endpoint there
    client = make_tgi(server, fault("bad_request,ok"))
    try:
        result = client.text_generation("Hi", model=url, watermark=True, details=True)
    finally:
        hf_common._UNSUPPORTED_TEXT_GENERATION_KWARGS.clear()
    first, second = server.log
    assert (first.status, second.status) == (400, 200) and result == second.text
    assert "watermark" in first.request_body["parameters"] and "watermark" not in second.request_body["parameters"]
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.retry_count"] == 1 and attrs["http.request.resend_count"] == 1 and attrs["llm.success"] is True
    assert attrs["llm.tokens.estimated"] is True  # no details on the retry: no counts
    assert instrumented_hf.points("llm.retries") == [({"provider": "huggingface", "model": "unknown"}, 1)]


@pytest.mark.parametrize(
    ("plan", "exc_type", "status", "error_type"),
    [
        ("auth", hf_errors.HfHubHTTPError, 401, "auth"),
        ("permission", hf_errors.HfHubHTTPError, 403, "permission"),
        ("not_found", hf_errors.RepositoryNotFoundError, 404, "not_found"),
        ("bad_request", hf_errors.HfHubHTTPError, 422, "bad_request"),
        ("context_length", hf_errors.HfHubHTTPError, 422, "context_length"),
        ("server_error", hf_errors.HfHubHTTPError, 500, "server_error"),
        ("overloaded", hf_errors.HfHubHTTPError, 503, "overloaded"),  # a model still loading
    ],
)
def test_chat_error_classification(server, instrumented_hf, plan, exc_type, status, error_type):
    with pytest.raises(exc_type) as info:
        make_client(server, fault(plan)).chat_completion(MESSAGES, model=MODEL)
    attrs = _attrs(instrumented_hf)
    assert type(info.value) is exc_type
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        exc_type.__name__,
    )
    assert attrs["llm.retry_count"] == 0 and len(server.log) == 1


@pytest.mark.parametrize(
    ("plan", "exc_type", "status", "error_type"),
    [
        ("bad_request", hf_errors.ValidationError, 422, "bad_request"),
        ("context_length", hf_errors.ValidationError, 422, "context_length"),
        ("server_error", hf_errors.GenerationError, 500, "server_error"),
        ("rate_limit", hf_errors.HfHubHTTPError, 429, "rate_limit"),
    ],
)
def test_text_generation_errors_are_tgis(server, instrumented_hf, plan, exc_type, status, error_type):
    """TGI's typed errors are raised ``from`` the HTTP error: the status and headers come from the cause."""
    with pytest.raises(exc_type):
        make_tgi(server, fault(plan)).text_generation("Hi", details=True)
    attrs = _attrs(instrumented_hf)
    assert (attrs["llm.error.type"], attrs["llm.error.status"], attrs["error.type"]) == (
        error_type,
        status,
        exc_type.__name__,
    )


def test_context_length_message_is_tgis(server, instrumented_hf):
    with pytest.raises(hf_errors.ValidationError) as info:
        make_tgi(server, fault("context_length")).text_generation("Hi")
    assert str(info.value) == CONTEXT_LENGTH_MESSAGE
    assert _attrs(instrumented_hf)["llm.error.message"] == CONTEXT_LENGTH_MESSAGE


def test_timeout(server, instrumented_hf):
    with pytest.raises(hf_errors.InferenceTimeoutError):
        make_client(server, fault("timeout:2"), timeout=0.3).chat_completion(MESSAGES, model=MODEL)
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.error.type"] == "timeout" and attrs["error.type"] == "InferenceTimeoutError"
    assert attrs["llm.latency_ms"] >= 250


def test_malformed_body(server, instrumented_hf):
    with pytest.raises(ValueError):  # the SDK's json.loads fails on the cut body
        make_client(server, fault("malformed")).chat_completion(MESSAGES, model=MODEL)
    assert _attrs(instrumented_hf)["llm.error.type"] == "invalid_response"


@pytest.mark.parametrize("operation", ["chat", "completion"])
def test_stream_cut_ends_span_with_error(server, instrumented_hf, operation):
    with pytest.raises(httpx2.RemoteProtocolError):  # the transport's own error, unwrapped by the SDK
        if operation == "chat":
            client = make_client(server, fault("stream_cut"))
            list(client.chat_completion(MESSAGES, model=MODEL, stream=True))
        else:
            client = make_tgi(server, fault("stream_cut"))
            list(client.text_generation("Hi", stream=True, details=True))
    span = instrumented_hf.span()
    assert span.status.status_code.name == "ERROR" and span.attributes["llm.error.type"] == "connection"
    assert span.attributes["llm.chunks"] == server.log[0].chunks >= 1


def test_connection_refused(instrumented_hf):
    client = InferenceClient(base_url="http://127.0.0.1:9", api_key="hf_test", timeout=2)
    with pytest.raises(httpx2.ConnectError):
        client.chat_completion(MESSAGES, model=MODEL)
    assert _attrs(instrumented_hf)["llm.error.type"] == "connection"


def test_abandoned_stream_ends_its_span(server, instrumented_hf):
    client = make_client(server, fault("ok", **{"x-llmtrace-chunks": "20"}))
    stream = client.chat_completion(MESSAGES, model=MODEL, stream=True)
    next(stream)
    del stream
    gc.collect()
    attrs = _attrs(instrumented_hf)
    assert attrs["llm.stream.incomplete"] is True and attrs["llm.success"] is True


def test_sdk_side_requests_are_not_attempts(server, instrumented_hf, monkeypatch, tmp_path):
    """With telemetry on, the first call of a process first GETs ``{HF_ENDPOINT}/api/agent-harnesses`` (to build its
    User-Agent): one LLM request, and ``llm.retry_count`` says 0 (the provider's ``is_attempt`` leaves the Hub's
    ``/api/`` lookups out; without it the count was 1)."""
    from huggingface_hub.utils import _detect_agent

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", False)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)  # the registry GET goes to the fake server, which refuses it
    monkeypatch.setattr(constants, "AGENT_HARNESSES_PATH", str(tmp_path / "agent_harnesses.json"))
    monkeypatch.setattr(_detect_agent, "_registry", None)
    make_client(server).chat_completion(MESSAGES, model=MODEL)
    assert len(server.log) == 1
    assert _attrs(instrumented_hf)["llm.retry_count"] == 0


def test_rate_limit_headers_give_the_delay_when_retry_after_is_absent():
    request = httpx2.Request("POST", "https://router.huggingface.co/v1/chat/completions")
    headers = {"ratelimit": '"api";r=0;t=55', "ratelimit-policy": '"fixed window";"api";q=500;w=300'}
    response = httpx2.Response(429, headers=headers, request=request, json={"error": "slow down"})
    exc = hf_errors.HfHubHTTPError("429 Too Many Requests", response=response, server_message="slow down")
    info = classified(hf_provider, exc)
    assert (info.type.value, info.status, info.retry_after_s, info.message) == ("rate_limit", 429, 55.0, "slow down")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("eos_token", "stop"), ("stop_sequence", "stop"), ("length", "length"), ("stop", "stop"),
     ("tool_calls", "tool_use"), ("content_filter", "content_filter")],
)  # fmt: skip
def test_finish_reasons_normalize(raw, normalized):
    """TGI's finish reasons (``TextGenerationOutputFinishReason``) and the chat ones map to normalized reasons."""
    reasons = Outcomes.of(hf_provider.PROVIDER.finish_reasons, ErrorRules()).finish_reasons
    reason = normalize_finish_reason(raw, reasons)
    assert reason is not None and reason.value == normalized


def test_every_public_exception_is_mapped():
    assert len(public_exceptions(hf_errors)) > 40
    assert_maps_every(hf_provider, public_exceptions(hf_errors))


def test_subclasses_come_before_their_bases():
    assert_most_specific_first(hf_provider)


# -- lifecycle --------------------------------------------------------------------------------------------------


def test_instrument_twice_wraps_once_and_uninstrument_restores(server, telemetry):
    original = _InferenceClientClass.__dict__["chat_completion"]
    first, second = HuggingFaceInstrumentor(), HuggingFaceInstrumentor()
    first.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    second.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        wrapped = _InferenceClientClass.__dict__["chat_completion"]
        assert isinstance(wrapped, wrapt.FunctionWrapper)
        assert not isinstance(wrapped.__wrapped__, wrapt.FunctionWrapper)
        make_client(server).chat_completion(MESSAGES, model=MODEL)
        assert len(telemetry.spans()) == 1
    finally:
        first.uninstrument()
    assert _InferenceClientClass.__dict__["chat_completion"] is original
    make_client(server).chat_completion(MESSAGES, model=MODEL)
    make_tgi(server).text_generation("Hi")
    assert len(telemetry.spans()) == 1


def test_patched_when_the_inference_client_is_imported_not_the_hub():
    """Apps import huggingface_hub for models and datasets all the time; its inference clients cost ~1 s and 400
    modules to import, so patching waits for ``huggingface_hub.inference`` (either client's import brings it)."""
    code = """
import sys, wrapt, llmtrace
llmtrace.instrument(providers=["huggingface"])
import huggingface_hub, huggingface_hub.hf_api
assert "huggingface_hub.inference._client" not in sys.modules
from huggingface_hub import AsyncInferenceClient
assert isinstance(AsyncInferenceClient.__dict__["text_generation"], wrapt.FunctionWrapper)
from huggingface_hub import InferenceClient
assert isinstance(InferenceClient.__dict__["chat_completion"], wrapt.FunctionWrapper)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


# -- the demo driver --------------------------------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(server, instrumented_hf):
    config = WorkloadConfig(calls=30, seed=1, providers=("huggingface",), fault_rate=0.3)
    truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"huggingface"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] == 0  # no SDK retry loop
    assert truth["totals"]["cost_usd"] == 0 and instrumented_hf.points("llm.cost.usd") == []
    call_keys = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    assert _points(instrumented_hf, "llm.calls", call_keys) == _rows(truth["calls"], call_keys)
    token_keys = ("provider", "model", "type", "agent", "tenant")
    assert _points(instrumented_hf, "llm.tokens", token_keys) == _rows(truth["tokens"], token_keys)
    assert instrumented_hf.points("llm.retries") == []


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


def _hf_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from huggingface_hub import InferenceClient

    from llmtrace.demo.providers.huggingface import PREFIX

    # 30 s, as the Google entry: the load test's 116 concurrent connects queue at the fake server for seconds on
    # 2 loaded cores (a 5 s connect timeout failed there once in CI); the SDK has no retry loop to hide that.
    return InferenceClient(base_url=server.url + PREFIX, api_key="hf_test", headers=with_call_id(headers), timeout=30)


def _hf_async_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from huggingface_hub import AsyncInferenceClient

    from llmtrace.demo.providers.huggingface import PREFIX

    return AsyncInferenceClient(
        base_url=server.url + PREFIX,
        api_key="hf_test",
        headers=with_call_id(headers),
        timeout=30,  # see above
    )


def _hf_kwargs(prompt: Prompt, stream: bool) -> dict[str, Any]:
    return function_chat("meta-llama/Llama-3.1-8B-Instruct", prompt, stream)


def _hf_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return client.chat_completion(**_hf_kwargs(prompt, stream))


async def _hf_achat(client: Any, prompt: Prompt, stream: bool) -> Any:
    return await client.chat_completion(**_hf_kwargs(prompt, stream))


_HF_USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
_HF_CHUNK = {
    "object": "chat.completion.chunk",
    "id": "",
    "created": 1,
    "model": "meta-llama/Llama-3.1-8B-Instruct",
    "system_fingerprint": "3.3.6-native",
}
RELIABILITY_CASE = ProviderCase(
    name="huggingface",
    sdk="huggingface_hub",
    make_client=_hf_client,
    make_async_client=_hf_async_client,
    chat=_hf_chat,
    achat=_hf_achat,
    response=chat_completion("chatcmpl-1", "meta-llama/Llama-3.1-8B-Instruct", "0", _HF_USAGE),
    stream_events=chat_chunks(_HF_CHUNK, _HF_USAGE, usage_chunk=True),
    sdk_retries=False,
    error_body=lambda message: {"error": message, "error_type": "validation"},
)

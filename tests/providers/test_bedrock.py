"""The real ``boto3`` bedrock-runtime client over HTTP to the fake provider server (Bedrock's JSON and binary event
streams), instrumented: exact attributes and metric points. boto3 has no async client, so there is no async path."""

from __future__ import annotations

import inspect
import io
import json
import threading
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.session
import pytest
import urllib3.exceptions
import wrapt
from botocore import eventstream
from botocore.parsers import ResponseParserError

from llmtrace.demo.providers.bedrock import event_message, make_client, request_headers
from llmtrace.demo.workload import WorkloadConfig, reference_cost, run_workload
from llmtrace.providers import bedrock as bedrock_provider
from llmtrace.providers.bedrock import BedrockInstrumentor, model_id
from llmtrace.semconv import ErrorType

from .._assertions import assert_stream_timing
from .._error_tables import assert_most_specific_first, first_row_kind, listed_classes
from .._instrumentors import instrumented_by
from .._truth import metric_points as _points
from .._truth import truth_rows as _rows
from ..reliability._case import (
    SDK_DATE,
    TOOL_ARGUMENTS,
    TOOL_CALL_ID,
    Prompt,
    ProviderCase,
)

CLAUDE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Name three rivers."}]}]
SYSTEM = [{"text": "You are terse."}]
CACHE = "input=1500,output=40,cache_read=1024,cache_write=200"
UNPRICED = {"cohere.command-r-v1:0"}  # genai-prices 0.2.3 has no AWS price for it: recorded as unpriced
TOOLS = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}


instrumented_bedrock = instrumented_by(BedrockInstrumentor)


@pytest.fixture
def client(server, instrumented_bedrock):
    return make_client(server)


def headers(plan: str = "ok", call: str = "", **extra: str) -> dict[str, str]:
    found = {"x-llmtrace-fault": plan, **extra}
    return {**found, "x-llmtrace-call": call} if call else found


def assert_usage_matches(attrs, exchange):
    usage = exchange.usage
    assert attrs["llm.tokens.input"] == usage["input"]  # includes cache reads and writes
    assert attrs["llm.tokens.output"] == usage["output"]
    assert attrs["llm.tokens.total"] == usage["input"] + usage["output"]
    assert attrs.get("llm.tokens.cache_read", 0) == usage.get("cache_read", 0)
    assert attrs.get("llm.tokens.cache_write", 0) == usage.get("cache_write", 0)
    if exchange.model in UNPRICED:
        assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs
        return
    expected = reference_cost("aws", exchange.model, usage)
    assert attrs["llm.cost_usd"] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert attrs["llm.cost.pricing"].startswith("genai-prices ")


# -- Converse ---------------------------------------------------------------------------------------------------------


def test_converse(client, instrumented_bedrock, server):
    config = {"maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]}
    with request_headers(headers(**{"x-llmtrace-usage": CACHE})):
        reply = client.converse(modelId=CLAUDE, messages=MESSAGES, system=SYSTEM, inferenceConfig=config)
    (exchange,) = server.log
    span = instrumented_bedrock.span()
    attrs = dict(span.attributes)
    assert reply["output"]["message"]["content"][0]["text"] == exchange.text
    assert span.name == f"chat {CLAUDE}" and span.kind.name == "CLIENT"
    assert attrs["cloud.region"] == client.meta.region_name == "us-east-1"
    assert_usage_matches(attrs, exchange)
    assert {
        k: attrs.get(k)
        for k in (
            "llm.provider",
            "llm.operation",
            "llm.model",
            "llm.response.id",
            "llm.streaming",
            "llm.success",
            "llm.retry_count",
            "llm.stop_reason",
            "llm.temperature",
            "llm.max_tokens",
            "llm.top_p",
            "llm.prompt.message_count",
            "gen_ai.provider.name",
            "gen_ai.request.stop_sequences",
            "gen_ai.response.finish_reasons",
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_creation.input_tokens",
            "server.address",
            "server.port",
        )
    } == {
        "llm.provider": "bedrock",
        "llm.operation": "chat",
        "llm.model": CLAUDE,
        "llm.response.id": exchange.response_id,
        "llm.streaming": False,
        "llm.success": True,
        "llm.retry_count": 0,
        "llm.stop_reason": "stop",
        "llm.temperature": 0.2,
        "llm.max_tokens": 64,
        "llm.top_p": 0.9,
        "llm.prompt.message_count": 1,
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.cache_read.input_tokens": 1024,
        "gen_ai.usage.cache_creation.input_tokens": 200,
        "server.address": "127.0.0.1",
        "server.port": int(server.url.rsplit(":", 1)[1]),
    }
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs["llm.prompt.system_length"] == len("You are terse.")
    assert "llm.ttft_ms" not in attrs and "llm.chunks" not in attrs
    telemetry = instrumented_bedrock
    assert telemetry.total("llm.calls", provider="bedrock", model=CLAUDE, status="ok", streaming=False) == 1
    assert telemetry.total("llm.tokens", type="input") == 1500
    assert telemetry.total("llm.tokens", type="output") == exchange.usage["output"]
    assert telemetry.total("llm.tokens", type="cache_read") == 1024
    assert telemetry.total("llm.tokens", type="cache_write") == 200
    assert telemetry.total("llm.cost.usd", model=CLAUDE) == pytest.approx(attrs["llm.cost_usd"], rel=1e-12)
    assert telemetry.points("llm.ttft") == []


def test_converse_tool_call(client, instrumented_bedrock, server):
    with request_headers(headers("tool_call")):
        reply = client.converse(modelId=NOVA, messages=MESSAGES, toolConfig=TOOLS)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert reply["stopReason"] == "tool_use"
    assert attrs["llm.response.tool_calls"] == 1 and attrs["llm.stop_reason"] == "tool_use"
    assert attrs["llm.tools.count"] == 1 and attrs["llm.tools.names"] == ("lookup",)
    assert_usage_matches(attrs, server.log[0])


def test_converse_stream(client, instrumented_bedrock, server):
    tuning = {"x-llmtrace-chunks": "6", "x-llmtrace-ttft-ms": "30", "x-llmtrace-delay-ms": "5"}
    with request_headers(headers(**tuning, **{"x-llmtrace-usage": CACHE})):
        response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES, system=SYSTEM)
        events = list(response["stream"])
    (exchange,) = server.log
    attrs = dict(instrumented_bedrock.span().attributes)
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == exchange.text and "metadata" in events[-1]
    assert_usage_matches(attrs, exchange)
    assert attrs["llm.streaming"] is True and attrs["llm.chunks"] == exchange.chunks == 6
    assert attrs["llm.stop_reason"] == "stop"
    assert_stream_timing(attrs, chunks=6, ttft_ms=30, delay_ms=5)
    ((labels, ttft),) = instrumented_bedrock.points("llm.ttft")
    assert labels == {"provider": "bedrock", "model": CLAUDE} and ttft.count == 1
    assert instrumented_bedrock.total("llm.calls", status="ok", streaming=True) == 1


def test_converse_stream_tool_call_and_close(client, instrumented_bedrock, server):
    with request_headers(headers("tool_call")):
        stream = client.converse_stream(modelId=NOVA, messages=MESSAGES, toolConfig=TOOLS)["stream"]
        next(iter(stream))
        stream.close()  # closing early ends the call once, as incomplete
    attrs = dict(instrumented_bedrock.span().attributes)
    assert attrs["llm.success"] is True and attrs["llm.stream.incomplete"] is True


# -- InvokeModel: each model family's native body --------------------------------------------------------------------

ANTHROPIC_BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "Hi"}],
}
INVOKE_CASES = [
    ("anthropic.claude-3-haiku-20240307-v1:0", {**ANTHROPIC_BODY, "system": "Be brief.", "temperature": 0.5}, "chat"),
    (
        "meta.llama3-1-8b-instruct-v1:0",
        {"prompt": "Name a river.", "max_gen_len": 64, "temperature": 0.1},
        "completion",
    ),
    (NOVA, {"messages": MESSAGES, "inferenceConfig": {"max_new_tokens": 64, "temperature": 0.3}}, "chat"),
    ("mistral.mistral-large-2402-v1:0", {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 64, "top_k": 5}, "completion"),
    ("amazon.titan-text-express-v1", {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 64}}, "completion"),
    ("cohere.command-r-v1:0", {"message": "Hi", "chat_history": [], "max_tokens": 64, "p": 0.5}, "chat"),
]
# raw finish reasons the core normalizes to "stop" (Titan's FINISH only once call._FINISH has it: see the report)
STOP_RAW = {"end_turn": "stop", "stop": "stop", "COMPLETE": "stop", "FINISH": "stop"}


@pytest.mark.parametrize(("model", "body", "operation"), INVOKE_CASES, ids=lambda v: str(v)[:16])
def test_invoke_model(client, instrumented_bedrock, server, model, body, operation):
    with request_headers(headers(**{"x-llmtrace-usage": "input=300,output=25,cache_read=100"})):
        response = client.invoke_model(modelId=model, body=json.dumps(body))
    (exchange,) = server.log
    assert json.loads(response["body"].read())  # the user still reads the body we read
    attrs = dict(instrumented_bedrock.span().attributes)
    assert attrs["llm.operation"] == operation and attrs["llm.model"] == model
    assert attrs["llm.max_tokens"] == 64 or model.startswith("anthropic.")
    assert_usage_matches(attrs, exchange)
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs["gen_ai.response.finish_reasons"] == (exchange.finish_reason,)
    assert attrs.get("llm.stop_reason") == STOP_RAW[exchange.finish_reason]


@pytest.mark.parametrize(("model", "body", "operation"), INVOKE_CASES, ids=lambda v: str(v)[:16])
def test_invoke_model_with_response_stream(client, instrumented_bedrock, server, model, body, operation):
    with request_headers(headers(**{"x-llmtrace-usage": "input=300,output=25,cache_write=100"})):
        response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body).encode())
        chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    (exchange,) = server.log
    attrs = dict(instrumented_bedrock.span().attributes)
    assert "amazon-bedrock-invocationMetrics" in chunks[-1]
    assert attrs["llm.operation"] == operation and attrs["llm.streaming"] is True
    assert_usage_matches(attrs, exchange)
    assert attrs["llm.chunks"] == exchange.chunks == 5 and "llm.ttft_ms" in attrs
    assert attrs["llm.response.length"] == len(exchange.text)
    assert attrs["gen_ai.response.finish_reasons"] == (exchange.finish_reason,)
    assert attrs.get("llm.stop_reason") == STOP_RAW[exchange.finish_reason]


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    ("model", "body"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", {**ANTHROPIC_BODY, "tools": [{"name": "lookup"}]}),
        (NOVA, {"messages": MESSAGES, "toolConfig": TOOLS}),
    ],
    ids=["anthropic", "nova"],
)
def test_invoke_model_tool_call(client, instrumented_bedrock, server, model, body, streamed):
    with request_headers(headers("tool_call")):
        if streamed:
            list(client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))["body"])
        else:
            client.invoke_model(modelId=model, body=json.dumps(body))["body"].read()
    attrs = dict(instrumented_bedrock.span().attributes)
    assert attrs["llm.response.tool_calls"] == 1 and attrs["llm.stop_reason"] == "tool_use"
    assert attrs["llm.tools.names"] == ("lookup",)
    assert_usage_matches(attrs, server.log[0])


def test_invoke_model_cohere_embed(client, instrumented_bedrock, server):
    body = {"texts": ["alpha", "beta"], "input_type": "search_document"}
    response = client.invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(body))
    assert len(json.loads(response["body"].read())["embeddings"]) == 2
    attrs = dict(instrumented_bedrock.span().attributes)
    assert attrs["llm.operation"] == "embeddings" and attrs["llm.prompt.message_count"] == 2
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.output"]) == (server.log[0].usage["input"], 0)


def test_invoke_model_embeddings_and_file_body(client, instrumented_bedrock, server):
    body = io.BytesIO(json.dumps({"inputText": "alpha beta gamma", "dimensions": 4}).encode())
    response = client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=body)
    assert len(json.loads(response["body"].read())["embedding"]) == 4  # the SDK read the body we peeked at
    attrs = dict(instrumented_bedrock.span().attributes)
    usage = server.log[0].usage
    assert attrs["llm.operation"] == "embeddings" and attrs["gen_ai.operation.name"] == "embeddings"
    assert (attrs["llm.tokens.input"], attrs["llm.tokens.output"]) == (usage["input"], 0)
    expected = reference_cost("aws", "amazon.titan-embed-text-v2:0", {"input": usage["input"]})
    assert attrs["llm.cost_usd"] == pytest.approx(expected, rel=1e-9)


# -- retries, errors, stream faults ----------------------------------------------------------------------------------


def test_retry_then_success_counts_the_attempts(client, instrumented_bedrock, server):
    with request_headers(headers("rate_limit,ok", call="retry-1")):
        client.converse(modelId=NOVA, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert [e.status for e in server.log][-1] == 200 and server.log[0].status == 429
    assert attrs["llm.retry_count"] == len(server.log) - 1 >= 1 and attrs["llm.success"] is True
    assert attrs["http.request.resend_count"] == attrs["llm.retry_count"]
    assert instrumented_bedrock.total("llm.retries", provider="bedrock") == len(server.log) - 1
    assert_usage_matches(attrs, server.log[-1])


def test_retry_then_success_is_one_retry(client, instrumented_bedrock, server):
    with request_headers(headers("rate_limit,ok")):
        client.converse(modelId=NOVA, messages=MESSAGES)
    assert [e.status for e in server.log] == [429, 200]
    assert instrumented_bedrock.span().attributes["llm.retry_count"] == 1


@pytest.mark.parametrize(
    ("plan", "error_type", "qualname"),
    [
        ("rate_limit", "rate_limit", "ThrottlingException"),
        ("server_error", "server_error", "InternalServerException"),
        ("overloaded", "overloaded", "ServiceUnavailableException"),
    ],
)
def test_retries_exhausted(client, instrumented_bedrock, server, plan, error_type, qualname):
    with request_headers(headers(plan)), pytest.raises(botocore.exceptions.ClientError) as info:
        client.converse(modelId=NOVA, messages=MESSAGES)
    span = instrumented_bedrock.span()
    attrs = dict(span.attributes)
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2 and len(server.log) == 3
    assert span.status.status_code.name == "ERROR"
    assert (attrs["llm.error.type"], attrs["error.type"], attrs["llm.retry_count"]) == (error_type, qualname, 2)
    assert attrs["llm.success"] is False and attrs["llm.stop_reason"] == "error"
    assert instrumented_bedrock.total("llm.calls", status="error", error_type=error_type) == 1
    assert instrumented_bedrock.total("llm.retries", provider="bedrock", model=NOVA) == 2
    assert instrumented_bedrock.points("llm.tokens") == [] and instrumented_bedrock.points("llm.cost.usd") == []


@pytest.mark.parametrize(
    ("plan", "error_type", "qualname"),
    [
        ("auth", "auth", "ClientError"),  # UnrecognizedClientException is not a modeled error: plain ClientError
        ("permission", "permission", "AccessDeniedException"),
        ("not_found", "not_found", "ResourceNotFoundException"),
        ("bad_request", "bad_request", "ValidationException"),
        ("context_length", "context_length", "ValidationException"),
    ],
)
def test_errors_not_retried(client, instrumented_bedrock, server, plan, error_type, qualname):
    with request_headers(headers(plan)), pytest.raises(botocore.exceptions.ClientError):
        client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert (attrs["llm.error.type"], attrs["error.type"], attrs["llm.retry_count"]) == (error_type, qualname, 0)
    assert len(server.log) == 1 and attrs["llm.streaming"] is True and "llm.ttft_ms" not in attrs


def test_error_status_from_the_botocore_response(client, instrumented_bedrock, server):
    with request_headers(headers("rate_limit")), pytest.raises(botocore.exceptions.ClientError):
        client.converse(modelId=NOVA, messages=MESSAGES)
    assert instrumented_bedrock.span().attributes["llm.error.status"] == 429


def test_timeout(server, instrumented_bedrock):
    client = make_client(server, read_timeout=0.15)
    with request_headers(headers("timeout:1")), pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.converse(modelId=NOVA, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert (attrs["llm.error.type"], attrs["error.type"]) == ("timeout", "ReadTimeoutError")
    assert attrs["llm.retry_count"] == 2 == len(server.log) - 1  # botocore retries read timeouts


def test_connection_refused(instrumented_bedrock):
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=0.5),
    )
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        client.converse(modelId=NOVA, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert (attrs["llm.error.type"], attrs["llm.retry_count"]) == ("connection", 0)


@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_stream_cut(client, instrumented_bedrock, server, operation):
    kwargs = {"messages": MESSAGES} if operation == "converse_stream" else {"body": json.dumps(ANTHROPIC_BODY)}
    with request_headers(headers("stream_cut")):
        response = getattr(client, operation)(modelId="anthropic.claude-3-haiku-20240307-v1:0", **kwargs)
        with pytest.raises(urllib3.exceptions.ProtocolError):  # the transport's own error, re-raised unchanged
            list(response["stream" if operation == "converse_stream" else "body"])
    span = instrumented_bedrock.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["llm.error.type"] == "connection" and span.attributes["llm.chunks"] == 2


def test_stream_with_bad_checksum(client, instrumented_bedrock, server):
    with request_headers(headers("malformed")):
        stream = client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"]
        with pytest.raises(eventstream.ChecksumMismatch):
            list(stream)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert attrs["llm.error.type"] == "invalid_response" and attrs["error.type"] == "ChecksumMismatch"


def test_content_filter_keeps_the_raw_reason(client, instrumented_bedrock, server):
    with request_headers(headers("content_filter")):
        reply = client.converse(modelId=NOVA, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert reply["stopReason"] == "content_filtered"
    assert attrs["gen_ai.response.finish_reasons"] == ("content_filtered",) and attrs["llm.success"] is True


def test_content_filter_is_normalized(client, instrumented_bedrock, server):
    with request_headers(headers("content_filter")):
        client.converse(modelId=NOVA, messages=MESSAGES)
    assert instrumented_bedrock.span().attributes["llm.stop_reason"] == "content_filter"


def test_mid_stream_exception_events_are_classified_by_code():
    for code, expected in (
        ("throttlingException", ErrorType.RATE_LIMIT),
        ("modelStreamErrorException", ErrorType.SERVER_ERROR),
        ("serviceUnavailableException", ErrorType.OVERLOADED),
        ("validationException", ErrorType.BAD_REQUEST),
    ):
        error = botocore.exceptions.EventStreamError({"Error": {"Code": code, "Message": "x"}}, "ConverseStream")
        assert first_row_kind(bedrock_provider, error) is expected, code


# -- scope, lifecycle -------------------------------------------------------------------------------------------------


def test_clients_made_before_instrument_and_other_services(server, telemetry):
    early = make_client(server)
    inst = BedrockInstrumentor()
    inst.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    inst.instrument()  # a second instrument() is a no-op: no double wrapping
    try:
        early.converse(modelId=NOVA, messages=MESSAGES)
        sts = boto3.client(
            "sts", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        with pytest.raises(ResponseParserError):  # the fake answers in OpenAI's JSON, not STS's XML
            sts.get_caller_identity()  # not an LLM call: untouched
        with pytest.raises(botocore.exceptions.ClientError):
            early.apply_guardrail(guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[])
        assert [s.attributes["llm.model"] for s in telemetry.spans()] == [NOVA]
    finally:
        inst.uninstrument()
    early.converse(modelId=NOVA, messages=MESSAGES)
    assert len(telemetry.spans()) == 1  # uninstrument() restored the originals
    from botocore.client import BaseClient
    from botocore.endpoint import Endpoint

    assert not isinstance(BaseClient.__dict__["_make_api_call"], wrapt.FunctionWrapper)
    assert not isinstance(Endpoint.__dict__["_send"], wrapt.FunctionWrapper)


def test_model_id_parsing():
    assert model_id(CLAUDE) == CLAUDE
    assert (
        model_id("global.anthropic.claude-sonnet-4-5-20250929-v1:0")
        == "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    )
    arn = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert model_id(arn) == "anthropic.claude-3-haiku-20240307-v1:0"
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0"
    assert model_id(profile) == "us.amazon.nova-pro-v1:0"
    app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert model_id(app) == app and model_id(None) is None


def test_arn_model_id_is_priced(client, instrumented_bedrock, server):
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + CLAUDE
    client.converse(modelId=arn, messages=MESSAGES)
    attrs = dict(instrumented_bedrock.span().attributes)
    assert server.log[0].model == arn and attrs["llm.model"] == CLAUDE
    assert attrs["llm.cost_usd"] == pytest.approx(reference_cost("aws", CLAUDE, server.log[0].usage), rel=1e-9)


# -- the error table --------------------------------------------------------------------------------------------------


def test_every_botocore_exception_is_covered_most_specific_first():
    listed = listed_classes(bedrock_provider)
    public = [
        cls
        for name, cls in vars(botocore.exceptions).items()
        if inspect.isclass(cls)
        and issubclass(cls, Exception)
        and not issubclass(cls, Warning)
        and cls.__module__ == "botocore.exceptions"
        and not name.startswith("_")
    ]
    uncovered = [c.__name__ for c in public if not any(issubclass(c, entry) for entry in listed)]
    # ClientError and EventStreamError are matched by error code (next test); the other two are raised while
    # botocore loads its service models, before any call.
    assert uncovered == ["ClientError", "EventStreamError", "UndefinedModelAttributeError", "MissingServiceIdError"]
    assert_most_specific_first(bedrock_provider)
    transport = (
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ResponseStreamingError",
        "NoCredentialsError",
        "ParamValidationError",
    )
    for name in transport:
        exc_class = getattr(botocore.exceptions, name)
        kind = next(k for m, k in bedrock_provider.errors() if isinstance(m, type) and issubclass(exc_class, m))
        assert kind is not ErrorType.UNKNOWN, name


def test_every_modeled_bedrock_error_code_is_mapped():
    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    codes = [shape.name for shape in service.error_shapes]
    assert len(codes) >= 12
    for code in codes:
        error = botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}}, "Converse")
        kind = first_row_kind(bedrock_provider, error)
        assert kind is not ErrorType.UNKNOWN, code


# -- the demo driver --------------------------------------------------------------------------------------------------


def test_demo_workload_metrics_equal_ground_truth(server, instrumented_bedrock):
    config = WorkloadConfig(calls=30, seed=1, providers=("bedrock",), fault_rate=0.3)
    truth = run_workload(server, config).to_json()
    assert {r["provider"] for r in truth["calls"]} == {"bedrock"}
    assert truth["totals"]["errors"] > 0 and truth["totals"]["retries"] > 0
    assert truth["totals"]["tokens"]["cache_read"] > 0
    telemetry = instrumented_bedrock
    call_keys = ("provider", "model", "status", "error_type", "streaming", "agent", "tenant")
    assert _points(telemetry, "llm.calls", call_keys) == _rows(truth["calls"], call_keys)
    token_keys = ("provider", "model", "type", "agent", "tenant")
    assert _points(telemetry, "llm.tokens", token_keys) == _rows(truth["tokens"], token_keys)
    cost_keys = ("provider", "model", "agent", "tenant")
    got, expected = _points(telemetry, "llm.cost.usd", cost_keys), _rows(truth["cost_usd"], cost_keys)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-15)
    assert _points(telemetry, "llm.retries", ("provider", "model")) == _rows(truth["retries"], ("provider", "model"))


def test_region_is_the_clients(server, instrumented_bedrock):
    """Two clients in two regions: each span says where its call went (same model, so the cached static
    attributes must be keyed by region too)."""
    for region in ("eu-west-1", "us-west-2"):
        make_client(server, region=region).converse(modelId=CLAUDE, messages=MESSAGES)
    assert [s.attributes["cloud.region"] for s in instrumented_bedrock.spans()] == ["eu-west-1", "us-west-2"]


# -- the reliability table's entry (tests/reliability: fuzzing, transparency, load, content safety) ----------


_BOTO3_DEFAULT_SESSION = threading.Lock()


def _bedrock_client(server: Any, headers: dict[str, str], retries: int = 0) -> Any:
    from llmtrace.demo.providers.bedrock import make_client

    with _BOTO3_DEFAULT_SESSION:  # boto3.client() uses the default session, which is not thread-safe
        client = make_client(server, max_attempts=retries + 1)

    def add_headers(request: Any, **kwargs: Any) -> None:
        for key, value in headers.items():
            request.headers[key] = value

    client.meta.events.register("before-sign.bedrock-runtime", add_headers)
    return client


def _bedrock_kwargs(prompt: Prompt) -> dict[str, Any]:
    spec = {
        "name": prompt.tool_name,
        "description": prompt.tool_description,
        "inputSchema": {"json": {"type": "object"}},
    }
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": prompt.user}]}]
    if prompt.tool_result is not None:
        use = {"toolUseId": TOOL_CALL_ID, "name": prompt.tool_name, "input": TOOL_ARGUMENTS}
        result = {"toolUseId": TOOL_CALL_ID, "content": [{"text": prompt.tool_result}]}
        messages += [
            {"role": "assistant", "content": [{"toolUse": use}]},
            {"role": "user", "content": [{"toolResult": result}]},
        ]
    return {
        "modelId": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "system": [{"text": prompt.system}],
        "messages": messages,
        "toolConfig": {"tools": [{"toolSpec": spec}]},
        "inferenceConfig": {"maxTokens": 64},
    }


def _bedrock_chat(client: Any, prompt: Prompt, stream: bool) -> Any:
    if stream:  # ConverseStream returns a dict; the event stream the user iterates is under "stream"
        return client.converse_stream(**_bedrock_kwargs(prompt))["stream"]
    return client.converse(**_bedrock_kwargs(prompt))


def _bedrock_frame(name: str | None, payload: Any) -> bytes:
    """One event-stream frame; a raw string payload goes as is (the fuzzer's junk), anything else as JSON."""
    headers = {":event-type": str(name), ":content-type": "application/json", ":message-type": "event"}
    return event_message(headers, (payload if isinstance(payload, str) else json.dumps(payload)).encode())


_BEDROCK_USAGE = {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17}
RELIABILITY_CASE = ProviderCase(
    name="bedrock",
    sdk="boto3",
    make_client=_bedrock_client,
    make_async_client=None,
    chat=_bedrock_chat,
    achat=None,
    response={
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Hello there"},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "lookup", "input": {"q": 1}}},
                ],
            }
        },
        "stopReason": "end_turn",
        "usage": _BEDROCK_USAGE,
        "metrics": {"latencyMs": 180},
    },
    stream_events=[
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "lo"}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": _BEDROCK_USAGE, "metrics": {"latencyMs": 240}}),
    ],
    encode=_bedrock_frame,
    stream_content_type="application/vnd.amazon.eventstream",
    sdk_chunk=lambda event, payload: {str(event): payload},
    error_body=lambda message: {"__type": "ValidationException", "message": message},
    volatile=(SDK_DATE, r"'RetryAttempts': \d+"),
)

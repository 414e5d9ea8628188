"""Amazon Bedrock Runtime wire format (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream) and the
demo's boto3 caller.

Served under ``/bedrock`` (the client's ``endpoint_url`` carries the prefix), paths as botocore builds them:
``/model/{modelId}/converse`` and friends, the model id percent-encoded. Errors are JSON ``{"message": ...}`` with the
code in ``x-amzn-ErrorType``; streams use the binary ``application/vnd.amazon.eventstream`` framing (prelude and
message CRC32s), which botocore's own parser reads. InvokeModel bodies follow each model family's native format
(Anthropic messages, Meta Llama, Amazon Nova, Titan text and embeddings, Mistral, Cohere chat and embed), with the
token counts in the ``x-amzn-bedrock-*-token-count`` headers and, in streams, in ``amazon-bedrock-invocationMetrics``.
Bedrock counts input tokens without the cached ones (cache reads/writes are reported apart), like Anthropic.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote

from ..fake_server import Exchange, Handler, Reply, StreamEvent, WireFormat, split_text
from . import DemoProvider

__all__ = ["DEMO", "PREFIX", "WIRE", "event_message", "make_client", "request_headers"]

PREFIX = "/bedrock"
_SUFFIXES = ("/converse", "/converse-stream", "/invoke", "/invoke-with-response-stream")
_STREAMED = ("/converse-stream", "/invoke-with-response-stream")
# fault -> (HTTP status, x-amzn-ErrorType code, message), as Bedrock Runtime answers them
_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "server_error": (500, "InternalServerException", "The server encountered an internal error."),
    "overloaded": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    "auth": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "permission": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
    "not_found": (404, "ResourceNotFoundException", "Could not resolve the foundation model from the model id."),
    "bad_request": (400, "ValidationException", "Malformed input request, please reformat your input and try again."),
    "context_length": (400, "ValidationException", "Input is too long for requested model."),
}
_MALFORMED = object()


def _split(path: str) -> tuple[str, str] | None:
    """(model id, operation suffix) of a Bedrock Runtime path, or None."""
    if not path.startswith(PREFIX + "/model/"):
        return None
    rest = path[len(PREFIX + "/model/") :]
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if rest.endswith(suffix):
            return unquote(rest[: -len(suffix)]), suffix
    return None


def _describe(path: str, body: dict[str, Any]) -> tuple[str, bool]:
    model, suffix = _split(path) or ("", "")
    return model, suffix in _STREAMED


def _route(path: str) -> Callable[[Handler, Reply, dict[str, Any]], None] | None:
    found = _split(path)
    if found is None:
        return None
    return _converse if found[1].startswith("/converse") else _invoke


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """``{"message": ...}`` with the error code in ``x-amzn-ErrorType`` (what botocore's rest-json parser reads)."""
    status, code, message = _ERRORS[fault]
    exchange.status = status
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
    }
    handler.send_json(status, {"message": message}, headers)


# -- event stream framing ------------------------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    key, data = name.encode(), value.encode()
    return struct.pack("!B", len(key)) + key + b"\x07" + struct.pack("!H", len(data)) + data  # 7 = string


def event_message(headers: dict[str, str], payload: bytes, *, corrupt: bool = False) -> bytes:
    """One ``application/vnd.amazon.eventstream`` message: prelude (lengths + CRC32), headers, payload, CRC32."""
    packed = b"".join(_header(k, v) for k, v in headers.items())
    prelude = struct.pack("!II", 12 + len(packed) + len(payload) + 4, len(packed))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + packed + payload
    crc = zlib.crc32(message) ^ (0xFFFFFFFF if corrupt else 0)
    return message + struct.pack("!I", crc)


def _encode_event(name: str | None, data: Any) -> bytes:
    if data is _MALFORMED:  # a frame whose checksum does not match: botocore's parser raises ChecksumMismatch
        return event_message({":event-type": str(name), ":message-type": "event"}, b'{"p":"x"}', corrupt=True)
    headers = {":event-type": str(name), ":content-type": "application/json", ":message-type": "event"}
    return event_message(headers, json.dumps(data).encode())


def _chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """An InvokeModelWithResponseStream ``chunk`` event: the model's JSON, base64 in ``bytes``."""
    return {"bytes": base64.b64encode(json.dumps(payload).encode()).decode()}


# -- Converse ------------------------------------------------------------------------------------------------------


def _stop_reason(reply: Reply) -> str:
    if reply.tool_name:
        return "tool_use"
    return "content_filtered" if reply.exchange.fault == "content_filter" else "end_turn"


def _usage(u: dict[str, int]) -> dict[str, int]:
    """Converse ``TokenUsage``: inputTokens excludes cache reads and writes; totalTokens counts everything."""
    usage = {
        "inputTokens": u["input"] - u["cache_read"] - u["cache_write"],
        "outputTokens": u["output"],
        "totalTokens": u["input"] + u["output"],
    }
    if u["cache_read"]:
        usage["cacheReadInputTokens"] = u["cache_read"]
    if u["cache_write"]:
        usage["cacheWriteInputTokens"] = u["cache_write"]
    return usage


def _converse(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.finish_reason = stop = _stop_reason(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        return handler.send_stream(reply, _converse_events(reply, stop), **_STREAM)
    content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
    if reply.tool_name:
        tool = {"toolUseId": "tooluse_" + uuid.uuid4().hex[:22], "name": reply.tool_name}
        content.append({"toolUse": {**tool, "input": json.loads(reply.tool_args)}})
    payload = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": _usage(reply.usage),
        "metrics": {"latencyMs": 180},
    }
    ex.response_id = str(uuid.uuid4())
    handler.send_json(200, payload, {"x-amzn-RequestId": ex.response_id}, cut=ex.fault == "stream_cut")


def _converse_events(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    yield "messageStart", {"p": "abcdefgh", "role": "assistant"}, False
    if reply.tool_name:
        start = {"toolUse": {"toolUseId": "tooluse_" + uuid.uuid4().hex[:22], "name": reply.tool_name}}
        yield "contentBlockStart", {"contentBlockIndex": 0, "start": start, "p": "abcd"}, False
        for piece in split_text(reply.tool_args, 3):
            yield "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}, "p": "ab"}, True
    else:
        for piece in reply.pieces:
            yield "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}, "p": "abcdef"}, True
    yield "contentBlockStop", {"contentBlockIndex": 0, "p": "abcdefghij"}, False
    yield "messageStop", {"stopReason": stop, "p": "abcdefghijkl"}, False
    metadata = {"usage": _usage(reply.usage), "metrics": {"latencyMs": 240}, "p": "abc"}
    yield "metadata", metadata, False


_STREAM: dict[str, Any] = {
    "content_type": "application/vnd.amazon.eventstream",
    "encode": _encode_event,
    "malformed": _MALFORMED,
}


# -- InvokeModel: each model family's native body --------------------------------------------------------------------


_FAMILIES = (
    "anthropic.",
    "meta.",
    "amazon.nova",
    "amazon.titan-embed",
    "amazon.titan-text",
    "mistral.",
    "cohere.embed",
    "cohere.command",
)


def _family(model: str) -> str:
    for marker in _FAMILIES:
        if marker in model:
            return marker.rstrip(".")
    return "anthropic"


def _invocation_metrics(u: dict[str, int]) -> dict[str, int]:
    metrics = {
        "inputTokenCount": u["input"] - u["cache_read"] - u["cache_write"],
        "outputTokenCount": u["output"],
        "invocationLatency": 240,
        "firstByteLatency": 90,
    }
    if u["cache_read"]:
        metrics["cacheReadInputTokenCount"] = u["cache_read"]
    if u["cache_write"]:
        metrics["cacheWriteInputTokenCount"] = u["cache_write"]
    return metrics


def _token_headers(u: dict[str, int]) -> dict[str, str]:
    headers = {
        "x-amzn-bedrock-input-token-count": str(u["input"] - u["cache_read"] - u["cache_write"]),
        "x-amzn-bedrock-output-token-count": str(u["output"]),
        "x-amzn-bedrock-invocation-latency": "240",
    }
    if u["cache_read"]:
        headers["x-amzn-bedrock-cache-read-input-token-count"] = str(u["cache_read"])
    if u["cache_write"]:
        headers["x-amzn-bedrock-cache-write-input-token-count"] = str(u["cache_write"])
    return headers


def _invoke(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    family = _family(ex.model)
    if family in ("amazon.titan-embed", "cohere.embed"):
        return _embed(handler, reply, body, family)
    stop = _FAMILY_STOP[family](reply)
    ex.finish_reason = stop
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        events = (("chunk", _chunk(data), content) for _, data, content in _FAMILY_STREAM[family](reply, stop))
        return handler.send_stream(reply, events, **_STREAM)
    ex.response_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": ex.response_id, **_token_headers(reply.usage)}
    handler.send_json(200, _FAMILY_BODY[family](reply, stop), headers, cut=ex.fault == "stream_cut")


def _anthropic_body(reply: Reply, stop: str) -> dict[str, Any]:
    from .anthropic import _anthropic_usage

    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    if reply.tool_name:
        tool = {"type": "tool_use", "id": "toolu_bdrk_" + uuid.uuid4().hex[:20], "name": reply.tool_name}
        content.append({**tool, "input": json.loads(reply.tool_args)})
    usage = _anthropic_usage(reply.usage)
    usage.pop("service_tier", None)
    return {
        "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": reply.exchange.model.split("anthropic.", 1)[-1].rsplit("-v", 1)[0],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


def _anthropic_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    from .anthropic import _anthropic_events

    message = _anthropic_body(reply, stop)
    for name, data, content in _anthropic_events(reply, message["model"], stop):
        if name == "ping":
            continue
        if name == "message_start":
            data["message"]["id"] = message["id"]
            data["message"]["usage"].pop("service_tier", None)
        if name == "message_stop":
            data = {**data, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}
        yield "chunk", data, content


def _llama_body(reply: Reply, stop: str) -> dict[str, Any]:
    u = reply.usage
    return {
        "generation": reply.text,
        "prompt_token_count": u["input"] - u["cache_read"] - u["cache_write"],
        "generation_token_count": u["output"],
        "stop_reason": stop,
    }


def _llama_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    for i, piece in enumerate(reply.pieces):
        first = _llama_body(reply, stop)["prompt_token_count"] if i == 0 else None
        part = {"generation": piece, "prompt_token_count": first, "generation_token_count": i + 1, "stop_reason": None}
        yield "chunk", part, True
    final = {**_llama_body(reply, stop), "generation": ""}
    final["prompt_token_count"] = None
    yield "chunk", {**final, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}, False


def _nova_usage(u: dict[str, int]) -> dict[str, int]:
    usage = {
        "inputTokens": u["input"] - u["cache_read"] - u["cache_write"],
        "outputTokens": u["output"],
        "totalTokens": u["input"] + u["output"],
        "cacheReadInputTokenCount": u["cache_read"],
        "cacheWriteInputTokenCount": u["cache_write"],
    }
    return usage


def _nova_body(reply: Reply, stop: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
    if reply.tool_name:
        tool = {"toolUseId": "tooluse_" + uuid.uuid4().hex[:22], "name": reply.tool_name}
        content.append({"toolUse": {**tool, "input": json.loads(reply.tool_args)}})
    message = {"role": "assistant", "content": content}
    return {"output": {"message": message}, "stopReason": stop, "usage": _nova_usage(reply.usage)}


def _nova_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    for name, data, content in _converse_events(reply, stop):
        data = {k: v for k, v in data.items() if k != "p"}
        if name == "metadata":
            data["usage"] = _nova_usage(reply.usage)
            yield "chunk", {name: data, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}, False
        else:
            yield "chunk", {name: data}, content


def _mistral_body(reply: Reply, stop: str) -> dict[str, Any]:
    return {"outputs": [{"text": reply.text, "stop_reason": stop}]}


def _mistral_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    for piece in reply.pieces:
        yield "chunk", {"outputs": [{"text": piece, "stop_reason": None}]}, True
    final = {"outputs": [{"text": "", "stop_reason": stop}]}
    yield "chunk", {**final, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}, False


def _titan_text_body(reply: Reply, stop: str) -> dict[str, Any]:
    u = reply.usage
    result = {"tokenCount": u["output"], "outputText": reply.text, "completionReason": stop}
    return {"inputTextTokenCount": u["input"] - u["cache_read"] - u["cache_write"], "results": [result]}


def _titan_text_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    uncached = _titan_text_body(reply, stop)["inputTextTokenCount"]
    for i, piece in enumerate(reply.pieces):
        part = {"outputText": piece, "index": 0, "totalOutputTextTokenCount": i + 1, "completionReason": None}
        yield "chunk", {**part, "inputTextTokenCount": uncached if i == 0 else None}, True
    final = {"outputText": "", "index": 0, "totalOutputTextTokenCount": reply.usage["output"], "completionReason": stop}
    yield "chunk", {**final, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}, False


def _cohere_body(reply: Reply, stop: str) -> dict[str, Any]:
    return {
        "response_id": str(uuid.uuid4()),
        "text": reply.text,
        "generation_id": str(uuid.uuid4()),
        "chat_history": [{"role": "CHATBOT", "message": reply.text}],
        "finish_reason": stop,
    }


def _cohere_stream(reply: Reply, stop: str) -> Iterator[StreamEvent]:
    body = _cohere_body(reply, stop)
    yield "chunk", {"is_finished": False, "event_type": "stream-start", "generation_id": body["generation_id"]}, False
    for piece in reply.pieces:
        yield "chunk", {"is_finished": False, "event_type": "text-generation", "text": piece}, True
    final = {"is_finished": True, "event_type": "stream-end", "finish_reason": stop, "response": body}
    yield "chunk", {**final, "amazon-bedrock-invocationMetrics": _invocation_metrics(reply.usage)}, False


def _embed(handler: Handler, reply: Reply, body: dict[str, Any], family: str) -> None:
    """Titan (``inputText`` -> ``embedding``, with its token count) and Cohere (``texts`` -> ``embeddings``)."""
    ex = reply.exchange
    ex.usage, ex.text = {"input": reply.usage["input"], "output": 0}, ""
    rng = random.Random(json.dumps(body, sort_keys=True))

    def vector() -> list[float]:
        return [round(rng.uniform(-1, 1), 6) for _ in range(int(body.get("dimensions") or 8))]

    if family == "cohere.embed":
        texts = body.get("texts") or []
        payload: dict[str, Any] = {"embeddings": [vector() for _ in texts], "id": str(uuid.uuid4()), "texts": texts}
        payload["response_type"] = "embeddings_floats"
    else:
        payload = {"embedding": vector(), "inputTextTokenCount": reply.usage["input"]}
    ex.response_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": ex.response_id, **_token_headers({**reply.usage, "output": 0})}
    handler.send_json(200, payload, headers)


def _text_stop(reply: Reply) -> str:
    return "stop"


_FAMILY_STOP: dict[str, Callable[[Reply], str]] = {
    "anthropic": lambda r: "tool_use" if r.tool_name else "end_turn",
    "meta": _text_stop,
    "amazon.nova": _stop_reason,
    "mistral": _text_stop,
    "amazon.titan-text": lambda r: "FINISH",
    "cohere.command": lambda r: "COMPLETE",
}
_FAMILY_BODY = {
    "anthropic": _anthropic_body,
    "meta": _llama_body,
    "amazon.nova": _nova_body,
    "mistral": _mistral_body,
    "amazon.titan-text": _titan_text_body,
    "cohere.command": _cohere_body,
}
_FAMILY_STREAM = {
    "anthropic": _anthropic_stream,
    "meta": _llama_stream,
    "amazon.nova": _nova_stream,
    "mistral": _mistral_stream,
    "amazon.titan-text": _titan_text_stream,
    "cohere.command": _cohere_stream,
}

WIRE = WireFormat("bedrock", _route, send_error, _describe)


# -- the demo's caller ------------------------------------------------------------------------------------------------

_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("llmtrace_demo_bedrock_headers", default=None)


def _add_headers(request: Any, **kwargs: Any) -> None:
    """before-sign handler: the headers of the current ``request_headers()`` block go on every HTTP attempt."""
    headers = _HEADERS.get()
    if headers:
        for key, value in headers.items():
            request.headers[key] = value


@contextlib.contextmanager
def request_headers(headers: dict[str, str]) -> Iterator[None]:
    """Send ``headers`` with the calls made inside the block (boto3 has no per-call ``extra_headers``)."""
    token = _HEADERS.set(headers)
    try:
        yield
    finally:
        _HEADERS.reset(token)


def _quick_retries(client: Any, max_attempts: int) -> None:
    """botocore's standard retry policy with millisecond backoff: botocore's own is up to 1-2 s per throttled
    retry and has no setting for it. Same checks, same retry quota, only the delay differs."""
    from botocore.retries import quota, standard

    name = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    events.unregister(f"needs-retry.{name}", unique_id=f"retry-config-{name}")
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    retry_quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
    backoff = standard.ExponentialBackoff(
        random=lambda: random.random() * 0.01, service_name=name, throttling_detector=detector
    )
    policy = standard.RetryPolicy(standard.StandardRetryConditions(max_attempts=max_attempts), backoff)
    handler = standard.RetryHandler(policy, adapter, retry_quota, service_name=name)
    events.register(f"after-call.{name}", retry_quota.release_retry_quota)
    events.register(f"needs-retry.{name}", handler.needs_retry, unique_id=f"retry-config-{name}")


def make_client(server: Any, *, max_attempts: int = 3, read_timeout: float = 5.0, region: str = "us-east-1") -> Any:
    """A real ``bedrock-runtime`` client against the fake server: SDK retries on (2 retries), short backoff."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        read_timeout=read_timeout,
        connect_timeout=2.0,
    )
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.url + PREFIX,
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="demo-secret",
        config=config,
    )
    client.meta.events.register("before-sign.bedrock-runtime", _add_headers)
    _quick_retries(client, max_attempts)
    return client


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One Converse call (ConverseStream when the plan streams), the plan's headers on every attempt."""
    kwargs: dict[str, Any] = {
        "modelId": plan.model,
        "system": [{"text": plan.system()}],
        "messages": [{"role": m["role"], "content": [{"text": m["content"]}]} for m in plan.messages()],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.3},
    }
    with request_headers(headers):
        if not plan.streaming:
            client.converse(**kwargs)
            return
        for _ in client.converse_stream(**kwargs)["stream"]:
            pass


DEMO = DemoProvider(
    "bedrock",
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "amazon.nova-pro-v1:0"),
    make_client,
    call,
    cache_write=True,
    price_provider="aws",
)

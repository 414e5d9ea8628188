"""Mistral wire format (chat and FIM completions, embeddings; JSON and SSE) and the demo's Mistral caller.

Served under ``/mistral`` because ``/v1/chat/completions`` is OpenAI's path on the fake server; the SDK keeps the
base path of ``server_url``. Usage is Mistral's: ``prompt_tokens`` includes cached tokens, which are reported in
``prompt_tokens_details.cached_tokens`` (no cache-write or reasoning counts). The stream's last chunk carries the
finish reason and the usage, then ``data: [DONE]``. Errors are ``{"object": "error", ...}`` bodies; 429s carry
``Retry-After``; a guardrail block (the content_filter fault) is a 403. The SDK sends no retry-count header, so
the attempt index comes from ``x-llmtrace-call``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id
from . import DemoProvider

__all__ = ["BACKOFF_MS", "DEMO", "PREFIX", "WIRE", "retry_config"]

PREFIX = "/mistral"
# The SDK bounds retries by elapsed time, not by a count: sleeping BACKOFF_MS between attempts and giving up once
# 2 * BACKOFF_MS - 1 ms have passed makes exactly three attempts (two retries) while an attempt takes < 50 ms.
BACKOFF_MS = 100
RETRY_AFTER = str(BACKOFF_MS / 1000)
# fault -> (Mistral error type, error code)
_ERROR_CODES: dict[str, tuple[str, str | None]] = {
    "rate_limit": ("rate_limit_error", "1300"),
    "server_error": ("server_error", None),
    "overloaded": ("server_error", None),
    "auth": ("authentication_error", None),
    "permission": ("invalid_request_error", None),
    "not_found": ("invalid_request_error", "unknown_model"),
    "bad_request": ("invalid_request_error", None),
    "context_length": ("invalid_request_error", None),
}


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Mistral's error body; 429s carry Retry-After (seconds), which the SDK's backoff honours."""
    status, message = ERRORS[fault]
    kind, code = _ERROR_CODES[fault]
    headers = {"retry-after": RETRY_AFTER} if fault == "rate_limit" else {}
    exchange.status = status
    body = {"object": "error", "message": message, "type": kind, "param": None, "code": code}
    handler.send_json(status, body, headers)


def _guardrail_block(handler: Handler, exchange: Exchange) -> None:
    """A request blocked by a guardrail (``guardrails=[...]`` on the call): Mistral answers 403, not a 200."""
    exchange.status, exchange.usage, exchange.text = 403, None, ""
    result = {"blocked": True, "categories": {"violence_and_threats": True}, "scores": {"violence_and_threats": 0.97}}
    body = {
        "error": {"message": "Content blocked by guardrail", "status": 403},
        "guardrails": {"results": {"moderation_llm_v2": result}},
    }
    handler.send_json(403, body)


def _usage(reply: Reply) -> dict[str, Any]:
    """Usage as Mistral reports it; the exchange keeps only what was reported."""
    u = reply.usage
    usage: dict[str, Any] = {
        "prompt_tokens": u["input"],
        "completion_tokens": u["output"],
        "total_tokens": u["input"] + u["output"],
    }
    if u["cache_read"]:
        usage["prompt_tokens_details"] = {"cached_tokens": u["cache_read"]}
    reported = {"input": u["input"], "output": u["output"], "cache_read": u["cache_read"]}
    reply.exchange.usage = {k: v for k, v in reported.items() if v or k != "cache_read"}
    return usage


def _tool_call(reply: Reply) -> dict[str, Any]:
    call_id = rand_id(reply.exchange)[:9]  # Mistral tool-call ids are 9 characters
    return {"id": call_id, "type": "function", "function": {"name": reply.tool_name, "arguments": reply.tool_args}}


def _chat(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    if ex.fault == "content_filter":
        return _guardrail_block(handler, ex)
    ex.response_id = "cmpl-" + rand_id(ex)
    finish = "tool_calls" if reply.tool_name else "stop"
    ex.finish_reason = finish
    usage = _usage(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        return handler.send_stream(reply, _chat_events(reply, finish, usage))
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "tool_calls": None, "prefix": False}
    if reply.tool_name:
        message["tool_calls"] = [{**_tool_call(reply), "index": 0}]
    payload = {
        "id": ex.response_id,
        "object": "chat.completion",
        "model": ex.model,
        "usage": usage,
        "created": 1_760_000_000,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
    }
    handler.send_json(200, payload, cut=ex.fault == "stream_cut")


def _chat_events(reply: Reply, finish: str, usage: dict[str, Any]) -> Iterator[StreamEvent]:
    ex = reply.exchange

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        head = {"id": ex.response_id, "object": "chat.completion.chunk", "created": 1_760_000_000}
        return {**head, "model": ex.model, "choices": [choice], **extra}

    yield None, chunk({"role": "assistant", "content": ""}), False
    if reply.tool_name:  # Mistral streams a tool call whole, in one delta
        yield None, chunk({"tool_calls": [{**_tool_call(reply), "index": 0}]}), True
    for piece in reply.pieces:
        yield None, chunk({"content": piece}), True
    yield None, chunk({"content": ""}, finish, usage=usage), False
    yield None, "[DONE]", False


def _embeddings(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rng = random.Random(json.dumps(inputs))
    count = reply.usage["input"]
    ex.usage, ex.text, ex.response_id = {"input": count, "output": 0}, "", "embd-" + rand_id(ex)
    data = [
        {"object": "embedding", "embedding": [round(rng.uniform(-1, 1), 6) for _ in range(8)], "index": i}
        for i in range(len(inputs))
    ]
    usage = {"prompt_tokens": count, "total_tokens": count, "completion_tokens": 0}
    handler.send_json(200, {"id": ex.response_id, "object": "list", "data": data, "model": ex.model, "usage": usage})


_ROUTES: dict[str, Route] = {
    PREFIX + "/v1/chat/completions": _chat,
    PREFIX + "/v1/fim/completions": _chat,  # same response and chunk shapes as chat
    PREFIX + "/v1/embeddings": _embeddings,
}
WIRE = WireFormat("mistral", _ROUTES.get, send_error)


def retry_config(backoff_ms: int = BACKOFF_MS) -> Any:
    """The SDK's own retries (429/5xx/connection errors): three attempts in all, ``backoff_ms`` apart, no jitter."""
    from mistralai.client.utils.retries import BackoffStrategy, RetryConfig

    return RetryConfig("backoff", BackoffStrategy(backoff_ms, backoff_ms, 1.5, 2 * backoff_ms - 1, 0), True)


def make_client(server: Any) -> Any:
    from mistralai.client import Mistral

    return Mistral(api_key="demo", server_url=server.url + PREFIX, retry_config=retry_config(), timeout_ms=5000)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat completion, streamed when the plan says so (Mistral's stream always ends with usage)."""
    messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
    kwargs: dict[str, Any] = {"model": plan.model, "messages": messages, "max_tokens": 200, "http_headers": headers}
    if not plan.streaming:
        client.chat.complete(**kwargs)
        return
    for _ in client.chat.stream(**kwargs):
        pass


DEMO = DemoProvider(
    "mistral", ("mistral-small-latest", "mistral-medium-latest"), make_client, call, cache_read=True, cache_write=False
)

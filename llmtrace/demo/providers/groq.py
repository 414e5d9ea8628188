"""Groq wire format (OpenAI-shaped chat completions and embeddings under ``/openai/v1``; JSON and SSE) and the
demo's Groq caller.

Served under ``/groq`` (the SDK's ``base_url``), so ``/groq/openai/v1/...`` cannot collide with OpenAI's
``/v1/...`` on the fake server. What is Groq's own: usage carries timings (``queue_time``, ``prompt_time``,
``completion_time``, ``total_time``) beside the counts, cached prompt tokens are in
``prompt_tokens_details.cached_tokens`` (a subset of ``prompt_tokens``); every response has an ``x_groq`` object
with the request id, and a stream's last chunk (the one with the finish reason) carries the usage in
``x_groq.usage`` (a separate ``usage`` chunk follows only when the request asked for
``stream_options.include_usage``). A tool call streams whole, in one delta. Errors are OpenAI-shaped
``{"error": {...}}`` bodies; 429s carry ``retry-after`` and the ``x-ratelimit-*`` headers; an ``overloaded`` fault on
a ``service_tier="flex"`` request is Groq's 498 (flex capacity exceeded), else a 503. The SDK sends
``x-stainless-retry-count``, which the server reads as the attempt index.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id
from . import DemoProvider

__all__ = ["DEMO", "PREFIX", "WIRE"]

PREFIX = "/groq"
FLEX_CAPACITY = (498, "Flex tier capacity exceeded. This model is currently at capacity, please try again later.")
# fault -> (Groq error type, error code)
_ERROR_CODES: dict[str, tuple[str, str | None]] = {
    "rate_limit": ("tokens", "rate_limit_exceeded"),
    "server_error": ("internal_server_error", None),
    "overloaded": ("internal_server_error", "service_unavailable"),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "permission": ("permissions_error", "permission_denied"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
    "context_length": ("invalid_request_error", "context_length_exceeded"),
}
_RATE_LIMIT_HEADERS = {
    "retry-after": "0.01",  # Groq sends whole seconds; the fake keeps tests fast (the SDK takes fractions)
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "6000",
    "x-ratelimit-remaining-requests": "14399",
    "x-ratelimit-remaining-tokens": "0",
    "x-ratelimit-reset-requests": "6s",
    "x-ratelimit-reset-tokens": "7.66s",
}


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Groq's ``{"error": {...}}`` body with its status (498 for an overloaded flex-tier request)."""
    status, message = ERRORS[fault]
    kind, code = _ERROR_CODES[fault]
    if fault == "overloaded" and (exchange.request_body or {}).get("service_tier") == "flex":
        (status, message), kind, code = FLEX_CAPACITY, "capacity_exceeded", "capacity_exceeded"
    headers = dict(_RATE_LIMIT_HEADERS) if fault == "rate_limit" else {}
    headers["x-request-id"] = "req_" + rand_id(exchange)
    exchange.status = status
    handler.send_json(status, {"error": {"message": message, "type": kind, "code": code}}, headers)


def _usage(reply: Reply) -> dict[str, Any]:
    """Counts and timings as Groq reports them; the exchange keeps the counts Groq reports (no cache writes)."""
    u = reply.usage
    usage: dict[str, Any] = {
        "queue_time": 0.0172,
        "prompt_tokens": u["input"],
        "prompt_time": 0.0021,
        "completion_tokens": u["output"],
        "completion_time": 0.0413,
        "total_tokens": u["input"] + u["output"],
        "total_time": 0.0434,
    }
    if u["cache_read"]:
        usage["prompt_tokens_details"] = {"cached_tokens": u["cache_read"]}
    if u["reasoning"]:
        usage["completion_tokens_details"] = {"reasoning_tokens": u["reasoning"]}
    reported = {k: v for k, v in u.items() if k != "cache_write"}
    reply.exchange.usage = {k: v for k, v in reported.items() if v or k in ("input", "output")}
    return usage


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    function = {"name": reply.tool_name, "arguments": reply.tool_args}
    return [{"id": "call_" + rand_id(reply.exchange)[:20], "type": "function", "function": function}]


def _chat(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "chatcmpl-" + rand_id(ex)
    finish = "tool_calls" if reply.tool_name else "content_filter" if ex.fault == "content_filter" else "stop"
    ex.finish_reason = finish
    usage = _usage(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    request_id = "req_" + rand_id(ex)
    if ex.stream:
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return handler.send_stream(reply, _chat_events(reply, finish, usage, request_id, wants_usage))
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_name:
        message["tool_calls"] = _tool_calls(reply)
    payload = {
        "id": ex.response_id,
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": ex.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
        "usage_breakdown": None,
        "system_fingerprint": "fp_groqfake",
        "x_groq": {"id": request_id},
        "service_tier": body.get("service_tier") or "on_demand",
    }
    handler.send_json(200, payload, {"x-request-id": request_id}, cut=ex.fault == "stream_cut")


def _chat_events(
    reply: Reply, finish: str, usage: dict[str, Any], request_id: str, wants_usage: bool
) -> Iterator[StreamEvent]:
    ex = reply.exchange
    head = {"id": ex.response_id, "object": "chat.completion.chunk", "created": 1_760_000_000, "model": ex.model}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**head, "system_fingerprint": "fp_groqfake", "choices": [choice], **extra}

    yield None, chunk({"role": "assistant", "content": ""}, x_groq={"id": request_id}), False
    if reply.tool_name:
        yield None, chunk({"tool_calls": [{**_tool_calls(reply)[0], "index": 0}]}), True
    for piece in reply.pieces:
        yield None, chunk({"content": piece}), True
    yield None, chunk({}, finish, x_groq={"id": request_id, "usage": usage}), False
    if wants_usage:
        yield None, {**head, "choices": [], "usage": usage}, False
    yield None, "[DONE]", False


def _embeddings(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """One vector per input text, seeded by the text; usage counts input tokens only."""
    ex = reply.exchange
    given = body.get("input")
    count = reply.usage["input"]
    ex.usage, ex.text = {"input": count, "output": 0}, ""
    data = [
        {"object": "embedding", "index": i, "embedding": _vector(text)}
        for i, text in enumerate(given if isinstance(given, list) else [given])
    ]
    usage = {"prompt_tokens": count, "total_tokens": count}
    x_groq = {"id": "req_" + rand_id(ex)}
    handler.send_json(200, {"object": "list", "data": data, "model": ex.model, "usage": usage, "x_groq": x_groq})


def _vector(text: Any) -> list[float]:
    rng = random.Random(json.dumps(text))
    return [round(rng.uniform(-1, 1), 6) for _ in range(8)]


_ROUTES: dict[str, Route] = {
    PREFIX + "/openai/v1/chat/completions": _chat,
    PREFIX + "/openai/v1/embeddings": _embeddings,
}
WIRE = WireFormat("groq", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    import groq

    return groq.Groq(api_key="gsk_demo", base_url=server.url + PREFIX, max_retries=2, timeout=5.0)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat completion, streamed when the plan says so (Groq's stream always ends with its usage)."""
    messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
    kwargs: dict[str, Any] = {
        "model": plan.model,
        "messages": messages,
        "max_completion_tokens": 200,
        "extra_headers": headers,
    }
    if not plan.streaming:
        client.chat.completions.create(**kwargs)
        return
    for _ in client.chat.completions.create(**kwargs, stream=True):
        pass


DEMO = DemoProvider("groq", ("llama-3.3-70b-versatile", "openai/gpt-oss-20b"), make_client, call)

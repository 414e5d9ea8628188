"""Anthropic wire format (messages; JSON and SSE, cache and thinking tokens, 529 overloaded) and the demo's caller."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, WireFormat, rand_id, split_text
from . import DemoProvider
from .openai import RESPONSE_MODELS

__all__ = ["DEMO", "WIRE"]

_ERROR_TYPES = {
    "rate_limit": "rate_limit_error",
    "server_error": "api_error",
    "overloaded": "overloaded_error",
    "auth": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "bad_request": "invalid_request_error",
    "context_length": "invalid_request_error",
}


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Anthropic's ``{"type": "error", "error": {...}}`` body; overloaded is its own 529."""
    status, message = ERRORS[fault]
    exchange.status = 529 if fault == "overloaded" else status
    headers = {"retry-after": "0.01", "retry-after-ms": "10"} if fault == "rate_limit" else {}
    headers["request-id"] = "req_" + rand_id(exchange)
    payload = {"type": "error", "error": {"type": _ERROR_TYPES[fault], "message": message}}
    handler.send_json(exchange.status, payload, headers)


def _anthropic_usage(u: dict[str, int], output: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": u["input"] - u["cache_read"] - u["cache_write"],
        "cache_creation_input_tokens": u["cache_write"],
        "cache_read_input_tokens": u["cache_read"],
        "output_tokens": u["output"] if output is None else output,
        "service_tier": "standard",
    }
    if u["reasoning"]:
        usage["output_tokens_details"] = {"thinking_tokens": u["reasoning"]}
    return usage


def _anthropic_messages(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "msg_" + rand_id(ex)
    stop = "tool_use" if reply.tool_name else "refusal" if ex.fault == "content_filter" else "end_turn"
    ex.finish_reason = stop
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    model = RESPONSE_MODELS.get(ex.model, ex.model)
    if not ex.stream:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        if reply.tool_name:
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_" + rand_id(ex),
                    "name": reply.tool_name,
                    "input": json.loads(reply.tool_args),
                }
            )
        payload = {
            "id": ex.response_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": _anthropic_usage(reply.usage),
        }
        return handler.send_json(200, payload, {"request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    handler.send_stream(reply, _anthropic_events(reply, model, stop))


def _anthropic_events(reply: Reply, model: str, stop: str) -> Iterator[Any]:
    ex = reply.exchange
    message = {
        "id": ex.response_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _anthropic_usage(reply.usage, output=1),
    }
    yield "message_start", {"type": "message_start", "message": message}, False
    if reply.tool_name:
        block = {"type": "tool_use", "id": "toolu_" + rand_id(ex), "name": reply.tool_name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in split_text(reply.tool_args, 3)]
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in reply.pieces]
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}, False
    yield "ping", {"type": "ping"}, False
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}, True
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}, False
    usage = {"output_tokens": reply.usage["output"]}
    if reply.usage["reasoning"]:
        usage["output_tokens_details"] = {"thinking_tokens": reply.usage["reasoning"]}  # type: ignore[assignment]
    delta_event = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": usage}
    yield "message_delta", delta_event, False
    yield "message_stop", {"type": "message_stop"}, False


WIRE = WireFormat("anthropic", lambda path: _anthropic_messages if path == "/v1/messages" else None, send_error)


def make_client(server: Any) -> Any:
    import anthropic

    return anthropic.Anthropic(api_key="sk-ant-demo", base_url=server.anthropic_base_url, max_retries=2, timeout=5.0)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One message; streamed calls use the ``messages.stream()`` helper and its ``text_stream``."""
    kwargs: dict[str, Any] = {
        "model": plan.model,
        "system": plan.system(),
        "messages": plan.messages(),
        "max_tokens": 200,
        "extra_headers": headers,
    }
    if not plan.streaming:
        client.messages.create(**kwargs)
        return
    with client.messages.stream(**kwargs) as stream:
        for _ in stream.text_stream:
            pass


DEMO = DemoProvider("anthropic", ("claude-sonnet-4-6", "claude-haiku-4-5"), make_client, call, cache_write=True)

"""OpenAI wire format (chat completions, legacy completions, responses, embeddings; JSON and SSE) and the demo's
OpenAI caller."""

from __future__ import annotations

import base64
import json
import random
import struct
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, WireFormat, rand_id, split_text
from . import DemoProvider

__all__ = ["DEMO", "RESPONSE_MODELS", "WIRE"]

RESPONSE_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
}
# fault -> (error type, error code) in OpenAI's error body
_ERROR_CODES: dict[str, tuple[str, str | None]] = {
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "server_error": ("server_error", None),
    "overloaded": ("server_error", "overloaded"),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "permission": ("invalid_request_error", "permission_denied"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
    "context_length": ("invalid_request_error", "context_length_exceeded"),
}


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """OpenAI's ``{"error": {...}}`` body; 429s carry Retry-After (seconds and the ms variant the SDK prefers)."""
    status, message = ERRORS[fault]
    kind, code = _ERROR_CODES[fault]
    headers = {"retry-after": "0.01", "retry-after-ms": "10"} if fault == "rate_limit" else {}
    headers["x-request-id"] = "req_" + rand_id(exchange)
    exchange.status = status
    handler.send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)


def _openai_usage(u: dict[str, int]) -> dict[str, Any]:
    return {
        "prompt_tokens": u["input"],
        "completion_tokens": u["output"],
        "total_tokens": u["input"] + u["output"],
        "prompt_tokens_details": {"cached_tokens": u["cache_read"], "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u["reasoning"],
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _openai_chat(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    legacy = ex.path == "/v1/completions"
    ex.response_id = ("cmpl-" if legacy else "chatcmpl-") + rand_id(ex)
    model = RESPONSE_MODELS.get(ex.model, ex.model)
    finish = "tool_calls" if reply.tool_name else "content_filter" if ex.fault == "content_filter" else "stop"
    ex.finish_reason = finish
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if not ex.stream:
        if legacy:
            choice: dict[str, Any] = {"index": 0, "text": reply.text, "finish_reason": finish, "logprobs": None}
        else:
            choice = {"index": 0, "message": _chat_message(reply), "finish_reason": finish, "logprobs": None}
        payload = {
            "id": ex.response_id,
            "object": "text_completion" if legacy else "chat.completion",
            "created": 1_760_000_000,
            "model": model,
            "choices": [choice],
            "usage": _openai_usage(reply.usage),
            "system_fingerprint": "fp_fake",
        }
        return handler.send_json(200, payload, {"x-request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    handler.send_stream(reply, _chat_events(reply, model, finish, include_usage, legacy))


def _chat_message(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_name:
        message["tool_calls"] = [
            {
                "id": "call_" + rand_id(reply.exchange),
                "type": "function",
                "function": {"name": reply.tool_name, "arguments": reply.tool_args},
            }
        ]
    elif reply.exchange.fault == "content_filter":
        message["content"] = ""
    return message


def _chat_events(reply: Reply, model: str, finish: str, include_usage: bool, legacy: bool) -> Iterator[Any]:
    ex = reply.exchange
    obj = "text_completion" if legacy else "chat.completion.chunk"

    def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        choices = (
            []
            if delta is None
            else [
                {"index": 0, "text": delta.get("content", ""), "finish_reason": finish_reason, "logprobs": None}
                if legacy
                else {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ]
        )
        return {
            "id": ex.response_id,
            "object": obj,
            "created": 1_760_000_000,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            **extra,
        }

    if not legacy:
        yield None, chunk({"role": "assistant", "content": "", "refusal": None}), False
    if reply.tool_name:
        call_id = "call_" + rand_id(ex)
        head = {"index": 0, "id": call_id, "type": "function", "function": {"name": reply.tool_name, "arguments": ""}}
        yield None, chunk({"tool_calls": [head]}), True
        for piece in split_text(reply.tool_args, 3):
            yield None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), True
    else:
        for piece in reply.pieces:
            yield None, chunk({"content": piece}), True
    yield None, chunk({}, finish), False
    if include_usage:
        yield None, chunk(None, usage=_openai_usage(reply.usage)), False
    yield None, "[DONE]", False


def _openai_responses(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "resp_" + rand_id(ex)
    ex.finish_reason = "completed"
    model = RESPONSE_MODELS.get(ex.model, ex.model)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    final = _response_object(reply, model, "completed")
    if not ex.stream:
        return handler.send_json(200, final, {"x-request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    handler.send_stream(reply, _responses_events(reply, model, final))


def _output_item(reply: Reply) -> dict[str, Any]:
    """The response's one output item: the assistant's message, or the function call the model asks for."""
    ex = reply.exchange
    if reply.tool_name:
        return {
            "type": "function_call",
            "id": "fc_" + rand_id(ex),
            "call_id": "call_" + rand_id(ex),
            "name": reply.tool_name,
            "arguments": reply.tool_args,
            "status": "completed",
        }
    return {
        "type": "message",
        "id": "msg_" + rand_id(ex),
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
    }


def _response_object(reply: Reply, model: str, status: str) -> dict[str, Any]:
    ex, u = reply.exchange, reply.usage
    done = status == "completed"
    output = [_output_item(reply)] if done else []
    usage = (
        {
            "input_tokens": u["input"],
            "input_tokens_details": {"cached_tokens": u["cache_read"]},
            "output_tokens": u["output"],
            "output_tokens_details": {"reasoning_tokens": u["reasoning"]},
            "total_tokens": u["input"] + u["output"],
        }
        if done
        else None
    )
    return {
        "id": ex.response_id,
        "object": "response",
        "created_at": 1_760_000_000,
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "truncation": "disabled",
    }


def _responses_events(reply: Reply, model: str, final: dict[str, Any]) -> Iterator[Any]:
    item_id = final["output"][0]["id"]
    seq = iter(range(10_000))

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any], bool]:
        return kind, {"type": kind, "sequence_number": next(seq), **fields}, kind.endswith(".delta")

    yield event("response.created", response=_response_object(reply, model, "in_progress"))
    yield event("response.in_progress", response=_response_object(reply, model, "in_progress"))
    if reply.tool_name:  # a function call: the item opens with empty arguments, which then stream as deltas
        call = final["output"][0]
        yield event(
            "response.output_item.added", output_index=0, item={**call, "arguments": "", "status": "in_progress"}
        )
        for piece in split_text(reply.tool_args, 3):
            yield event("response.function_call_arguments.delta", item_id=item_id, output_index=0, delta=piece)
        arguments = call["arguments"]
        yield event(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=0,
            name=call["name"],
            arguments=arguments,
        )
        yield event("response.output_item.done", output_index=0, item=call)
        yield event("response.completed", response=final)
        return
    item = {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []}
    yield event("response.output_item.added", output_index=0, item=item)
    part = {"type": "output_text", "text": "", "annotations": []}
    yield event("response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=part)
    for piece in reply.pieces:
        yield event(
            "response.output_text.delta", item_id=item_id, output_index=0, content_index=0, delta=piece, logprobs=[]
        )
    yield event(
        "response.output_text.done", item_id=item_id, output_index=0, content_index=0, text=reply.text, logprobs=[]
    )
    yield event(
        "response.content_part.done",
        item_id=item_id,
        output_index=0,
        content_index=0,
        part={**part, "text": reply.text},
    )
    yield event("response.output_item.done", output_index=0, item=final["output"][0])
    yield event("response.completed", response=final)


def _openai_embeddings(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rng = random.Random(json.dumps(inputs))
    data = []
    for i in range(len(inputs)):
        vector = [round(rng.uniform(-1, 1), 6) for _ in range(8)]
        if body.get("encoding_format") == "base64":
            encoded: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        else:
            encoded = vector
        data.append({"object": "embedding", "index": i, "embedding": encoded})
    usage = reply.usage["input"]
    ex.usage, ex.text = {"input": usage, "output": 0}, ""
    handler.send_json(
        200,
        {"object": "list", "data": data, "model": ex.model, "usage": {"prompt_tokens": usage, "total_tokens": usage}},
    )


_ROUTES: dict[str, Route] = {
    "/v1/chat/completions": _openai_chat,
    "/v1/completions": _openai_chat,
    "/v1/responses": _openai_responses,
    "/v1/embeddings": _openai_embeddings,
}
WIRE = WireFormat("openai", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    import openai

    return openai.OpenAI(api_key="sk-demo", base_url=server.openai_base_url, max_retries=2, timeout=5.0)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat completion (streamed with usage when the plan says so)."""
    kwargs: dict[str, Any] = {
        "model": plan.model,
        "messages": [{"role": "system", "content": plan.system()}, *plan.messages()],
        "extra_headers": headers,
        "max_tokens": 200,
    }
    if not plan.streaming:
        client.chat.completions.create(**kwargs)
        return
    for _ in client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}):
        pass


DEMO = DemoProvider("openai", ("gpt-5-mini", "gpt-4o-mini"), make_client, call)

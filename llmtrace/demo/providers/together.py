"""Together AI wire format (chat completions, completions, embeddings; JSON and SSE) and the demo's Together caller.

Served under ``/together`` because ``/v1/chat/completions`` is OpenAI's path on the fake server: the SDK joins its
``/v1/...`` paths to ``base_url``. Together's bodies are OpenAI-like with its own fields: a natural end is
``"eos"``, each choice carries a ``seed``, ``prompt`` echoes nothing, usage reports ``cached_tokens`` beside the
prompt tokens (which include them), and the stream's last chunk carries the finish reason and the usage (no
``stream_options``) before ``data: [DONE]``. Legacy completion chunks hold a ``token`` and keep the finish reason
beside the choices. Embeddings report no usage. Errors are ``{"id", "error": {...}}``; a context overflow is the
inference server's 400 "Input validation error"; 429s carry Retry-After. The SDK sends ``x-stainless-retry-count``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id, split_text
from . import DemoProvider

__all__ = ["DEMO", "PREFIX", "WIRE"]

PREFIX = "/together"
_CREATED = 1_760_000_000
_SEED = 4_216_791_006
# fault -> (Together error type, error code)
_KINDS: dict[str, tuple[str, str | None]] = {
    "rate_limit": ("rate_limit", "rate_limit_exceeded"),
    "server_error": ("server_error", None),
    "overloaded": ("service_unavailable", None),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "permission": ("invalid_request_error", "permission_denied"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
    "context_length": ("invalid_request_error", None),
}
_CONTEXT_MESSAGE = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8193. "
    "Given: 9120 `inputs` tokens and 512 `max_new_tokens`"
)


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Together's error body; a 429 says when to come back (seconds, fractional: the SDK accepts them)."""
    status, message = ERRORS[fault]
    kind, code = _KINDS[fault]
    if fault == "context_length":
        message = _CONTEXT_MESSAGE
    exchange.status = status
    body = {"id": rand_id(exchange), "error": {"message": message, "type": kind, "param": None, "code": code}}
    handler.send_json(status, body, {"retry-after": "0.01"} if fault == "rate_limit" else {})


def _usage(counts: dict[str, int]) -> dict[str, int]:
    prompt, completion = counts["input"], counts["output"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cached_tokens": counts["cache_read"],
    }


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_name else "eos"


def _tool_call(reply: Reply, call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "index": 0,
        "id": call_id,
        "type": "function",
        "function": {"name": reply.tool_name, "arguments": arguments},
    }


def _complete(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """/v1/chat/completions and /v1/completions: one JSON body, or SSE chunks."""
    ex = reply.exchange
    chat = ex.path.endswith("/chat/completions")
    ex.response_id = rand_id(ex)
    ex.finish_reason = _finish(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        events = _chat_chunks(reply) if chat else _text_chunks(reply)
        return handler.send_stream(reply, events)
    choice: dict[str, Any] = {"index": 0, "seed": _SEED, "logprobs": None, "finish_reason": ex.finish_reason}
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "tool_calls": []}
        if reply.tool_name:
            message["tool_calls"] = [_tool_call(reply, "call_" + rand_id(ex), reply.tool_args)]
        choice["message"] = message
    else:
        choice["text"] = reply.text
    payload = {
        "id": ex.response_id,
        "object": "chat.completion" if chat else "text.completion",
        "created": _CREATED,
        "model": ex.model,
        "prompt": [],
        "choices": [choice],
        "usage": _usage(reply.usage),
    }
    handler.send_json(200, payload, cut=ex.fault == "stream_cut")


def _chat_chunks(reply: Reply) -> Iterator[StreamEvent]:
    ex = reply.exchange
    head = {"id": ex.response_id, "object": "chat.completion.chunk", "created": _CREATED, "model": ex.model}

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
        seed = _SEED if finish else None
        choice = {
            "index": 0,
            "text": delta.get("content") or "",
            "logprobs": None,
            "finish_reason": finish,
            "seed": seed,
        }
        return {**head, "choices": [{**choice, "delta": {"role": "assistant", **delta}}], "usage": usage}

    if reply.tool_name:
        call_id = "call_" + rand_id(ex)
        yield None, chunk({"tool_calls": [_tool_call(reply, call_id, "")]}), True
        for piece in split_text(reply.tool_args, 3):
            yield None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), True
    for piece in reply.pieces:
        yield None, chunk({"content": piece}), True
    yield None, chunk({"content": ""}, ex.finish_reason, _usage(reply.usage)), False
    yield None, "[DONE]", False


def _text_chunks(reply: Reply) -> Iterator[StreamEvent]:
    ex = reply.exchange
    rng = random.Random(ex.response_id)

    def chunk(text: str, finish: str | None = None, usage: Any = None) -> dict[str, Any]:
        token = {"id": rng.randrange(1, 128_000), "text": text, "logprob": -0.25, "special": finish is not None}
        return {
            "id": ex.response_id,
            "object": "completion.chunk",
            "created": _CREATED,
            "model": ex.model,
            "token": token,
            "choices": [{"index": 0, "text": text}],
            "finish_reason": finish,
            "usage": usage,
            "seed": _SEED if finish else None,
        }

    for piece in reply.pieces:
        yield None, chunk(piece), True
    yield None, chunk("", ex.finish_reason, _usage(reply.usage)), False
    yield None, "[DONE]", False


def _embed(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """Vectors only: Together's embedding response has no usage."""
    ex = reply.exchange
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rng = random.Random(json.dumps(inputs))
    ex.usage, ex.text = None, ""
    data = [
        {"object": "embedding", "index": i, "embedding": [round(rng.uniform(-1, 1), 6) for _ in range(8)]}
        for i in range(len(inputs))
    ]
    handler.send_json(200, {"object": "list", "model": ex.model, "data": data, "request_id": rand_id(ex)})


_ROUTES: dict[str, Route] = {
    PREFIX + "/v1/chat/completions": _complete,
    PREFIX + "/v1/completions": _complete,
    PREFIX + "/v1/embeddings": _embed,
}
WIRE = WireFormat("together", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    import together

    return together.Together(api_key="demo", base_url=server.url + PREFIX, max_retries=2, timeout=5.0)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat completion, streamed when the plan says so (Together's stream always ends with usage)."""
    messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
    kwargs: dict[str, Any] = {"model": plan.model, "messages": messages, "max_tokens": 200, "extra_headers": headers}
    if not plan.streaming:
        client.chat.completions.create(**kwargs)
        return
    for _ in client.chat.completions.create(**kwargs, stream=True):
        pass


DEMO = DemoProvider(
    "together",
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "deepseek-ai/DeepSeek-V4.1-Flash"),
    make_client,
    call,
)

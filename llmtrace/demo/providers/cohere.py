"""Cohere v2 wire format (``/v2/chat`` JSON and typed SSE events, ``/v2/embed``) under ``/cohere``, and the demo's
caller.

Usage is rendered both ways the API reports it: ``tokens`` (what the model processed: the normalized counts)
and ``billed_units`` (what is charged: the prompt without Cohere's chat template share), plus ``cached_tokens``.
Errors are Cohere's ``{"id", "message"}`` bodies; 429s carry ``Retry-After`` (and the ms variant the SDK reads
first, so the demo's retries stay fast). Content filtering has no v2 status of its own: it is an empty reply
whose finish reason is ``ERROR_TOXIC`` (the reason the v1 API and Cohere-on-OCI report for it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id, split_text
from . import DemoProvider

__all__ = ["DEMO", "PREFIX", "WIRE"]

PREFIX = "/cohere"  # the SDK keeps the base URL's path: base_url=server.url + PREFIX
_TEMPLATE_TOKENS = 64  # tokens Cohere's chat template adds to a prompt: processed, not billed
_MESSAGES = {
    "auth": "invalid api token",
    "permission": "You do not have access to this model",
    "not_found": "model 'unknown' not found, make sure the correct model ID was used and that you have access",
    "context_length": "too many tokens: size limit exceeded by 11808 tokens. Try using shorter or fewer inputs.",
    "rate_limit": "You are past the per minute request limit, please wait and try again later.",
}


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Cohere's ``{"id": ..., "message": ...}`` body with the HTTP status (503 when overloaded)."""
    status, message = ERRORS[fault]
    exchange.status = status
    headers = {"retry-after": "1", "retry-after-ms": "10"} if fault == "rate_limit" else {}
    headers["x-trace-id"] = rand_id(exchange)
    handler.send_json(status, {"id": rand_id(exchange), "message": _MESSAGES.get(fault, message)}, headers)


def _usage(u: dict[str, int]) -> dict[str, Any]:
    billed_input = max(1, u["input"] - _TEMPLATE_TOKENS)
    return {
        "billed_units": {"input_tokens": billed_input, "output_tokens": u["output"]},
        "tokens": {"input_tokens": u["input"], "output_tokens": u["output"]},
        "cached_tokens": u["cache_read"],
    }


def _finish(reply: Reply) -> str:
    if reply.tool_name:
        return "TOOL_CALL"
    return "ERROR_TOXIC" if reply.exchange.fault == "content_filter" else "COMPLETE"


def _tool_call(reply: Reply) -> dict[str, Any]:
    call_id = f"{reply.tool_name}_{rand_id(reply.exchange)[:8]}"
    return {"id": call_id, "type": "function", "function": {"name": reply.tool_name, "arguments": reply.tool_args}}


def _chat(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """/v2/chat: a V2ChatResponse, or (``"stream": true``) typed SSE events ending with ``message-end``."""
    ex = reply.exchange
    ex.response_id = rand_id(ex)
    ex.finish_reason = _finish(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        return handler.send_stream(reply, _chat_events(reply))
    message: dict[str, Any] = {"role": "assistant"}
    if reply.tool_name:
        message["tool_plan"] = f"I will call {reply.tool_name}."
        message["tool_calls"] = [_tool_call(reply)]
    elif reply.text:
        message["content"] = [{"type": "text", "text": reply.text}]
    payload = {"id": ex.response_id, "message": message, "finish_reason": ex.finish_reason}
    payload["usage"] = _usage(reply.usage)
    handler.send_json(200, payload, {"x-trace-id": ex.response_id}, cut=ex.fault == "stream_cut")


def _chat_events(reply: Reply) -> Iterator[StreamEvent]:
    ex = reply.exchange

    def event(kind: str, content: bool = False, **fields: Any) -> StreamEvent:
        return kind, {"type": kind, **fields}, content

    start = {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}
    yield event("message-start", id=ex.response_id, delta=start)
    if reply.tool_name:
        yield from _tool_events(reply, event)
    elif reply.pieces:
        yield event("content-start", index=0, delta={"message": {"content": {"type": "text", "text": ""}}})
        for piece in reply.pieces:
            yield event("content-delta", True, index=0, delta={"message": {"content": {"text": piece}}})
        yield event("content-end", index=0)
    yield event("message-end", delta={"finish_reason": ex.finish_reason, "usage": _usage(reply.usage)})


def _tool_events(reply: Reply, event: Any) -> Iterator[StreamEvent]:
    for piece in split_text(f"I will call {reply.tool_name}.", 2):
        yield event("tool-plan-delta", True, delta={"message": {"tool_plan": piece}})
    head = {**_tool_call(reply), "function": {"name": reply.tool_name, "arguments": ""}}
    yield event("tool-call-start", True, index=0, delta={"message": {"tool_calls": head}})
    for piece in split_text(reply.tool_args, 3):
        delta = {"message": {"tool_calls": {"function": {"arguments": piece}}}}
        yield event("tool-call-delta", True, index=0, delta=delta)
    yield event("tool-call-end", index=0)


def _embed(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """/v2/embed: embeddings by requested type; ``meta`` carries the token counts."""
    ex = reply.exchange
    ex.response_id = rand_id(ex)
    texts = [str(t) for t in body.get("texts") or body.get("inputs") or []]
    tokens = sum(max(1, len(t) // 4) for t in texts) or 1
    ex.usage, ex.text = {"input": tokens, "output": 0}, ""
    rng = random.Random(json.dumps(texts))
    vectors = [[round(rng.uniform(-1, 1), 6) for _ in range(8)] for _ in texts]
    kinds = body.get("embedding_types") or ["float"]
    counts = {"input_tokens": tokens}
    meta = {"api_version": {"version": "2"}, "billed_units": counts, "tokens": counts}
    payload = {
        "id": ex.response_id,
        "embeddings": {kind: vectors for kind in kinds},
        "texts": texts,
        "meta": meta,
        "response_type": "embeddings_by_type",
    }
    handler.send_json(200, payload)


_ROUTES: dict[str, Route] = {PREFIX + "/v2/chat": _chat, PREFIX + "/v2/embed": _embed}
WIRE = WireFormat("cohere", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    import cohere

    return cohere.ClientV2(api_key="co-demo", base_url=server.url + PREFIX, max_retries=2, timeout=5.0)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat; the fake server's headers travel as per-call ``additional_headers``."""
    messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
    kwargs: dict[str, Any] = {"model": plan.model, "messages": messages, "max_tokens": 200}
    options = {"additional_headers": headers}
    if plan.streaming:
        for _ in client.chat_stream(**kwargs, request_options=options):
            pass
    else:
        client.chat(**kwargs, request_options=options)


DEMO = DemoProvider("cohere", ("command-a-03-2025", "command-r-08-2024"), make_client, call)

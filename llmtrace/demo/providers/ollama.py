"""Ollama wire format (``/api/chat``, ``/api/generate``, ``/api/embed``; JSON and NDJSON) and the demo's caller."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, ndjson_line
from . import DemoProvider

__all__ = ["DEMO", "WIRE"]


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Ollama answers ``{"error": "..."}`` with the HTTP status."""
    exchange.status, message = ERRORS[fault]
    headers = {"retry-after": "0.01"} if fault == "rate_limit" else {}
    handler.send_json(exchange.status, {"error": message}, headers)


def _ollama_final(reply: Reply, model: str) -> dict[str, Any]:
    u = reply.usage
    return {
        "model": model,
        "created_at": "2026-11-24T00:00:00Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 120_000_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": u["input"],
        "prompt_eval_duration": 20_000_000,
        "eval_count": u["output"],
        "eval_duration": 90_000_000,
    }


def _ollama_generate(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """/api/chat and /api/generate: one JSON object, or NDJSON parts ending with a ``done`` part carrying counts."""
    ex = reply.exchange
    ex.finish_reason = "stop"
    chat = ex.path == "/api/chat"
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()

    def part(text: str, tool: bool = False) -> dict[str, Any]:
        if not chat:
            return {"response": text}
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool:
            message["tool_calls"] = [{"function": {"name": reply.tool_name, "arguments": json.loads(reply.tool_args)}}]
        return {"message": message}

    final = _ollama_final(reply, ex.model)
    if not ex.stream:
        return handler.send_json(
            200, {**final, **part(reply.text, bool(reply.tool_name))}, cut=ex.fault == "stream_cut"
        )

    def events() -> Iterator[StreamEvent]:
        base = {"model": ex.model, "created_at": "2026-11-24T00:00:00Z", "done": False}
        if reply.tool_name:
            yield None, {**base, **part("", tool=True)}, True
        for piece in reply.pieces:
            yield None, {**base, **part(piece)}, True
        yield None, {**final, **part("")}, False

    handler.send_stream(reply, events(), content_type="application/x-ndjson", encode=ndjson_line)


def _ollama_embed(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rng = random.Random(json.dumps(inputs))
    ex.usage, ex.text = {"input": reply.usage["input"], "output": 0}, ""
    handler.send_json(
        200,
        {
            "model": ex.model,
            "embeddings": [[round(rng.uniform(-1, 1), 6) for _ in range(8)] for _ in inputs],
            "total_duration": 5_000_000,
            "load_duration": 100_000,
            "prompt_eval_count": reply.usage["input"],
        },
    )


_ROUTES: dict[str, Route] = {
    "/api/chat": _ollama_generate,
    "/api/generate": _ollama_generate,
    "/api/embed": _ollama_embed,
}
WIRE = WireFormat("ollama", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    import ollama  # noqa: F401 - availability check; the SDK takes headers per client, so clients are made per call

    return server.url


def call(server_url: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat; a short-lived client per call because the ollama SDK takes headers per client, not per call."""
    import ollama

    with ollama.Client(host=server_url, headers=headers, timeout=5.0) as client:
        messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
        if plan.streaming:
            for _ in client.chat(model=plan.model, messages=messages, stream=True):
                pass
        else:
            client.chat(model=plan.model, messages=messages)


DEMO = DemoProvider("ollama", ("llama3.2", "qwen3:8b"), make_client, call, priced=False, cache_read=False)

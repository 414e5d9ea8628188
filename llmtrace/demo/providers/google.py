"""Gemini Developer API wire format (``generateContent``, ``streamGenerateContent?alt=sse``, ``batchEmbedContents`` /
``embedContent``; JSON and SSE, Google RPC error bodies) and the demo's ``google-genai`` caller.

Served under ``/gemini`` (the SDK keeps a base URL's path), so ``/v1/models/...`` never meets another provider's
routes. Usage is reported the Gemini way: ``promptTokenCount`` includes ``cachedContentTokenCount``, thinking
tokens are ``thoughtsTokenCount`` apart from ``candidatesTokenCount`` (so candidates = output - reasoning), and
zero-valued counts are omitted as the API's proto3 JSON does. A 429 carries its retry hint in the body
(``google.rpc.RetryInfo.retryDelay``), not in a Retry-After header, like the real API.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id
from . import DemoProvider

__all__ = ["DEMO", "PREFIX", "WIRE", "base_url"]

PREFIX = "/gemini"
# /gemini/{api version}/models/{model}:{method}; google-genai 3.x calls v1 by default, older releases v1beta
_PATH = re.compile(r"^/gemini/(v1|v1beta|v1alpha)/models/([^:/]+):(\w+)$")
# fault -> (HTTP status, google.rpc status)
_STATUS = {
    "rate_limit": (429, "RESOURCE_EXHAUSTED"),
    "server_error": (500, "INTERNAL"),
    "overloaded": (503, "UNAVAILABLE"),
    "auth": (400, "INVALID_ARGUMENT"),  # an invalid API key is a 400 on the Gemini API, not a 401
    "permission": (403, "PERMISSION_DENIED"),
    "not_found": (404, "NOT_FOUND"),
    "bad_request": (400, "INVALID_ARGUMENT"),
    "context_length": (400, "INVALID_ARGUMENT"),
}
_RETRY_DELAY = "0.010s"


def base_url(server: Any) -> str:
    """What ``HttpOptions(base_url=...)`` points the SDK at."""
    return server.url + PREFIX


def _split(path: str) -> tuple[str, str]:
    """``/gemini/v1/models/gemini-2.5-flash:generateContent`` -> (``gemini-2.5-flash``, ``generateContent``)."""
    match = _PATH.match(path)
    return (match.group(2), match.group(3)) if match else ("", "")


def describe(path: str, body: dict[str, Any]) -> tuple[str, bool]:
    model, method = _split(path)
    return model, method == "streamGenerateContent"


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """Google's ``{"error": {"code", "message", "status", "details"}}``; a 429 says when to retry in the body."""
    status, rpc_status = _STATUS[fault]
    message = ERRORS[fault][1]
    details: list[dict[str, Any]] = []
    if fault == "rate_limit":
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": _RETRY_DELAY},
        ]
    elif fault == "auth":
        message = "API key not valid. Please pass a valid API key."
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
        ]
    exchange.status = status
    payload = {"error": {"code": status, "message": message, "status": rpc_status, "details": details}}
    handler.send_json(status, payload)


def _usage(u: dict[str, int], final: bool = True) -> dict[str, Any]:
    """usageMetadata; stream chunks before the last carry the prompt count only (the running total)."""
    candidates = u["output"] - u["reasoning"] if final else 0
    thoughts = u["reasoning"] if final else 0
    usage: dict[str, Any] = {"promptTokenCount": u["input"]}
    if candidates:
        usage["candidatesTokenCount"] = candidates
    if u["cache_read"]:
        usage["cachedContentTokenCount"] = u["cache_read"]
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["totalTokenCount"] = u["input"] + candidates + thoughts
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": u["input"]}]
    if u["cache_read"]:
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u["cache_read"]}]
    return usage


def _finish(reply: Reply) -> str:
    return "SAFETY" if reply.exchange.fault == "content_filter" else "STOP"  # function calls end with STOP too


def _candidate(parts: list[dict[str, Any]] | None, finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"index": 0}
    if parts is not None:
        candidate["content"] = {"parts": parts, "role": "model"}
    if finish:
        candidate["finishReason"] = finish
    if finish == "SAFETY":
        candidate["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        ]
    return candidate


def _answer_parts(reply: Reply) -> list[dict[str, Any]] | None:
    if reply.tool_name:
        return [{"functionCall": {"name": reply.tool_name, "args": json.loads(reply.tool_args)}}]
    return [{"text": reply.text}] if reply.text else None


def _generate(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """generateContent (one JSON object) and streamGenerateContent?alt=sse (one SSE event per chunk)."""
    ex = reply.exchange
    ex.response_id = rand_id(ex)
    finish = _finish(reply)
    ex.finish_reason = finish
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    head = {"modelVersion": ex.model, "responseId": ex.response_id}
    if not ex.stream:
        payload = {"candidates": [_candidate(_answer_parts(reply), finish)], "usageMetadata": _usage(reply.usage)}
        return handler.send_json(200, {**payload, **head}, cut=ex.fault == "stream_cut")
    handler.send_stream(reply, _stream_events(reply, head, finish))


def _stream_events(reply: Reply, head: dict[str, Any], finish: str) -> Iterator[StreamEvent]:
    running = _usage(reply.usage, final=False)
    if reply.tool_name:
        parts = _answer_parts(reply)
        yield None, {"candidates": [_candidate(parts, None)], "usageMetadata": running, **head}, True
    for piece in reply.pieces:
        chunk = {"candidates": [_candidate([{"text": piece}], None)], "usageMetadata": running, **head}
        yield None, chunk, True
    last_parts = None if finish == "SAFETY" else [{"text": ""}]
    final = {"candidates": [_candidate(last_parts, finish)], "usageMetadata": _usage(reply.usage), **head}
    yield None, final, False


def _embed(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    """batchEmbedContents (``requests``) / embedContent (``content``): vectors plus the prompt token count."""
    ex = reply.exchange
    requests = body.get("requests") or [body]
    if handler.headers.get("x-llmtrace-usage"):
        tokens = reply.usage["input"]
    else:
        tokens = max(1, len(json.dumps([r.get("content") for r in requests], sort_keys=True)) // 4)
    ex.usage, ex.text, ex.finish_reason = {"input": tokens, "output": 0}, "", None
    rng = random.Random(json.dumps(requests, sort_keys=True))
    vectors = [{"values": [round(rng.uniform(-1, 1), 6) for _ in range(8)]} for _ in requests]
    usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
    if "requests" in body:
        return handler.send_json(200, {"embeddings": vectors, "usageMetadata": usage})
    handler.send_json(200, {"embedding": vectors[0], "usageMetadata": usage})


_ROUTES: dict[str, Route] = {
    "generateContent": _generate,
    "streamGenerateContent": _generate,
    "batchEmbedContents": _embed,
    "embedContent": _embed,
}


def route(path: str) -> Route | None:
    return _ROUTES.get(_split(path)[1])


WIRE = WireFormat("google", route, send_error, describe)


def make_client(server: Any) -> Any:
    """The SDK's own retries on (3 attempts = 2 retries, ~10 ms backoff, no jitter), 5 s timeout."""
    from google import genai
    from google.genai import types

    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0)
    options = types.HttpOptions(base_url=base_url(server), timeout=5000, retry_options=retry)
    return genai.Client(api_key="demo-gemini-key", http_options=options)


def call(client: Any, plan: Any, headers: dict[str, str]) -> None:
    """One generate_content call (streamed when planned); ``headers`` ride on the call's own http_options."""
    from google.genai import types

    config = types.GenerateContentConfig(
        system_instruction=plan.system(),
        max_output_tokens=200,
        http_options=types.HttpOptions(headers=headers),
    )
    contents = [{"role": "user", "parts": [{"text": m["content"]}]} for m in plan.messages()]
    if plan.streaming:
        for _ in client.models.generate_content_stream(model=plan.model, contents=contents, config=config):
            pass
    else:
        client.models.generate_content(model=plan.model, contents=contents, config=config)


DEMO = DemoProvider("google", ("gemini-2.5-flash", "gemini-2.5-pro"), make_client, call)

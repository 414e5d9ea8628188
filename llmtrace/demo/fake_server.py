"""A fake LLM provider speaking the real OpenAI and Anthropic wire formats, with scripted faults.

Tests and ``llmtrace demo`` point the real SDKs at it, so the SDKs' own parsing, streaming and retry logic runs.
Standard library only. Streams use chunked transfer encoding like the real APIs, so a "stream cut" is an
abrupt close that the HTTP client reports, not a clean end of body.

Faults come from the ``x-llmtrace-fault`` request header (a comma-separated plan, one entry per HTTP attempt;
the attempt index is the SDK's ``x-stainless-retry-count`` header, and past the end the last entry repeats), or
from the server-wide ``enqueue()`` FIFO, or default to ``ok``. Other tuning headers: ``x-llmtrace-usage``
(``input=120,output=30,cache_read=100,cache_write=20,reasoning=5``), ``x-llmtrace-chunks``,
``x-llmtrace-ttft-ms``, ``x-llmtrace-delay-ms``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAULTS", "Exchange", "FakeProviderServer"]

FAULTS = (
    "ok",
    "tool_call",
    "rate_limit",
    "server_error",
    "overloaded",
    "auth",
    "permission",
    "not_found",
    "bad_request",
    "context_length",
    "timeout",
    "malformed",
    "stream_cut",
    "content_filter",
)
_WORDS = (
    "river delta basin current estuary tide meander channel stream bank flow valley source mouth upland floodplain "
    "tributary watershed rapids lagoon marsh spring creek canyon gorge"
).split()
_RESPONSE_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
}
# fault -> (openai status, openai error type, openai code, anthropic status, anthropic error type, message)
_ERRORS: dict[str, tuple[int, str, str | None, int, str, str]] = {
    "rate_limit": (429, "requests", "rate_limit_exceeded", 429, "rate_limit_error", "Rate limit reached"),
    "server_error": (500, "server_error", None, 500, "api_error", "Internal server error"),
    "overloaded": (503, "server_error", "overloaded", 529, "overloaded_error", "Overloaded"),
    "auth": (401, "invalid_request_error", "invalid_api_key", 401, "authentication_error", "Invalid API key"),
    "permission": (403, "invalid_request_error", "permission_denied", 403, "permission_error", "Not allowed"),
    "not_found": (404, "invalid_request_error", "model_not_found", 404, "not_found_error", "Model not found"),
    "bad_request": (400, "invalid_request_error", None, 400, "invalid_request_error", "Invalid request"),
    "context_length": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        400,
        "invalid_request_error",
        "prompt is too long: 210000 tokens > 200000 maximum context length",
    ),
}


@dataclass
class Exchange:
    """One HTTP request the server answered, and what it sent back (normalized usage)."""

    provider: str
    path: str
    model: str
    stream: bool
    attempt: int
    fault: str
    status: int
    usage: dict[str, int] | None = None
    text: str = ""
    chunks: int = 0
    finish_reason: str | None = None
    request_body: dict[str, Any] | None = None
    response_id: str | None = None


@dataclass
class _Reply:
    """What to answer: shared by both wire formats."""

    exchange: Exchange
    usage: dict[str, int]
    text: str
    pieces: list[str] = field(default_factory=list)
    tool_name: str | None = None
    tool_args: str = '{"query": "weather in Paris"}'
    ttft_s: float = 0.0
    delay_s: float = 0.0


class FakeProviderServer:
    """Threaded HTTP server on loopback; a context manager (``with FakeProviderServer() as s: s.url``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0) -> None:
        self.seed = seed
        self.log: list[Exchange] = []
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self.openai_base_url = self.url + "/v1"
        self.anthropic_base_url = self.url

    def start(self) -> FakeProviderServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *faults: str) -> None:
        with self._lock:
            self._queue.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._queue.clear()

    def _next_fault(self, header: str | None, attempt: int) -> str:
        if header:
            plan = [f.strip() for f in header.split(",") if f.strip()] or ["ok"]
            return plan[min(attempt, len(plan) - 1)]
        with self._lock:
            return self._queue.popleft() if self._queue else "ok"

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.log.append(exchange)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # bursts of concurrent clients must not be refused (tests run 50+ at once)


def _handler_class(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    fake: FakeProviderServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        provider = _provider_for_path(self.path)
        attempt = int(self.headers.get("x-stainless-retry-count") or 0)
        fault = self.fake._next_fault(self.headers.get("x-llmtrace-fault"), attempt)
        exchange = Exchange(
            provider=provider,
            path=self.path.split("?")[0],
            model=str(body.get("model", "")),
            stream=bool(body.get("stream")),
            attempt=attempt,
            fault=fault,
            status=200,
            request_body=body,
        )
        self.fake._record(exchange)  # at arrival: a slow (timeout) answer must not land in a later test's log
        try:
            self._answer(exchange, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to send to

    def _answer(self, exchange: Exchange, body: dict[str, Any]) -> None:
        name, _, arg = exchange.fault.partition(":")
        if name == "timeout":
            self._sleep(float(arg or 5.0))
        if name in _ERRORS:
            return self._error(exchange, name)
        routes = {
            "/v1/chat/completions": _openai_chat,
            "/v1/completions": _openai_chat,
            "/v1/responses": _openai_responses,
            "/v1/embeddings": _openai_embeddings,
            "/v1/messages": _anthropic_messages,
            "/api/chat": _ollama_generate,
            "/api/generate": _ollama_generate,
            "/api/embed": _ollama_embed,
        }
        route = routes.get(exchange.path)
        if route is None:
            return self._error(exchange, "not_found")
        reply = self._reply(exchange, body)
        route(self, reply, body)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.fake._stopping.is_set():
            time.sleep(0.02)

    # -- building the reply ----------------------------------------------------------------------------------
    def _reply(self, exchange: Exchange, body: dict[str, Any]) -> _Reply:
        chunks = int(self.headers.get("x-llmtrace-chunks") or 5)
        digest = hashlib.sha256(f"{self.fake.seed}:{json.dumps(body, sort_keys=True)}".encode()).digest()
        rng = random.Random(digest)
        words = [rng.choice(_WORDS) for _ in range(max(12, chunks) + rng.randrange(8))]
        text = " ".join(words).capitalize() + "."
        prompt = body.get("messages", body.get("input", body.get("prompt", "")))
        usage = {
            "input": max(1, len(json.dumps(prompt, sort_keys=True)) // 4),
            "output": len(text.split()),
            "cache_read": 0,
            "cache_write": 0,
            "reasoning": 0,
        }
        usage.update(_parse_usage(self.headers.get("x-llmtrace-usage")))
        tool_name = None
        if exchange.fault == "tool_call":
            tools = body.get("tools") or [{}]
            tool_name = tools[0].get("name") or (tools[0].get("function") or {}).get("name") or "lookup"
            text = ""
        elif exchange.fault == "content_filter":
            text = "I can't help with that." if exchange.provider == "anthropic" else ""
        exchange.usage = {k: v for k, v in usage.items() if v or k in ("input", "output")}
        exchange.text = text
        return _Reply(
            exchange,
            usage,
            text,
            pieces=_split(text, chunks),
            tool_name=tool_name,
            ttft_s=float(self.headers.get("x-llmtrace-ttft-ms") or 0) / 1000,
            delay_s=float(self.headers.get("x-llmtrace-delay-ms") or 0) / 1000,
        )

    # -- sending -------------------------------------------------------------------------------------------------
    def _error(self, exchange: Exchange, name: str) -> None:
        oa_status, oa_type, oa_code, an_status, an_type, message = _ERRORS[name]
        headers = {"retry-after": "0.01", "retry-after-ms": "10"} if name == "rate_limit" else {}
        if exchange.provider == "ollama":  # Ollama answers {"error": "..."} with the HTTP status
            exchange.status = oa_status
            self._json(exchange.status, {"error": message}, headers)
            return
        if exchange.provider == "anthropic":
            exchange.status = an_status
            payload: dict[str, Any] = {"type": "error", "error": {"type": an_type, "message": message}}
            headers["request-id"] = "req_" + _rand_id(exchange)
        else:
            exchange.status = oa_status
            payload = {"error": {"message": message, "type": oa_type, "param": None, "code": oa_code}}
            headers["x-request-id"] = "req_" + _rand_id(exchange)
        exchange.finish_reason = None
        self._json(exchange.status, payload, headers)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None, cut: bool = False) -> None:
        data = json.dumps(payload).encode()
        if cut:  # promise more than we send, then drop the connection
            self._start(status, {"content-type": "application/json", "content-length": str(len(data) + 100)})
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._start(status, {"content-type": "application/json", "content-length": str(len(data)), **(headers or {})})
        self.wfile.write(data)

    def _malformed(self) -> None:
        data = b'{"id": "broken", "choices": [{"index": 0, "message": '
        self._start(200, {"content-type": "application/json", "content-length": str(len(data))})
        self.wfile.write(data)

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _sse(self, reply: _Reply, events: Iterator[tuple[str | None, Any, bool]], ndjson: bool = False) -> None:
        """Send (event name, data, carries content) as a chunked SSE (or NDJSON) stream, honouring
        ttft/delay/cut/malformed."""
        kind = "application/x-ndjson" if ndjson else "text/event-stream"
        self._start(200, {"content-type": kind, "transfer-encoding": "chunked", "cache-control": "no-cache"})
        fault = reply.exchange.fault
        items = list(events)
        cut_at = max(1, sum(1 for _, _, content in items if content) // 2) if fault == "stream_cut" else None
        sent_content = 0
        for name, data, content in items:
            if content:
                time.sleep(reply.ttft_s if sent_content == 0 else reply.delay_s)
            text = data if isinstance(data, str) else json.dumps(data)
            if fault == "malformed" and content:
                text = "{not json"
            if content:  # counted before sending: the client may finish reading before this thread resumes
                sent_content += 1
                reply.exchange.chunks = sent_content
            self._chunk(text + "\n" if ndjson else (f"event: {name}\n" if name else "") + f"data: {text}\n\n")
            if cut_at is not None and sent_content >= cut_at:
                self.wfile.flush()
                self.close_connection = True
                return  # no terminal event, no final zero-length chunk
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


# -- OpenAI ------------------------------------------------------------------------------------------------------


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


def _openai_chat(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    legacy = ex.path == "/v1/completions"
    ex.response_id = ("cmpl-" if legacy else "chatcmpl-") + _rand_id(ex)
    model = _RESPONSE_MODELS.get(ex.model, ex.model)
    finish = "tool_calls" if reply.tool_name else "content_filter" if ex.fault == "content_filter" else "stop"
    ex.finish_reason = finish
    if ex.fault == "malformed" and not ex.stream:
        return handler._malformed()
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
        return handler._json(200, payload, {"x-request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    handler._sse(reply, _chat_events(reply, model, finish, include_usage, legacy))


def _chat_message(reply: _Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.tool_name:
        message["tool_calls"] = [
            {
                "id": "call_" + _rand_id(reply.exchange),
                "type": "function",
                "function": {"name": reply.tool_name, "arguments": reply.tool_args},
            }
        ]
    elif reply.exchange.fault == "content_filter":
        message["content"] = ""
    return message


def _chat_events(reply: _Reply, model: str, finish: str, include_usage: bool, legacy: bool) -> Iterator[Any]:
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
        call_id = "call_" + _rand_id(ex)
        head = {"index": 0, "id": call_id, "type": "function", "function": {"name": reply.tool_name, "arguments": ""}}
        yield None, chunk({"tool_calls": [head]}), True
        for piece in _split(reply.tool_args, 3):
            yield None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), True
    else:
        for piece in reply.pieces:
            yield None, chunk({"content": piece}), True
    yield None, chunk({}, finish), False
    if include_usage:
        yield None, chunk(None, usage=_openai_usage(reply.usage)), False
    yield None, "[DONE]", False


def _openai_responses(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "resp_" + _rand_id(ex)
    ex.finish_reason = "completed"
    model = _RESPONSE_MODELS.get(ex.model, ex.model)
    if ex.fault == "malformed" and not ex.stream:
        return handler._malformed()
    final = _response_object(reply, model, "completed")
    if not ex.stream:
        return handler._json(200, final, {"x-request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    handler._sse(reply, _responses_events(reply, model, final))


def _response_object(reply: _Reply, model: str, status: str) -> dict[str, Any]:
    ex, u = reply.exchange, reply.usage
    done = status == "completed"
    output = (
        [
            {
                "type": "message",
                "id": "msg_" + _rand_id(ex),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
            }
        ]
        if done
        else []
    )
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


def _responses_events(reply: _Reply, model: str, final: dict[str, Any]) -> Iterator[Any]:
    item_id = final["output"][0]["id"]
    seq = iter(range(10_000))

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any], bool]:
        return kind, {"type": kind, "sequence_number": next(seq), **fields}, kind.endswith("output_text.delta")

    yield event("response.created", response=_response_object(reply, model, "in_progress"))
    yield event("response.in_progress", response=_response_object(reply, model, "in_progress"))
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


def _openai_embeddings(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
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
    handler._json(
        200,
        {"object": "list", "data": data, "model": ex.model, "usage": {"prompt_tokens": usage, "total_tokens": usage}},
    )


# -- Anthropic ---------------------------------------------------------------------------------------------------


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


def _anthropic_messages(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "msg_" + _rand_id(ex)
    stop = "tool_use" if reply.tool_name else "refusal" if ex.fault == "content_filter" else "end_turn"
    ex.finish_reason = stop
    if ex.fault == "malformed" and not ex.stream:
        return handler._malformed()
    model = _RESPONSE_MODELS.get(ex.model, ex.model)
    if not ex.stream:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        if reply.tool_name:
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_" + _rand_id(ex),
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
        return handler._json(200, payload, {"request-id": "req_" + ex.response_id}, cut=ex.fault == "stream_cut")
    handler._sse(reply, _anthropic_events(reply, model, stop))


def _anthropic_events(reply: _Reply, model: str, stop: str) -> Iterator[Any]:
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
        block = {"type": "tool_use", "id": "toolu_" + _rand_id(ex), "name": reply.tool_name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in _split(reply.tool_args, 3)]
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


# -- Ollama ------------------------------------------------------------------------------------------------------


def _ollama_final(reply: _Reply, model: str) -> dict[str, Any]:
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


def _ollama_generate(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
    """/api/chat and /api/generate: one JSON object, or NDJSON parts ending with a ``done`` part carrying counts."""
    ex = reply.exchange
    ex.finish_reason = "stop"
    chat = ex.path == "/api/chat"
    if ex.fault == "malformed" and not ex.stream:
        return handler._malformed()

    def part(text: str, tool: bool = False) -> dict[str, Any]:
        if not chat:
            return {"response": text}
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool:
            message["tool_calls"] = [{"function": {"name": reply.tool_name, "arguments": json.loads(reply.tool_args)}}]
        return {"message": message}

    final = _ollama_final(reply, ex.model)
    if not ex.stream:
        return handler._json(200, {**final, **part(reply.text, bool(reply.tool_name))}, cut=ex.fault == "stream_cut")

    def events() -> Iterator[tuple[str | None, Any, bool]]:
        base = {"model": ex.model, "created_at": "2026-11-24T00:00:00Z", "done": False}
        if reply.tool_name:
            yield None, {**base, **part("", tool=True)}, True
        for piece in reply.pieces:
            yield None, {**base, **part(piece)}, True
        yield None, {**final, **part("")}, False

    handler._sse(reply, events(), ndjson=True)


def _ollama_embed(handler: _Handler, reply: _Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    rng = random.Random(json.dumps(inputs))
    ex.usage, ex.text = {"input": reply.usage["input"], "output": 0}, ""
    handler._json(
        200,
        {
            "model": ex.model,
            "embeddings": [[round(rng.uniform(-1, 1), 6) for _ in range(8)] for _ in inputs],
            "total_duration": 5_000_000,
            "load_duration": 100_000,
            "prompt_eval_count": reply.usage["input"],
        },
    )


# -- helpers -----------------------------------------------------------------------------------------------------


def _provider_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return "ollama"
    return "anthropic" if path.startswith("/v1/messages") else "openai"


def _split(text: str, parts: int) -> list[str]:
    """Split ``text`` into ``parts`` non-empty pieces that concatenate back to it (word boundaries when possible)."""
    if not text:
        return []
    words = text.split(" ")
    if len(words) >= parts:
        size, extra = divmod(len(words), parts)
        out, start = [], 0
        for i in range(parts):
            end = start + size + (1 if i < extra else 0)
            out.append(" ".join(words[start:end]) + (" " if end < len(words) else ""))
            start = end
        return out
    step = max(1, len(text) // parts)
    pieces = [text[i : i + step] for i in range(0, len(text), step)]
    return pieces


def _parse_usage(header: str | None) -> dict[str, int]:
    if not header:
        return {}
    pairs = (item.split("=", 1) for item in header.split(",") if "=" in item)
    return {key.strip(): int(value) for key, value in pairs}


def _rand_id(exchange: Exchange) -> str:
    return hashlib.sha1(f"{id(exchange)}:{time.perf_counter_ns()}".encode()).hexdigest()[:24]

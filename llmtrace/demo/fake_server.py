"""A fake LLM provider server speaking each provider's real wire format, with scripted faults.

Tests and ``llmtrace demo`` point the real SDKs at it, so the SDKs' own parsing, streaming and retry logic runs.
Standard library only. This module is the provider-neutral machinery (HTTP, faults, streaming, the exchange log);
each provider's wire format is a ``WireFormat`` in ``llmtrace.demo.providers.<name>`` (found automatically).
Streams use chunked transfer encoding like the real APIs, so a "stream cut" is an abrupt close that the HTTP
client reports, not a clean end of body.

Faults come from the ``x-llmtrace-fault`` request header (a comma-separated plan, one entry per HTTP attempt, past
the end the last entry repeats), or from the server-wide ``enqueue()`` FIFO, or default to ``ok``. The attempt
index is the SDK's own retry header where it sends one (``x-stainless-retry-count``, botocore's
``amz-sdk-request: attempt=N``), else the number of earlier requests carrying the same ``x-llmtrace-call`` id.
The ``tool_call`` fault answers with a call of the request's first tool; ``tool_call:NAME`` with a call of tool NAME
(its first parameter as the argument), so that a script of faults can drive an agent from tool to tool.
Fuzzing: ``enqueue_raw(RawReply(...))`` makes the next request(s) get exactly the given status, content type and
body bytes (a list of pieces is sent as a chunked stream), whatever the path or fault plan.
Other tuning headers: ``x-llmtrace-usage`` (``input=120,output=30,cache_read=100,cache_write=20,reasoning=5``),
``x-llmtrace-chunks``, ``x-llmtrace-ttft-ms``, ``x-llmtrace-delay-ms``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ERRORS",
    "FAULTS",
    "Exchange",
    "FakeProviderServer",
    "Handler",
    "RawReply",
    "Reply",
    "Route",
    "StreamEvent",
    "WireFormat",
    "ndjson_line",
    "rand_id",
    "split_text",
    "sse_event",
]

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
# fault -> (typical HTTP status, message); a wire format may answer with its own status (Anthropic's 529)
ERRORS: dict[str, tuple[int, str]] = {
    "rate_limit": (429, "Rate limit reached"),
    "server_error": (500, "Internal server error"),
    "overloaded": (503, "Overloaded"),
    "auth": (401, "Invalid API key"),
    "permission": (403, "Not allowed"),
    "not_found": (404, "Model not found"),
    "bad_request": (400, "Invalid request"),
    "context_length": (400, "prompt is too long: 210000 tokens > 200000 maximum context length"),
}
_WORDS = (
    "river delta basin current estuary tide meander channel stream bank flow valley source mouth upland floodplain "
    "tributary watershed rapids lagoon marsh spring creek canyon gorge"
).split()

# the arguments of the tool call a "tool_call" fault answers with
_TOOL_ARGS = '{"query": "weather in Paris"}'
# (event name or None, payload, carries content)
StreamEvent = tuple[str | None, Any, bool]


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
    traceparent: str | None = None  # the W3C trace context the SDK propagated, if any
    serial: int = 0  # the server's count of requests before this one (ids derive from it: same requests, same ids)


@dataclass
class Reply:
    """What to answer, decided once and rendered by the provider's wire format."""

    exchange: Exchange
    usage: dict[str, int]
    text: str
    pieces: list[str] = field(default_factory=list)
    tool_name: str | None = None
    tool_args: str = _TOOL_ARGS
    ttft_s: float = 0.0
    delay_s: float = 0.0


Route = Callable[["Handler", Reply, dict[str, Any]], None]


@dataclass(frozen=True)
class RawReply:
    """A verbatim answer for fuzzing: ``body`` bytes as one response, or a list of pieces sent chunked."""

    body: bytes | list[bytes]
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WireFormat:
    """One provider's wire format: which paths it serves, how it answers, how it reports errors.

    ``route(path)`` returns the answering function for a path (query string removed) or None;
    ``describe(path, body)`` gives (model, streamed) when they are not ``body["model"]``/``body["stream"]``;
    ``error(handler, exchange, fault)`` sends the provider's error body for a fault in ``ERRORS``.
    """

    provider: str
    route: Callable[[str], Route | None]
    error: Callable[[Handler, Exchange, str], None]
    describe: Callable[[str, dict[str, Any]], tuple[str, bool]] | None = None


class FakeProviderServer:
    """Threaded HTTP server on loopback; a context manager (``with FakeProviderServer() as s: s.url``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0) -> None:
        from .providers import wire_formats

        self.seed = seed
        self.log: list[Exchange] = []
        self.wire_formats: tuple[WireFormat, ...] = wire_formats()
        self._queue: deque[str] = deque()
        self._raw: deque[RawReply] = deque()
        self._calls: Counter[str] = Counter()
        self._serials = itertools.count()
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

    def enqueue_raw(self, *replies: RawReply) -> None:
        """Answer the next ``len(replies)`` requests verbatim, in order (before any fault plan)."""
        with self._lock:
            self._raw.extend(replies)

    def _next_raw(self) -> RawReply | None:
        with self._lock:
            return self._raw.popleft() if self._raw else None

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self._queue.clear()
            self._raw.clear()
            self._calls.clear()

    def _next_fault(self, header: str | None, attempt: int) -> str:
        if header:
            plan = [f.strip() for f in header.split(",") if f.strip()] or ["ok"]
            return plan[min(attempt, len(plan) - 1)]
        with self._lock:
            return self._queue.popleft() if self._queue else "ok"

    def _attempt_of_call(self, call_id: str) -> int:
        with self._lock:
            attempt = self._calls[call_id]
            self._calls[call_id] += 1
            return attempt

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            exchange.serial = next(self._serials)
            self.log.append(exchange)

    def _find_route(self, path: str) -> tuple[WireFormat, Route] | None:
        for wire in self.wire_formats:
            route = wire.route(path)
            if route is not None:
                return wire, route
        return None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # bursts of concurrent clients must not be refused (tests run 50+ at once)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (timeout tests, abandoned streams) is normal here: no traceback on stderr."""


def _handler_class(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class BoundHandler(Handler):
        fake = server

    return BoundHandler


class Handler(BaseHTTPRequestHandler):
    """Parses the request, applies the fault plan, and gives wire formats the primitives they send with."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
    fake: FakeProviderServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        verbatim = self.fake._next_raw() if self.fake._raw else None
        if verbatim is not None:
            return self._send_raw(verbatim)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        body = body if isinstance(body, dict) else {"input": body}
        path = self.path.split("?")[0]
        found = self.fake._find_route(path)
        wire = found[0] if found else self.fake.wire_formats[0]
        model, stream = (
            wire.describe(path, body) if wire.describe else (str(body.get("model", "")), bool(body.get("stream")))
        )
        attempt = self._attempt()
        exchange = Exchange(
            provider=wire.provider,
            path=path,
            model=model,
            stream=stream,
            attempt=attempt,
            fault=self.fake._next_fault(self.headers.get("x-llmtrace-fault"), attempt),
            status=200,
            request_body=body,
            traceparent=self.headers.get("traceparent"),
        )
        self.fake._record(exchange)  # at arrival: a slow (timeout) answer must not land in a later test's log
        try:
            self._answer(wire, found[1] if found else None, exchange, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to send to

    def _send_raw(self, reply: RawReply) -> None:
        try:
            if isinstance(reply.body, bytes):
                headers = {"content-type": reply.content_type, "content-length": str(len(reply.body))}
                self.start_response(reply.status, {**headers, **reply.headers})
                self.wfile.write(reply.body)
                return
            headers = {"content-type": reply.content_type, "transfer-encoding": "chunked"}
            self.start_response(reply.status, {**headers, **reply.headers})
            for piece in reply.body:
                if piece:
                    self._chunk(piece)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _attempt(self) -> int:
        """Which HTTP attempt of the SDK's retry loop this is (0 = first)."""
        stainless = self.headers.get("x-stainless-retry-count")
        if stainless is not None:
            return int(stainless)
        amz = self.headers.get("amz-sdk-request") or ""  # botocore: "ttl=...; attempt=2; max=3"
        attempt = next((p.split("=", 1)[1] for p in amz.split(";") if p.strip().startswith("attempt=")), None)
        if attempt is not None:
            return int(attempt) - 1
        call_id = self.headers.get("x-llmtrace-call")
        return self.fake._attempt_of_call(call_id) if call_id else 0

    def _answer(self, wire: WireFormat, route: Route | None, exchange: Exchange, body: dict[str, Any]) -> None:
        name, _, arg = exchange.fault.partition(":")
        if name == "timeout":
            self._sleep(float(arg or 5.0))
        if route is None:
            name = "not_found"
        if name in ERRORS:
            exchange.finish_reason = None
            return wire.error(self, exchange, name)
        route(self, self._reply(exchange, body), body)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.fake._stopping.is_set():
            time.sleep(0.02)

    def _reply(self, exchange: Exchange, body: dict[str, Any]) -> Reply:
        """Deterministic text and usage for this request (seeded by the body), honouring the tuning headers."""
        chunks = int(self.headers.get("x-llmtrace-chunks") or 5)
        digest = hashlib.sha256(f"{self.fake.seed}:{json.dumps(body, sort_keys=True)}".encode()).digest()
        rng = random.Random(digest)
        words = [rng.choice(_WORDS) for _ in range(max(12, chunks) + rng.randrange(8))]
        text = " ".join(words).capitalize() + "."
        prompt = next((body[k] for k in ("messages", "input", "prompt", "contents", "inputText") if k in body), "")
        usage = {
            "input": max(1, len(json.dumps(prompt, sort_keys=True)) // 4),
            "output": len(text.split()),
            "cache_read": 0,
            "cache_write": 0,
            "reasoning": 0,
        }
        usage.update(_parse_usage(self.headers.get("x-llmtrace-usage")))
        tool_name, tool_args = None, _TOOL_ARGS
        fault, _, named = exchange.fault.partition(":")
        if fault == "tool_call":
            tools = body.get("tools") or body.get("toolConfig", {}).get("tools") or [{}]
            tool_name = named or _first_tool_name(tools)
            tool_args = _tool_arguments(tools, named) if named else tool_args
            text = ""
        elif exchange.fault == "content_filter":
            text = "I can't help with that." if exchange.provider == "anthropic" else ""
        exchange.usage = {k: v for k, v in usage.items() if v or k in ("input", "output")}
        exchange.text = text
        return Reply(
            exchange,
            usage,
            text,
            pieces=split_text(text, chunks),
            tool_name=tool_name,
            tool_args=tool_args,
            ttft_s=float(self.headers.get("x-llmtrace-ttft-ms") or 0) / 1000,
            delay_s=float(self.headers.get("x-llmtrace-delay-ms") or 0) / 1000,
        )

    # -- sending: the primitives wire formats use ------------------------------------------------------------------
    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None, *, cut: bool = False) -> None:
        """A JSON body; ``cut`` promises more bytes than it sends, then drops the connection."""
        data = json.dumps(payload).encode()
        if cut:
            self.start_response(status, {"content-type": "application/json", "content-length": str(len(data) + 100)})
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        extra = headers or {}
        self.start_response(status, {"content-type": "application/json", "content-length": str(len(data)), **extra})
        self.wfile.write(data)

    def send_malformed(self) -> None:
        """A 200 whose JSON body stops half-way (the SDK's parser must fail)."""
        data = b'{"id": "broken", "choices": [{"index": 0, "message": '
        self.start_response(200, {"content-type": "application/json", "content-length": str(len(data))})
        self.wfile.write(data)

    def start_response(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def send_stream(
        self,
        reply: Reply,
        events: Iterable[StreamEvent],
        *,
        content_type: str = "text/event-stream",
        encode: Callable[[str | None, Any], bytes] | None = None,
        malformed: Any = "{not json",
    ) -> None:
        """Send events as a chunked stream, honouring ttft/delay and the stream_cut/malformed faults.

        ``encode(name, payload)`` renders one event (default: SSE); ``malformed`` replaces content payloads under
        the malformed fault.
        """
        encode = encode or sse_event
        self.start_response(
            200, {"content-type": content_type, "transfer-encoding": "chunked", "cache-control": "no-cache"}
        )
        fault = reply.exchange.fault
        items = list(events)
        cut_at = max(1, sum(1 for _, _, content in items if content) // 2) if fault == "stream_cut" else None
        sent_content = 0
        for name, data, content in items:
            if content:
                time.sleep(reply.ttft_s if sent_content == 0 else reply.delay_s)
                if fault == "malformed":
                    data = malformed
                sent_content += 1  # counted before sending: the client may finish reading before we resume
                reply.exchange.chunks = sent_content
            self._chunk(encode(name, data))
            if cut_at is not None and sent_content >= cut_at:
                self.wfile.flush()
                self.close_connection = True
                return  # no terminal event, no final zero-length chunk
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def sse_event(name: str | None, data: Any) -> bytes:
    """One server-sent event (``event:`` line only when named)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()


def ndjson_line(name: str | None, data: Any) -> bytes:
    """One newline-delimited JSON object."""
    return ((data if isinstance(data, str) else json.dumps(data)) + "\n").encode()


def split_text(text: str, parts: int) -> list[str]:
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
    return [text[i : i + step] for i in range(0, len(text), step)]


def rand_id(exchange: Exchange) -> str:
    """A unique-looking id for responses, messages and tool calls (each kind has its prefix): unique per request
    of a server, and the same for the same request in a rerun, since a framework sends the ids back in its next
    request, whose text and usage derive from its body."""
    return hashlib.sha1(f"llmtrace-fake:{exchange.serial}".encode()).hexdigest()[:24]


def _first_tool_name(tools: list[Any]) -> str:
    """The first tool's name in any provider's tool list shape."""
    tool = tools[0] if tools and isinstance(tools[0], dict) else {}
    for candidate in (tool, tool.get("function") or {}, tool.get("toolSpec") or {}):
        if candidate.get("name"):
            return str(candidate["name"])
    declarations = tool.get("functionDeclarations") or tool.get("function_declarations") or [{}]
    return str(declarations[0].get("name") or "lookup")


def _tool_arguments(tools: list[Any], name: str) -> str:
    """Arguments for tool ``name`` (OpenAI's and Anthropic's tool shapes): its first parameter set to the default
    query, so that a framework validating them against the tool's schema accepts them."""
    for tool in tools:
        for candidate in (tool, tool.get("function") or {}) if isinstance(tool, dict) else ():
            if candidate.get("name") == name:
                schema = candidate.get("parameters") or candidate.get("input_schema") or {}
                first = next(iter(schema.get("properties") or {}), "query")
                return json.dumps({first: json.loads(_TOOL_ARGS)["query"]})
    return _TOOL_ARGS


def _parse_usage(header: str | None) -> dict[str, int]:
    if not header:
        return {}
    pairs = (item.split("=", 1) for item in header.split(",") if "=" in item)
    return {key.strip(): int(value) for key, value in pairs}

"""Cohere (``cohere`` SDK, v2 API): ``chat``, ``chat_stream`` and ``embed`` on ``ClientV2`` / ``AsyncClientV2``.

Token counts come from ``usage.tokens`` (what the model processed, chat template included) and fall back to
``usage.billed_units`` (what Cohere charges) only when ``tokens`` is absent; ``cached_tokens`` is the cache-read
subset of the input. The v2 responses carry no model name, so the requested model prices the call.

``chat_stream`` is a generator function: calling it sends nothing, the request goes out on the first iteration
and is never retried by the SDK (only non-streamed calls retry 429/5xx). cohere's ``Client.__init__`` binds
``chat`` and ``chat_stream`` onto each instance, so clients created before ``instrument()`` keep the plain
methods for those two: instrument first, then create clients.
"""

from __future__ import annotations

from typing import Any

from ..call import LLMRecord
from ..classification import ErrorRules, ErrorTable, http_client_errors
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX, Provider, WrapTarget, generator_stream
from ._instrumentor import instrumentor_class
from ._reading import (
    StreamedToolCalls,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    keep_function_calls,
    server_of,
    split_system,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "CohereInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "stream_state",
]

_V2 = "cohere.v2.client"
TARGETS = (
    WrapTarget(_V2, "V2Client.chat", "chat", streaming=False),
    WrapTarget(_V2, "AsyncV2Client.chat", "chat", is_async=True, streaming=False),
    WrapTarget(_V2, "V2Client.chat_stream", "chat", streaming=True),
    # An async generator function: calling it returns the stream at once (nothing to await), so it is wrapped
    # like a sync call and its result gets the async stream proxy (the base picks the proxy from the result).
    WrapTarget(_V2, "AsyncV2Client.chat_stream", "chat", streaming=True),
    WrapTarget(_V2, "V2Client.embed", "embeddings", streaming=False),
    WrapTarget(_V2, "AsyncV2Client.embed", "embeddings", is_async=True, streaming=False),
)
_CONTENT_EVENTS = frozenset({"content-delta", "tool-plan-delta", "tool-call-start", "tool-call-delta"})


def _server(client: Any) -> tuple[str | None, int | None]:
    """Host and port from the client wrapper (``ClientV2`` holds it; a v1 client's ``.v2`` reaches it via raw)."""
    wrapper = getattr(client, "_client_wrapper", None) or get_path(client, "_raw_client", "_client_wrapper")
    get_base_url = getattr(wrapper, "get_base_url", None)
    return server_of({"base_url": get_base_url()}) if callable(get_base_url) else (None, None)


def read_request(target: WrapTarget, client: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read chat()/chat_stream()/embed() keyword arguments into a record (request side only)."""
    host, port = _server(client)
    stop = kwargs.get("stop_sequences")
    record = LLMRecord(
        provider="cohere",
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=bool(target.streaming),
        server_address=host,
        server_port=port,
        temperature=as_float(kwargs.get("temperature")),
        max_tokens=as_int(kwargs.get("max_tokens")),
        top_p=as_float(kwargs.get("p")),
        top_k=as_float(kwargs.get("k")),
        seed=as_int(kwargs.get("seed")),
        stop_sequences=as_stop_sequences(stop),
    )
    if target.operation == "embeddings":
        record.messages = next((kwargs[k] for k in ("texts", "inputs", "images") if kwargs.get(k)), None)
        return record
    record.messages, record.system = split_system(list(kwargs.get("messages") or ()))
    record.tools = as_tools(kwargs.get("tools"))
    return record


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a V2ChatResponse or an EmbedByTypeResponse into the record."""
    record.response_id = get_path(response, "id")
    if record.operation == "embeddings":
        _read_usage(record, get_path(response, "meta"))
        if record.input_tokens is not None:
            record.output_tokens = 0
        return
    reason = get_path(response, "finish_reason")
    if reason:
        record.finish_reasons.append(str(reason))
    message = get_path(response, "message")
    for item in as_items(get_path(message, "content")):
        text = get_path(item, "text")
        if get_path(item, "type") == "text" and isinstance(text, str):
            record.output_text.append(text)
    calls = as_items(get_path(message, "tool_calls"))
    record.tool_calls += len(calls)
    keep_function_calls(record, calls)
    _read_usage(record, get_path(response, "usage"))


def _read_usage(record: LLMRecord, usage: Any) -> None:
    """``usage`` (chat) or ``meta`` (embed): processed tokens first, billed units when those are missing."""
    if usage is None:
        return
    tokens, billed = get_path(usage, "tokens"), get_path(usage, "billed_units")
    for name in ("input_tokens", "output_tokens"):
        count = as_int(get_path(tokens, name))
        if count is None:
            count = as_int(get_path(billed, name))
        if count is not None:
            setattr(record, name, count)
    cached = as_int(get_path(usage, "cached_tokens"))
    if cached:
        record.cache_read_tokens = cached


class ChatStreamState(StreamState):
    """Accumulates v2 chat stream events; ``message-end`` carries the finish reason and the usage. A tool call
    opens with ``tool-call-start`` (id and name) and its arguments follow in ``tool-call-delta`` pieces."""

    __slots__ = ("ended", "record", "tools")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.ended = False
        self.tools = StreamedToolCalls()

    def process_chunk(self, event: Any) -> bool:
        kind = get_path(event, "type")
        if kind == "content-delta":
            content = get_path(event, "delta", "message", "content")
            text = get_path(content, "text")
            if isinstance(text, str):
                self.record.output_text.append(text)
            return bool(text or get_path(content, "thinking"))
        if kind == "tool-call-start":
            call = get_path(event, "delta", "message", "tool_calls")
            function = get_path(call, "function")
            index = get_path(event, "index")
            self.tools.start(index, get_path(call, "id"), get_path(function, "name"), get_path(function, "arguments"))
        elif kind == "tool-call-delta":
            piece = get_path(event, "delta", "message", "tool_calls", "function", "arguments")
            self.tools.add(get_path(event, "index"), piece)
        elif kind == "message-start":
            self.record.response_id = get_path(event, "id")
        elif kind == "message-end":
            self._end(get_path(event, "delta"))
        return isinstance(kind, str) and kind in _CONTENT_EVENTS

    def _end(self, delta: Any) -> None:
        self.ended = True
        reason = get_path(delta, "finish_reason")
        if reason:
            self.record.finish_reasons.append(str(reason))
        _read_usage(self.record, get_path(delta, "usage"))

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)

    @property
    def terminated(self) -> bool:
        return self.ended


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return ChatStreamState(record)


def errors() -> ErrorTable:
    """cohere exception classes (one per HTTP status, all ``ApiError``), then the httpx errors it lets through.

    ``ApiError`` itself is left to the HTTP status: the SDK raises it bare for unlisted statuses and for a 2xx
    body it could not decode.
    """
    import cohere
    import httpx
    from cohere.core import ParsingError

    return (
        (cohere.TooManyRequestsError, ErrorType.RATE_LIMIT),
        (cohere.UnauthorizedError, ErrorType.AUTH),
        (cohere.InvalidTokenError, ErrorType.AUTH),
        (cohere.ForbiddenError, ErrorType.PERMISSION),
        (cohere.NotFoundError, ErrorType.NOT_FOUND),
        (cohere.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (cohere.BadRequestError, ErrorType.BAD_REQUEST),
        (cohere.ClientClosedRequestError, ErrorType.CANCELLED),
        (cohere.GatewayTimeoutError, ErrorType.TIMEOUT),
        (cohere.ServiceUnavailableError, ErrorType.OVERLOADED),
        (cohere.NotImplementedError, ErrorType.SERVER_ERROR),
        (cohere.InternalServerError, ErrorType.SERVER_ERROR),
        (ParsingError, ErrorType.INVALID_RESPONSE),
        *http_client_errors(httpx),
    )


def error_message(exc: BaseException) -> str:
    """``ApiError``'s text starts with every response header: keep the status and the body's message only (the
    headers would use most of ``llm.error.message``'s 256 characters)."""
    text = str(exc)
    if text.startswith("headers: ") and hasattr(exc, "body") and hasattr(exc, "status_code"):
        body = exc.body
        detail = body.get("message") if isinstance(body, dict) else None
        return f"status_code: {exc.status_code}, {detail if isinstance(detail, str) else f'body: {body}'}"
    return text


PROVIDER = Provider(
    name="cohere",
    requires=("cohere >= 5.13",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=generator_stream,
    stream_state=stream_state,
    transports=HTTPX,
    errors=errors,
    error_readers=ErrorRules(message=error_message),
    finish_reasons={
        "complete": FinishReason.STOP,
        "stop_sequence": FinishReason.STOP,
        "max_tokens": FinishReason.LENGTH,
        "error_limit": FinishReason.LENGTH,
        "tool_call": FinishReason.TOOL_USE,
        "error_toxic": FinishReason.CONTENT_FILTER,
        "timeout": FinishReason.ERROR,
    },
)

CohereInstrumentor = instrumentor_class(
    PROVIDER,
    "CohereInstrumentor",
    """Instruments the ``cohere`` SDK's v2 API: chat, chat streams and embeddings, sync and async.

    Example::

        from llmtrace.providers.cohere import CohereInstrumentor
        CohereInstrumentor().instrument()
        co = cohere.ClientV2()  # after instrument(): cohere binds chat/chat_stream per instance
    """,
)

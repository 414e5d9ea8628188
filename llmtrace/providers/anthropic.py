"""Anthropic: ``messages.create`` (sync/async, ``stream=True``) and the ``messages.stream()`` helper.

Anthropic's ``input_tokens`` excludes cached tokens; llmtrace's ``input`` includes them, so cache reads and
writes are added back (input = input_tokens + cache_read + cache_write), matching OpenAI and genai-prices.
"""

from __future__ import annotations

from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable
from ..sdk_spans import SelfTracing
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX, HTTPX2, Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._reading import (
    StreamedToolCalls,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    is_raw_response,
    server_of,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "AnthropicInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "stream_in",
    "stream_state",
]

_MESSAGES = "anthropic.resources.messages.messages"
TARGETS = (
    WrapTarget(_MESSAGES, "Messages.create", "chat"),
    WrapTarget(_MESSAGES, "AsyncMessages.create", "chat", is_async=True),
    WrapTarget(
        _MESSAGES,
        "Messages.stream",
        "chat",
        deferred=True,
        streaming=True,
        request_attr="_MessageStreamManager__api_request",
    ),
    WrapTarget(
        _MESSAGES,
        "AsyncMessages.stream",
        "chat",
        is_async=True,
        deferred=True,
        streaming=True,
        request_attr="_AsyncMessageStreamManager__api_request",
    ),
)
_CLIENT_PROVIDERS = (("Bedrock", "bedrock"), ("Vertex", "vertex"), ("AWS", "bedrock"))


def _provider(client: Any) -> str:
    name = type(client).__name__
    return next((provider for marker, provider in _CLIENT_PROVIDERS if marker in name), "anthropic")


def read_request(target: WrapTarget, resource: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read messages.create()/stream() kwargs into a record (request side only)."""
    client = getattr(resource, "_client", None)
    host, port = server_of(client)
    streaming = target.streaming if target.streaming is not None else bool(kwargs.get("stream"))
    stop = kwargs.get("stop_sequences")
    tools = kwargs.get("tools")
    return LLMRecord(
        provider=_provider(client),
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=streaming,
        server_address=host,
        server_port=port,
        temperature=as_float(kwargs.get("temperature")),
        max_tokens=as_int(kwargs.get("max_tokens")),
        top_p=as_float(kwargs.get("top_p")),
        top_k=as_float(kwargs.get("top_k")),
        stop_sequences=as_stop_sequences(stop),
        messages=kwargs.get("messages"),
        system=kwargs.get("system"),
        tools=as_tools(tools),
    )


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a Message (or a ``with_raw_response`` wrapper of one) into the record."""
    if is_raw_response(response):
        response = response.parse()
    record.response_id = get_path(response, "id")
    record.response_model = get_path(response, "model")
    stop = get_path(response, "stop_reason")
    if stop:
        record.finish_reasons.append(str(stop))
    for block in as_items(get_path(response, "content")):
        _read_block(record, block)
    _read_usage(record, get_path(response, "usage"))


def _read_block(record: LLMRecord, block: Any) -> None:
    kind = get_path(block, "type")
    if kind == "text":
        text = get_path(block, "text")
        if isinstance(text, str):
            record.output_text.append(text)
    elif kind in _TOOL_BLOCKS:
        record.tool_calls += 1
        record.keep_tool_call(get_path(block, "id"), get_path(block, "name"), get_path(block, "input"))


_TOOL_BLOCKS = ("tool_use", "server_tool_use")


def _read_usage(record: LLMRecord, usage: Any) -> None:
    if usage is None:
        return
    uncached = as_int(get_path(usage, "input_tokens"))
    cache_read = as_int(get_path(usage, "cache_read_input_tokens")) or 0
    cache_write = as_int(get_path(usage, "cache_creation_input_tokens")) or 0
    if uncached is not None:
        record.input_tokens = uncached + cache_read + cache_write
    record.cache_read_tokens = cache_read or record.cache_read_tokens
    record.cache_write_tokens = cache_write or record.cache_write_tokens
    output = as_int(get_path(usage, "output_tokens"))
    if output is not None:
        record.output_tokens = output
    thinking = as_int(get_path(usage, "output_tokens_details", "thinking_tokens"))
    if thinking:
        record.reasoning_tokens = thinking


class MessageStreamState(StreamState):
    """Accumulates raw Messages stream events (the helper's ``MessageStream`` reads the same raw events).

    A ``tool_use`` block opens with its id and name; its input follows as ``input_json_delta`` pieces of JSON text.
    """

    __slots__ = ("record", "stopped", "tools")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.stopped = False
        self.tools = StreamedToolCalls()

    def process_chunk(self, event: Any) -> bool:
        try:  # the hot path: an SDK content delta (plain attribute loads)
            if event.type == "content_block_delta":
                delta = event.delta
                text = getattr(delta, "text", None)  # tool-input and thinking deltas have no text
                if isinstance(text, str):
                    self.record.output_text.append(text)
                elif delta.type == "input_json_delta":
                    self.tools.add(event.index, delta.partial_json)
                return True
        except Exception:  # a dict or a malformed event: the careful path below
            pass
        return self._event(event)

    def _event(self, event: Any) -> bool:
        kind = get_path(event, "type")
        if kind == "content_block_delta":
            text = get_path(event, "delta", "text")
            if isinstance(text, str):
                self.record.output_text.append(text)
            else:
                self.tools.add(get_path(event, "index"), get_path(event, "delta", "partial_json"))
            return True
        if kind == "content_block_start":
            block = get_path(event, "content_block")
            if get_path(block, "type") in _TOOL_BLOCKS:
                self.tools.start(
                    get_path(event, "index"), get_path(block, "id"), get_path(block, "name"), get_path(block, "input")
                )
        elif kind == "message_start":
            message = get_path(event, "message")
            self.record.response_id = get_path(message, "id")
            self.record.response_model = get_path(message, "model")
            _read_usage(self.record, get_path(message, "usage"))
        elif kind == "message_delta":
            self._delta(event)
        elif kind == "message_stop":
            self.stopped = True
        return False

    def _delta(self, event: Any) -> None:
        stop = get_path(event, "delta", "stop_reason")
        if stop:
            self.record.finish_reasons.append(str(stop))
        usage = get_path(event, "usage")
        # message_delta usage is cumulative; input fields appear only when the API revises them.
        if get_path(usage, "input_tokens") is not None:
            _read_usage(self.record, usage)
        else:
            output = as_int(get_path(usage, "output_tokens"))
            if output is not None:
                self.record.output_tokens = output
            thinking = as_int(get_path(usage, "output_tokens_details", "thinking_tokens"))
            if thinking:
                self.record.reasoning_tokens = thinking

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)

    @property
    def terminated(self) -> bool:
        return self.stopped


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    import anthropic

    return Streamed(result) if isinstance(result, (anthropic.Stream, anthropic.AsyncStream)) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return MessageStreamState(record)


def errors() -> ErrorTable:
    """anthropic exception classes, most specific first (subclasses before their bases)."""
    import anthropic
    from anthropic import _exceptions as exc

    return (
        (anthropic.APITimeoutError, ErrorType.TIMEOUT),
        (anthropic.APIConnectionError, ErrorType.CONNECTION),
        (anthropic.RateLimitError, ErrorType.RATE_LIMIT),
        (anthropic.AuthenticationError, ErrorType.AUTH),
        (anthropic.PermissionDeniedError, ErrorType.PERMISSION),
        (exc.PaymentRequiredError, ErrorType.PERMISSION),
        (anthropic.NotFoundError, ErrorType.NOT_FOUND),
        (exc.RequestTimeoutError, ErrorType.TIMEOUT),
        (exc.GatewayTimeoutError, ErrorType.TIMEOUT),
        (exc.ContentTooLargeError, ErrorType.CONTEXT_LENGTH),
        (exc.RequestHeaderFieldsTooLargeError, ErrorType.BAD_REQUEST),
        (exc.ClientClosedRequestError, ErrorType.CANCELLED),
        (anthropic.ConflictError, ErrorType.SERVER_ERROR),
        (exc.PreconditionFailedError, ErrorType.BAD_REQUEST),
        (anthropic.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (anthropic.BadRequestError, ErrorType.BAD_REQUEST),
        (exc.OverloadedError, ErrorType.OVERLOADED),
        (exc.ServiceUnavailableError, ErrorType.OVERLOADED),
        (exc.HTTPNotImplementedError, ErrorType.SERVER_ERROR),
        (anthropic.InternalServerError, ErrorType.SERVER_ERROR),
        (anthropic.APIResponseValidationError, ErrorType.INVALID_RESPONSE),
        (exc.CredentialsError, ErrorType.AUTH),
    )


# anthropic 2.14+ starts a CLIENT span per API call by default whenever a global tracer provider exists.
SELF_TRACING = (
    SelfTracing(
        sdk="anthropic",
        module="anthropic._base_client",
        function="start_api_call_span",
        tracer_arg="tracer",
        tracer_position=0,
        default_on=True,
        switch="ANTHROPIC_OPEN_TELEMETRY=false or the client's open_telemetry=False",
    ),
)
PROVIDER = Provider(
    name="anthropic",
    requires=("anthropic >= 0.40",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=(*HTTPX2, *HTTPX),  # anthropic 2.x sends through httpx2, earlier releases through httpx
    errors=errors,
    finish_reasons={
        "end_turn": FinishReason.STOP,
        "stop_sequence": FinishReason.STOP,
        "pause_turn": FinishReason.STOP,
        "max_tokens": FinishReason.LENGTH,
        "model_context_window_exceeded": FinishReason.LENGTH,
        "tool_use": FinishReason.TOOL_USE,
        "refusal": FinishReason.CONTENT_FILTER,
    },
    self_tracing=SELF_TRACING,
    raw_responses=True,
)

AnthropicInstrumentor = instrumentor_class(
    PROVIDER,
    "AnthropicInstrumentor",
    """Instruments the ``anthropic`` SDK: Messages API sync/async, raw streams and the stream helper.

    Example::

        from llmtrace.providers.anthropic import AnthropicInstrumentor
        AnthropicInstrumentor().instrument()
    """,
)

"""Mistral (``mistralai`` SDK, ``from mistralai.client import Mistral``): ``chat.complete`` / ``chat.stream``,
``fim.complete`` / ``fim.stream`` (fill-in-the-middle, operation ``completion``) and ``embeddings.create``, sync and
async.

The SDK is generated (Speakeasy) on httpx2: each HTTP attempt of its time-bounded retry loop goes through
``httpx2.Client.send``, where llmtrace counts it. ``prompt_tokens`` already includes cached tokens (reported in
``prompt_tokens_details.cached_tokens``). A stream's last chunk carries the finish reason and the usage. Transport
failures reach the user as raw httpx2 exceptions (the SDK does not wrap them), so they are in the error table too.
"""

from __future__ import annotations

from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable, http_client_errors
from ..sdk_spans import SelfTracing
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX2, Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._reading import (
    StreamedToolCalls,
    add_finish_reason,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    ids_from_first_chunk,
    read_choices,
    read_token_usage,
    server_of,
    split_system,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "ChatStreamState",
    "MistralInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "stream_in",
    "stream_state",
]

_CHAT = "mistralai.client.chat"
_FIM = "mistralai.client.fim"
_EMBEDDINGS = "mistralai.client.embeddings"
TARGETS = (
    WrapTarget(_CHAT, "Chat.complete", "chat", streaming=False),
    WrapTarget(_CHAT, "Chat.complete_async", "chat", is_async=True, streaming=False),
    WrapTarget(_CHAT, "Chat.stream", "chat", streaming=True),
    WrapTarget(_CHAT, "Chat.stream_async", "chat", is_async=True, streaming=True),
    WrapTarget(_FIM, "Fim.complete", "completion", streaming=False),
    WrapTarget(_FIM, "Fim.complete_async", "completion", is_async=True, streaming=False),
    WrapTarget(_FIM, "Fim.stream", "completion", streaming=True),
    WrapTarget(_FIM, "Fim.stream_async", "completion", is_async=True, streaming=True),
    WrapTarget(_EMBEDDINGS, "Embeddings.create", "embeddings", streaming=False),
    WrapTarget(_EMBEDDINGS, "Embeddings.create_async", "embeddings", is_async=True, streaming=False),
)


def _server(resource: Any, kwargs: dict[str, Any]) -> tuple[str | None, int | None]:
    """Host and port of the per-call ``server_url``, else of the client's configured server."""
    url = kwargs.get("server_url")
    if not isinstance(url, str):
        try:
            url = resource.sdk_configuration.get_server_details()[0]
        except (AttributeError, ValueError, TypeError):  # an invalid server name fails in the SDK call too
            return None, None
    return server_of({"base_url": url})


def _read_sampling(record: LLMRecord, kwargs: dict[str, Any]) -> None:
    record.temperature = as_float(kwargs.get("temperature"))
    record.max_tokens = as_int(kwargs.get("max_tokens"))
    record.top_p = as_float(kwargs.get("top_p"))
    record.top_k = as_float(kwargs.get("top_k"))
    record.seed = as_int(kwargs.get("random_seed"))
    record.stop_sequences = as_stop_sequences(kwargs.get("stop"))


def read_request(target: WrapTarget, resource: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read chat/fim complete()/stream() or embeddings.create() arguments into a record (request side only)."""
    host, port = _server(resource, kwargs)
    record = LLMRecord(
        provider="mistral",
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=bool(target.streaming),
        server_address=host,
        server_port=port,
    )
    if target.operation == "embeddings":
        record.messages = kwargs.get("inputs")
        return record
    _read_sampling(record, kwargs)
    if target.operation == "completion":  # fill-in-the-middle: the code before the gap (and after it, if given)
        prompt, suffix = kwargs.get("prompt"), kwargs.get("suffix")
        record.messages = {"prompt": prompt, "suffix": suffix} if isinstance(suffix, str) else prompt
        return record
    record.messages, record.system = split_system(kwargs.get("messages"))  # a one-shot iterable is left unread
    record.tools = as_tools(kwargs.get("tools"))
    return record


def _read_usage(record: LLMRecord, usage: Any) -> None:
    """``prompt_tokens`` includes cached tokens; the cached count is an extra field the SDK model keeps."""
    if not read_token_usage(record, usage):
        return
    cached = as_int(get_path(usage, "prompt_tokens_details", "cached_tokens"))
    if cached is None:
        cached = as_int(get_path(usage, "num_cached_tokens"))
    record.cache_read_tokens = cached or None


def _read_content(record: LLMRecord, content: Any) -> bool:
    """Message/delta content: a string, or chunks (text, and thinking on reasoning models). True if any."""
    if isinstance(content, str):
        if content:
            record.output_text.append(content)
        return bool(content)
    found = False
    for chunk in as_items(content):
        kind = get_path(chunk, "type")
        text = get_path(chunk, "text")
        if kind == "text" and isinstance(text, str) and text:
            record.output_text.append(text)
            found = True
        elif kind == "thinking":
            found = True
    return found


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a ChatCompletionResponse, FIMCompletionResponse or EmbeddingResponse into the record."""
    record.response_id = get_path(response, "id")
    record.response_model = get_path(response, "model")
    _read_usage(record, get_path(response, "usage"))
    if record.operation == "embeddings":
        if record.output_tokens is None and record.input_tokens is not None:
            record.output_tokens = 0
        return
    read_choices(record, get_path(response, "choices"), _read_content)


class ChatStreamState(StreamState):
    """Accumulates ``CompletionEvent``s; the chunk with a finish reason (and the usage) is the terminal one."""

    __slots__ = ("finished", "record", "tools")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.tools = StreamedToolCalls()
        self.finished = False

    def process_chunk(self, event: Any) -> bool:
        chunk = get_path(event, "data")
        record = self.record
        ids_from_first_chunk(record, chunk)
        usage = get_path(chunk, "usage")
        if usage is not None:
            _read_usage(record, usage)
        content = False
        for choice in as_items(get_path(chunk, "choices")):
            content = self._choice(choice) or content
        return content

    def _choice(self, choice: Any) -> bool:
        if add_finish_reason(self.record, choice):
            self.finished = True
        delta = get_path(choice, "delta")
        calls = as_items(get_path(delta, "tool_calls"))
        index = get_path(choice, "index")
        for call in calls:  # whole calls in one delta, but a call split over deltas is still one call
            self.tools.delta(index, call)
        return _read_content(self.record, get_path(delta, "content")) or bool(calls)

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)

    @property
    def terminated(self) -> bool:
        return self.finished


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    from mistralai.client.utils.eventstreaming import EventStream, EventStreamAsync

    return Streamed(result) if isinstance(result, (EventStream, EventStreamAsync)) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return ChatStreamState(record)


def errors() -> ErrorTable:
    """mistralai exception classes (and the raw httpx2 transport errors it lets through), most specific first.

    ``SDKError`` covers every 4xx/5xx without a dedicated class: its HTTP status decides the type.
    """
    from mistralai.client import errors as exc
    from mistralai.client import sdk

    return (
        (exc.HTTPValidationError, ErrorType.BAD_REQUEST),
        (exc.ResponseValidationError, ErrorType.INVALID_RESPONSE),
        (exc.ObservabilityError, ErrorType.BAD_REQUEST),
        (exc.SDKError, ErrorType.SERVER_ERROR),
        (exc.MistralError, ErrorType.SERVER_ERROR),
        (exc.NoResponseError, ErrorType.CONNECTION),
        *http_client_errors(sdk.httpx),  # the httpx flavour the SDK is built on (httpx2 in 3.x)
    )


# mistralai's tracing hook (opt-in: MISTRAL_SDK_TELEMETRY=global|dedicated) starts a span per request.
SELF_TRACING = (
    SelfTracing(
        sdk="mistralai",
        module="mistralai.client._hooks.tracing",
        function="get_traced_request_and_span",
        tracer_arg="tracer",
        tracer_position=1,
        default_on=False,
        switch="MISTRAL_SDK_TELEMETRY or mistralai.extra.observability",
    ),
)
PROVIDER = Provider(
    name="mistral",
    requires=("mistralai >= 3.0",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=HTTPX2,
    errors=errors,
    finish_reasons={"model_length": FinishReason.LENGTH},
    self_tracing=SELF_TRACING,
)

MistralInstrumentor = instrumentor_class(
    PROVIDER,
    "MistralInstrumentor",
    """Instruments the ``mistralai`` SDK: chat and FIM completions (sync/async, streamed or not) and embeddings.

    Example::

        from llmtrace.providers.mistral import MistralInstrumentor
        MistralInstrumentor().instrument()
    """,
)

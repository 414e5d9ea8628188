"""Groq (``groq`` SDK, ``groq.Groq`` / ``groq.AsyncGroq``): ``chat.completions.create`` (``stream=True`` too) and
``embeddings.create``, sync and async.

The SDK is Stainless-generated on **httpx** (not httpx2, as openai 3.x is): each attempt of its retry loop goes
through ``httpx.Client.send`` / ``httpx.AsyncClient.send``, where llmtrace counts it (the optional aiohttp backend,
``groq.DefaultAioHttpClient``, is an ``httpx.AsyncClient`` too). The API is OpenAI-shaped under ``/openai/v1``:
``prompt_tokens`` includes cached tokens (``prompt_tokens_details.cached_tokens``) and ``completion_tokens`` the
reasoning ones. A stream reports its usage on the last chunk's ``x_groq.usage`` (or in ``usage`` when the request
asked for ``stream_options.include_usage``). Groq answers 498 when the flex tier has no capacity and 499 when the
request was cancelled; an error inside a stream arrives as an ``{"error": ...}`` event, raised as a bare
``APIError``. Audio (Whisper, TTS), batches, files and models are not LLM calls here and run untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable, http_client_errors, response_status
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX, Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._pydantic_ai import chat_span
from ._reading import (
    StreamedToolCalls,
    add_finish_reason,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    is_raw_response,
    read_choices,
    server_of,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "GroqInstrumentor",
    "GroqStreamState",
    "errors",
    "read_request",
    "read_response",
    "stream_in",
    "stream_state",
]

_CHAT = "groq.resources.chat.completions"
_EMBEDDINGS = "groq.resources.embeddings"
TARGETS = (
    WrapTarget(_CHAT, "Completions.create", "chat"),
    WrapTarget(_CHAT, "AsyncCompletions.create", "chat", is_async=True),
    WrapTarget(_EMBEDDINGS, "Embeddings.create", "embeddings", streaming=False),
    WrapTarget(_EMBEDDINGS, "AsyncEmbeddings.create", "embeddings", is_async=True, streaming=False),
)

_SYSTEM_ROLES = frozenset({"system", "developer"})
# create() keyword -> (record field, reader); the first keyword given wins a field (max_completion_tokens, the
# current name, before the deprecated max_tokens).
_PARAMETERS: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
    ("temperature", "temperature", as_float),
    ("top_p", "top_p", as_float),
    ("seed", "seed", as_int),
    ("max_completion_tokens", "max_tokens", as_int),
    ("max_tokens", "max_tokens", as_int),
)
# record field -> where Groq's usage object keeps it (a response's ``usage`` and a stream's ``x_groq.usage`` alike).
_USAGE = (
    ("input_tokens", ("prompt_tokens",)),
    ("output_tokens", ("completion_tokens",)),
    ("cache_read_tokens", ("prompt_tokens_details", "cached_tokens")),
    ("reasoning_tokens", ("completion_tokens_details", "reasoning_tokens")),
)
_SUBSETS = frozenset({"cache_read_tokens", "reasoning_tokens"})  # zero means "none": not recorded


def read_request(target: WrapTarget, resource: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read chat.completions.create() or embeddings.create() arguments into a record (request side only)."""
    record = LLMRecord("groq", target.operation, kwargs.get("model"), streaming=bool(kwargs.get("stream")))
    record.server_address, record.server_port = server_of(getattr(resource, "_client", None))
    if target.operation == "embeddings":
        record.messages = kwargs.get("input")
        return record
    for name, attribute, read in _PARAMETERS:
        value = read(kwargs.get(name))
        if value is not None and getattr(record, attribute) is None:
            setattr(record, attribute, value)
    record.stop_sequences = as_stop_sequences(kwargs.get("stop"))
    _read_messages(record, kwargs.get("messages"))
    record.tools = as_tools(kwargs.get("tools")) or as_tools(kwargs.get("functions"))
    return record


def _read_messages(record: LLMRecord, messages: Any) -> None:
    """System and developer prompts apart (they identify the template); a one-shot iterable is left to the SDK."""
    if not isinstance(messages, (list, tuple)):
        record.messages = messages
        return
    parts: dict[bool, list[Any]] = {True: [], False: []}
    for message in messages:
        parts[get_path(message, "role") in _SYSTEM_ROLES].append(message)
    record.messages, record.system = parts[False], parts[True] or None


def _read_usage(record: LLMRecord, usage: Any) -> None:
    for attribute, path in _USAGE:
        count = as_int(get_path(usage, *path))
        setattr(record, attribute, (count or None) if attribute in _SUBSETS else count)


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a ChatCompletion or CreateEmbeddingResponse (or a ``with_raw_response`` wrapper of one)."""
    if is_raw_response(response):
        response = response.parse()  # cached by the SDK: the user's parse() gets the same object
    record.response_id = get_path(response, "id")
    record.response_model = get_path(response, "model")
    usage = get_path(response, "usage")
    if usage is not None:
        _read_usage(record, usage)
    if record.operation == "embeddings":
        record.output_tokens = None if record.input_tokens is None else 0
        return
    read_choices(record, get_path(response, "choices"))


class GroqStreamState(StreamState):
    """Accumulates ``ChatCompletionChunk``s: text, tool-call pieces, and the usage the last chunk carries."""

    __slots__ = ("calls", "record", "usage")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.usage: Any = None
        self.calls = StreamedToolCalls()

    def process_chunk(self, chunk: Any) -> bool:
        record = self.record
        record.response_id = record.response_id or get_path(chunk, "id")  # every chunk repeats them
        record.response_model = record.response_model or get_path(chunk, "model")
        usage = get_path(chunk, "x_groq", "usage") or get_path(chunk, "usage")
        if usage is not None:
            self.usage = usage
        found = False
        for choice in as_items(get_path(chunk, "choices")):
            add_finish_reason(record, choice)
            found = self._delta(get_path(choice, "index"), get_path(choice, "delta")) or found
        return found

    def _delta(self, index: Any, delta: Any) -> bool:
        """One choice's delta; True when it carried text, reasoning or a piece of a tool call."""
        text = get_path(delta, "content")
        has_text = isinstance(text, str) and bool(text)
        if has_text:
            self.record.output_text.append(text)
        pieces = as_items(get_path(delta, "tool_calls"))
        for piece in pieces:
            self.calls.delta(index, piece)
        return has_text or bool(pieces) or bool(get_path(delta, "reasoning"))

    def flush(self, record: LLMRecord) -> None:
        self.calls.flush(record)
        if self.usage is not None:
            _read_usage(record, self.usage)

    @property
    def terminated(self) -> bool:
        return bool(self.record.finish_reasons)


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    import groq

    return Streamed(result) if isinstance(result, (groq.Stream, groq.AsyncStream)) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return GroqStreamState(record)


def _status_is(status: int) -> Callable[[BaseException], bool]:
    """A row matching errors that carry ``status``: Groq's own codes, which the SDK raises as a plain
    ``APIStatusError`` and HTTP alone reads as any 4xx."""
    return lambda exc: response_status(exc) == status


def _stream_error_says(kind: str) -> Callable[[BaseException], bool]:
    """A row matching an error event inside a stream (a bare ``APIError``) whose body has this ``type``."""
    import groq

    def says(exc: BaseException) -> bool:
        body = getattr(exc, "body", None)
        return type(exc) is groq.APIError and isinstance(body, dict) and body.get("type") == kind

    return says


def errors() -> ErrorTable:
    """groq exception classes (most specific first), after Groq's own statuses and in-stream error types; then
    httpx's, which reach the user unwrapped when a stream breaks after it started."""
    import groq
    import httpx

    return (
        (_status_is(498), ErrorType.OVERLOADED),  # flex tier capacity exceeded
        (_status_is(499), ErrorType.CANCELLED),  # request cancelled
        (_stream_error_says("invalid_request_error"), ErrorType.BAD_REQUEST),  # e.g. tool_use_failed mid-stream
        (groq.APITimeoutError, ErrorType.TIMEOUT),
        (groq.APIConnectionError, ErrorType.CONNECTION),
        (groq.RateLimitError, ErrorType.RATE_LIMIT),
        (groq.AuthenticationError, ErrorType.AUTH),
        (groq.PermissionDeniedError, ErrorType.PERMISSION),
        (groq.NotFoundError, ErrorType.NOT_FOUND),
        (groq.ConflictError, ErrorType.SERVER_ERROR),
        (groq.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (groq.BadRequestError, ErrorType.BAD_REQUEST),
        (groq.InternalServerError, ErrorType.SERVER_ERROR),
        (groq.APIResponseValidationError, ErrorType.INVALID_RESPONSE),
        (groq.APIStatusError, ErrorType.BAD_REQUEST),  # the status decides (status_error_type)
        (groq.APIError, ErrorType.SERVER_ERROR),  # an error event inside a stream
        (groq.GroqError, ErrorType.UNKNOWN),
        *http_client_errors(httpx),
    )


PROVIDER = Provider(
    name="groq",
    requires=("groq >= 0.31",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=HTTPX,
    errors=errors,
    finish_reasons={"function_call": FinishReason.TOOL_USE},
    raw_responses=True,
    self_tracing=chat_span("GroqModel"),  # pydantic-ai's GroqModel calls chat.completions.create
)

GroqInstrumentor = instrumentor_class(
    PROVIDER,
    "GroqInstrumentor",
    """Instruments the ``groq`` SDK: chat completions (sync/async, streamed or not) and embeddings.

    Example::

        from llmtrace.providers.groq import GroqInstrumentor
        GroqInstrumentor().instrument()
    """,
)

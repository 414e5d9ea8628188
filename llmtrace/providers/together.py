"""Together AI (``together`` SDK 2.x+, Stainless-generated): ``chat.completions.create``, ``completions.create``
and ``embeddings.create`` on ``Together`` / ``AsyncTogether``, streamed (``stream=True``) or not.

The SDK sends through httpx: each HTTP attempt of its retry loop goes through ``httpx.Client.send`` (or
``AsyncClient.send``, also under the optional aiohttp backend), where llmtrace counts it. Without a ``base_url``
chat requests go to ``api-inference.together.ai`` while the client's base URL names ``api.together.ai``, so the
server is read per operation. ``prompt_tokens`` includes cached tokens (``usage.cached_tokens``); a stream's last
chunk carries the finish reason and the usage, no ``stream_options`` needed. Legacy completion chunks keep the
finish reason beside ``choices``, not in them. Embedding responses carry no usage at all. Together finishes a
turn with ``eos`` as often as with ``stop``.
"""

from __future__ import annotations

from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX, Provider, Streamed, WrapTarget
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
    is_raw_response,
    read_choices,
    read_token_usage,
    server_of,
    split_system,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "TogetherInstrumentor",
    "TogetherStreamState",
    "errors",
    "read_request",
    "read_response",
    "stream_in",
    "stream_state",
]

_CHAT = "together.resources.chat.completions"
_TEXT = "together.resources.completions"
_EMBED = "together.resources.embeddings"
TARGETS = (
    WrapTarget(_CHAT, "CompletionsResource.create", "chat"),
    WrapTarget(_CHAT, "AsyncCompletionsResource.create", "chat", is_async=True),
    WrapTarget(_TEXT, "CompletionsResource.create", "completion"),
    WrapTarget(_TEXT, "AsyncCompletionsResource.create", "completion", is_async=True),
    WrapTarget(_EMBED, "EmbeddingsResource.create", "embeddings"),
    WrapTarget(_EMBED, "AsyncEmbeddingsResource.create", "embeddings", is_async=True),
)
# together 3.x's default base URL, and the host its chat requests go to instead while that default is kept (the SDK
# then posts to an absolute URL); 2.x defaulted to api.together.xyz/v1 for everything.
_DEFAULT_HOST = ("api.together.ai", 443)
_INFERENCE_HOST = ("api-inference.together.ai", 443)


def _endpoint(client: Any, operation: str) -> tuple[str | None, int | None]:
    server = server_of(client)
    if operation == "chat" and server == _DEFAULT_HOST and getattr(client, "_base_url_overridden", True) is False:
        return _INFERENCE_HOST
    return server


def read_request(target: WrapTarget, resource: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read create() kwargs into a record (request side only)."""
    host, port = _endpoint(getattr(resource, "_client", None), target.operation)
    record = LLMRecord(
        provider="together",
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=bool(kwargs.get("stream")),
        server_address=host,
        server_port=port,
    )
    if target.operation == "embeddings":
        record.messages = kwargs.get("input")
        return record
    record.temperature = as_float(kwargs.get("temperature"))
    record.max_tokens = as_int(kwargs.get("max_tokens"))
    record.top_p = as_float(kwargs.get("top_p"))
    record.top_k = as_float(kwargs.get("top_k"))
    record.seed = as_int(kwargs.get("seed"))
    record.stop_sequences = as_stop_sequences(kwargs.get("stop"))
    if target.operation == "completion":
        record.messages = kwargs.get("prompt")
        return record
    record.messages, record.system = split_system(kwargs.get("messages"))
    record.tools = as_tools(kwargs.get("tools"))
    return record


def _usage(record: LLMRecord, usage: Any) -> None:
    """Together's usage: prompt tokens include the cached ones it reports as ``cached_tokens``."""
    if not read_token_usage(record, usage):
        return
    cached = get_path(usage, "cached_tokens")
    if cached is None:
        cached = get_path(usage, "prompt_tokens_details", "cached_tokens")
    record.cache_read_tokens = as_int(cached) or None


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a ChatCompletion, Completion or Embedding (or a ``with_raw_response`` wrapper of one)."""
    if is_raw_response(response):
        response = response.parse()  # the SDK caches it: the user's parse() gets the same object
    record.response_id = get_path(response, "id")
    record.response_model = get_path(response, "model")
    if record.operation == "embeddings":
        return  # Together reports no usage for embeddings: the core estimates the input
    _usage(record, get_path(response, "usage"))
    read_choices(record, get_path(response, "choices"))


class TogetherStreamState(StreamState):
    """Accumulates chat and completion chunks; the chunk with a finish reason ends the stream (and has usage).

    Tool calls stream as deltas keyed by ``index``: the first names the call, later ones add argument pieces.
    """

    __slots__ = ("calls", "ended", "record")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.calls = StreamedToolCalls()
        self.ended = False

    def process_chunk(self, chunk: Any) -> bool:
        record = self.record
        ids_from_first_chunk(record, chunk)
        if add_finish_reason(record, chunk):  # legacy completion chunks keep it beside the choices
            self.ended = True
        usage = get_path(chunk, "usage")
        if usage is not None:
            _usage(record, usage)
        carried = False
        for choice in as_items(get_path(chunk, "choices")):
            if add_finish_reason(record, choice):
                self.ended = True
            carried = self._delta(choice) or carried
        return carried

    def _delta(self, choice: Any) -> bool:
        delta = get_path(choice, "delta")
        text = get_path(delta, "content") if delta is not None else None
        if not isinstance(text, str) or not text:
            text = get_path(choice, "text")
        if isinstance(text, str) and text:
            self.record.output_text.append(text)
            return True
        pieces = as_items(get_path(delta, "tool_calls"))
        for piece in pieces:
            self.calls.delta(get_path(choice, "index"), piece)
        return bool(pieces) or bool(get_path(delta, "reasoning") or get_path(delta, "reasoning_content"))

    def flush(self, record: LLMRecord) -> None:
        self.calls.flush(record)

    @property
    def terminated(self) -> bool:
        return self.ended


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    import together

    return Streamed(result) if isinstance(result, (together.Stream, together.AsyncStream)) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return TogetherStreamState(record)


# Together's models run behind text-generation-inference, which says "context too long" its own way (a 400 or 422).
_TGI_CONTEXT = ("`inputs` tokens + `max_new_tokens` must be <=", "input validation error: `inputs` must have less than")


def _tgi_context_length(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker.lower() in text for marker in _TGI_CONTEXT)


def errors() -> ErrorTable:
    """together exception classes, most specific first (subclasses before their bases).

    A streamed error event arrives as a bare ``APIError`` (no status); ``TogetherError`` also covers the file helpers'
    ``DownloadError`` / ``FileTypeError``, which no wrapped call raises.
    """
    import together
    from together.lib.types.error import DownloadError, FileTypeError

    return (
        (_tgi_context_length, ErrorType.CONTEXT_LENGTH),
        (together.APITimeoutError, ErrorType.TIMEOUT),
        (together.APIConnectionError, ErrorType.CONNECTION),
        (together.RateLimitError, ErrorType.RATE_LIMIT),
        (together.AuthenticationError, ErrorType.AUTH),
        (together.PermissionDeniedError, ErrorType.PERMISSION),
        (together.NotFoundError, ErrorType.NOT_FOUND),
        (together.ConflictError, ErrorType.SERVER_ERROR),
        (together.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (together.BadRequestError, ErrorType.BAD_REQUEST),
        (together.InternalServerError, ErrorType.SERVER_ERROR),
        (together.APIResponseValidationError, ErrorType.INVALID_RESPONSE),
        (together.APIStatusError, ErrorType.SERVER_ERROR),
        (DownloadError, ErrorType.CONNECTION),
        (FileTypeError, ErrorType.BAD_REQUEST),
        (together.APIError, ErrorType.SERVER_ERROR),
        (together.TogetherError, ErrorType.UNKNOWN),
    )


PROVIDER = Provider(
    name="together",
    requires=("together >= 2.0",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=HTTPX,
    errors=errors,
    finish_reasons={"eos": FinishReason.STOP, "function_call": FinishReason.TOOL_USE},
    raw_responses=True,
)

TogetherInstrumentor = instrumentor_class(
    PROVIDER,
    "TogetherInstrumentor",
    """Instruments the ``together`` SDK: chat completions, completions and embeddings (sync/async, streamed or not).

    Example::

        from llmtrace.providers.together import TogetherInstrumentor
        TogetherInstrumentor().instrument()
    """,
)

"""Ollama (``ollama`` SDK): ``chat``, ``generate``, ``embed`` on ``Client`` and ``AsyncClient``, streamed or not.

Local models have no list price: calls are recorded as unpriced unless a rate card prices them. The SDK has no
retry loop, and a streamed call only connects when iteration starts, so TTFT includes the connection.
"""

from __future__ import annotations

from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable
from ..semconv import ErrorType
from ..streams import StreamState
from ._contract import HTTPX, Alias, Provider, WrapTarget, generator_stream
from ._instrumentor import instrumentor_class
from ._reading import (
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    keep_function_calls,
    keep_text,
    server_of,
    split_system,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "OllamaInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "stream_state",
]

_CLIENT = "ollama._client"
TARGETS = (
    WrapTarget(_CLIENT, "Client.chat", "chat"),
    WrapTarget(_CLIENT, "AsyncClient.chat", "chat", is_async=True),
    WrapTarget(_CLIENT, "Client.generate", "completion"),
    WrapTarget(_CLIENT, "AsyncClient.generate", "completion", is_async=True),
    WrapTarget(_CLIENT, "Client.embed", "embeddings"),
    WrapTarget(_CLIENT, "AsyncClient.embed", "embeddings", is_async=True),
)
# ``ollama.chat`` & co. are methods of a default client (``ollama._client``) bound at import.
_ALIASES = tuple(Alias("ollama", name, "_client") for name in ("chat", "generate", "embed"))


def _options(kwargs: dict[str, Any]) -> dict[str, Any]:
    options = kwargs.get("options") or {}
    return options if isinstance(options, dict) else options.model_dump(exclude_none=True)


def read_request(target: WrapTarget, client: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read chat()/generate()/embed() arguments into a record (request side only)."""
    host, port = server_of(get_path(client, "_client"))
    options = _options(kwargs)
    stop = options.get("stop")
    record = LLMRecord(
        provider="ollama",
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=bool(kwargs.get("stream")),
        server_address=host,
        server_port=port,
        temperature=as_float(options.get("temperature")),
        max_tokens=as_int(options.get("num_predict")),
        top_p=as_float(options.get("top_p")),
        top_k=as_float(options.get("top_k")),
        seed=as_int(options.get("seed")),
        stop_sequences=as_stop_sequences(stop),
    )
    if target.operation == "chat":
        record.messages, record.system = split_system(list(kwargs.get("messages") or ()))
    elif target.operation == "completion":
        record.messages, record.system = kwargs.get("prompt"), kwargs.get("system")
    else:
        record.messages = kwargs.get("input")
    record.tools = as_tools(kwargs.get("tools"))
    return record


def _read_part(record: LLMRecord, part: Any) -> bool:
    """One response or stream part; returns whether it carried content."""
    if record.response_model is None:
        record.response_model = get_path(part, "model")
    message = get_path(part, "message")
    text = get_path(message, "content") if message is not None else get_path(part, "response")
    content = keep_text(record, text)
    calls = as_items(get_path(message, "tool_calls"))
    if calls:
        record.tool_calls += len(calls)
        keep_function_calls(record, calls)
        content = True
    if get_path(message, "thinking") or get_path(part, "thinking"):
        content = True
    if get_path(part, "done"):
        reason = get_path(part, "done_reason")
        record.finish_reasons.append("tool_calls" if record.tool_calls else str(reason or "stop"))
        record.input_tokens = as_int(get_path(part, "prompt_eval_count"))
        record.output_tokens = as_int(get_path(part, "eval_count"))
    return content


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a ChatResponse / GenerateResponse / EmbedResponse into the record."""
    if record.operation == "embeddings":
        record.response_model = get_path(response, "model")
        record.input_tokens = as_int(get_path(response, "prompt_eval_count"))
        record.output_tokens = 0 if record.input_tokens is not None else None
        return
    _read_part(record, response)


class OllamaStreamState(StreamState):
    """Accumulates NDJSON parts; the final ``done`` part carries the counts and the reason."""

    __slots__ = ("record",)

    def __init__(self, record: LLMRecord) -> None:
        self.record = record

    def process_chunk(self, chunk: Any) -> bool:
        return _read_part(self.record, chunk)

    @property
    def terminated(self) -> bool:
        return bool(self.record.finish_reasons)


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return OllamaStreamState(record)


def errors() -> ErrorTable:
    """ollama exception classes: ResponseError carries the HTTP status, which decides the type."""
    import ollama

    return ((ollama.RequestError, ErrorType.BAD_REQUEST),)


PROVIDER = Provider(
    name="ollama",
    requires=("ollama >= 0.4",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=generator_stream,
    stream_state=stream_state,
    transports=HTTPX,
    errors=errors,
    aliases=_ALIASES,
)

OllamaInstrumentor = instrumentor_class(
    PROVIDER,
    "OllamaInstrumentor",
    """Instruments the ``ollama`` SDK (``Client``, ``AsyncClient`` and the module-level ``ollama.chat`` & co.).

    Example::

        from llmtrace.providers.ollama import OllamaInstrumentor
        OllamaInstrumentor().instrument()
    """,
)

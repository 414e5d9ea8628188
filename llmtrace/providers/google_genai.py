"""Google Gen AI SDK (``google-genai``): ``generate_content``, ``generate_content_stream`` and ``embed_content`` on
``client.models`` and ``client.aio.models``, Gemini Developer API and Vertex AI alike.

What is wrapped: the private per-request methods (``Models._generate_content``, ``_generate_content_stream``,
``_embed_content`` and their ``AsyncModels`` twins) that the public methods call once per model request. The public
methods are loops around them (automatic function calling, automatic continuation), so wrapping the request level
gives one span per billed model response with its own usage instead of one span reporting only the last response.

Tokens, normalized like genai-prices reads ``usageMetadata``: input = ``promptTokenCount`` (which already includes
``cachedContentTokenCount``) + ``toolUsePromptTokenCount``; output = ``candidatesTokenCount`` + ``thoughtsTokenCount``
(Gemini reports thinking tokens apart from the candidates; llmtrace's reasoning count is a subset of output);
cache_read = ``cachedContentTokenCount``; reasoning = ``thoughtsTokenCount``. Gemini reports no cache writes.
Stream chunks carry the running usage of the request, so the last one seen wins.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..call import LLMRecord
from ..classification import ErrorRow, ErrorRules, ErrorTable
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import AIOHTTP, HTTPX, HTTPX2, Provider, WrapTarget, generator_stream
from ._instrumentor import instrumentor_class
from ._reading import as_float, as_int, as_items, as_stop_sequences, get_path, server_of

__all__ = [
    "PROVIDER",
    "TARGETS",
    "GoogleGenAIInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "stream_state",
]

_MODELS = "google.genai.models"
TARGETS = (
    WrapTarget(_MODELS, "Models._generate_content", "chat", streaming=False),
    WrapTarget(_MODELS, "AsyncModels._generate_content", "chat", is_async=True, streaming=False),
    WrapTarget(_MODELS, "Models._generate_content_stream", "chat", streaming=True),
    WrapTarget(_MODELS, "AsyncModels._generate_content_stream", "chat", is_async=True, streaming=True),
    WrapTarget(_MODELS, "Models._embed_content", "embeddings", streaming=False),
    WrapTarget(_MODELS, "AsyncModels._embed_content", "embeddings", is_async=True, streaming=False),
)


# -- request --------------------------------------------------------------------------------------------------


def read_request(target: WrapTarget, models: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read ``_generate_content(model=, contents=, config=)`` / ``_embed_content(...)`` into a record."""
    api_client = getattr(models, "_api_client", None)
    host, port = server_of(getattr(api_client, "_http_options", None))
    config = kwargs.get("config")
    stop = get_path(config, "stop_sequences")
    record = LLMRecord(
        provider="vertex" if getattr(api_client, "vertexai", False) else "google",
        operation=target.operation,
        model=_model_id(kwargs.get("model")),
        streaming=bool(target.streaming),
        server_address=host,
        server_port=port,
        temperature=as_float(get_path(config, "temperature")),
        max_tokens=as_int(get_path(config, "max_output_tokens")),
        top_p=as_float(get_path(config, "top_p")),
        top_k=as_float(get_path(config, "top_k")),
        seed=as_int(get_path(config, "seed")),
        stop_sequences=as_stop_sequences(stop),
    )
    contents = kwargs.get("contents")
    if contents is None:  # Vertex embedContent / batchEmbedContents take these instead
        contents = kwargs.get("batch_contents", kwargs.get("content"))
    record.messages = _messages(contents) if contents is not None else None
    system = get_path(config, "system_instruction")
    record.system = system if system is None or isinstance(system, str) else _parts(system)
    record.tools = _tools(get_path(config, "tools"))
    return record


def _model_id(model: Any) -> str | None:
    """``models/gemini-2.5-flash`` and Vertex resource names -> ``gemini-2.5-flash`` (what prices and responses use)."""
    if not isinstance(model, str):
        return None
    return model.rsplit("models/", 1)[1] if "models/" in model else model


def _messages(contents: Any) -> list[dict[str, Any]]:
    """Contents in one canonical shape (str, Part, Content or dict alike), so equal prompts hash equal."""
    items = contents if isinstance(contents, (list, tuple)) else [contents]
    messages = []
    for item in items:
        parts = None if isinstance(item, str) else get_path(item, "parts")
        role = get_path(item, "role") if parts is not None else None
        messages.append({"role": role or "user", "content": _parts(item if parts is None else parts)})
    return messages


def _parts(value: Any) -> list[Any]:
    """A Part, a Content, a string or a list of those -> a list of plain part dicts."""
    if isinstance(value, (list, tuple)):
        return [part for item in value for part in _parts(item)]
    parts = None if isinstance(value, str) else get_path(value, "parts")
    if parts is not None:
        return _parts(parts)
    if isinstance(value, str):
        return [{"text": value}]
    if isinstance(value, dict):
        return [value]
    dump = getattr(value, "model_dump", None)
    return [dump(mode="json", exclude_none=True)] if callable(dump) else [{"type": type(value).__name__}]


def _tools(tools: Any) -> list[Any] | None:
    """One entry per function declaration (a Tool groups several); Python callables (AFC) by name."""
    if not isinstance(tools, (list, tuple)) or not tools:
        return None
    flat: list[Any] = []
    for tool in tools:
        declarations = get_path(tool, "function_declarations") or (
            tool.get("functionDeclarations") if isinstance(tool, dict) else None
        )
        if declarations:
            flat.extend(declarations)
        elif inspect.isfunction(tool) or inspect.ismethod(tool):
            flat.append({"name": tool.__name__, "description": inspect.getdoc(tool) or ""})
        else:
            flat.append(tool)
    return flat


# -- response -------------------------------------------------------------------------------------------------


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a GenerateContentResponse or EmbedContentResponse into the record."""
    if record.operation == "embeddings":
        usage = get_path(response, "usage_metadata")
        record.input_tokens = as_int(get_path(usage, "prompt_token_count"))
        record.output_tokens = 0 if record.input_tokens is not None else None
        return
    _read_response(record, response)


def _read_response(record: LLMRecord, response: Any) -> bool:
    """One response or stream chunk; returns whether it carried content (text, thought or function call)."""
    record.response_id = get_path(response, "response_id") or record.response_id
    record.response_model = get_path(response, "model_version") or record.response_model
    content = False
    candidates = as_items(get_path(response, "candidates"))
    for candidate in candidates:
        content = _read_parts(record, as_items(get_path(candidate, "content", "parts"))) or content
        reason = _enum_value(get_path(candidate, "finish_reason"))
        if reason:
            record.finish_reasons.append(reason)
    if not candidates:
        blocked = _enum_value(get_path(response, "prompt_feedback", "block_reason"))
        if blocked:  # the prompt itself was blocked: no candidates at all
            record.finish_reasons.append(blocked)
    _read_usage(record, get_path(response, "usage_metadata"))
    return content


def _read_parts(record: LLMRecord, parts: Any) -> bool:
    content = False
    for part in parts:
        call = get_path(part, "function_call")
        if call is not None:
            record.tool_calls += 1
            record.keep_tool_call(get_path(call, "id"), get_path(call, "name"), get_path(call, "args"))
            content = True
            continue
        text = get_path(part, "text")
        if isinstance(text, str) and text:
            content = True
            if not get_path(part, "thought"):  # thought summaries are reasoning, not the answer
                record.output_text.append(text)
    return content


def _enum_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value)) or None


def _read_usage(record: LLMRecord, usage: Any) -> None:
    if usage is None:
        return
    prompt = as_int(get_path(usage, "prompt_token_count"))
    tool_prompt = as_int(get_path(usage, "tool_use_prompt_token_count")) or 0
    if prompt is not None or tool_prompt:
        record.input_tokens = (prompt or 0) + tool_prompt
    thoughts = as_int(get_path(usage, "thoughts_token_count"))
    record.output_tokens = (as_int(get_path(usage, "candidates_token_count")) or 0) + (thoughts or 0)
    record.reasoning_tokens = thoughts or None
    record.cache_read_tokens = as_int(get_path(usage, "cached_content_token_count")) or None


class GenerateContentStreamState(StreamState):
    """Accumulates streamed GenerateContentResponse chunks; a finish reason (or a blocked prompt) ends the stream."""

    __slots__ = ("record",)

    def __init__(self, record: LLMRecord) -> None:
        self.record = record

    def process_chunk(self, chunk: Any) -> bool:
        return _read_response(self.record, chunk)

    @property
    def terminated(self) -> bool:
        return bool(self.record.finish_reasons)


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return GenerateContentStreamState(record)


def errors() -> ErrorTable:
    """google-genai exception classes, most specific first; ``APIError`` (the base of ``ClientError`` and
    ``ServerError``) is classified from its HTTP status. The async transport is aiohttp when installed, so its
    stream and timeout errors are listed too."""
    from google.genai import errors as genai_errors

    table: list[ErrorRow] = [
        (bad_api_key, ErrorType.AUTH),
        (genai_errors.ClientError, ErrorType.BAD_REQUEST),  # 4xx: the status decides (429 -> rate_limit, ...)
        (genai_errors.ServerError, ErrorType.SERVER_ERROR),  # 5xx: likewise (503 -> overloaded)
        (genai_errors.UnknownApiResponseError, ErrorType.INVALID_RESPONSE),
        (genai_errors.UnknownFunctionCallArgumentError, ErrorType.BAD_REQUEST),
        (genai_errors.UnsupportedFunctionError, ErrorType.BAD_REQUEST),
        (genai_errors.FunctionInvocationError, ErrorType.BAD_REQUEST),
        (genai_errors.ContinuationInterruptedError, ErrorType.CONNECTION),
    ]
    try:
        import aiohttp
    except ImportError:
        return tuple(table)
    return (
        *table,
        (aiohttp.ServerTimeoutError, ErrorType.TIMEOUT),
        (aiohttp.ClientPayloadError, ErrorType.CONNECTION),
        (aiohttp.ClientConnectionError, ErrorType.CONNECTION),
    )


def rpc_retry_delay(exc: BaseException) -> float | None:
    """``google.rpc.RetryInfo.retryDelay`` (e.g. ``"24s"``) from a Google API error body: Google sends no header."""
    details = getattr(exc, "details", None)
    error = details.get("error", details) if isinstance(details, dict) else None
    items = error.get("details") if isinstance(error, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            try:
                return max(float(str(item.get("retryDelay", "")).removesuffix("s")), 0.0)
            except ValueError:
                return None
    return None


def bad_api_key(exc: BaseException) -> bool:
    """Gemini answers a bad API key with a 400 whose body says so."""
    text = f"{getattr(exc, 'details', '') or ''} {exc}".lower()
    return "api_key_invalid" in text or "api key not valid" in text


PROVIDER = Provider(
    name="google",
    requires=("google-genai >= 1.0",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=generator_stream,
    stream_state=stream_state,
    transports=(*HTTPX2, *HTTPX, *AIOHTTP),  # sync: httpx2 (httpx before 3.x); async: aiohttp when installed
    errors=errors,
    error_readers=ErrorRules(retry_delay=rpc_retry_delay),
    finish_reasons={
        "max_tokens": FinishReason.LENGTH,
        "safety": FinishReason.CONTENT_FILTER,
        "recitation": FinishReason.CONTENT_FILTER,
        "blocklist": FinishReason.CONTENT_FILTER,
        "prohibited_content": FinishReason.CONTENT_FILTER,
        "spii": FinishReason.CONTENT_FILTER,
        "image_safety": FinishReason.CONTENT_FILTER,
        "image_prohibited_content": FinishReason.CONTENT_FILTER,
        "image_recitation": FinishReason.CONTENT_FILTER,
        "model_armor": FinishReason.CONTENT_FILTER,
        "jailbreak": FinishReason.CONTENT_FILTER,
        "malformed_function_call": FinishReason.ERROR,
        "unexpected_tool_call": FinishReason.ERROR,
        "too_many_tool_calls": FinishReason.ERROR,
        "malformed_response": FinishReason.ERROR,
        "missing_thought_signature": FinishReason.ERROR,
    },
)

GoogleGenAIInstrumentor = instrumentor_class(
    PROVIDER,
    "GoogleGenAIInstrumentor",
    """Instruments the ``google-genai`` SDK: ``client.models`` and ``client.aio.models`` content generation
    (plain and streamed) and embeddings, on the Gemini Developer API and Vertex AI.

    Example::

        from llmtrace.providers.google_genai import GoogleGenAIInstrumentor
        GoogleGenAIInstrumentor().instrument()
    """,
)

"""OpenAI (and OpenAI-compatible endpoints): chat completions, responses, embeddings, legacy completions.

Provider knowledge only: what to wrap, how to read a request, a response and a stream chunk, and which
exception means what. Compatible endpoints (Groq, DeepSeek, Together, Azure, vLLM, ...) are told apart by the
client's base URL.
"""

from __future__ import annotations

import functools
from typing import Any

from ..call import LLMRecord
from ..classification import ErrorTable
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import HTTPX, HTTPX2, Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._pydantic_ai import chat_span
from ._reading import (
    StreamedToolCalls,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    get_path,
    ids_from_first_chunk,
    is_raw_response,
    keep_text,
    read_choices,
    read_token_usage,
    server_of,
    split_system,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "OpenAIInstrumentor",
    "detect_provider",
    "errors",
    "read_request",
    "read_response",
    "stream_in",
    "stream_state",
]

_CHAT = "openai.resources.chat.completions.completions"
TARGETS = (
    WrapTarget(_CHAT, "Completions.create", "chat"),
    WrapTarget(_CHAT, "AsyncCompletions.create", "chat", is_async=True),
    WrapTarget("openai.resources.responses.responses", "Responses.create", "responses"),
    WrapTarget("openai.resources.responses.responses", "AsyncResponses.create", "responses", is_async=True),
    WrapTarget("openai.resources.embeddings", "Embeddings.create", "embeddings"),
    WrapTarget("openai.resources.embeddings", "AsyncEmbeddings.create", "embeddings", is_async=True),
    WrapTarget("openai.resources.completions", "Completions.create", "completion"),
    WrapTarget("openai.resources.completions", "AsyncCompletions.create", "completion", is_async=True),
)

# Hostname suffix -> llm.provider for OpenAI-compatible services.
_HOSTS = (
    ("api.openai.com", "openai"),
    (".openai.azure.com", "azure"),
    (".services.ai.azure.com", "azure"),
    ("api.groq.com", "groq"),
    ("api.deepseek.com", "deepseek"),
    ("api.together.xyz", "together"),
    ("api.together.ai", "together"),
    ("api-inference.together.ai", "together"),
    ("api.x.ai", "xai"),
    ("openrouter.ai", "openrouter"),
    ("api.fireworks.ai", "fireworks"),
    ("api.mistral.ai", "mistral"),
    ("api.perplexity.ai", "perplexity"),
    ("api.cerebras.ai", "cerebras"),
    ("generativelanguage.googleapis.com", "google"),
)
# Well-known default ports of local OpenAI-compatible servers.
_LOCAL_PORTS = {11434: "ollama", 8000: "vllm", 1234: "lmstudio"}
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def detect_provider(client: Any, server: tuple[str | None, int | None] | None = None) -> str:
    """llm.provider for an OpenAI SDK client: known hosts by name, local servers by default port, else openai.

    ``server`` is the client's (host, port) when the caller already has it (reading ``base_url`` costs an
    import statement per access in openai 3)."""
    if type(client).__name__.startswith(("AzureOpenAI", "AsyncAzureOpenAI")):
        return "azure"
    return _provider_for(*(server or server_of(client)))


@functools.lru_cache(maxsize=256)
def _provider_for(host: str | None, port: int | None) -> str:
    host = (host or "").lower()
    for suffix, provider in _HOSTS:
        if host == suffix.lstrip(".") or host.endswith(suffix):
            return provider
    if host in _LOOPBACK and port in _LOCAL_PORTS:
        return _LOCAL_PORTS[port]
    return "openai"


def read_request(target: WrapTarget, resource: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read the create() kwargs into a record (request side only)."""
    client = getattr(resource, "_client", None)
    host, port = server = server_of(client)
    record = LLMRecord(
        provider=detect_provider(client, server),
        operation=target.operation,
        model=kwargs.get("model"),
        streaming=bool(kwargs.get("stream")),
        server_address=host,
        server_port=port,
        temperature=as_float(kwargs.get("temperature")),
        max_tokens=as_int(
            kwargs.get("max_completion_tokens") or kwargs.get("max_tokens") or kwargs.get("max_output_tokens")
        ),
        top_p=as_float(kwargs.get("top_p")),
        seed=as_int(kwargs.get("seed")),
    )
    record.stop_sequences = as_stop_sequences(kwargs.get("stop"))
    if target.operation == "chat":
        record.messages, record.system = split_system(kwargs.get("messages"))
    elif target.operation == "responses":
        record.messages, record.system = kwargs.get("input"), kwargs.get("instructions")
    else:
        record.messages = kwargs.get("input", kwargs.get("prompt"))
    tools = kwargs.get("tools")
    if tools and isinstance(tools, (list, tuple)):
        record.tools = tools
    return record


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a non-streamed response (or a read ``with_raw_response`` wrapper of one) into the record."""
    if is_raw_response(response):
        response = response.parse()  # cached by the SDK: the user's parse() returns the same object
    record.response_id = get_path(response, "id")
    record.response_model = get_path(response, "model")
    if record.operation == "responses":
        _read_responses_object(record, response)
    else:
        read_choices(record, get_path(response, "choices"))
        _read_usage(record, get_path(response, "usage"))


def _read_usage(record: LLMRecord, usage: Any) -> None:
    """Chat/completions/embeddings usage. prompt_tokens already includes cached tokens."""
    if not read_token_usage(record, usage):
        return
    if record.output_tokens is None and record.operation == "embeddings" and record.input_tokens is not None:
        record.output_tokens = 0
    record.cache_read_tokens = as_int(get_path(usage, "prompt_tokens_details", "cached_tokens")) or None
    record.reasoning_tokens = as_int(get_path(usage, "completion_tokens_details", "reasoning_tokens")) or None


def _read_responses_object(record: LLMRecord, response: Any) -> None:
    for item in get_path(response, "output") or []:
        kind = get_path(item, "type")
        if kind == "message":
            for part in get_path(item, "content") or []:
                text = get_path(part, "text")
                if get_path(part, "type") == "output_text" and isinstance(text, str):
                    record.output_text.append(text)
        elif kind in ("function_call", "custom_tool_call"):
            record.tool_calls += 1
            arguments = get_path(item, "arguments") if kind == "function_call" else get_path(item, "input")
            record.keep_tool_call(get_path(item, "call_id"), get_path(item, "name"), arguments)
    status = get_path(response, "status")
    reason = get_path(response, "incomplete_details", "reason")
    if record.tool_calls:
        record.finish_reasons.append("tool_calls")
    elif reason or status:
        record.finish_reasons.append(str(reason or status))
    usage = get_path(response, "usage")
    if usage is not None:
        record.input_tokens = as_int(get_path(usage, "input_tokens"))
        record.output_tokens = as_int(get_path(usage, "output_tokens"))
        record.cache_read_tokens = as_int(get_path(usage, "input_tokens_details", "cached_tokens")) or None
        record.reasoning_tokens = as_int(get_path(usage, "output_tokens_details", "reasoning_tokens")) or None


class ChatStreamState(StreamState):
    """Accumulates ``chat.completion.chunk`` events (and legacy completion chunks)."""

    __slots__ = ("record", "tools", "usage")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.tools = StreamedToolCalls()  # a tool call streams as deltas: its id and name, then argument pieces
        self.usage: Any = None

    def process_chunk(self, chunk: Any) -> bool:
        record = self.record
        ids_from_first_chunk(record, chunk)
        try:  # the hot path: an SDK chunk with one choice whose delta carries text (plain attribute loads)
            choices = chunk.choices
            if type(choices) is list and len(choices) == 1:
                choice = choices[0]
                text = choice.delta.content
                if type(text) is str and text and choice.finish_reason is None and chunk.usage is None:
                    record.output_text.append(text)
                    return True
        except Exception:  # a dict, a legacy completion chunk, a malformed chunk: the careful path below
            pass
        return self._chunk(chunk)

    def _chunk(self, chunk: Any) -> bool:
        if isinstance(chunk, dict):
            usage, choices = chunk.get("usage"), chunk.get("choices")
        else:
            usage, choices = getattr(chunk, "usage", None), getattr(chunk, "choices", None)
        if usage is not None:
            self.usage = usage
        if not choices or not isinstance(choices, list):
            return False
        if len(choices) == 1:
            return self._choice(choices[0])
        return any([self._choice(choice) for choice in choices])

    def _choice(self, choice: Any) -> bool:
        if isinstance(choice, dict):
            return self._dict_choice(choice)
        # getattr with a default: a malformed chunk (a bare string, a missing field) is skipped, not fatal
        reason = getattr(choice, "finish_reason", None)
        if reason:
            self.record.finish_reasons.append(str(reason))
        delta = getattr(choice, "delta", None)
        if delta is None:  # legacy completions stream
            text = getattr(choice, "text", None)
            if text and isinstance(text, str):
                self.record.output_text.append(text)
            return bool(text)
        text = getattr(delta, "content", None)
        if text and isinstance(text, str):
            self.record.output_text.append(text)
            return True
        calls = getattr(delta, "tool_calls", None)
        if calls:
            index = getattr(choice, "index", None)
            for call in as_items(calls):
                self.tools.delta(index, call)
            return True
        return bool(getattr(delta, "refusal", None) or getattr(delta, "reasoning_content", None))

    def _dict_choice(self, choice: dict[str, Any]) -> bool:
        reason = choice.get("finish_reason")
        if reason:
            self.record.finish_reasons.append(str(reason))
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return False
        text = delta.get("content") if delta else choice.get("text")
        if keep_text(self.record, text):
            return True
        for call in as_items(delta.get("tool_calls")):
            self.tools.delta(choice.get("index"), call)
        return bool(delta.get("tool_calls") or delta.get("refusal") or delta.get("reasoning_content"))

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)
        _read_usage(record, self.usage)

    @property
    def terminated(self) -> bool:
        return bool(self.record.finish_reasons)


class ResponsesStreamState(StreamState):
    """Accumulates Responses API stream events; the terminal event carries the whole response."""

    __slots__ = ("final", "record")

    _CONTENT_EVENTS = frozenset(
        {
            "response.output_text.delta",
            "response.refusal.delta",
            "response.function_call_arguments.delta",
            "response.reasoning_text.delta",
            "response.reasoning_summary_text.delta",
            "response.custom_tool_call_input.delta",
        }
    )
    _TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.final: Any = None

    def process_chunk(self, chunk: Any) -> bool:
        kind = get_path(chunk, "type")
        if kind in self._CONTENT_EVENTS:
            return True
        if kind in self._TERMINAL_EVENTS:
            self.final = get_path(chunk, "response")
        elif kind == "response.created" and self.record.response_id is None:
            self.record.response_id = get_path(chunk, "response", "id")
            self.record.response_model = get_path(chunk, "response", "model")
        return False

    def flush(self, record: LLMRecord) -> None:
        if self.final is not None:
            record.response_id = get_path(self.final, "id") or record.response_id
            record.response_model = get_path(self.final, "model") or record.response_model
            _read_responses_object(record, self.final)

    @property
    def terminated(self) -> bool:
        return self.final is not None


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    import openai

    return Streamed(result) if isinstance(result, (openai.Stream, openai.AsyncStream)) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return ResponsesStreamState(record) if record.operation == "responses" else ChatStreamState(record)


def errors() -> ErrorTable:
    """openai exception classes, most specific first (subclasses before their bases)."""
    import openai

    return (
        (openai.APITimeoutError, ErrorType.TIMEOUT),
        (openai.APIConnectionError, ErrorType.CONNECTION),
        (openai.RateLimitError, ErrorType.RATE_LIMIT),
        (openai.AuthenticationError, ErrorType.AUTH),
        (openai.PermissionDeniedError, ErrorType.PERMISSION),
        (openai.NotFoundError, ErrorType.NOT_FOUND),
        (openai.ConflictError, ErrorType.SERVER_ERROR),
        (openai.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (openai.BadRequestError, ErrorType.BAD_REQUEST),
        (openai.InternalServerError, ErrorType.SERVER_ERROR),
        (openai.APIResponseValidationError, ErrorType.INVALID_RESPONSE),
        (openai.ContentFilterFinishReasonError, ErrorType.CONTENT_FILTER),
        (openai.LengthFinishReasonError, ErrorType.CONTEXT_LENGTH),
    )


# Chat Completions' finish reasons are the spec's; these are the Responses API's status and incomplete reasons.
FINISH_REASONS = {
    "function_call": FinishReason.TOOL_USE,
    "completed": FinishReason.STOP,
    "incomplete": FinishReason.LENGTH,
    "max_output_tokens": FinishReason.LENGTH,
    "failed": FinishReason.ERROR,
}

PROVIDER = Provider(
    name="openai",
    requires=("openai >= 1.40",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=(*HTTPX2, *HTTPX),  # openai 3.x sends through httpx2, 1.x through httpx
    errors=errors,
    finish_reasons=FINISH_REASONS,
    raw_responses=True,
    # pydantic-ai's chat completions model calls chat.completions.create; its responses model is left out (its
    # websocket transport bypasses the SDK method llmtrace wraps), as are its models on other SDKs' APIs that
    # llmtrace does not wrap (AnthropicModel calls the beta messages API)
    self_tracing=chat_span("OpenAIChatModel"),
)

OpenAIInstrumentor = instrumentor_class(
    PROVIDER,
    "OpenAIInstrumentor",
    """Instruments the ``openai`` SDK (and every OpenAI-compatible endpoint reached through it).

    Example::

        from llmtrace.providers.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument()
    """,
)

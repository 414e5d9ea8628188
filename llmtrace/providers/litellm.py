"""LiteLLM (``litellm`` SDK): ``completion`` / ``acompletion`` (streamed or not) and ``embedding`` / ``aembedding``.

LiteLLM is a router, not a provider: it sends the call to OpenAI, Anthropic, Bedrock, ... often through another SDK
that llmtrace also instruments (``openai/<model>`` runs the ``openai`` SDK). The rule: **one logical call is one
span, one ``llm.calls`` increment and one set of token/cost counts**. The litellm call is the outer call; while it is
active (``ACTIVE_CALL``, a contextvar that litellm's executor hand-off copies), inner SDK instrumentors stand aside,
and every HTTP attempt of the inner SDK (its ``max_retries``) or of litellm itself (``num_retries``) counts as an
attempt of the outer call. ``llm.provider`` is the provider litellm routed to (``openai``, ``anthropic``, ...), so
metrics group and price by who served the call; ``llm.via = "litellm"`` on the span says how it got there.
"""

from __future__ import annotations

import functools
from typing import Any

from ..call import LLMRecord
from ..classification import ErrorRules, ErrorTable
from ..classification import response_headers as core_response_headers
from ..sdk_spans import SelfTracing
from ..semconv import ErrorType
from ..streams import StreamState
from ._contract import AIOHTTP, HTTPX, HTTPX2, Alias, Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._reading import (
    StreamedToolCalls,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    ids_from_first_chunk,
    keep_function_calls,
    keep_text,
    read_token_usage,
    server_of,
    split_system,
)
from .openai import detect_provider

__all__ = [
    "PROVIDER",
    "TARGETS",
    "LiteLLMInstrumentor",
    "errors",
    "read_request",
    "read_response",
    "route",
    "stream_in",
    "stream_state",
]

VIA = "litellm"
# ``litellm.main`` is a module: its functions are wrapped like methods of a class (``main.completion``), and the
# package-level aliases (``litellm.completion``) are bound again after (un)wrapping.
TARGETS = (
    WrapTarget("litellm", "main.completion", "chat"),
    WrapTarget("litellm", "main.acompletion", "chat", is_async=True),
    WrapTarget("litellm", "main.embedding", "embeddings", streaming=False),
    WrapTarget("litellm", "main.aembedding", "embeddings", is_async=True, streaming=False),
)
_ALIASES = tuple(Alias("litellm", name, "main") for name in ("completion", "acompletion", "embedding", "aembedding"))

# litellm's custom_llm_provider -> llm.provider (unlisted ones keep litellm's name).
_PROVIDERS = {
    "text-completion-openai": "openai",
    "azure_ai": "azure",
    "azure_text": "azure",
    "bedrock": "bedrock",
    "sagemaker": "bedrock",
    "vertex_ai": "vertex",
    "vertex_ai_beta": "vertex",
    "gemini": "google",
    "mistral": "mistral",
    "codestral": "mistral",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "ollama_chat": "ollama",
    "hosted_vllm": "vllm",
    "lm_studio": "lmstudio",
}


@functools.lru_cache(maxsize=512)
def route(model: str, custom_llm_provider: str | None, api_base: str | None) -> tuple[str, str, str | None]:
    """(llm.provider, model as sent to the provider, base URL) for a litellm model string, as litellm routes it."""
    from litellm import get_llm_provider

    try:
        sent, provider, _, base = get_llm_provider(model, custom_llm_provider=custom_llm_provider, api_base=api_base)
    except Exception:  # an unknown route: litellm raises its own error in the call itself
        return VIA, model, api_base
    base = api_base or base
    if provider == "openai" and base:
        return detect_provider({"base_url": base}), sent, base  # an OpenAI-compatible host (groq, vllm, ...)
    return _PROVIDERS.get(provider, provider), sent, base


def _flatten(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``aembedding(*args, **kwargs)`` binds as {"args": ..., "kwargs": ...}: back to plain keyword arguments."""
    if isinstance(kwargs.get("kwargs"), dict) and set(kwargs) <= {"args", "kwargs"}:
        flat = dict(zip(("model", "input"), kwargs.get("args") or (), strict=False))
        return {**flat, **kwargs["kwargs"]}
    return kwargs


def read_request(target: WrapTarget, _module: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read completion()/embedding() arguments into a record (request side only)."""
    kwargs = _flatten(kwargs)
    model = kwargs.get("model")
    base = kwargs.get("api_base") or kwargs.get("base_url")
    provider, sent, base = route(model, kwargs.get("custom_llm_provider"), base) if model else (VIA, model, base)
    host, port = server_of({"base_url": base}) if base else (None, None)
    record = LLMRecord(
        provider=provider,
        operation=target.operation,
        model=sent,
        via=VIA,
        streaming=bool(kwargs.get("stream")) if target.streaming is None else target.streaming,
        server_address=host,
        server_port=port,
        temperature=as_float(kwargs.get("temperature")),
        max_tokens=as_int(kwargs.get("max_completion_tokens") or kwargs.get("max_tokens")),
        top_p=as_float(kwargs.get("top_p")),
        top_k=as_float(kwargs.get("top_k")),
        seed=as_int(kwargs.get("seed")),
    )
    record.stop_sequences = as_stop_sequences(kwargs.get("stop"))
    if target.operation == "chat":
        record.messages, record.system = split_system(kwargs.get("messages"))
    else:
        record.messages = kwargs.get("input")
    record.tools = as_tools(kwargs.get("tools"))
    return record


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a ModelResponse / EmbeddingResponse (OpenAI-shaped, whatever provider served it) into the record."""
    record.response_id = get_path(response, "id") if record.operation == "chat" else None
    record.response_model = get_path(response, "model")
    for choice in as_items(get_path(response, "choices")):
        message = get_path(choice, "message")
        _read_choice(record, choice, message)
        calls = as_items(get_path(message, "tool_calls"))
        record.tool_calls += len(calls)
        keep_function_calls(record, calls)
    _read_usage(record, get_path(response, "usage"))
    if record.operation == "embeddings" and record.input_tokens is not None:
        record.output_tokens = 0


def _read_choice(record: LLMRecord, choice: Any, message: Any) -> bool:
    """One choice of a response (``message``) or of a stream chunk (``delta``): its text and finish reason (the
    callers read its tool calls); returns whether it carried content."""
    reason = get_path(choice, "finish_reason")
    if reason:
        record.finish_reasons.append(str(reason))
    content = keep_text(record, get_path(message, "content"))
    return content or bool(get_path(message, "tool_calls") or get_path(message, "reasoning_content"))


def _read_usage(record: LLMRecord, usage: Any) -> None:
    """litellm's Usage is OpenAI-shaped for every provider: prompt_tokens includes cache reads and writes."""
    if not read_token_usage(record, usage):
        return
    cache_read = as_int(get_path(usage, "prompt_tokens_details", "cached_tokens"))
    cache_write = as_int(get_path(usage, "cache_creation_input_tokens")) or as_int(
        get_path(usage, "prompt_tokens_details", "cache_creation_tokens")
    )
    reasoning = as_int(get_path(usage, "completion_tokens_details", "reasoning_tokens"))
    record.cache_read_tokens = cache_read or None
    record.cache_write_tokens = cache_write or None
    record.reasoning_tokens = reasoning or None


class LiteLLMStreamState(StreamState):
    """Accumulates ``ModelResponseStream`` chunks; usage arrives on a last chunk when ``include_usage`` is asked,
    else comes from the chunks litellm kept (``flush``)."""

    __slots__ = ("record", "stream", "tools")

    def __init__(self, record: LLMRecord, stream: Any) -> None:
        self.record = record
        self.stream = stream
        self.tools = StreamedToolCalls()  # a tool call streams as deltas: its id and name, then argument pieces

    def process_chunk(self, chunk: Any) -> bool:
        record = self.record
        ids_from_first_chunk(record, chunk)
        content = False
        for choice in as_items(get_path(chunk, "choices")):
            delta = get_path(choice, "delta")
            content = _read_choice(record, choice, delta) or content
            for call in as_items(get_path(delta, "tool_calls")):
                self.tools.delta(get_path(choice, "index"), call)
        _read_usage(record, get_path(chunk, "usage"))
        return content

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)
        _usage_kept_by_litellm(record, self.stream)

    @property
    def terminated(self) -> bool:
        return bool(self.record.finish_reasons)


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    from litellm import CustomStreamWrapper

    return Streamed(result) if isinstance(result, CustomStreamWrapper) else None


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return LiteLLMStreamState(record, stream)


def _usage_kept_by_litellm(record: LLMRecord, stream: Any) -> None:
    """A stream without ``include_usage`` shows the caller no usage, but litellm keeps the provider's (Anthropic,
    Gemini, Bedrock send it on every stream) on the chunks it records for its own logging: use it, not an estimate."""
    if record.input_tokens is not None or record.output_tokens is not None:
        return
    kept = getattr(stream, "chunks", None)
    usage = next((u for u in map(_chunk_usage, reversed(kept)) if u is not None), None) if kept else None
    _read_usage(record, usage)


def _chunk_usage(chunk: Any) -> Any:
    return get_path(chunk, "usage")


def errors() -> ErrorTable:
    """litellm.exceptions, most specific first (litellm maps every provider's errors onto these classes)."""
    from litellm import exceptions as exc

    return (
        (exc.MidStreamFallbackError, ErrorType.CONNECTION),  # the stream broke after it started
        (exc.ServiceUnavailableError, ErrorType.OVERLOADED),
        (exc.BadGatewayError, ErrorType.SERVER_ERROR),
        (exc.Timeout, ErrorType.TIMEOUT),
        (exc.APIConnectionError, ErrorType.CONNECTION),
        (exc.CallerCredentialRateLimitError, ErrorType.RATE_LIMIT),
        (exc.RateLimitError, ErrorType.RATE_LIMIT),
        (exc.CallerCredentialAuthenticationError, ErrorType.AUTH),
        (exc.AuthenticationError, ErrorType.AUTH),
        (exc.PermissionDeniedError, ErrorType.PERMISSION),
        (exc.PaymentRequiredError, ErrorType.PERMISSION),
        (exc.NotFoundError, ErrorType.NOT_FOUND),
        (exc.ContextWindowExceededError, ErrorType.CONTEXT_LENGTH),
        (exc.ContentPolicyViolationError, ErrorType.CONTENT_FILTER),
        (exc.RejectedRequestError, ErrorType.CONTENT_FILTER),
        (exc.ImageFetchError, ErrorType.BAD_REQUEST),
        (exc.VectorStoreSearchError, ErrorType.BAD_REQUEST),
        (exc.MalformedRequestFieldError, ErrorType.BAD_REQUEST),
        (exc.EndpointNotSupportedByModelError, ErrorType.BAD_REQUEST),
        (exc.UnsupportedEndpointError, ErrorType.BAD_REQUEST),
        (exc.UnsupportedParamsError, ErrorType.BAD_REQUEST),
        (exc.LiteLLMUnknownProvider, ErrorType.BAD_REQUEST),
        (exc.UnprocessableEntityError, ErrorType.BAD_REQUEST),
        (exc.InvalidRequestError, ErrorType.BAD_REQUEST),
        (exc.BadRequestError, ErrorType.BAD_REQUEST),
        (exc.InternalServerError, ErrorType.SERVER_ERROR),
        (exc.MockException, ErrorType.SERVER_ERROR),  # mock_response errors: the status decides
        (exc.JSONSchemaValidationError, ErrorType.INVALID_RESPONSE),
        (exc.APIResponseValidationError, ErrorType.INVALID_RESPONSE),
        (exc.ModelNotMappedError, ErrorType.BAD_REQUEST),
        (exc.BudgetExceededError, ErrorType.RATE_LIMIT),  # litellm's own spend limit: a quota, like a 429
        (exc.GuardrailRaisedException, ErrorType.CONTENT_FILTER),
        (exc.BlockedPiiEntityError, ErrorType.CONTENT_FILTER),
        (exc.SensitiveDataRouteException, ErrorType.CONTENT_FILTER),
        (exc.ModifyResponseException, ErrorType.CONTENT_FILTER),
    )


def response_headers(exc: BaseException) -> Any:
    """litellm keeps the provider's response headers on ``litellm_response_headers`` when it has no response."""
    return core_response_headers(exc) or getattr(exc, "litellm_response_headers", None)


PROVIDER = Provider(
    name="litellm",
    requires=("litellm >= 1.40",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    transports=(*HTTPX2, *HTTPX, *AIOHTTP),  # its own httpx/aiohttp handlers and the SDKs it calls
    errors=errors,
    error_readers=ErrorRules(headers=response_headers),
    aliases=_ALIASES,
    self_tracing=(
        SelfTracing(
            sdk="litellm",
            module="litellm.integrations.opentelemetry",
            function="OpenTelemetry",
            switch='litellm.callbacks=["otel"]',
            unsuppressible="its OTel callback logs after the call from a worker thread, as a trace of its own; "
            "turn it off where llmtrace runs",
        ),
    ),
)

LiteLLMInstrumentor = instrumentor_class(
    PROVIDER,
    "LiteLLMInstrumentor",
    """Instruments ``litellm.completion`` / ``acompletion`` / ``embedding`` / ``aembedding`` (and streams).

    The span's ``llm.provider`` is the provider litellm routed to, ``llm.via`` is ``"litellm"``; SDK calls litellm
    makes underneath are not counted again.

    Example::

        from llmtrace.providers.litellm import LiteLLMInstrumentor
        LiteLLMInstrumentor().instrument()
    """,
)

"""LLMRecord, LLMTracer and LLMCall: the one place that turns a normalized call into span attributes and metric points.

Providers only fill an ``LLMRecord``; nothing else in the package spells an attribute name or touches an
instrument. Lifecycle: ``LLMTracer.start(record)`` -> (HTTP attempts, stream chunks) -> ``finish()`` or ``fail(exc)``,
exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._guard import report_internal_error
from ._version import __version__
from .classification import ErrorInfo, ErrorRules, classify
from .config import Settings
from .context import Attribution, current_attribution
from .hashing import Hasher, canonical_arguments, canonical_json, template_text, text_length
from .messages import input_messages, output_messages, redact_leaves, system_parts, to_plain
from .metrics import Instruments, MetricLabels, instruments_for, record_call
from .mirror import RECORD_REQUEST, RECORD_RESPONSE, mirror, mirror_record
from .pricing import Price, PriceBook, Tokens
from .redaction import Redactor
from .retries import ACTIVE_CALL
from .rollup import ACTIVE_RUN
from .semconv import Attr, FinishReason, GenAI

__all__ = ["FINISH_REASONS", "GENERIC", "LLMCall", "LLMRecord", "LLMTracer", "Outcomes", "normalize_finish_reason"]

# The GenAI spec's finish reasons, spelled as the spec (and OpenAI) spell them. A provider's ``Outcomes`` adds its
# own spellings (``end_turn``, ``MAX_TOKENS``, ...); keys are lower case.
FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_USE,
    "content_filter": FinishReason.CONTENT_FILTER,
    "error": FinishReason.ERROR,
}
_ERROR_MESSAGE_MAX = 256


def normalize_finish_reason(
    raw: str | None, reasons: Mapping[str, FinishReason] = FINISH_REASONS
) -> FinishReason | None:
    """Provider finish/stop reason -> the normalized ``llm.stop_reason`` value (None when unknown)."""
    return reasons.get(raw.lower()) if raw else None


@dataclass(frozen=True, slots=True)
class Outcomes:
    """How one provider says how a call ended: its finish-reason spellings and its error rules.

    The core reads these and names no provider; ``GENERIC`` (the spec's spellings, no error table) serves calls
    logged by hand.
    """

    finish_reasons: Mapping[str, FinishReason] = field(default_factory=lambda: FINISH_REASONS)
    errors: ErrorRules = field(default_factory=ErrorRules)
    # whether a send to this URL is one of the call's HTTP attempts (None: every send inside the call is)
    is_attempt: Callable[[str], bool] | None = None

    @classmethod
    def of(
        cls,
        finish_reasons: Mapping[str, FinishReason],
        errors: ErrorRules,
        is_attempt: Callable[[str], bool] | None = None,
    ) -> Outcomes:
        """A provider's outcomes: its finish reasons on top of the spec's (lower-cased), its error rules, and which
        sends are attempts."""
        merged = {**FINISH_REASONS, **{raw.lower(): reason for raw, reason in finish_reasons.items()}}
        return cls(merged, errors, is_attempt)


GENERIC = Outcomes()


@dataclass(slots=True)
class LLMRecord:
    """Everything one LLM call told us, normalized across providers. Providers fill it; the LLM tracer reads it."""

    provider: str
    operation: str
    model: str | None = None
    via: str | None = None  # the routing library the app called (litellm), when ``provider`` is who it routed to
    streaming: bool = False
    server_address: str | None = None
    server_port: int | None = None
    region: str | None = None  # cloud region of the endpoint (Bedrock), when the SDK client knows it
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: float | None = None
    seed: int | None = None
    stop_sequences: list[str] | None = None
    # Request content: hashed (or captured when opted in), never exported raw by default.
    messages: Any = None
    system: Any = None
    tools: Any = None
    # Response.
    response_model: str | None = None
    response_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_estimated: bool = False
    finish_reasons: list[str] = field(default_factory=list)
    output_text: list[str] = field(default_factory=list)
    tool_calls: int = 0
    # (id, name, arguments) of each tool call, kept only for opt-in content capture (see ``keep_tool_call``).
    output_tool_calls: list[tuple[Any, Any, Any]] | None = None
    stream_incomplete: bool = False

    def keep_tool_call(self, call_id: Any, name: Any, arguments: Any) -> None:
        """Remember a tool call the model made, for ``gen_ai.output.messages`` (captured content only)."""
        if self.output_tool_calls is None:
            self.output_tool_calls = []
        self.output_tool_calls.append((call_id, name, arguments))


class LLMTracer:
    """Starts LLM calls, as an OTel tracer starts spans, and holds everything a call needs that outlives it: the OTel
    tracer, instruments, settings, hasher, price book. One per process (``_state``); each ``start()`` is an
    ``LLMCall``."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: Any = None,
        price_book: PriceBook | None = None,
    ) -> None:
        self.settings = settings
        # the OTel providers it was given (None: the global ones), so instrumentors can share an LLM tracer
        self.built_with = {
            k: v for k, v in (("tracer_provider", tracer_provider), ("meter_provider", meter_provider)) if v is not None
        }
        self.otel_tracer = trace.get_tracer("llmtrace", __version__, tracer_provider=tracer_provider)
        self.instruments: Instruments = instruments_for(meter_provider, settings.genai_metrics)
        self.hasher = Hasher(settings.hash_key)
        self.prices = price_book or PriceBook.from_file(settings.pricing_file)
        self.redactor = Redactor(settings.redact, settings.content_max_length)
        # Attributes that depend only on (provider, operation, model, streaming, via, server): built once.
        self.static_attributes: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.label_sets: dict[tuple[Any, ...], MetricLabels] = {}

    def start(self, record: LLMRecord, outcomes: Outcomes = GENERIC, started_ago_ns: int = 0) -> LLMCall:
        """Open the CLIENT span for ``record``, read with ``outcomes`` (its provider's finish reasons and errors);
        backdated by ``started_ago_ns`` for calls logged afterwards."""
        return LLMCall(self, record, outcomes, started_ago_ns)


class LLMCall:
    """One LLM call in flight. Ends exactly once via ``finish()`` or ``fail()``."""

    __slots__ = (
        "_ctx",
        "_ctx_token",
        "_token",
        "attempts",
        "attribution",
        "chunk_stamps",
        "chunks",
        "ended",
        "first_chunk_ns",
        "llm_tracer",
        "outcomes",
        "record",
        "run",
        "span",
        "start_ns",
        "started_at",
    )

    def __init__(self, llm_tracer: LLMTracer, record: LLMRecord, outcomes: Outcomes, started_ago_ns: int = 0) -> None:
        self.llm_tracer = llm_tracer
        self.record = record
        self.outcomes = outcomes
        self.attribution = current_attribution()
        self.run = ACTIVE_RUN.get()  # the agent/workflow run this call adds up into, if any
        self.attempts = 0
        self.started_at = time.time_ns() - started_ago_ns
        self.start_ns = time.perf_counter_ns() - started_ago_ns
        # perf_counter_ns of every content chunk (TTFT, count and gaps are derived at the end): one append each.
        self.chunk_stamps: list[int] = []
        # Set directly only by log_call, for calls whose chunks we never saw.
        self.first_chunk_ns: int | None = None
        self.chunks = 0
        self.ended = False
        self._token: Any = None
        self._ctx_token: Any = None
        self._ctx: Any = None
        name = f"{record.operation} {record.model}" if record.model else record.operation
        self.span = llm_tracer.otel_tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=_request_attributes(llm_tracer, record, self.attribution),
            start_time=self.started_at,
        )

    def counts_send(self, url: Callable[[], str]) -> bool:
        """Whether a transport send inside this call is one of its attempts (``url`` read only when it matters)."""
        is_attempt = self.outcomes.is_attempt
        return is_attempt is None or is_attempt(url())

    # -- context: the span is current and the call is active while the SDK runs -------------------------
    def enter(self) -> None:
        self._token = ACTIVE_CALL.set(self)
        self._ctx = trace.set_span_in_context(self.span)  # also the exemplar context of the histograms
        self._ctx_token = otel_context.attach(self._ctx)

    def leave(self) -> None:
        try:
            otel_context.detach(self._ctx_token)
            ACTIVE_CALL.reset(self._token)
        except Exception:
            report_internal_error("call.leave")

    # -- end ----------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """The call succeeded (or a stream ended normally): record everything and end the span."""
        if self.ended:
            return
        self.ended = True
        try:
            self._end(None)
        except Exception:
            self._end_span_anyway()
            report_internal_error("call.finish")

    def fail(self, exc: BaseException) -> None:
        """The call (or its stream) raised ``exc``: record the classified error and end the span."""
        if self.ended:
            return
        self.ended = True
        try:
            self._end(exc)
        except Exception:
            self._end_span_anyway()
            report_internal_error("call.fail")

    def _end_span_anyway(self) -> None:
        """Recording failed part-way (a malformed response got past a provider): still end the span, never leak it."""
        try:
            if self.span.is_recording():
                self.span.end()
        except Exception:
            pass

    def _end(self, exc: BaseException | None) -> None:
        end_ns = time.perf_counter_ns()
        llm_tracer, record, span, stamps = self.llm_tracer, self.record, self.span, self.chunk_stamps
        latency_s = (end_ns - self.start_ns) / 1e9
        first = stamps[0] if stamps else self.first_chunk_ns
        ttft_s = (first - self.start_ns) / 1e9 if first is not None else None
        if record.input_tokens is None and record.output_tokens is None and exc is None:
            _estimate_tokens(record)
        _drop_non_text_ids(record)
        price = _price(llm_tracer.prices, record, self.started_at)
        error = classify(exc, self.outcomes.errors) if exc is not None else None
        error_type = error.type.value if error is not None else None
        # A span the sampler dropped gets nothing more: no hashing, no attribute dicts; the metrics below still
        # count the call, so totals stay exact under trace sampling.
        if span.is_recording():
            attrs = _response_attributes(llm_tracer, record, latency_s, ttft_s, self.attempts, price, self.outcomes)
            _prompt_attributes(attrs, llm_tracer.hasher, record)
            if stamps or self.chunks or record.streaming:
                _stream_attributes(attrs, len(stamps) or self.chunks, stamps)
            if record.stream_incomplete:
                attrs[Attr.STREAM_INCOMPLETE] = True
            if error is not None:
                _error_attributes(attrs, llm_tracer, error)
                span.set_status(Status(StatusCode.ERROR, error_type))
            else:
                attrs[Attr.SUCCESS] = True
            span.set_attributes(attrs)
            if llm_tracer.settings.capture_content:
                _content_event(span, llm_tracer, record, attrs.get(Attr.STOP_REASON))
        ctx = self._ctx or trace.set_span_in_context(span)
        record_call(llm_tracer, record, self.attribution, latency_s, ttft_s, self.attempts, price, error_type, ctx)
        if self.run is not None:
            self.run.add_call(record, price, self.attempts, error is not None)
        span.end()


# -- attribute builders (pure functions of the record) -------------------------------------------------------


def _put(attrs: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        attrs[key] = value


def _request_attributes(llm_tracer: LLMTracer, record: LLMRecord, who: Attribution) -> dict[str, Any]:
    """Span-start attributes: a cached copy of the per-(provider, model, ...) ones plus this call's own."""
    key = (
        record.provider,
        record.operation,
        record.model,
        record.streaming,
        record.via,
        record.server_address,
        record.server_port,
        record.region,
    )
    static = llm_tracer.static_attributes.get(key)
    if static is None:
        static = _static_request_attributes(llm_tracer.settings.genai_semconv, record)
        if len(llm_tracer.static_attributes) >= _STATIC_MAX:
            llm_tracer.static_attributes.clear()
        llm_tracer.static_attributes[key] = static
    attrs = static.copy()
    call_attrs: dict[str, Any] = {}
    _put(call_attrs, Attr.TEMPERATURE, record.temperature)
    _put(call_attrs, Attr.MAX_TOKENS, record.max_tokens)
    _put(call_attrs, Attr.TOP_P, record.top_p)
    if who.agent is not None or who.session is not None or who.tenant is not None or who.user is not None:
        _put(call_attrs, Attr.AGENT, who.agent)
        _put(call_attrs, Attr.SESSION, who.session)
        _put(call_attrs, Attr.TENANT, who.tenant)
        _put(call_attrs, Attr.USER, who.user)
    if llm_tracer.settings.genai_semconv:
        mirror(call_attrs)
        mirror_record(call_attrs, record, RECORD_REQUEST)
    attrs.update(call_attrs)
    return attrs  # the prompt hashes are added at the end, and only to a span that is recording


_STATIC_MAX = 1024


def _static_request_attributes(genai: bool, record: LLMRecord) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        Attr.PROVIDER: record.provider,
        Attr.OPERATION: record.operation,
        Attr.STREAMING: record.streaming,
    }
    _put(attrs, Attr.MODEL, record.model)
    _put(attrs, Attr.VIA, record.via)
    _put(attrs, Attr.SERVER_ADDRESS, record.server_address)
    _put(attrs, Attr.SERVER_PORT, record.server_port)
    _put(attrs, Attr.CLOUD_REGION, record.region)
    if genai:
        mirror(attrs)
    return attrs


def _prompt_attributes(attrs: dict[str, Any], hasher: Hasher, record: LLMRecord) -> None:
    if record.messages is not None:
        messages = record.messages
        attrs[Attr.PROMPT_HASH] = hasher.hash_obj(messages)
        attrs[Attr.PROMPT_MESSAGE_COUNT] = len(messages) if isinstance(messages, (list, tuple)) else 1
        attrs[Attr.PROMPT_LENGTH] = text_length(messages)
    if record.system is not None:
        template = template_text(record.system)
        attrs[Attr.PROMPT_SYSTEM_HASH] = (
            hasher.hash_str(template) if template is not None else hasher.hash_obj(record.system)
        )
        attrs[Attr.PROMPT_SYSTEM_LENGTH] = text_length(record.system)
    if record.tools:
        tools = record.tools if isinstance(record.tools, list) else list(record.tools)
        attrs[Attr.TOOLS_HASH] = hasher.hash_tools(tools)
        attrs[Attr.TOOLS_COUNT] = len(tools)
        names = [n for n in (_tool_name(t) for t in tools) if n]
        if names:
            attrs[Attr.TOOLS_NAMES] = names


def _tool_name(tool: Any) -> str | None:
    if isinstance(tool, dict):
        function = tool.get("function")
        name = function.get("name") if isinstance(function, dict) else tool.get("name")
        return str(name) if name else None
    return getattr(tool, "name", None)


def _response_attributes(
    llm_tracer: LLMTracer,
    record: LLMRecord,
    latency_s: float,
    ttft_s: float | None,
    attempts: int,
    price: Price | None,
    outcomes: Outcomes,
) -> dict[str, Any]:
    genai = llm_tracer.settings.genai_semconv
    retries = attempts - 1 if attempts > 1 else 0
    attrs: dict[str, Any] = {Attr.LATENCY_MS: latency_s * 1000.0, Attr.RETRY_COUNT: retries}
    response_model, response_id = record.response_model, record.response_id
    if response_model is not None:
        attrs[Attr.RESPONSE_MODEL] = response_model
    if response_id is not None:
        attrs[Attr.RESPONSE_ID] = response_id
    _token_attributes(attrs, record)
    if price is not None:
        attrs[Attr.COST_USD] = price.total
        attrs[Attr.COST_INPUT_USD] = price.input
        attrs[Attr.COST_OUTPUT_USD] = price.output
        attrs[Attr.COST_CACHE_USD] = price.cache
        attrs[Attr.COST_PRICING] = price.source
    elif record.model and (record.input_tokens or record.output_tokens):
        attrs[Attr.COST_UNPRICED] = True
    if ttft_s is not None:
        attrs[Attr.TTFT_MS] = ttft_s * 1000.0
    finish_reasons = record.finish_reasons
    if finish_reasons:
        stop = normalize_finish_reason(finish_reasons[-1], outcomes.finish_reasons)
        if stop is FinishReason.STOP and record.tool_calls:
            stop = FinishReason.TOOL_USE  # some APIs end a function-call turn with a plain stop
        if stop is not None:
            attrs[Attr.STOP_REASON] = stop.value
    if record.output_text:
        text = _output_text(record)
        attrs[Attr.RESPONSE_HASH] = llm_tracer.hasher.hash_text(text)
        attrs[Attr.RESPONSE_LENGTH] = len(text)
    if record.tool_calls:
        attrs[Attr.RESPONSE_TOOL_CALLS] = record.tool_calls
    if record.output_tool_calls:
        _requested_tool_calls(attrs, llm_tracer.hasher, record.output_tool_calls)
    if genai:
        mirror(attrs)
        mirror_record(attrs, record, RECORD_RESPONSE)
    return attrs


def _requested_tool_calls(attrs: dict[str, Any], hasher: Hasher, calls: list[tuple[Any, Any, Any]]) -> None:
    """Names, ids and argument hashes of the tool calls the model asked for (one entry per call, in order)."""
    attrs[Attr.RESPONSE_TOOL_CALL_NAMES] = [str(name) if name is not None else "" for _, name, _ in calls]
    attrs[Attr.RESPONSE_TOOL_CALL_IDS] = [str(call_id) if call_id is not None else "" for call_id, _, _ in calls]
    attrs[Attr.RESPONSE_TOOL_CALL_ARGUMENT_HASHES] = [
        hasher.hash_text(canonical_arguments(arguments if arguments is not None else {})) for _, _, arguments in calls
    ]


def _token_attributes(attrs: dict[str, Any], record: LLMRecord) -> None:
    inp, out = record.input_tokens, record.output_tokens
    cache_read, cache_write, reasoning = record.cache_read_tokens, record.cache_write_tokens, record.reasoning_tokens
    if inp is not None or out is not None:
        if inp is not None:
            attrs[Attr.TOKENS_INPUT] = inp
        if out is not None:
            attrs[Attr.TOKENS_OUTPUT] = out
        attrs[Attr.TOKENS_TOTAL] = (inp or 0) + (out or 0)
    if cache_read is not None:
        attrs[Attr.TOKENS_CACHE_READ] = cache_read
    if cache_write is not None:
        attrs[Attr.TOKENS_CACHE_WRITE] = cache_write
    if reasoning is not None:
        attrs[Attr.TOKENS_REASONING] = reasoning
    if record.tokens_estimated:
        attrs[Attr.TOKENS_ESTIMATED] = True


def _stream_attributes(attrs: dict[str, Any], chunks: int, stamps: list[int]) -> None:
    """Chunk count and inter-chunk gap quantiles, from the content chunks' timestamps."""
    attrs[Attr.CHUNKS] = chunks
    if len(stamps) > 1:
        ordered = sorted([later - earlier for earlier, later in pairwise(stamps)])
        attrs[Attr.INTER_CHUNK_P50_MS] = _quantile(ordered, 0.5) / 1e6
        attrs[Attr.INTER_CHUNK_P99_MS] = _quantile(ordered, 0.99) / 1e6


def _quantile(ordered: list[int], q: float) -> float:
    """Linear-interpolated quantile of a sorted list (numpy's default method)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _error_attributes(attrs: dict[str, Any], llm_tracer: LLMTracer, info: ErrorInfo) -> None:
    attrs[Attr.SUCCESS] = False
    attrs[Attr.ERROR_TYPE] = info.type.value
    attrs[Attr.STOP_REASON] = FinishReason.ERROR.value
    _put(attrs, Attr.ERROR_STATUS, info.status)
    _put(attrs, Attr.ERROR_RETRY_AFTER_S, info.retry_after_s)
    if info.message:
        attrs[Attr.ERROR_MESSAGE] = llm_tracer.redactor(info.message, _ERROR_MESSAGE_MAX)
    if llm_tracer.settings.genai_semconv:
        attrs[GenAI.ERROR_TYPE] = info.qualname or "_OTHER"


def _output_text(record: LLMRecord) -> str:
    """The completion text; pieces that are not strings (a malformed response) are left out."""
    return "".join(t for t in record.output_text if isinstance(t, str))


def _drop_non_text_ids(record: LLMRecord) -> None:
    """A malformed response can carry a number or an object where the model/id string belongs: drop it, so
    pricing (and attribute export) never sees it."""
    if not isinstance(record.response_model, str):
        record.response_model = None
    if not isinstance(record.response_id, str):
        record.response_id = None


def _estimate_tokens(record: LLMRecord) -> None:
    """No usage from the provider (e.g. a stream without include_usage): ~4 characters per token, flagged."""
    if not record.output_text and record.messages is None:
        return
    prompt_chars = text_length(record.messages) + text_length(record.system)
    record.input_tokens = max(1, round(prompt_chars / 4)) if prompt_chars else 0
    record.output_tokens = round(len(_output_text(record)) / 4)
    record.tokens_estimated = True


def _tokens(record: LLMRecord) -> Tokens:
    return Tokens(
        input=record.input_tokens or 0,
        output=record.output_tokens or 0,
        cache_read=record.cache_read_tokens or 0,
        cache_write=record.cache_write_tokens or 0,
    )


def _price(prices: PriceBook, record: LLMRecord, started_at_ns: int) -> Price | None:
    if record.input_tokens is None and record.output_tokens is None:
        return None
    tokens = _tokens(record)
    try:
        price = prices.price_at_ns(record.provider, record.response_model or record.model, tokens, started_at_ns)
        if price is None and record.response_model and record.model and record.response_model != record.model:
            price = prices.price_at_ns(record.provider, record.model, tokens, started_at_ns)
    except Exception:  # a pricing failure must never cost us the token counts
        report_internal_error("pricing")
        return None
    return price


def _content_event(span: trace.Span, llm_tracer: LLMTracer, record: LLMRecord, stop: str | None) -> None:
    """Opt-in content in the GenAI message schema; each string redacted and capped on its own, so the JSON
    stays valid."""
    content: dict[str, Any] = {}
    if record.messages is not None:
        content[GenAI.INPUT_MESSAGES] = input_messages(record.messages)
    if record.system is not None:
        content[GenAI.SYSTEM_INSTRUCTIONS] = system_parts(record.system)
    if record.tools:
        content[GenAI.TOOL_DEFINITIONS] = list(record.tools)
    if record.output_text or record.output_tool_calls or record.finish_reasons:
        content[GenAI.OUTPUT_MESSAGES] = output_messages(_output_text(record), record.output_tool_calls, stop)
    if content:
        redact = llm_tracer.redactor
        attrs = {key: canonical_json(redact_leaves(to_plain(value), redact)) for key, value in content.items()}
        span.add_event(GenAI.EVENT_OPERATION_DETAILS, attrs)

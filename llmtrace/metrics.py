"""The metric instruments, created once per MeterProvider.

Metrics are what stay exact under trace sampling: every call adds to the counters whether or not its span
is sampled. Histograms declare their bucket boundaries as advisory so the SDK default views pick them up.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics

from ._version import __version__
from .semconv import (
    GENAI_DURATION_BUCKETS_S,
    GENAI_OPERATION_NAMES,
    GENAI_PROVIDER_NAMES,
    GENAI_TOKEN_BUCKETS,
    LATENCY_BUCKETS_S,
    RUN_CALLS_BUCKETS,
    RUN_COST_BUCKETS_USD,
    RUN_DURATION_BUCKETS_S,
    TTFT_BUCKETS_S,
    GenAI,
    Metric,
    TokenType,
)

if TYPE_CHECKING:
    from .call import LLMRecord, LLMTracer
    from .context import Attribution
    from .pricing import Price

__all__ = [
    "CumulativeSums",
    "Instruments",
    "MetricLabels",
    "RunInstruments",
    "instruments_for",
    "record_call",
    "record_run",
    "record_tool",
]


Labels = tuple[tuple[str, Any], ...]


class CumulativeSums:
    """Per-label-set running totals, reported through an observable counter when the SDK collects.

    Each synchronous ``Counter.add`` costs 12-17 us in the OTel Python SDK (attribute hashing, measurement
    objects, exemplar offers); a locked dict update costs well under 1 us. Counters are cumulative anyway, so
    they are kept here and observed at export time; histograms stay synchronous (they carry the exemplars).
    """

    __slots__ = ("_lock", "_values")

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._values: dict[Labels, float] = {}
        self._lock = lock or threading.Lock()

    def add_locked(self, amount: float, labels: Labels) -> None:
        """Add ``amount``; the caller holds the shared lock (one acquisition for all of a call's counts)."""
        values = self._values
        values[labels] = values.get(labels, 0) + amount

    def observe(self, _options: metrics.CallbackOptions) -> list[metrics.Observation]:
        with self._lock:
            items = list(self._values.items())
        return [metrics.Observation(value, dict(labels)) for labels, value in items]


class Instruments:
    """All llmtrace instruments for one MeterProvider (plus the opt-in GenAI mirror)."""

    __slots__ = (
        "calls",
        "cost",
        "cost_estimated",
        "genai",
        "latency",
        "lock",
        "retries",
        "runs",
        "tokens",
        "tokens_estimated",
        "ttft",
        "unpriced",
    )

    def __init__(self, meter: metrics.Meter, genai_metrics: bool) -> None:
        self.lock = threading.Lock()  # shared by the counters: a call's counts are added under one acquisition
        self.calls = self._counter(meter, Metric.CALLS, "{call}", "LLM calls, by outcome")
        self.tokens = self._counter(meter, Metric.TOKENS, "{token}", "Tokens, by type")
        self.cost = self._counter(meter, Metric.COST, "{USD}", "Cost of LLM calls in USD")
        self.retries = self._counter(meter, Metric.RETRIES, "{retry}", "SDK-internal retries")
        self.unpriced = self._counter(meter, Metric.UNPRICED_CALLS, "{call}", "Calls to models no price table knows")
        self.tokens_estimated = self._counter(
            meter, Metric.TOKENS_ESTIMATED, "{token}", "Tokens estimated locally for calls whose provider sent no usage"
        )
        self.cost_estimated = self._counter(
            meter, Metric.COST_ESTIMATED, "{USD}", "Cost in USD of the estimated tokens (not in llm.cost.usd)"
        )
        self.latency = _histogram(
            meter, Metric.LATENCY, "s", "Whole-call latency incl. retries and stream consumption", LATENCY_BUCKETS_S
        )
        self.ttft = _histogram(meter, Metric.TTFT, "s", "Time to first content chunk of streamed calls", TTFT_BUCKETS_S)
        self.genai = _GenAIMetrics(meter) if genai_metrics else None
        self.runs = RunInstruments(meter, self._counter)

    def _counter(self, meter: metrics.Meter, name: str, unit: str, description: str) -> CumulativeSums:
        sums = CumulativeSums(self.lock)
        meter.create_observable_counter(name, callbacks=[sums.observe], unit=unit, description=description)
        return sums


class RunInstruments:
    """Agent/workflow runs and tool executions: counted, timed, and a run's cost and calls as histograms, so
    p50/p99 cost per run and calls per run are one ``histogram_quantile`` each."""

    __slots__ = ("calls", "cost", "duration", "runs", "tool_calls", "tool_duration")

    def __init__(self, meter: metrics.Meter, counter: Any) -> None:
        self.runs = counter(meter, Metric.RUNS, "{run}", "Agent and workflow runs, by outcome")
        self.tool_calls = counter(meter, Metric.TOOL_CALLS, "{call}", "Tool executions, by outcome")
        self.duration = _histogram(
            meter, Metric.RUN_DURATION, "s", "Duration of agent and workflow runs", RUN_DURATION_BUCKETS_S
        )
        self.cost = _histogram(
            meter, Metric.RUN_COST, "{USD}", "Cost in USD of each run, its nested runs included", RUN_COST_BUCKETS_USD
        )
        self.calls = _histogram(
            meter, Metric.RUN_CALLS, "{call}", "LLM calls made by each run, its nested runs included", RUN_CALLS_BUCKETS
        )
        self.tool_duration = _histogram(
            meter, Metric.TOOL_DURATION, "s", "Duration of tool executions", LATENCY_BUCKETS_S
        )


class _GenAIMetrics:
    """The OTel GenAI client metrics (spec names and buckets); swappable as the conventions move."""

    __slots__ = ("duration", "token_usage", "ttfc")

    def __init__(self, meter: metrics.Meter) -> None:
        self.token_usage = _histogram(
            meter, GenAI.METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used", GENAI_TOKEN_BUCKETS
        )
        self.duration = _histogram(
            meter, GenAI.METRIC_OPERATION_DURATION, "s", "GenAI operation duration", GENAI_DURATION_BUCKETS_S
        )
        self.ttfc = _histogram(
            meter, GenAI.METRIC_TIME_TO_FIRST_CHUNK, "s", "Time to receive the first chunk", GENAI_DURATION_BUCKETS_S
        )


def _histogram(
    meter: metrics.Meter, name: str, unit: str, description: str, buckets: Sequence[float]
) -> metrics.Histogram:
    """A histogram with explicit buckets: the ones its PromQL quantiles and dashboards are written against."""
    return meter.create_histogram(
        name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
    )


_cache: dict[tuple[int, bool], tuple[Any, Instruments]] = {}
_lock = threading.Lock()


def instruments_for(meter_provider: metrics.MeterProvider | None, genai_metrics: bool) -> Instruments:
    """Instruments for ``meter_provider`` (the global one when None), created on first use and reused."""
    provider = meter_provider or metrics.get_meter_provider()
    key = (id(provider), genai_metrics)
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached[0] is not provider:
            meter = metrics.get_meter("llmtrace", __version__, meter_provider=provider)
            cached = _cache[key] = (provider, Instruments(meter, genai_metrics))
        return cached[1]


# -- one call's metric points ----------------------------------------------------------------------------------


class MetricLabels:
    """Every label set one kind of call records under, built once per (provider, model, attribution, outcome)."""

    __slots__ = ("base", "calls", "latency", "model", "tokens", "ttft")

    def __init__(self, llm_tracer: LLMTracer, record: LLMRecord, who: Attribution, error_type: str | None) -> None:
        base: tuple[tuple[str, Any], ...] = (
            (Metric.L_PROVIDER, record.provider),
            (Metric.L_MODEL, record.model or "unknown"),
        )
        for key in llm_tracer.settings.metric_labels:  # provider, model, then the configured attribution labels
            value = who.agent if key == Metric.L_AGENT else who.tenant  # the other allowed label is tenant
            if value is not None:
                base += ((key, value),)
        model = base[:2]
        outcome = (
            (Metric.L_OPERATION, record.operation),
            (Metric.L_STATUS, Metric.STATUS_ERROR if error_type else Metric.STATUS_OK),
            (Metric.L_STREAMING, record.streaming),
        )
        self.base = base
        self.model = model
        self.calls = base + outcome + (((Metric.L_ERROR_TYPE, error_type),) if error_type else ())
        self.latency = dict(model + outcome)  # handed to the OTel SDK, which never mutates it
        self.ttft = dict(model)
        self.tokens = {kind.value: (*base, (Metric.L_TYPE, kind.value)) for kind in TokenType}


_LABELS_MAX = 4096


def _metric_labels(llm_tracer: LLMTracer, record: LLMRecord, who: Attribution, error_type: str | None) -> MetricLabels:
    key = (record.provider, record.model, record.operation, record.streaming, error_type, who.agent, who.tenant)
    cache = llm_tracer.label_sets
    labels = cache.get(key)
    if labels is None:
        labels = MetricLabels(llm_tracer, record, who, error_type)
        if len(cache) >= _LABELS_MAX:
            cache.clear()
        cache[key] = labels
    return labels


def record_call(
    llm_tracer: LLMTracer,
    record: LLMRecord,
    who: Attribution,
    latency_s: float,
    ttft_s: float | None,
    attempts: int,
    price: Price | None,
    error_type: str | None,
    ctx: Any,
) -> None:
    """Add one call to the counters and histograms (every call, sampled or not: totals stay exact)."""
    inst = llm_tracer.instruments
    labels = _metric_labels(llm_tracer, record, who, error_type)
    # Histograms are synchronous and carry exemplars (trace links); counters are cumulative sums.
    inst.latency.record(latency_s, labels.latency, context=ctx)
    if ttft_s is not None:
        inst.ttft.record(ttft_s, labels.ttft, context=ctx)
    with inst.lock:
        inst.calls.add_locked(1, labels.calls)
        if attempts > 1:
            inst.retries.add_locked(attempts - 1, labels.model)
        if error_type is None:  # failed calls add no tokens or cost: providers do not bill them
            # Reported usage and local estimates never share a series: llm_tokens_total stays what providers said.
            estimated = record.tokens_estimated
            token_labels = labels.tokens
            tokens = inst.tokens_estimated if estimated else inst.tokens
            for kind, count in (
                (_INPUT, record.input_tokens),
                (_OUTPUT, record.output_tokens),
                (_CACHE_READ, record.cache_read_tokens),
                (_CACHE_WRITE, record.cache_write_tokens),
                (_REASONING, record.reasoning_tokens),
            ):
                if count:
                    tokens.add_locked(count, token_labels[kind])
            if price is not None:
                (inst.cost_estimated if estimated else inst.cost).add_locked(price.total, labels.base)
            elif record.model and (record.input_tokens or record.output_tokens):
                inst.unpriced.add_locked(1, labels.model)
    if inst.genai is not None:
        _record_genai_metrics(inst, record, latency_s, ttft_s, error_type, ctx)


_INPUT, _OUTPUT, _REASONING = TokenType.INPUT.value, TokenType.OUTPUT.value, TokenType.REASONING.value
_CACHE_READ, _CACHE_WRITE = TokenType.CACHE_READ.value, TokenType.CACHE_WRITE.value


def _record_genai_metrics(
    inst: Instruments, record: LLMRecord, latency_s: float, ttft_s: float | None, error_type: str | None, ctx: Any
) -> None:
    genai = inst.genai
    assert genai is not None
    labels: dict[str, Any] = {
        GenAI.OPERATION_NAME: GENAI_OPERATION_NAMES.get(record.operation, record.operation),
        GenAI.PROVIDER_NAME: GENAI_PROVIDER_NAMES.get(record.provider, record.provider),
    }
    if record.model is not None:
        labels[GenAI.REQUEST_MODEL] = record.model
    if record.response_model is not None:
        labels[GenAI.RESPONSE_MODEL] = record.response_model
    if error_type:
        labels[GenAI.ERROR_TYPE] = error_type
    genai.duration.record(latency_s, labels, context=ctx)
    if ttft_s is not None:
        genai.ttfc.record(ttft_s, labels, context=ctx)
    for kind, count in ((TokenType.INPUT.value, record.input_tokens), (TokenType.OUTPUT.value, record.output_tokens)):
        if count is not None:
            genai.token_usage.record(count, {**labels, GenAI.TOKEN_TYPE: kind}, context=ctx)


# -- runs and tools ----------------------------------------------------------------------------------------------


def _run_labels(operation: str, name: str, tenant: str | None, labels: tuple[str, ...]) -> Labels:
    base: Labels = ((Metric.L_OPERATION, operation), (Metric.L_AGENT, name))
    if tenant is not None and Metric.L_TENANT in labels:
        base += ((Metric.L_TENANT, tenant),)
    return base


def _outcome(error_type: str | None) -> Labels:
    if error_type is None:
        return ((Metric.L_STATUS, Metric.STATUS_OK),)
    return ((Metric.L_STATUS, Metric.STATUS_ERROR), (Metric.L_ERROR_TYPE, error_type))


def record_run(
    llm_tracer: LLMTracer,
    operation: str,
    name: str,
    tenant: str | None,
    duration_s: float,
    calls: int,
    cost_usd: float,
    error_type: str | None,
    ctx: Any,
) -> None:
    """One agent or workflow run ended: count it, and record its duration, cost and calls (exemplars: its span)."""
    inst = llm_tracer.instruments.runs
    base = _run_labels(operation, name, tenant, llm_tracer.settings.metric_labels)
    outcome = _outcome(error_type)
    by_name = dict(base)
    inst.duration.record(duration_s, {**by_name, Metric.L_STATUS: outcome[0][1]}, context=ctx)
    inst.cost.record(cost_usd, by_name, context=ctx)
    inst.calls.record(calls, by_name, context=ctx)
    with llm_tracer.instruments.lock:
        inst.runs.add_locked(1, base + outcome)


def record_tool(
    llm_tracer: LLMTracer, tool: str, agent: str | None, duration_s: float, error_type: str | None, ctx: Any
) -> None:
    """One tool execution ended: count it by tool, agent and outcome, and record its duration."""
    inst = llm_tracer.instruments.runs
    base: Labels = ((Metric.L_TOOL, tool),)
    if agent is not None and Metric.L_AGENT in llm_tracer.settings.metric_labels:
        base += ((Metric.L_AGENT, agent),)
    outcome = _outcome(error_type)
    inst.tool_duration.record(duration_s, {Metric.L_TOOL: tool, Metric.L_STATUS: outcome[0][1]}, context=ctx)
    with llm_tracer.instruments.lock:
        inst.tool_calls.add_locked(1, base + outcome)

"""The metric instruments, created once per MeterProvider.

Metrics are what stay exact under trace sampling: every call adds to the counters whether or not its span
is sampled. Histograms declare their bucket boundaries as advisory so the SDK default views pick them up.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics

from ._version import __version__
from .semconv import (
    GENAI_DURATION_BUCKETS_S,
    GENAI_TOKEN_BUCKETS,
    LATENCY_BUCKETS_S,
    TTFT_BUCKETS_S,
    GenAI,
    Metric,
)

__all__ = ["CumulativeSums", "Instruments", "instruments_for"]


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
        self.latency = meter.create_histogram(
            Metric.LATENCY,
            unit="s",
            description="Whole-call latency incl. retries and stream consumption",
            explicit_bucket_boundaries_advisory=list(LATENCY_BUCKETS_S),
        )
        self.ttft = meter.create_histogram(
            Metric.TTFT,
            unit="s",
            description="Time to first content chunk of streamed calls",
            explicit_bucket_boundaries_advisory=list(TTFT_BUCKETS_S),
        )
        self.genai = _GenAIMetrics(meter) if genai_metrics else None

    def _counter(self, meter: metrics.Meter, name: str, unit: str, description: str) -> CumulativeSums:
        sums = CumulativeSums(self.lock)
        meter.create_observable_counter(name, callbacks=[sums.observe], unit=unit, description=description)
        return sums


class _GenAIMetrics:
    """The OTel GenAI client metrics (spec names and buckets); swappable as the conventions move."""

    __slots__ = ("duration", "token_usage", "ttfc")

    def __init__(self, meter: metrics.Meter) -> None:
        self.token_usage = meter.create_histogram(
            GenAI.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(GENAI_TOKEN_BUCKETS),
        )
        self.duration = meter.create_histogram(
            GenAI.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(GENAI_DURATION_BUCKETS_S),
        )
        self.ttfc = meter.create_histogram(
            GenAI.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk",
            explicit_bucket_boundaries_advisory=list(GENAI_DURATION_BUCKETS_S),
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

"""The metric instruments, created once per MeterProvider.

Metrics are what stay exact under trace sampling: every call adds to the counters whether or not its span
is sampled. Histograms declare their bucket boundaries as advisory so the SDK default views pick them up.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics

from .semconv import (
    GENAI_DURATION_BUCKETS_S,
    GENAI_TOKEN_BUCKETS,
    LATENCY_BUCKETS_S,
    TTFT_BUCKETS_S,
    GenAI,
    Metric,
)

__all__ = ["Instruments", "instruments_for"]


class Instruments:
    """All llmtrace instruments for one MeterProvider (plus the opt-in GenAI mirror)."""

    __slots__ = ("calls", "cost", "genai", "latency", "retries", "tokens", "ttft", "unpriced")

    def __init__(self, meter: metrics.Meter, genai_metrics: bool) -> None:
        self.calls = meter.create_counter(Metric.CALLS, unit="{call}", description="LLM calls, by outcome")
        self.tokens = meter.create_counter(Metric.TOKENS, unit="{token}", description="Tokens, by type")
        self.cost = meter.create_counter(Metric.COST, unit="{USD}", description="Cost of LLM calls in USD")
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
        self.retries = meter.create_counter(Metric.RETRIES, unit="{retry}", description="SDK-internal retries")
        self.unpriced = meter.create_counter(
            Metric.UNPRICED_CALLS, unit="{call}", description="Calls to models no price table knows"
        )
        self.genai = _GenAIMetrics(meter) if genai_metrics else None


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
    from . import __version__

    provider = meter_provider or metrics.get_meter_provider()
    key = (id(provider), genai_metrics)
    with _lock:
        cached = _cache.get(key)
        if cached is None or cached[0] is not provider:
            meter = metrics.get_meter("llmtrace", __version__, meter_provider=provider)
            cached = _cache[key] = (provider, Instruments(meter, genai_metrics))
        return cached[1]

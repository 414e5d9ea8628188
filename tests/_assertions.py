"""Span checks every provider's tests make alike."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from llmtrace.demo.workload import reference_cost

__all__ = ["assert_rate_limited_after_retries", "assert_stream_timing", "assert_usage_matches", "fault"]

_CALL_IDS = itertools.count()


def fault(plan: str, **extra: str) -> dict[str, str]:
    """Headers asking the fake server for the fault ``plan`` (e.g. ``"429,429,ok"``), with a call id: SDKs that send
    no retry-count header are counted by it."""
    return {"x-llmtrace-fault": plan, "x-llmtrace-call": f"test-{next(_CALL_IDS)}", **extra}


def assert_usage_matches(
    attrs: dict[str, Any], exchange: Any, price_provider: str | None, *, model: str | None = None, genai: bool = True
) -> None:
    """The span's tokens equal what the fake server sent (input includes cache reads and writes), and its cost
    equals genai-prices' price of them (``price_provider`` None: the model is unpriced, no cost and the flag)."""
    usage = exchange.usage
    assert attrs["llm.tokens.input"] == usage["input"]
    assert attrs["llm.tokens.output"] == usage["output"]
    assert attrs["llm.tokens.total"] == usage["input"] + usage["output"]
    for key in ("cache_read", "cache_write", "reasoning"):
        assert (attrs.get(f"llm.tokens.{key}") or 0) == (usage.get(key) or 0), key
    if genai:
        assert attrs["gen_ai.usage.input_tokens"] == usage["input"]
        assert attrs["gen_ai.usage.output_tokens"] == usage["output"]
    if price_provider is None:
        assert attrs["llm.cost.unpriced"] is True and "llm.cost_usd" not in attrs
        return
    priced_model = model or attrs.get("llm.response.model") or attrs["llm.model"]
    expected = reference_cost(price_provider, priced_model, usage)
    assert attrs["llm.cost_usd"] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert attrs["llm.cost.pricing"].startswith("genai-prices ")


def assert_rate_limited_after_retries(span: Any, error_class: str, retries: int = 2) -> dict[str, Any]:
    """The span of a call whose every attempt got a 429: ERROR status, the retries made, the SDK's exception
    class as ``error.type``, and no success. Returns the span's attributes for provider-specific checks."""
    attrs = dict(span.attributes)
    assert span.status.status_code.name == "ERROR"
    keys = ("llm.retry_count", "llm.error.type", "llm.error.status", "llm.success", "error.type", "llm.stop_reason")
    assert {k: attrs[k] for k in keys} == {
        "llm.retry_count": retries,
        "llm.error.type": "rate_limit",
        "llm.error.status": 429,
        "llm.success": False,
        "error.type": error_class,
        "llm.stop_reason": "error",
    }
    return attrs


def assert_stream_timing(attrs: dict[str, Any], *, chunks: int, ttft_ms: float = 0.0, delay_ms: float = 0.0) -> None:
    """A stream's timing attributes hold what the fake server guarantees, and nothing a loaded machine can break.

    The server sleeps ``ttft_ms`` before the first content chunk and ``delay_ms`` before each later one, so the first
    chunk cannot arrive sooner than ``ttft_ms`` after the request started, nor the last sooner than
    ``ttft_ms + (chunks - 1) * delay_ms``. Gaps between chunks have no floor (a client that was not scheduled reads
    several chunks at once), only an order: 0 < p50 <= p99 <= the time from the first chunk to the end."""
    latency, ttft = attrs["llm.latency_ms"], attrs["llm.ttft_ms"]
    p50, p99 = attrs["llm.stream.inter_chunk_p50_ms"], attrs["llm.stream.inter_chunk_p99_ms"]
    assert attrs["llm.chunks"] == chunks
    assert ttft >= ttft_ms, (ttft, ttft_ms)
    assert latency >= ttft_ms + (chunks - 1) * delay_ms, (latency, ttft_ms, chunks, delay_ms)
    assert 0 < p50 <= p99 <= latency - ttft + 1e-6, (p50, p99, latency, ttft)


def assert_attributes(attrs: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """The span has exactly these values for these attributes (a missing one compares as None and fails)."""
    assert {key: attrs.get(key) for key in expected} == dict(expected)

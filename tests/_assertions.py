"""Span checks every provider's tests make alike."""

from __future__ import annotations

from typing import Any

__all__ = ["assert_rate_limited_after_retries"]


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

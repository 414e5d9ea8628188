"""Process-wide llmtrace state: the active LLMTracer (shared by instrumentors and ``log_call``), or llmtrace
switched off for the process because auto-instrumentation met a bad setting."""

from __future__ import annotations

import threading
from typing import Any

from ._guard import logger
from .call import LLMTracer
from .config import Settings, load_settings

__all__ = ["current_llm_tracer", "get_llm_tracer", "is_off", "set_llm_tracer", "shared_llm_tracer", "switch_off"]

_llm_tracer: LLMTracer | None = None
_off_reason: str | None = None
_lock = threading.Lock()


def set_llm_tracer(llm_tracer: LLMTracer | None) -> None:
    global _llm_tracer, _off_reason
    with _lock:
        _llm_tracer = llm_tracer
        if llm_tracer is not None:
            _off_reason = None  # an explicit instrument() with valid settings turns llmtrace back on


def switch_off(reason: str) -> None:
    """Record nothing in this process, and say why once (every entry-point instrumentor meets the same setting)."""
    global _off_reason
    with _lock:
        first = _off_reason is None
        _off_reason = reason
    if first:
        logger.warning("llmtrace is off: %s (other OpenTelemetry instrumentation is unaffected)", reason)


def is_off() -> bool:
    """Whether auto-instrumentation switched llmtrace off for this process (see ``switch_off``)."""
    return _off_reason is not None


def current_llm_tracer() -> LLMTracer | None:
    """The active LLM tracer, if one was set or built (never builds one)."""
    return _llm_tracer


def get_llm_tracer(settings: Settings | None = None, **providers: Any) -> LLMTracer:
    """The active LLM tracer, or a default one built from env settings and the global OTel providers."""
    global _llm_tracer
    with _lock:
        if _llm_tracer is None and _off_reason is not None:
            return _off_llm_tracer()  # log_call() and friends under a switched-off llmtrace: recorded nowhere
        if _llm_tracer is None:
            _llm_tracer = LLMTracer(settings or load_settings(), **providers)
        return _llm_tracer


def shared_llm_tracer(settings: Settings, **providers: Any) -> LLMTracer:
    """The active LLM tracer when it was built from the same settings and OTel providers, else a new active one.

    Under ``opentelemetry-instrument`` every provider's instrumentor builds its LLM tracer from the same environment:
    they share one (one tracer, one set of instruments, one price book) instead of one each."""
    global _llm_tracer, _off_reason
    with _lock:
        current = _llm_tracer
        if current is not None and current.settings == settings and current.built_with == providers:
            return current
        _llm_tracer = LLMTracer(settings, **providers)
        _off_reason = None
        return _llm_tracer


def _off_llm_tracer() -> LLMTracer:
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    return LLMTracer(Settings(), tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())

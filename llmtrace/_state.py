"""Process-wide llmtrace state: the active Recorder (shared by instrumentors and ``log_call``), or llmtrace
switched off for the process because auto-instrumentation met a bad setting."""

from __future__ import annotations

import threading
from typing import Any

from ._guard import logger
from .call import Recorder
from .config import Settings, load_settings

__all__ = ["get_recorder", "is_off", "set_recorder", "shared_recorder", "switch_off"]

_recorder: Recorder | None = None
_off_reason: str | None = None
_lock = threading.Lock()


def set_recorder(recorder: Recorder | None) -> None:
    global _recorder, _off_reason
    with _lock:
        _recorder = recorder
        if recorder is not None:
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


def get_recorder(settings: Settings | None = None, **providers: Any) -> Recorder:
    """The active recorder, or a default one built from env settings and the global OTel providers."""
    global _recorder
    with _lock:
        if _recorder is None and _off_reason is not None:
            return _off_recorder()  # log_call() and friends under a switched-off llmtrace: recorded nowhere
        if _recorder is None:
            _recorder = Recorder(settings or load_settings(), **providers)
        return _recorder


def shared_recorder(settings: Settings, **providers: Any) -> Recorder:
    """The active recorder when it was built from the same settings and OTel providers, else a new active one.

    Under ``opentelemetry-instrument`` every provider's instrumentor builds its recorder from the same environment:
    they share one (one tracer, one set of instruments, one price book) instead of one each."""
    global _recorder, _off_reason
    with _lock:
        current = _recorder
        if current is not None and current.settings == settings and current.built_with == providers:
            return current
        _recorder = Recorder(settings, **providers)
        _off_reason = None
        return _recorder


def _off_recorder() -> Recorder:
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    return Recorder(Settings(), tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())

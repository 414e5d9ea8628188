"""SDKs that trace themselves: one logical call must still be one span.

anthropic 2.14 starts a CLIENT span of its own for every API call whenever a global tracer provider exists
(mistralai's tracing hook and litellm's OTel callback do the same when switched on). Under llmtrace that span is a
second span of the same call, as a child of ours: anything that counts ``gen_ai.*`` spans counts the call twice.

With ``sdk_spans="suppress"`` (the default) the function where the SDK starts its span is given a tracer that
records nothing but hands back the *current* span's context. While an llmtrace call is active that is llmtrace's
span, so the SDK's own trace-context propagation (``traceparent`` on the request) goes on and now carries our span.
Outside an llmtrace call (an SDK method llmtrace does not wrap) the SDK's span is left alone: it is then the only
span of that call. With ``sdk_spans="keep"`` nothing is patched and the SDK's span nests under ours; llmtrace's
metrics count the call once either way (they come from llmtrace's call, never from spans).

A framework's own per-request span (pydantic-ai's ``chat <model>``) is the other way round: it starts *before* the
SDK call, so it would be the parent of ours. Folded the same way (a row with ``applies``), it records nothing and
carries the framework's current span (its agent span), which our call span then nests under. Such a row folds only
the requests ``applies`` knows an instrumented SDK will record; any other request keeps the framework's span, else
it would have no span at all.
"""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.context import Context

from ._guard import report_internal_error
from ._imports import when_imported
from .retries import ACTIVE_CALL

__all__ = ["SelfTracing", "describe", "install_suppression", "uninstall_suppression"]


@dataclass(frozen=True, slots=True)
class SelfTracing:
    """Where an SDK starts the span of its own API call, and how a user switches that span on or off.

    ``module``/``function``: the module-level name the SDK looks up when it starts its span (patched there, so a
    client made before ``instrument()`` is covered too); ``tracer_arg``/``tracer_position``: the tracer parameter
    of that function. ``default_on``: whether the SDK traces without being asked; ``switch``: the SDK's own
    setting, for ``llmtrace doctor``. ``unsuppressible``: why llmtrace cannot fold this SDK's spans into its own
    (then ``function`` is only what ``doctor`` looks for, and nothing is patched). ``tracer_attribute``: the
    argument is an object holding the tracer under this name (pydantic-ai's settings); a copy holding ours is
    passed. ``applies(args, kwargs)``: whether this call's span is one llmtrace records itself (default: an
    llmtrace call is active); several rows may share one function (one per provider), any that applies folds.
    ``folds``: for such a row, which spans it folds, for ``llmtrace doctor``.
    """

    sdk: str
    module: str
    function: str
    tracer_arg: str = ""
    tracer_position: int = 0
    default_on: bool = False
    switch: str = ""
    unsuppressible: str = ""
    tracer_attribute: str = ""
    applies: Callable[[tuple[Any, ...], dict[str, Any]], bool] | None = None
    folds: str = ""


class _CurrentSpanTracer(trace.Tracer):
    """A tracer whose spans record nothing and carry the current span's context (ours, inside an llmtrace call)."""

    def start_span(self, name: str, context: Context | None = None, *args: Any, **kwargs: Any) -> trace.Span:
        return trace.NonRecordingSpan(trace.get_current_span(context).get_span_context())

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context)
        with trace.use_span(span, end_on_exit=False):
            yield span


_TRACER = _CurrentSpanTracer()
# rows asked for and not uninstalled since, by patched function (a pending import hook and the wrapper check it)
_wanted: dict[tuple[str, str], list[SelfTracing]] = {}
_patched: set[tuple[str, str]] = set()


def _applies(target: SelfTracing, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if target.applies is None:
        return ACTIVE_CALL.get() is not None  # else not a call llmtrace records: the SDK's span is the only one
    try:
        return target.applies(args, kwargs)
    except Exception:
        report_internal_error(f"sdk_spans.applies:{target.sdk}")
        return False


def _ours(target: SelfTracing, tracer_or_holder: Any) -> Any:
    if not target.tracer_attribute:
        return _TRACER
    holder = copy.copy(tracer_or_holder)
    setattr(holder, target.tracer_attribute, _TRACER)
    return holder


def _suppressing(key: tuple[str, str]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target = next((t for t in _wanted.get(key, ()) if _applies(t, args, kwargs)), None)
        if target is None:
            return wrapped(*args, **kwargs)
        try:
            if target.tracer_arg in kwargs:
                kwargs = {**kwargs, target.tracer_arg: _ours(target, kwargs[target.tracer_arg])}
            elif len(args) > target.tracer_position:
                position = target.tracer_position
                args = (*args[:position], _ours(target, args[position]), *args[position + 1 :])
        except Exception:
            report_internal_error(f"sdk_spans.fold:{target.sdk}")
        return wrapped(*args, **kwargs)

    return wrapper


def install_suppression(targets: Sequence[SelfTracing]) -> None:
    """Patch each SDK's span-starting function when its module is imported (idempotent)."""
    for target in targets:
        if target.unsuppressible:
            continue
        rows = _wanted.setdefault((target.module, target.function), [])
        if target not in rows:
            rows.append(target)
        when_imported(target.module, lambda target=target: _patch(target))


def _patch(target: SelfTracing) -> None:
    key = (target.module, target.function)
    if key in _patched or key not in _wanted:
        return
    try:
        module = importlib.import_module(target.module)
        if not callable(getattr(module, target.function, None)):
            return  # this SDK release does not trace itself
        wrapt.wrap_function_wrapper(module, target.function, _suppressing(key))
        _patched.add(key)
    except Exception:
        report_internal_error(f"sdk_spans.patch:{target.sdk}")


def uninstall_suppression(targets: Sequence[SelfTracing]) -> None:
    """Restore the SDKs' own span-starting functions (once no instrumented provider wants them folded)."""
    for target in targets:
        key = (target.module, target.function)
        rows = _wanted.get(key, [])
        if target in rows:
            rows.remove(target)
        if rows:
            continue  # another provider's row still folds this function
        _wanted.pop(key, None)
        if key not in _patched:
            continue
        _patched.discard(key)
        module = sys.modules.get(target.module)
        current = getattr(module, target.function, None)
        if isinstance(current, wrapt.FunctionWrapper):
            setattr(module, target.function, current.__wrapped__)


def describe(target: SelfTracing, mode: str) -> tuple[bool, str]:
    """(installed SDK traces itself, what llmtrace does about it), for ``llmtrace doctor`` (imports the SDK)."""
    try:
        found = callable(getattr(importlib.import_module(target.module), target.function, None))
    except Exception:  # not installed, or an SDK release without tracing
        found = False
    if not found:
        return False, "no tracing of its own in this release"
    default = "on by default" if target.default_on else "opt-in"
    if target.unsuppressible:
        return True, f"traces itself ({default}; {target.switch}); left alone: {target.unsuppressible}"
    if mode == "keep":
        return True, f"traces itself ({default}; {target.switch}); LLMTRACE_SDK_SPANS=keep: its span nests under ours"
    if target.folds:
        return True, f"traces itself ({default}; {target.switch}); {target.folds} folded into ours, the rest kept"
    return True, f"traces itself ({default}; {target.switch}); suppressed inside llmtrace calls, propagation kept"

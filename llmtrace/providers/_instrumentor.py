"""The mechanics every provider shares: wrapping, the call lifecycle, streams, retries and SDK-span suppression.

A provider declares a ``Provider`` (``_contract``); ``instrumentor_class`` turns it into the OTel
``BaseInstrumentor`` its entry point names. Sync and async wrappers here are a few lines each around the shared
``_begin`` / ``_returned`` steps; nothing here knows any provider.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Collection
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from .. import _state
from .._guard import report_internal_error
from .._imports import when_imported
from ..call import GENERIC, LLMCall, LLMTracer, Outcomes
from ..config import load_settings
from ..exceptions import ConfigError
from ..retries import ACTIVE_CALL, install_transport_hooks, uninstall_transport_hooks
from ..sdk_spans import install_suppression, uninstall_suppression
from ..streams import AsyncStreamProxy, RawResponseProxy, SyncStreamProxy
from ._contract import Provider, WrapTarget
from ._reading import parses_later

try:  # the key moved between opentelemetry-instrumentation releases
    from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY  # type: ignore[attr-defined,no-redef]

__all__ = ["ProviderInstrumentor", "instrumentor_class", "integration_llm_tracer", "own_llm_tracer"]

_RECORDER_KEYS = ("tracer_provider", "meter_provider")
# kwargs that OTel's instrument() machinery passes along and that are not llmtrace settings.
_OTEL_KEYS = frozenset(
    {
        *_RECORDER_KEYS,
        "_llm_tracer",
        "skip_dep_check",
        "raise_exception_on_conflict",
        "logger_provider",
        "event_logger_provider",
    }
)

# instrument() kwargs that carry neither llmtrace settings nor OTel providers (OTel's loader passes skip_dep_check)
_INSTRUMENT_ONLY = _OTEL_KEYS - {*_RECORDER_KEYS, "_llm_tracer"}


def instrumentor_class(provider: Provider, name: str, doc: str) -> type[ProviderInstrumentor]:
    """The OTel instrumentor class for ``provider`` (one class per provider: ``BaseInstrumentor`` keeps one instance
    per class, and the ``opentelemetry_instrumentor`` entry point names a class)."""
    caller = sys._getframe(1).f_globals.get("__name__", __name__)
    return type(name, (ProviderInstrumentor,), {"provider": provider, "__doc__": doc, "__module__": caller})


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The one instrumentor implementation; each provider's class (``instrumentor_class``) only sets ``provider``."""

    provider: Provider

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.provider.requires

    def _instrument(self, **kwargs: Any) -> None:
        llm_tracer = kwargs.get("_llm_tracer") or own_llm_tracer(kwargs)
        self._llm_tracer = llm_tracer
        if llm_tracer is None:
            return  # llmtrace is off in this process (a bad setting under auto-instrumentation, logged once)
        self._outcomes: Outcomes = GENERIC
        self._patched = False
        install_transport_hooks(self.provider.transports)
        self._suppressing = llm_tracer.settings.sdk_spans == "suppress" and bool(self.provider.self_tracing)
        if self._suppressing:
            install_suppression(self.provider.self_tracing)
        # patched now if the app already imported the SDK, else when it does: never imported on our account
        self._generation = generation = object()
        when_imported(self.sdk_module(), lambda: self._patch(generation))

    def sdk_module(self) -> str:
        """The SDK module whose import triggers patching (``PROVIDER_MODULES``' import name)."""
        from . import PROVIDER_MODULES

        entry = PROVIDER_MODULES.get(self.provider.name)
        return entry[2] if entry else self.provider.targets[0].module.split(".")[0]

    def _patch(self, generation: object) -> None:
        if generation is not self._generation:
            return  # uninstrumented (or instrumented again) before the SDK was imported
        provider = self.provider
        rules = dataclasses.replace(provider.error_readers, table=provider.errors())
        self._outcomes = Outcomes.of(provider.finish_reasons, rules, provider.is_attempt)
        for target in provider.targets:
            self._wrap(target)
        _rebind(provider)
        self._patched = True

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._llm_tracer is None:
            return  # instrument() found llmtrace switched off: nothing was patched or hooked
        self._generation = None  # a patch still waiting for its SDK's import will not happen
        if self._patched:
            self._unpatch()
        if self._suppressing:
            uninstall_suppression(self.provider.self_tracing)
        uninstall_transport_hooks(self.provider.transports)

    def _unpatch(self) -> None:
        self._patched = False
        for target in self.provider.targets:
            module = sys.modules.get(target.module)
            cls_name, method = target.name.rsplit(".", 1)
            cls = getattr(module, cls_name, None)
            if cls is not None and isinstance(cls.__dict__.get(method), wrapt.FunctionWrapper):
                unwrap(cls, method)
        _rebind(self.provider)

    # -- wrapping -------------------------------------------------------------------------------------------
    def _wrap(self, target: WrapTarget) -> None:
        try:
            module = importlib.import_module(target.module)
        except ImportError:
            return  # this SDK version has no such module: nothing to wrap
        cls_name, method = target.name.rsplit(".", 1)
        cls = getattr(module, cls_name, None)
        if cls is None or method not in cls.__dict__ or isinstance(cls.__dict__[method], wrapt.FunctionWrapper):
            return
        if target.deferred:
            wrapper = self._deferred_wrapper(target)
        else:
            wrapper = self._async_wrapper(target) if target.is_async else self._sync_wrapper(target)
        wrapt.wrap_function_wrapper(cls, method, wrapper)

    def _sync_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any, request: Any = None) -> Any:
            call = self._begin(target, instance, _arguments(wrapped, args, kwargs) if request is None else request)
            if call is None:
                return wrapped(*args, **kwargs)
            try:
                result = self.provider.settle(call.record, wrapped(*args, **kwargs))
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                call.leave()
            return self._returned(call, result, target)

        return wrapper

    def _async_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        async def wrapper(
            wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any, request: Any = None
        ) -> Any:
            call = self._begin(target, instance, _arguments(wrapped, args, kwargs) if request is None else request)
            if call is None:
                return await wrapped(*args, **kwargs)
            try:
                result = self.provider.settle(call.record, await wrapped(*args, **kwargs))
            except BaseException as exc:
                call.fail(exc)
                raise
            finally:
                call.leave()
            return self._returned(call, result, target)

        return wrapper

    def _deferred_wrapper(self, target: WrapTarget) -> Callable[..., Any]:
        """Wrap the request inside the returned manager, so the call starts when the request really runs.

        Sync managers hold a request callable; async ones hold an un-awaited coroutine, which we await inside
        our own coroutine so attempts, latency and errors belong to the call.
        """
        request_wrapper = self._async_wrapper(target) if target.is_async else self._sync_wrapper(target)

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            manager = wrapped(*args, **kwargs)
            try:
                pending = getattr(manager, target.request_attr)
                if target.is_async:
                    deferred = request_wrapper(lambda: pending, instance, (), {}, request=kwargs)
                else:
                    deferred = functools.partial(request_wrapper, pending, instance, (), {}, request=kwargs)
                setattr(manager, target.request_attr, deferred)
            except Exception:
                report_internal_error(f"{self.provider.name}.deferred")
            return manager

        return wrapper

    # -- shared steps -----------------------------------------------------------------------------------------
    def _begin(self, target: WrapTarget, instance: Any, kwargs: dict[str, Any]) -> LLMCall | None:
        """Start the call, or None when instrumentation is suppressed or an outer LLM call is already active."""
        if otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY) or ACTIVE_CALL.get() is not None:
            return None
        try:
            record = self.provider.read_request(target, instance, kwargs)
            if record is None:
                return None  # not an LLM call (another service or operation of the same SDK method)
            call = self._llm_tracer.start(record, self._outcomes)
            call.enter()
            return call
        except Exception:
            report_internal_error(f"{self.provider.name}.begin")
            return None

    def _returned(self, call: LLMCall, result: Any, target: WrapTarget) -> Any:
        """The SDK returned (or a raw response parsed): wrap a stream, or read the response and end the call."""
        try:
            provider = self.provider
            if provider.raw_responses and parses_later(call.record, result):
                return RawResponseProxy(result, call, lambda parsed: self._returned(call, parsed, target))
            streamed = provider.stream_in(call.record, result)
            if streamed is not None:
                stream = streamed.stream
                state = provider.stream_state(call.record, stream)
                # async by target, or by stream: some SDKs' async streams come from a plain call (async generator)
                is_async = target.is_async or inspect.isasyncgen(stream)
                proxy = (AsyncStreamProxy if is_async else SyncStreamProxy)(stream, call, state)
                return proxy if streamed.put is None else streamed.put(proxy)
            provider.read_response(call.record, result)
        except Exception:
            report_internal_error(f"{self.provider.name}.response")
        call.finish()
        return result


def _rebind(provider: Provider) -> None:
    """Point each module-level alias at the (un)wrapped function again."""
    for alias in provider.aliases:
        module = sys.modules.get(alias.module)
        holder = getattr(module, alias.holder, None)
        if holder is not None and hasattr(module, alias.name):
            setattr(module, alias.name, getattr(holder, alias.name))


def own_llm_tracer(kwargs: dict[str, Any]) -> LLMTracer | None:
    """An LLM tracer from env + kwargs for an instrumentor (a provider's or an integration's) used on its own; None
    when llmtrace is switched off.

    A bad setting raises ``ConfigError``, except under OTel's auto-instrumentation, where raising would abort
    every instrumentor loaded after ours (and print two tracebacks): there llmtrace switches itself off with
    one log line naming the setting, and the app's other telemetry carries on.
    """
    if _state.is_off():
        return None
    try:
        settings = load_settings({k: v for k, v in kwargs.items() if k not in _OTEL_KEYS})
    except ConfigError as exc:
        if not _under_auto_instrumentation():
            raise
        _state.switch_off(str(exc))
        return None
    return _state.shared_llm_tracer(settings, **{k: kwargs[k] for k in _RECORDER_KEYS if kwargs.get(k) is not None})


def integration_llm_tracer(kwargs: dict[str, Any]) -> LLMTracer | None:
    """The LLM tracer an integration's ``instrument(**kwargs)`` records through; None when llmtrace is off.

    With no settings and no OTel providers in ``kwargs`` (``llmtrace.instrument()``, OTel's loader), an active
    tracer is kept as it is: ``llmtrace.instrument()`` or a provider's instrumentor has just set it, and an env-only
    one must not replace it. Otherwise it is ``own_llm_tracer``'s, with its rule for a bad setting.
    """
    if set(kwargs) <= _INSTRUMENT_ONLY:
        if _state.is_off():
            return None
        current = _state.current_llm_tracer()
        if current is not None:
            return current
    return own_llm_tracer(kwargs)


def _under_auto_instrumentation() -> bool:
    """Whether OTel's auto-instrumentation loader (``opentelemetry-instrument``, or its ``initialize()``) is
    instrumenting us: it calls ``instrument()`` exactly as a user would, so only the call stack tells."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("opentelemetry.instrumentation.auto_instrumentation"):
            return True
        frame = frame.f_back
    return False


def _arguments(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by name; SDKs are keyword-only almost everywhere, so binding is the rare path."""
    if not args:
        return kwargs

    try:
        return dict(inspect.signature(wrapped).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return kwargs
